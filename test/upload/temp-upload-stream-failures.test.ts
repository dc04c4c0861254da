import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { startEmulator, type Emulator, type FaultRule } from '../../src/emulator/index.js';
import { RedivisClient } from '../../src/client/redivis-client.js';
import { createTempUploadStream } from '../../src/upload/temp-upload-stream.js';
import { startSession } from '../../src/upload/session.js';
import { CHUNK_ALIGNMENT as Q } from '../../src/upload/content-range.js';
import { chunkedSource, md5Hex, randomBytes, runSeed } from '../support/data.js';

const seed = runSeed();
const FAST_RETRY = { initialDelayMs: 1, maxDelayMs: 4, retries: 4 };

let emulator: Emulator;
let client: RedivisClient;
let counter = 0;

before(async () => {
  emulator = await startEmulator();
  client = new RedivisClient({ apiEndpoint: emulator.apiEndpoint, apiToken: emulator.token, retry: FAST_RETRY });
});
after(() => emulator.close());

async function tempUpload(size = 0) {
  const [temp] = await client.createTempUploads('owner.dataset.table', [{ name: `failure-${++counter}`, size, resumable: true }]);
  return temp!;
}

function inject(id: string, ...rules: FaultRule[]): void {
  for (const rule of rules) emulator.injectFault({ ...rule, match: { ...rule.match, tempUploadId: id } });
}

