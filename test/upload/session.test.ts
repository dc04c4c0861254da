/** The session requests against the emulator: the full protocol, faults and session ends. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Agent, request } from 'undici';
import { crc32c } from '@node-rs/crc32';
import { startEmulator } from '../../src/emulator/index.js';
import {
  NetworkError,
  SessionCancelledError,
  SessionExpiredError,
  UploadHttpError,
} from '../../src/errors.js';
import { CHUNK_ALIGNMENT } from '../../src/upload/content-range.js';
import { isRetryableError } from '../../src/util/failures.js';
import {
  cancelSession,
  putChunk,
  putSimple,
  queryStatus,
  startSession,
  type SessionContext,
} from '../../src/upload/session.js';
import { formatGoogHash } from '../../src/upload/checksums.js';
import { md5Hex, randomBytes, runSeed } from '../support/data.js';

const Q = CHUNK_ALIGNMENT;
const seed = runSeed();
const emu = await startEmulator();
const dispatcher = new Agent();
const ctx: SessionContext = { dispatcher };
after(async () => {
  await dispatcher.close();
  await emu.close();
});

let counter = 0;

async function createTempUpload(size: number, resumable: boolean): Promise<{ id: string; url: string }> {
  counter += 1;
  const response = await request(`${emu.apiEndpoint}/tables/owner.dataset.table/tempUploads`, {
    method: 'POST',
    dispatcher,
    headers: { authorization: `Bearer ${emu.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ tempUploads: [{ name: `file-${counter}`, size, resumable }] }),
  });
  const body = (await response.body.json()) as { results: Array<{ id: string; url: string }> };
  assert.equal(response.statusCode, 200, JSON.stringify(body));
  return body.results[0]!;
}

function hashHeaderOf(data: Buffer): string {
  return formatGoogHash({ crc32c: crc32c(data), md5: createHash('md5').update(data).digest() });
}

function md5Base64(data: Buffer): string {
  return createHash('md5').update(data).digest('base64');
}

/** Splits `data` into pieces of the given sizes (cycled), to prove list bodies are sent in order. */
function pieces(data: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  for (let offset = 0, i = 0; offset < data.length; i += 1) {
    const size = sizes[i % sizes.length]!;
    out.push(data.subarray(offset, offset + size));
    offset += size;
  }
  return out;
}

test('a resumable session from start to verified object', async () => {
  const data = randomBytes(3 * Q + 100, seed);
  const upload = await createTempUpload(data.length, true);
  const session = await startSession(upload.url, ctx, { size: data.length });
  assert.equal(emu.getTempUpload(upload.id)?.state, 'in_progress', `seed ${seed}`);
  assert.deepEqual(await queryStatus(session, ctx), { complete: false, persisted: 0 });

  const first = data.subarray(0, 2 * Q);
  const status = await putChunk(session, ctx, { start: 0, buffers: pieces(first, [1000, 65536, 7]), length: first.length, total: data.length });
  assert.deepEqual(status, { complete: false, persisted: 2 * Q });
  assert.deepEqual(await queryStatus(session, ctx), { complete: false, persisted: 2 * Q });

  const rest = data.subarray(2 * Q);
  const done = await putChunk(session, ctx, { start: 2 * Q, buffers: pieces(rest, [Q, 50]), length: rest.length, total: data.length, hashHeader: hashHeaderOf(data) });
  assert.ok(done.complete, `seed ${seed}`);
  assert.equal(done.object.size, data.length);
  assert.equal(done.object.md5Hash, md5Base64(data));
  assert.equal(done.object.crc32c, formatGoogHash({ crc32c: crc32c(data) }).slice('crc32c='.length));
  assert.equal(emu.getTempUpload(upload.id)?.final?.md5Hex, md5Hex(data), `seed ${seed}`);
  assert.equal(md5Hex(await emu.readTempUpload(upload.id)), md5Hex(data), `seed ${seed}`);

  const again = await queryStatus(session, ctx);
  assert.ok(again.complete);
  assert.equal(again.object.size, data.length);
  const kinds = emu.requestLog().filter((entry) => entry.tempUploadId !== undefined).map((entry) => entry.kind);
  assert.ok(kinds.includes('initiate') && kinds.includes('chunk') && kinds.includes('status'), kinds.join(','));
});

test('finalizing with bytes */N after the last chunk of unknown total', async () => {
  const data = randomBytes(2 * Q, seed + 1);
  const upload = await createTempUpload(data.length, true);
  const session = await startSession(upload.url, ctx);
  assert.deepEqual(await putChunk(session, ctx, { start: 0, buffers: [data], length: data.length }), { complete: false, persisted: data.length });
  const done = await queryStatus(session, ctx, data.length, hashHeaderOf(data));
  assert.ok(done.complete);
  assert.equal(done.object.md5Hash, md5Base64(data));
  assert.equal(emu.getTempUpload(upload.id)?.final?.md5Hex, md5Hex(data), `seed ${seed}`);
});

test('a zero-byte object is finalized with bytes */0', async () => {
  const upload = await createTempUpload(0, true);
  const session = await startSession(upload.url, ctx, { size: 0 });
  const done = await queryStatus(session, ctx, 0, hashHeaderOf(Buffer.alloc(0)));
  assert.ok(done.complete);
  assert.equal(done.object.size, 0);
  assert.equal(emu.getTempUpload(upload.id)?.final?.md5Hex, md5Hex(Buffer.alloc(0)));
});

