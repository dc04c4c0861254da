/**
 * uploadToTable's outcomes: skip-if-exists, failures resolved or removed, the typed result, the local MD5 of every
 * kind of source and its comparison with the hash Redivis reports.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { RedivisClient } from '../../src/client/redivis-client.js';
import { IntegrityError, InvalidArgumentError, ProtocolError, UploadFailedError } from '../../src/errors.js';
import { uploadToTable, type UploadToTableOptions } from '../../src/flows/upload-to-table.js';
import { chunkedSource, md5Hex, randomBytes, runSeed } from '../support/data.js';
import { apiRequests, FAST_RETRY, flowHarness, md5Base64, startApiGate, type FlowHarness } from './helpers.js';

const TABLE = 'owner.dataset:next.outcomes';
const seed = runSeed();
const FAST_POLL = { pollIntervalMs: 1, maxPollIntervalMs: 2 };
let h: FlowHarness;

before(async () => {
  h = await flowHarness();
});
after(() => h.close());

function options(extra: Partial<UploadToTableOptions>): UploadToTableOptions {
  return { client: h.client, table: TABLE, ...FAST_POLL, ...extra };
}

const uploadPath = (name: string) => new RegExp(`/uploads/${name.replace(/\./g, '_')}$`);

test("onConflict 'skip' resolves with the existing upload and sends nothing", async () => {
  const first = await uploadToTable(options({ source: Buffer.from('a\n1\n'), name: 'kept.csv' }));
  assert.equal(first.skipped, false);
  const tempUploads = h.emu.listTempUploads().length;
  h.emu.clearRequestLog();
  const again = await uploadToTable(options({ source: Buffer.from('a\n2\n'), name: 'kept.csv', onConflict: 'skip' }));
  assert.equal(again.skipped, true);
  assert.equal(again.sent, undefined);
  assert.equal(again.name, 'kept.csv');
  assert.equal(again.status, 'completed');
  assert.equal(again.tempUploadId, first.tempUploadId);
  assert.equal(h.emu.listTempUploads().length, tempUploads);
  assert.deepEqual(h.emu.requestLog().map((entry) => entry.method), ['HEAD', 'GET']);
  // A name that is free is uploaded as usual.
  const fresh = await uploadToTable(options({ source: Buffer.from('a\n3\n'), name: 'fresh.csv', onConflict: 'skip' }));
  assert.equal(fresh.skipped, false);
  assert.equal(fresh.status, 'completed');
});

test('throwOnFail: false resolves with the failed upload and its errorMessage', async () => {
  h.emu.failUpload('soft-fail.csv', 'Line 2: too many columns');
  const upload = await uploadToTable(options({ source: Buffer.from('a\n1,2\n'), name: 'soft-fail.csv', throwOnFail: false }));
  assert.equal(upload.status, 'failed');
  assert.equal(upload.errorMessage, 'Line 2: too many columns');
  assert.equal(upload.removed, undefined);
  assert.equal(h.emu.getUpload(TABLE, 'soft-fail.csv')?.status, 'failed');
});

test('removeOnFail deletes the failed upload, then rejects (or resolves with throwOnFail: false)', async () => {
  h.emu.failUpload('removed.csv', 'Bad encoding');
  await assert.rejects(uploadToTable(options({ source: Buffer.from('x\n'), name: 'removed.csv', removeOnFail: true })), (error: unknown) => {
    assert.ok(error instanceof UploadFailedError, String(error));
    assert.equal(error.errorMessage, 'Bad encoding');
    return true;
  });
  assert.equal(h.emu.getUpload(TABLE, 'removed.csv'), undefined);
  assert.equal(apiRequests(h.emu, uploadPath('removed.csv'), 'DELETE').length, 1);
  const soft = await uploadToTable(options({ source: Buffer.from('x\n'), name: 'removed.csv', removeOnFail: true, throwOnFail: false }));
  assert.equal(soft.status, 'failed');
  assert.equal(soft.removed, true);
  assert.equal(h.emu.getUpload(TABLE, 'removed.csv'), undefined);
});

test('an upload found by skip that had failed is reported, never removed', async () => {
  h.emu.failUpload('old-failure.csv', 'Stale');
  await uploadToTable(options({ source: Buffer.from('x\n'), name: 'old-failure.csv', throwOnFail: false }));
  const skipped = await uploadToTable(options({ source: Buffer.from('x\n'), name: 'old-failure.csv', onConflict: 'skip', removeOnFail: true, throwOnFail: false }));
  assert.deepEqual([skipped.skipped, skipped.status, skipped.removed], [true, 'failed', undefined]);
  assert.equal(h.emu.getUpload(TABLE, 'old-failure.csv')?.status, 'failed');
});

test('the MD5 of what was sent is computed locally for a path, a Buffer, a Readable of bytes and one of strings', async () => {
  const data = randomBytes(400_000, seed);
  const path = join(h.dir, 'md5-path.bin');
  await writeFile(path, data);
  const text = 'id,word\n' + Array.from({ length: 2_000 }, (_, i) => `${i},wörd${i}`).join('\n') + '\n';
  const cases: Array<[string, UploadToTableOptions['source'], Buffer]> = [
    ['md5-path.bin', path, data],
    ['md5-buffer.bin', data, data],
    ['md5-stream.bin', chunkedSource(data, [1, 65_536, 3_333]), data],
    ['md5-strings.csv', Readable.from(text.match(/[^]{1,500}/g)!), Buffer.from(text, 'utf8')],
  ];
  for (const [name, source, bytes] of cases) {
    const upload = await uploadToTable(options({ source, name, chunkSize: 262_144 }));
    assert.deepEqual(upload.sent, { size: bytes.length, md5: md5Base64(bytes) }, `${name}; seed ${seed}`);
    assert.equal(h.emu.getTempUpload(upload.tempUploadId!)?.final?.md5Hex, md5Hex(bytes), `${name}; seed ${seed}`);
  }
});

test('a Readable of objects fails with InvalidArgumentError and creates no upload', async () => {
  await assert.rejects(uploadToTable(options({ source: Readable.from([{ id: 1 }]), name: 'objects.csv' })), (error: unknown) => {
    assert.ok(error instanceof InvalidArgumentError, String(error));
    assert.equal(error.argument, 'source');
    return true;
  });
  assert.equal(h.emu.getUpload(TABLE, 'objects.csv'), undefined);
});

/** A client through a gate that rewrites every upload resource with `fields`. */
async function rewritingClient(fields: (body: Record<string, unknown>) => Record<string, unknown>) {
  const gate = await startApiGate(
    h.emu,
    () => undefined,
    (request, status, body) =>
      status < 300 && /\/uploads(\/[^/]+)?$/.test(request.path) && request.method !== 'HEAD' && body !== null && typeof body === 'object'
        ? { ...(body as Record<string, unknown>), ...fields(body as Record<string, unknown>) }
        : undefined,
  );
  const client = new RedivisClient({ apiEndpoint: gate.apiEndpoint, apiToken: h.emu.token, dispatcher: h.dispatcher, retry: FAST_RETRY });
  return { client, gate };
}

