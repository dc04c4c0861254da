/** uploadToTable against the emulator: the three kinds of source, processing outcomes, name conflicts, cancellation. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  AbortError,
  InvalidArgumentError,
  NameConflictError,
  TableReferenceError,
  TimeoutError,
  UploadFailedError,
} from '../../src/errors.js';
import { uploadToTable, type UploadToTableOptions } from '../../src/flows/upload-to-table.js';
import { chunkedSource, md5Hex, randomBytes, runSeed } from '../support/data.js';
import { apiRequests, flowHarness, type FlowHarness } from './helpers.js';

const TABLE = 'owner.dataset:next.table';
const seed = runSeed();
const FAST_POLL = { pollIntervalMs: 1, maxPollIntervalMs: 2 };
let h: FlowHarness;

before(async () => {
  h = await flowHarness();
});
after(() => h.close());

function options(extra: Partial<UploadToTableOptions> & Pick<UploadToTableOptions, 'source'>): UploadToTableOptions {
  return { client: h.client, table: TABLE, ...FAST_POLL, ...extra };
}

function assertStored(tempUploadId: string | undefined, data: Buffer): void {
  assert.ok(tempUploadId, 'the upload names its temp upload');
  const stored = h.emu.getTempUpload(tempUploadId);
  assert.equal(stored?.state, 'complete', `seed ${seed}`);
  assert.equal(stored?.final?.md5Hex, md5Hex(data), `stored content differs; seed ${seed}`);
}

const uploadPath = (name: string) => new RegExp(`/uploads/${name.replace(/\./g, '_')}$`);

test('a file path: sent, created with the given parsing options, polled until completed', async () => {
  const data = randomBytes(300_000, seed + 1);
  const path = join(h.dir, 'people.csv');
  await writeFile(path, data);
  const progress: Array<{ bytesConfirmed: number; totalBytes: number | undefined }> = [];
  const upload = await uploadToTable(
    options({ source: path, hasHeaderRow: false, delimiter: ',', nullMarkers: ['NA'], onProgress: (p) => progress.push(p) }),
  );
  assert.equal(upload.name, 'people.csv');
  assert.equal(upload.status, 'completed');
  assert.equal(upload.uri, `/tables/${encodeURIComponent(TABLE)}/uploads/people_csv`);
  assertStored(upload.tempUploadId, data);
  const info = h.emu.getUpload(TABLE, 'people.csv');
  assert.equal(info?.status, 'completed');
  assert.equal(info?.tempUploadId, upload.tempUploadId);
  assert.deepEqual(info?.options, { hasHeaderRow: false, delimiter: ',', nullMarkers: ['NA'] });
  assert.deepEqual(progress.at(-1), { bytesConfirmed: data.length, totalBytes: data.length });
  // Processing advances one step per GET: queued -> running -> completed.
  assert.equal(apiRequests(h.emu, uploadPath('people.csv'), 'GET').length, 2);
  assert.equal(apiRequests(h.emu, uploadPath('people.csv'), 'HEAD').length, 1);
});

test('a Buffer: sent in one PUT and processed', async () => {
  const data = randomBytes(70_000, seed + 2);
  const upload = await uploadToTable(options({ source: data, name: 'buffer.tsv', type: 'tsv' }));
  assert.equal(upload.status, 'completed');
  assertStored(upload.tempUploadId, data);
  assert.equal(h.emu.getUpload(TABLE, 'buffer.tsv')?.type, 'tsv');
  assert.equal(h.emu.getTempUpload(upload.tempUploadId!)?.resumable, false);
});

test('a Readable of unknown length: streamed through a resumable session in whole chunks', async () => {
  const data = randomBytes(700_000, seed + 3);
  const progress: Array<number | undefined> = [];
  const upload = await uploadToTable(
    options({ source: chunkedSource(data, [10_000, 77_777]), name: 'stream.ndjson', chunkSize: 262_144, onProgress: (p) => progress.push(p.totalBytes) }),
  );
  assert.equal(upload.status, 'completed');
  assertStored(upload.tempUploadId, data);
  const stored = h.emu.getTempUpload(upload.tempUploadId!)!;
  assert.equal(stored.resumable, true);
  const chunks = h.emu.requestLog().filter((e) => e.tempUploadId === upload.tempUploadId && e.kind === 'chunk');
  assert.ok(chunks.length >= 1, 'at least one chunk PUT');
  for (const chunk of chunks.slice(0, -1)) {
    const [, first, last] = /^bytes (\d+)-(\d+)\/\*$/.exec(chunk.contentRange ?? '') ?? [];
    assert.equal((Number(last) - Number(first) + 1) % 262_144, 0, `${chunk.contentRange} is a whole number of chunks`);
  }
  assert.equal(progress.at(-1), data.length);
});

test('a failed upload rejects with UploadFailedError carrying the server message', async () => {
  h.emu.failUpload('broken.csv', 'Row 3 has 2 columns, expected 3');
  const error = await uploadToTable(options({ source: Buffer.from('a,b,c\n1,2,3\n4,5\n'), name: 'broken.csv' })).then(
    () => assert.fail('expected a failure'),
    (failure: unknown) => failure,
  );
  assert.ok(error instanceof UploadFailedError, String(error));
  assert.equal(error.errorMessage, 'Row 3 has 2 columns, expected 3');
  assert.equal(error.uploadUri, `/tables/${encodeURIComponent(TABLE)}/uploads/broken_csv`);
  assert.equal(h.emu.getUpload(TABLE, 'broken.csv')?.status, 'failed');
});

test("name conflict, onConflict 'error': NameConflictError before any data is sent", async () => {
  await uploadToTable(options({ source: Buffer.from('x\n1\n'), name: 'taken.csv', wait: false }));
  const tempUploadsBefore = h.emu.listTempUploads().length;
  await assert.rejects(uploadToTable(options({ source: Buffer.from('x\n2\n'), name: 'taken.csv' })), (error: unknown) => {
    assert.ok(error instanceof NameConflictError);
    assert.equal(error.uploadName, 'taken.csv');
    return true;
  });
  assert.equal(h.emu.listTempUploads().length, tempUploadsBefore);
});

test("name conflict, onConflict 'replace': the old upload is deleted and the new one takes the name", async () => {
  const first = await uploadToTable(options({ source: Buffer.from('y\n1\n'), name: 'replace.csv' }));
  const data = Buffer.from('y\n2\n');
  const second = await uploadToTable(options({ source: data, name: 'replace.csv', onConflict: 'replace' }));
  assert.notEqual(second.tempUploadId, first.tempUploadId);
  assertStored(second.tempUploadId, data);
  assert.equal(h.emu.getUpload(TABLE, 'replace.csv')?.tempUploadId, second.tempUploadId);
  assert.equal(apiRequests(h.emu, uploadPath('replace.csv'), 'DELETE').length, 1);
});

test("name conflict, onConflict 'rename': the first free name_N keeps the extension", async () => {
  await uploadToTable(options({ source: Buffer.from('z\n0\n'), name: 'rename.csv', wait: false }));
  const one = await uploadToTable(options({ source: Buffer.from('z\n1\n'), name: 'rename.csv', onConflict: 'rename' }));
  const two = await uploadToTable(options({ source: Buffer.from('z\n2\n'), name: 'rename.csv', onConflict: 'rename' }));
  assert.deepEqual([one.name, two.name], ['rename_1.csv', 'rename_2.csv']);
  assert.equal(h.emu.getUpload(TABLE, 'rename_2.csv')?.tempUploadId, two.tempUploadId);
  assertStored(two.tempUploadId, Buffer.from('z\n2\n'));
});

test('wait: false resolves with the queued upload without polling', async () => {
  const upload = await uploadToTable(options({ source: Buffer.from('q\n1\n'), name: 'nowait.csv', wait: false }));
  assert.equal(upload.status, 'queued');
  assert.equal(upload.raw.kind, 'upload');
  assert.equal(apiRequests(h.emu, uploadPath('nowait.csv'), 'GET').length, 0);
});

test('a transient 503 on creating the upload is retried', async () => {
  // Requests of this call: HEAD (1), POST tempUploads (2), POST uploads (3).
  h.emu.injectFault({ match: { kind: 'api', nth: 3 }, fault: { kind: 'status', status: 503 } });
  const data = Buffer.from('r\n1\n');
  const upload = await uploadToTable(options({ source: data, name: 'retry.csv' }));
  assert.equal(upload.status, 'completed');
  const creations = apiRequests(h.emu, /\/uploads$/, 'POST');
  assert.deepEqual(creations.slice(-2).map((e) => e.status), [503, 200]);
});

test('a Readable that fails midway rejects with its error, cancels the session and creates no upload', async () => {
  const boom = new Error('source broke');
  let reads = 0;
  const isHalf = (id: string | undefined) => id !== undefined && h.emu.getTempUpload(id)?.name.startsWith('half.csv.') === true;
  const source = new Readable({
    read() {
      reads += 1;
      if (reads <= 2) this.push(randomBytes(200_000, seed + 10 + reads));
      // Fail once the session exists and holds a chunk, so there is a session to cancel.
      else if (reads === 3) void h.emu.waitForRequest((e) => e.kind === 'chunk' && isHalf(e.tempUploadId)).then(() => this.destroy(boom));
    },
  });
  await assert.rejects(uploadToTable(options({ source, name: 'half.csv', chunkSize: 262_144 })), (error: unknown) => error === boom);
  assert.equal(h.emu.getUpload(TABLE, 'half.csv'), undefined);
  const tempUpload = h.emu.listTempUploads().find((t) => t.name.startsWith('half.csv.'));
  assert.equal(tempUpload?.state, 'cancelled');
});

test('an abort while the data is streaming rejects with AbortError and creates no upload', async () => {
  const controller = new AbortController();
  let reads = 0;
  const source = new Readable({
    read() {
      reads += 1;
      if (reads === 1) this.push(randomBytes(300_000, seed + 4));
      else controller.abort(new Error('user stop'));
    },
  });
  await assert.rejects(uploadToTable(options({ source, name: 'aborted.csv', signal: controller.signal })), AbortError);
  assert.equal(h.emu.getUpload(TABLE, 'aborted.csv'), undefined);
});

test('an abort while waiting for processing rejects with AbortError', async () => {
  const controller = new AbortController();
  // Only this call's creation request must match below.
  h.emu.clearRequestLog();
  const pending = uploadToTable(
    options({ source: Buffer.from('p\n1\n'), name: 'poll-abort.csv', pollIntervalMs: 60_000, maxPollIntervalMs: 60_000, signal: controller.signal }),
  );
  await h.emu.waitForRequest((e) => e.method === 'POST' && /\/uploads$/.test(e.path) && e.status === 200);
  controller.abort();
  await assert.rejects(pending, AbortError);
  assert.equal(h.emu.getUpload(TABLE, 'poll-abort.csv')?.status, 'queued');
});

test('processing that outlasts timeoutMs rejects with TimeoutError', async () => {
  const pending = uploadToTable(options({ source: Buffer.from('t\n1\n'), name: 'slow.csv', pollIntervalMs: 1, timeoutMs: 1 }));
  await assert.rejects(pending, (error: unknown) => {
    assert.ok(error instanceof TimeoutError, String(error));
    assert.equal(error.timeoutMs, 1);
    return true;
  });
  assert.notEqual(h.emu.getUpload(TABLE, 'slow.csv')?.status, 'completed');
});

test('invalid options are refused before any request', async () => {
  const folder = join(h.dir, 'a-folder');
  await mkdir(folder, { recursive: true });
  const before = h.emu.requestLog().length;
  const aborted = AbortSignal.abort();
  const cases: Array<[Partial<UploadToTableOptions> & Pick<UploadToTableOptions, 'source'>, new (...args: any[]) => Error, string?]> = [
    [{ source: Buffer.from('x') }, InvalidArgumentError, 'name'],
    [{ source: Readable.from([Buffer.from('x')]) }, InvalidArgumentError, 'name'],
    [{ source: 42 as unknown as Buffer, name: 'x' }, InvalidArgumentError, 'source'],
    [{ source: join(h.dir, 'missing.csv') }, InvalidArgumentError, 'source'],
    [{ source: folder }, InvalidArgumentError, 'source'],
    [{ source: Buffer.from('x'), name: 'x', onConflict: 'ignore' as 'error' }, InvalidArgumentError, 'onConflict'],
    [{ source: Buffer.from('x'), name: 'x', type: 'xyz' }, InvalidArgumentError, 'type'],
    [{ source: Buffer.from('x'), name: 'x', throwOnFail: 'no' as unknown as boolean }, InvalidArgumentError, 'throwOnFail'],
    [{ source: Buffer.from('x'), name: 'x', removeOnFail: true, wait: false }, InvalidArgumentError, 'removeOnFail'],
    [{ source: Buffer.from('x'), name: 'x', transferSpecification: { sourceType: 'gcs', sourcePath: 'bucket/x.csv' } }, InvalidArgumentError, 'source'],
    [{ source: undefined }, InvalidArgumentError, 'source'],
    [{ source: Buffer.from('x'), name: 'x', chunkSize: 1000 }, InvalidArgumentError, 'chunkSize'],
    [{ source: Buffer.from('x'), name: 'x', pollIntervalMs: 0 }, InvalidArgumentError, 'pollIntervalMs'],
    [{ source: Buffer.from('x'), name: 'x', pollIntervalMs: 100, maxPollIntervalMs: 10 }, InvalidArgumentError, 'maxPollIntervalMs'],
    [{ source: Buffer.from('x'), name: 'x', timeoutMs: -1 }, InvalidArgumentError, 'timeoutMs'],
    [{ source: Buffer.from('x'), name: 'x', type: 5 as unknown as string }, InvalidArgumentError, 'type'],
    [{ source: Buffer.from('x'), name: 'x', nullMarkers: ['NA', 1 as unknown as string] }, InvalidArgumentError, 'nullMarkers'],
    [{ source: Buffer.from('x'), name: 'x', schema: [{ name: 'a' } as { name: string; type: string }] }, InvalidArgumentError, 'schema[0]'],
    [{ source: Buffer.from('x'), name: 'x', table: 'not a table' }, TableReferenceError],
    [{ source: Buffer.from('x'), name: 'x', signal: aborted }, AbortError],
  ];
  for (const [extra, type, argument] of cases) {
    await assert.rejects(uploadToTable(options(extra)), (error: unknown) => {
      assert.ok(error instanceof type, `${JSON.stringify(Object.keys(extra))}: ${String(error)}`);
      if (argument !== undefined) assert.equal((error as InvalidArgumentError).argument, argument);
      return true;
    });
  }
  assert.equal(h.emu.requestLog().length, before);
});

test('retries of upload requests are reported through onRetry, for files and for streams', async () => {
  for (const [name, source] of [
    ['retried-file.bin', randomBytes(5_000, seed + 20)],
    ['retried-stream.bin', chunkedSource(randomBytes(300_000, seed + 21), [50_000])],
  ] as const) {
    h.emu.injectFault({ match: { kind: ['simple', 'chunk'] }, fault: { kind: 'status', status: 503 } });
    const retries: number[] = [];
    const upload = await uploadToTable(options({ source, name, chunkSize: 262_144, onRetry: (retry) => retries.push(retry.attempt) }));
    assert.equal(upload.status, 'completed');
    assert.deepEqual(retries, [1], name);
  }
});