test('a 503 after K bytes persists exactly K, seen by the next status query', async () => {
  const data = randomBytes(2 * Q, seed + 2);
  const upload = await createTempUpload(data.length, true);
  const session = await startSession(upload.url, ctx, { size: data.length });
  emu.injectFault({ match: { kind: 'chunk', tempUploadId: upload.id }, fault: { kind: 'status', status: 503, afterBytes: 100_000, exactBytes: true, retryAfter: '1' } });
  await assert.rejects(putChunk(session, ctx, { start: 0, buffers: [data], length: data.length, total: data.length }), (error: unknown) => {
    assert.ok(error instanceof UploadHttpError && error.status === 503 && isRetryableError(error), String(error));
    assert.equal(error.retryAfterMs, 1000);
    return true;
  });
  assert.deepEqual(await queryStatus(session, ctx), { complete: false, persisted: 100_000 });
  const rest = data.subarray(100_000);
  const done = await putChunk(session, ctx, { start: 100_000, buffers: [rest], length: rest.length, total: data.length, hashHeader: hashHeaderOf(data) });
  assert.ok(done.complete);
  assert.equal(emu.getTempUpload(upload.id)?.final?.md5Hex, md5Hex(data), `seed ${seed}`);
});

test('a reset connection is a retryable NetworkError', async () => {
  const data = randomBytes(Q, seed + 3);
  const upload = await createTempUpload(2 * Q, true);
  const session = await startSession(upload.url, ctx, { size: 2 * Q });
  emu.injectFault({ match: { kind: 'chunk', tempUploadId: upload.id }, fault: { kind: 'reset', afterBytes: 1000, exactBytes: true } });
  await assert.rejects(putChunk(`${session}`, ctx, { start: 0, buffers: [data], length: Q, total: 2 * Q }), (error: unknown) => {
    assert.ok(error instanceof NetworkError && isRetryableError(error), String(error));
    assert.doesNotMatch(error.message, /upload_id=/);
    return true;
  });
  assert.deepEqual(await queryStatus(session, ctx), { complete: false, persisted: 1000 });
});

test('a 308 without Range reads as 0 while the status query tells the truth', async () => {
  const data = randomBytes(Q, seed + 4);
  const upload = await createTempUpload(2 * Q, true);
  const session = await startSession(upload.url, ctx, { size: 2 * Q });
  emu.injectFault({ match: { kind: 'chunk', tempUploadId: upload.id }, fault: { kind: 'omitRange' } });
  assert.deepEqual(await putChunk(session, ctx, { start: 0, buffers: [data], length: Q, total: 2 * Q }), { complete: false, persisted: 0 });
  assert.deepEqual(await queryStatus(session, ctx), { complete: false, persisted: Q });
});

test('expired and terminated sessions are SessionExpiredError, never retryable', async () => {
  for (const [kind, status] of [['expire', 404], ['terminate', 410]] as const) {
    const upload = await createTempUpload(Q, true);
    const session = await startSession(upload.url, ctx, { size: Q });
    emu.injectFault({ match: { kind: 'status', tempUploadId: upload.id }, fault: { kind } });
    await assert.rejects(queryStatus(session, ctx), (error: unknown) => {
      assert.ok(error instanceof SessionExpiredError && error.status === status, String(error));
      assert.equal(isRetryableError(error), false);
      return true;
    });
    await assert.rejects(putChunk(session, ctx, { start: 0, buffers: [Buffer.alloc(Q)], length: Q, total: Q }), SessionExpiredError);
    await cancelSession(session, ctx);
  }
});

test('cancelSession answers 499 and later requests are SessionCancelledError', async () => {
  const upload = await createTempUpload(Q, true);
  const session = await startSession(upload.url, ctx, { size: Q });
  await cancelSession(session, ctx);
  assert.equal(emu.getTempUpload(upload.id)?.state, 'cancelled');
  assert.ok(emu.requestLog().some((entry) => entry.kind === 'cancel' && entry.status === 499));
  await assert.rejects(queryStatus(session, ctx), SessionCancelledError);
  await cancelSession(session, ctx);
});

test('a wrong X-Goog-Hash on the final chunk is a 400 that is not retried', async () => {
  const data = randomBytes(1000, seed + 5);
  const upload = await createTempUpload(data.length, true);
  const session = await startSession(upload.url, ctx, { size: data.length });
  const wrong = formatGoogHash({ crc32c: (crc32c(data) + 1) >>> 0 });
  await assert.rejects(putChunk(session, ctx, { start: 0, buffers: [data], length: data.length, total: data.length, hashHeader: wrong }), (error: unknown) => {
    assert.ok(error instanceof UploadHttpError && error.status === 400, String(error));
    assert.match(error.responseBody, /CRC32C/);
    assert.equal(isRetryableError(error), false);
    return true;
  });
  assert.notEqual(emu.getTempUpload(upload.id)?.state, 'complete');
});

test('a simple upload stores the body and reports its hashes', async () => {
  const data = randomBytes(70_000, seed + 6);
  const upload = await createTempUpload(data.length, false);
  const stored = await putSimple(upload.url, ctx, data, data.length, { hashHeader: hashHeaderOf(data) });
  assert.equal(stored.size, data.length);
  assert.equal(stored.md5Hash, md5Base64(data));
  assert.equal(emu.getTempUpload(upload.id)?.final?.md5Hex, md5Hex(data), `seed ${seed}`);
});

test('starting a session on an unknown temp upload is an UploadHttpError 404', async () => {
  const upload = await createTempUpload(10, true);
  const unknown = upload.url.replace(upload.id, 'no-such-id');
  await assert.rejects(startSession(unknown, ctx, { size: 10 }), (error: unknown) => {
    assert.ok(error instanceof UploadHttpError && error.status === 404, String(error));
    assert.doesNotMatch(error.message, /Signature/);
    return true;
  });
});