test('the hash Redivis reports is compared with what was sent: hex or base64 equal, a mismatch is an IntegrityError', async () => {
  const data = randomBytes(20_000, seed + 1);
  const hex = createHash('md5').update(data).digest('hex');
  for (const [name, hash] of [['hash-hex.bin', hex], ['hash-b64.bin', md5Base64(data)]] as const) {
    const { client, gate } = await rewritingClient(() => ({ hash, numRows: '12', numBytes: 345, badRecordsCount: '0', size: String(data.length) }));
    try {
      const upload = await uploadToTable(options({ client, source: data, name }));
      assert.equal(upload.status, 'completed');
      assert.deepEqual([upload.hash, upload.numRows, upload.numBytes, upload.badRecordsCount, upload.size], [hash, 12, 345, 0, data.length]);
    } finally {
      await gate.close();
    }
  }
  const wrong = createHash('md5').update('other bytes').digest('hex');
  const { client, gate } = await rewritingClient((body) => (body.status === 'completed' ? { hash: wrong } : {}));
  try {
    await assert.rejects(uploadToTable(options({ client, source: data, name: 'hash-wrong.bin' })), (error: unknown) => {
      assert.ok(error instanceof IntegrityError, String(error));
      assert.equal(error.field, 'md5');
      assert.equal(error.expected, md5Base64(data));
      assert.equal(error.actual, wrong);
      return true;
    });
    assert.equal(h.emu.getUpload(TABLE, 'hash-wrong.bin')?.status, 'completed', 'kept without removeOnFail');
    await assert.rejects(uploadToTable(options({ client, source: data, name: 'hash-wrong-removed.bin', removeOnFail: true })), IntegrityError);
    assert.equal(h.emu.getUpload(TABLE, 'hash-wrong-removed.bin'), undefined, 'removed with removeOnFail');
  } finally {
    await gate.close();
  }
});