describe(`createTempUploadStream failures (seed ${seed})`, () => {
  for (const [kind, status] of [['expire', 404], ['terminate', 410]] as const) {
    test(`a session that is ${kind}d mid-upload fails with SessionExpiredError (${status})`, async () => {
      const temp = await tempUpload();
      inject(temp.id, { match: { kind: 'chunk', nth: 2 }, fault: { kind } });
      const stream = createTempUploadStream({ client, url: temp.url, chunkSize: Q, maxRequestSize: Q, spill: false });
      await assert.rejects(pipeline(chunkedSource(randomBytes(3 * Q, seed), [Q]), stream), { code: 'ERR_SESSION_EXPIRED', status });
      assert.notEqual(emulator.getTempUpload(temp.id)!.state, 'complete');
    });
  }

  test('a source longer than the declared size fails before anything is finalized', async () => {
    const temp = await tempUpload(2 * Q);
    const stream = createTempUploadStream({ client, url: temp.url, chunkSize: Q, maxRequestSize: Q, spill: false, size: 2 * Q });
    await assert.rejects(pipeline(chunkedSource(randomBytes(2 * Q + 1, seed), [1000]), stream), { code: 'ERR_SIZE_MISMATCH', expected: 2 * Q });
    assert.notEqual(emulator.getTempUpload(temp.id)!.state, 'complete');
    assert.ok(emulator.requestLog().every((e) => e.tempUploadId !== temp.id || e.status !== 200), 'nothing completed');
  });

  test('a source shorter than the declared size fails before anything is finalized', async () => {
    const temp = await tempUpload(3 * Q);
    const stream = createTempUploadStream({ client, url: temp.url, chunkSize: Q, maxRequestSize: Q, spill: false, size: 3 * Q });
    await assert.rejects(pipeline(chunkedSource(randomBytes(2 * Q + 7, seed), [Q]), stream), { code: 'ERR_SIZE_MISMATCH', expected: 3 * Q, actual: 2 * Q + 7 });
    assert.equal(emulator.getTempUpload(temp.id)!.state, 'cancelled');
  });

  test('abort mid-chunk: AbortError, the request in flight is dropped and the session cancelled', async () => {
    const temp = await tempUpload();
    inject(temp.id, { match: { kind: 'chunk', nth: 2 }, fault: { kind: 'stall', ms: 30_000 } });
    const controller = new AbortController();
    const stream = createTempUploadStream({ client, url: temp.url, chunkSize: Q, maxRequestSize: Q, spill: false, signal: controller.signal });
    stream.on('progress', (p) => {
      if (p.bytesConfirmed === Q) setImmediate(() => controller.abort(new Error('user cancelled')));
    });
    const started = Date.now();
    await assert.rejects(pipeline(chunkedSource(randomBytes(4 * Q, seed), [Q]), stream), { code: 'ERR_ABORTED' });
    assert.ok(Date.now() - started < 20_000, 'did not wait for the stalled request');
    assert.equal(emulator.getTempUpload(temp.id)!.state, 'cancelled');
    assert.ok(emulator.requestLog().some((e) => e.tempUploadId === temp.id && e.kind === 'cancel' && e.status === 499));
  });

  test('destroy() cancels the session', async () => {
    const temp = await tempUpload();
    const stream = createTempUploadStream({ client, url: temp.url, chunkSize: Q, maxRequestSize: Q, spill: false });
    const sessionStarted = new Promise((resolve) => stream.once('session', resolve));
    stream.write(randomBytes(100, seed));
    await sessionStarted;
    const closed = new Promise((resolve) => stream.once('close', resolve));
    stream.destroy();
    await closed;
    assert.equal(emulator.getTempUpload(temp.id)!.state, 'cancelled');
  });

  test('retries exhausted keep the session, which a new stream resumes from the server offset (whole source again)', async () => {
    const temp = await tempUpload();
    const data = randomBytes(4 * Q + 11, seed);
    inject(temp.id, { match: { kind: 'chunk', nth: 3 }, fault: { kind: 'status', status: 503 }, times: 100 });
    const first = createTempUploadStream({ client, url: temp.url, chunkSize: Q, maxRequestSize: Q, spill: false, retry: { retries: 2, initialDelayMs: 1, maxDelayMs: 2 } });
    await assert.rejects(pipeline(chunkedSource(data, [Q]), first), { code: 'ERR_RETRIES_EXHAUSTED' });
    const info = emulator.getTempUpload(temp.id)!;
    assert.equal(info.state, 'in_progress');
    assert.equal(info.persisted, 2 * Q);
    emulator.clearFaults();

    const second = createTempUploadStream({ client, sessionUrl: first.sessionUrl!, chunkSize: Q, maxRequestSize: Q, spill: false, checksums: { md5: true } });
    await pipeline(chunkedSource(data, [5000]), second);
    assert.equal(emulator.getTempUpload(temp.id)!.final!.md5Hex, md5Hex(data), `seed ${seed}`);
    assert.equal(second.result!.size, data.length);
    assert.equal(second.result!.tempUploadId, undefined);
  });

  test('a resumed session can be fed from its persisted offset only', async () => {
    const temp = await tempUpload();
    const data = randomBytes(3 * Q + 5, seed + 1);
    inject(temp.id, { match: { kind: 'chunk', nth: 2 }, fault: { kind: 'status', status: 503 }, times: 100 });
    const first = createTempUploadStream({ client, url: temp.url, chunkSize: Q, maxRequestSize: Q, spill: false, retry: { retries: 0 } });
    await assert.rejects(pipeline(chunkedSource(data, [Q]), first), { code: 'ERR_RETRIES_EXHAUSTED' });
    emulator.clearFaults();
    const persisted = emulator.getTempUpload(temp.id)!.persisted;
    assert.equal(persisted, Q);
    const second = createTempUploadStream({ client, sessionUrl: first.sessionUrl!, offset: persisted, chunkSize: Q, maxRequestSize: Q, spill: false });
    await pipeline(chunkedSource(data.subarray(persisted), [Q]), second);
    assert.equal(emulator.getTempUpload(temp.id)!.final!.md5Hex, md5Hex(data));
  });

  test('an offset beyond what the server holds is data loss', async () => {
    const temp = await tempUpload();
    const sessionUrl = await startedSession(temp.url);
    const stream = createTempUploadStream({ client, sessionUrl, offset: Q });
    await assert.rejects(pipeline(Readable.from([Buffer.alloc(10)]), stream), { code: 'ERR_DATA_LOSS', serverOffset: 0 });
  });

  test('the stall deadline bounds an upload that makes no progress', async () => {
    const temp = await tempUpload();
    inject(temp.id, { match: { kind: 'chunk' }, fault: { kind: 'status', status: 503, retryAfter: '1' }, times: 1000 });
    const stream = createTempUploadStream({ client, url: temp.url, chunkSize: Q, maxRequestSize: Q, spill: false, stallTimeoutMs: 30, retry: { retries: 100, initialDelayMs: 10, maxDelayMs: 20 } });
    await assert.rejects(pipeline(chunkedSource(randomBytes(Q, seed), [Q]), stream), { code: 'ERR_TIMEOUT' });
    emulator.clearFaults();
  });

  test('a slow server stalls a fast source: bytes held stay within two chunks and the high-water mark holds', async () => {
    const temp = await tempUpload();
    const chunkSize = Q;
    const writeSize = 16 * 1024;
    const highWaterMark = 32 * 1024;
    for (let nth = 1; nth <= 4; nth++) inject(temp.id, { match: { kind: 'chunk', nth }, fault: { kind: 'stall', ms: 40 } });
    const data = randomBytes(12 * Q, seed + 2);
    const stream = createTempUploadStream({ client, url: temp.url, chunkSize, maxRequestSize: chunkSize, memoryLimit: 2 * chunkSize, spill: false, highWaterMark });
    let maxQueuedInNode = 0;
    let refusals = 0;
    let offset = 0;
    await new Promise<void>((resolve, reject) => {
      stream.on('error', reject);
      stream.on('finish', resolve);
      const pump = () => {
        while (offset < data.length) {
          const piece = Buffer.from(data.subarray(offset, offset + writeSize));
          offset += piece.length;
          maxQueuedInNode = Math.max(maxQueuedInNode, stream.writableLength);
          if (!stream.write(piece)) {
            refusals += 1;
            stream.once('drain', pump);
            return;
          }
        }
        stream.end();
      };
      pump();
    });
    assert.ok(refusals > 0, 'the source was told to wait');
    assert.ok(stream.peakBufferedBytes <= 2 * chunkSize + writeSize, `peak ${stream.peakBufferedBytes}`);
    assert.ok(maxQueuedInNode <= highWaterMark + writeSize, `Node buffered ${maxQueuedInNode}`);
    assert.equal(emulator.getTempUpload(temp.id)!.final!.md5Hex, md5Hex(data));
  });

  test('invalid options are refused before anything is sent, saying what was expected', () => {
    const cases: Array<[object, string]> = [
      [{ url: 'http://127.0.0.1:1/x', chunkSize: Q + 1 }, 'ERR_INVALID_ARGUMENT'],
      [{ url: 'http://127.0.0.1:1/x', chunkSize: 0 }, 'ERR_INVALID_ARGUMENT'],
      [{ url: 'http://127.0.0.1:1/x', sessionUrl: 'http://127.0.0.1:1/y' }, 'ERR_INVALID_ARGUMENT'],
      [{}, 'ERR_INVALID_ARGUMENT'],
      [{ url: 'ftp://example.com/x' }, 'ERR_INVALID_ARGUMENT'],
      [{ url: 'not a url' }, 'ERR_INVALID_ARGUMENT'],
      [{ url: 'http://example.com/x' }, 'ERR_UNSAFE_URL'],
      [{ url: 'http://127.0.0.1:1/x', size: -1 }, 'ERR_INVALID_ARGUMENT'],
      [{ url: 'http://127.0.0.1:1/x', size: 1.5 }, 'ERR_INVALID_ARGUMENT'],
      [{ table: 'a.b.c', name: 'x' }, 'ERR_INVALID_ARGUMENT'],
      [{ client, table: 'a.b.c', name: '' }, 'ERR_INVALID_ARGUMENT'],
      [{ url: 'http://127.0.0.1:1/x', signal: 'yes' }, 'ERR_INVALID_ARGUMENT'],
      [{ url: 'http://127.0.0.1:1/x', checksums: 'md5' }, 'ERR_INVALID_ARGUMENT'],
      [{ sessionUrl: 'http://127.0.0.1:1/x', offset: -5 }, 'ERR_INVALID_ARGUMENT'],
    ];
    for (const [options, code] of cases) {
      assert.throws(() => createTempUploadStream(options as never), (error: Error & { code?: string }) => {
        assert.equal(error.code, code, `${JSON.stringify(options)}: ${error.message}`);
        return true;
      });
    }
    assert.throws(() => createTempUploadStream({ url: 'http://127.0.0.1:1/x', chunkSize: 1000 }), /expected a positive multiple of 262144 \(256 KiB\), received number 1000/);
  });
});

function startedSession(url: string): Promise<string> {
  return startSession(url, { headers: client.uploadHeaders(url) });
}