test('an upload resource with malformed counts or a hash that is no MD5 is a ProtocolError', async () => {
  for (const [name, fields] of [
    ['bad-rows.csv', { numRows: 'many' }],
    ['bad-hash.csv', { hash: 'not-an-md5' }],
    ['bad-size.csv', { size: -1 }],
  ] as const) {
    const { client, gate } = await rewritingClient(() => fields);
    try {
      await assert.rejects(uploadToTable(options({ client, source: Buffer.from('a\n1\n'), name })), ProtocolError, name);
    } finally {
      await gate.close();
    }
  }
});

test('the result carries what Redivis reports, typed: rows, bytes, bad records, size and the hash of the content', async () => {
  const csv = Buffer.from('id,name\n' + Array.from({ length: 250 }, (_, i) => `${i},n${i}`).join('\n') + '\n');
  const upload = await uploadToTable(options({ source: csv, name: 'typed.csv', hasHeaderRow: true }));
  assert.equal(upload.status, 'completed');
  assert.equal(upload.numRows, 250);
  assert.equal(upload.size, csv.length);
  assert.equal(upload.badRecordsCount, 0);
  assert.equal(typeof upload.numBytes, 'number');
  assert.equal(upload.hash, md5Hex(csv));
  assert.equal(upload.sent?.md5, md5Base64(csv));
  assert.equal(upload.type, 'delimited');
  assert.equal(typeof upload.id, 'string');
});

test('a removal that fails leaves removed: false and the import failure still reported', async () => {
  h.emu.failUpload('undeletable.csv', 'Bad header');
  h.emu.failUpload('undeletable2.csv', 'Bad header');
  const gate = await startApiGate(h.emu, ({ method }) => (method === 'DELETE' ? { status: 403, body: { error: 'insufficient_scope', status: 403 } } : undefined));
  try {
    const client = new RedivisClient({ apiEndpoint: gate.apiEndpoint, apiToken: h.emu.token, dispatcher: h.dispatcher, retry: FAST_RETRY });
    const soft = await uploadToTable(options({ client, source: Buffer.from('x\n'), name: 'undeletable.csv', removeOnFail: true, throwOnFail: false }));
    assert.deepEqual([soft.status, soft.errorMessage, soft.removed], ['failed', 'Bad header', false]);
    assert.equal(h.emu.getUpload(TABLE, 'undeletable.csv')?.status, 'failed');
    await assert.rejects(
      uploadToTable(options({ client, source: Buffer.from('x\n'), name: 'undeletable2.csv', removeOnFail: true })),
      (error: unknown) => error instanceof UploadFailedError && error.errorMessage === 'Bad header',
    );
  } finally {
    await gate.close();
  }
});
