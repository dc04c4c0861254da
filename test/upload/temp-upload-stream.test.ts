import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { finished, pipeline } from 'node:stream/promises';
import { startEmulator, type Emulator, type RequestLogEntry } from '../../src/emulator/index.js';
import { RedivisClient } from '../../src/client/redivis-client.js';
import { createTempUploadStream, type UploadProgress, type UploadRetry } from '../../src/upload/temp-upload-stream.js';
import { CHUNK_ALIGNMENT as Q } from '../../src/upload/content-range.js';
import { chunkedSource, md5Hex, randomBytes, runSeed } from '../support/data.js';

const seed = runSeed();
const FAST_RETRY = { initialDelayMs: 1, maxDelayMs: 4, retries: 6 };

let emulator: Emulator;
let client: RedivisClient;
let counter = 0;

before(async () => {
  emulator = await startEmulator();
  client = new RedivisClient({ apiEndpoint: emulator.apiEndpoint, apiToken: emulator.token, retry: FAST_RETRY });
});
after(() => emulator.close());

function uniqueName(): string {
  return `stream-${++counter}.bin`;
}

async function upload(data: Buffer, writeSizes: number[], options: { chunkSize?: number; size?: number } = {}) {
  const stream = createTempUploadStream({ client, table: 'owner.dataset.table', name: uniqueName(), ...options, ...(options.chunkSize ? { maxRequestSize: options.chunkSize, memoryLimit: 2 * options.chunkSize, spill: false as const } : {}) });
  await pipeline(chunkedSource(data, writeSizes), stream);
  const id = stream.result!.tempUploadId!;
  return { stream, id, info: emulator.getTempUpload(id)!, log: emulator.requestLog().filter((e) => e.tempUploadId === id) };
}

function ranges(log: RequestLogEntry[]): string[] {
  return log.filter((e) => e.kind === 'chunk' || e.kind === 'finalize' || e.kind === 'status').map((e) => e.contentRange!);
}

/** Every request before the last is an aligned `/*` chunk in order; the last carries the real total. */
function assertRanges(log: RequestLogEntry[], size: number): void {
  const sent = ranges(log);
  let next = 0;
  sent.forEach((range, index) => {
    const isLast = index === sent.length - 1;
    const match = /^bytes (?:(\d+)-(\d+)|\*)\/(\d+|\*)$/.exec(range);
    assert.ok(match, `malformed ${range}`);
    assert.equal(match[3], isLast ? String(size) : '*', `${range} (${index + 1} of ${sent.length})`);
    if (match[1] !== undefined) {
      assert.equal(Number(match[1]), next, `${range} starts where the previous ended`);
      const length = Number(match[2]) - Number(match[1]) + 1;
      if (!isLast) assert.equal(length % Q, 0, `${range} is 256 KiB-aligned`);
      next += length;
    }
  });
  assert.equal(next, size);
}

describe(`createTempUploadStream boundaries (seed ${seed})`, () => {
  for (const [label, size] of [['0 bytes', 0], ['1 byte', 1], ['exactly one chunk', Q], ['one chunk plus one byte', Q + 1], ['many chunks', 5 * Q + 17]] as const) {
    test(`${label}, unknown size`, async () => {
      const data = randomBytes(size, seed + size);
      const { stream, info, log } = await upload(data, [7919], { chunkSize: Q });
      assert.equal(info.state, 'complete');
      assert.equal(info.final!.md5Hex, md5Hex(data), `seed ${seed}`);
      assert.equal(stream.result!.size, size);
      assertRanges(log, size);
    });
  }

  test('an empty stream finalizes with bytes */0', async () => {
    const { info, log } = await upload(Buffer.alloc(0), [1]);
    assert.deepEqual(ranges(log), ['bytes */0']);
    assert.equal(info.final!.size, 0);
  });

  test('a stream that ends on a chunk boundary after its last chunk was sent finalizes with an empty bytes */N', async () => {
    const data = randomBytes(2 * Q, seed + 7);
    const stream = createTempUploadStream({ client, table: 'owner.dataset.table', name: uniqueName(), chunkSize: Q, maxRequestSize: Q, spill: false });
    const confirmed = new Promise<void>((resolve) => {
      stream.on('progress', (p: UploadProgress) => { if (p.bytesConfirmed === 2 * Q) resolve(); });
    });
    stream.write(data.subarray(0, Q));
    stream.write(data.subarray(Q));
    await confirmed;
    stream.end();
    await finished(stream);
    const id = stream.result!.tempUploadId!;
    assert.deepEqual(ranges(emulator.requestLog().filter((e) => e.tempUploadId === id)), ['bytes 0-262143/*', 'bytes 262144-524287/*', 'bytes */524288']);
    assert.equal(emulator.getTempUpload(id)!.final!.md5Hex, md5Hex(data));
  });

  test('known size sends the total from the first chunk and finalizes with the last', async () => {
    const data = randomBytes(3 * Q + 5, seed);
    const { info, log } = await upload(data, [65536], { chunkSize: Q, size: data.length });
    // The total is known, so even the last full chunk waits for the end of the source before it is sent.
    assert.equal(info.final!.md5Hex, md5Hex(data), `seed ${seed}`);
    assert.deepEqual(ranges(log), ['bytes 0-262143/786437', 'bytes 262144-524287/786437', 'bytes 524288-786431/786437', 'bytes 786432-786436/786437']);
    assert.equal(log.find((e) => e.kind === 'initiate')?.status, 201);
  });

  test('known size ending exactly on a chunk boundary completes with the last data chunk', async () => {
    const data = randomBytes(2 * Q, seed + 1);
    const { info, log } = await upload(data, [Q], { chunkSize: Q, size: data.length });
    assert.equal(info.final!.md5Hex, md5Hex(data));
    assert.deepEqual(ranges(log), ['bytes 0-262143/524288', 'bytes 262144-524287/524288']);
  });

  test('known size with memory for one chunk only: the request that reaches the size waits for the end, never deadlocks', async () => {
    for (const size of [2 * Q, 3 * Q, 2 * Q + 5]) {
      const data = randomBytes(size, seed + size);
      const stream = createTempUploadStream({ client, table: 'owner.dataset.table', name: uniqueName(), chunkSize: Q, memoryLimit: Q, size });
      await pipeline(chunkedSource(data, [4096]), stream);
      assert.equal(emulator.getTempUpload(stream.result!.tempUploadId!)!.final!.md5Hex, md5Hex(data), `size ${size}`);
    }
  });

  for (const writeSize of [1, 1000, 16_384, Q + 3, 3 * 1024 * 1024]) {
    test(`source writes of ${writeSize} bytes`, async () => {
      const data = randomBytes(writeSize === 1 ? Q + 100 : 4 * Q + 99, seed + writeSize);
      const { stream, info } = await upload(data, [writeSize], { chunkSize: Q });
      assert.equal(info.final!.md5Hex, md5Hex(data), `seed ${seed}`);
      assert.ok(stream.peakBufferedBytes <= 2 * Q + writeSize, `peak ${stream.peakBufferedBytes}`);
    });
  }

  test('result carries the temp upload id and the server hashes; checksums match', async () => {
    const data = randomBytes(Q + 9, seed + 2);
    const stream = createTempUploadStream({ client, table: 'owner.dataset.table', name: uniqueName(), chunkSize: Q, maxRequestSize: Q, spill: false, checksums: { md5: true } });
    const sessions: string[] = [];
    stream.on('session', (url: string) => sessions.push(url));
    await pipeline(chunkedSource(data, [5000]), stream);
    const info = emulator.getTempUpload(stream.result!.tempUploadId!)!;
    assert.deepEqual(stream.result, {
      tempUploadId: info.id,
      size: data.length,
      md5: info.final!.md5,
      crc32c: info.final!.crc32c,
      sessionUrl: stream.sessionUrl,
    });
    assert.deepEqual(sessions, [stream.sessionUrl]);
    const finalRequest = emulator.requestLog().filter((e) => e.tempUploadId === info.id).at(-1)!;
    assert.equal(finalRequest.status, 200);
  });

  test('progress events count written and confirmed bytes and end with the total', async () => {
    const data = randomBytes(3 * Q, seed + 3);
    const stream = createTempUploadStream({ client, table: 'owner.dataset.table', name: uniqueName(), chunkSize: Q, maxRequestSize: Q, spill: false });
    const events: Array<{ bytesWritten: number; bytesConfirmed: number; totalBytes: number | undefined }> = [];
    stream.on('progress', (p) => events.push(p));
    await pipeline(chunkedSource(data, [Q]), stream);
    const last = events.at(-1)!;
    assert.deepEqual(last, { bytesWritten: data.length, bytesConfirmed: data.length, totalBytes: data.length });
    for (let i = 1; i < events.length; i++) assert.ok(events[i]!.bytesConfirmed >= events[i - 1]!.bytesConfirmed);
  });

  test('sizeHint is declared on the temp upload while the protocol total stays unknown', async () => {
    const data = randomBytes(Q + 1, seed + 4);
    const stream = createTempUploadStream({ client, table: 'owner.dataset.table', name: uniqueName(), chunkSize: Q, maxRequestSize: Q, spill: false, sizeHint: 123_456 });
    await pipeline(chunkedSource(data, [4096]), stream);
    const info = emulator.getTempUpload(stream.result!.tempUploadId!)!;
    assert.equal(info.declaredSize, 123_456);
    assert.equal(info.final!.md5Hex, md5Hex(data));
  });
});

describe(`createTempUploadStream recovery (seed ${seed})`, () => {
  async function uploadWithFaults(faults: Parameters<Emulator['injectFault']>[0][], size = 4 * Q + 321, extra: object = {}) {
    const name = uniqueName();
    const [temp] = await client.createTempUploads('owner.dataset.table', [{ name, size, resumable: true }]);
    for (const fault of faults) emulator.injectFault({ ...fault, match: { ...fault.match, tempUploadId: temp!.id } });
    const data = randomBytes(size, seed + size + faults.length);
    const stream = createTempUploadStream({ client, url: temp!.url, chunkSize: Q, maxRequestSize: Q, spill: false, ...extra });
    const retries: UploadRetry[] = [];
    stream.on('retry', (r: UploadRetry) => retries.push(r));
    await pipeline(chunkedSource(data, [10_000]), stream);
    const info = emulator.getTempUpload(temp!.id)!;
    assert.equal(info.final!.md5Hex, md5Hex(data), `seed ${seed}`);
    return { stream, retries, log: emulator.requestLog().filter((e) => e.tempUploadId === temp!.id) };
  }

  for (const status of [408, 429, 500, 502, 503] as const) {
    test(`HTTP ${status} before anything is persisted`, async () => {
      const { retries, log } = await uploadWithFaults([{ match: { kind: 'chunk', nth: 2 }, fault: { kind: 'status', status, retryAfter: '0' } }]);
      assert.equal(retries.length, 1);
      assert.ok(log.some((e) => e.kind === 'status' && e.contentRange === 'bytes */*'), 'asked the server for its offset');
    });
  }

  test('503 after part of a chunk was persisted: resends only the rest', async () => {
    const { retries, log } = await uploadWithFaults([{ match: { kind: 'chunk', nth: 2 }, fault: { kind: 'status', status: 503, afterBytes: 1000, exactBytes: true } }]);
    assert.equal(retries.length, 1);
    assert.ok(log.some((e) => e.contentRange?.startsWith(`bytes ${Q + 1000}-`)), 'resumed from the persisted offset');
  });

  test('connection reset before the response, and after K bytes', async () => {
    const { retries } = await uploadWithFaults([
      { match: { kind: 'chunk', nth: 1 }, fault: { kind: 'reset' } },
      { match: { kind: 'chunk', nth: 3 }, fault: { kind: 'reset', afterBytes: 5000 } },
    ]);
    assert.equal(retries.length, 2);
    assert.ok(retries.every((r) => r.error.name === 'NetworkError'));
  });

  test('a 308 without Range is confirmed by a status query, never taken as "nothing persisted"', async () => {
    const { log } = await uploadWithFaults([{ match: { kind: 'chunk', nth: 2 }, fault: { kind: 'omitRange' } }]);
    const index = log.findIndex((e) => e.fault !== undefined);
    assert.equal(log[index + 1]!.contentRange, 'bytes */*');
  });

  test('Retry-After is honoured within maxDelayMs', async () => {
    const { retries } = await uploadWithFaults([{ match: { kind: 'chunk', nth: 1 }, fault: { kind: 'status', status: 429, retryAfter: '3' } }]);
    assert.equal(retries[0]!.delayMs, FAST_RETRY.maxDelayMs);
  });

  test('a stalled request times out and is retried', async () => {
    const { retries } = await uploadWithFaults([{ match: { kind: 'chunk', nth: 2 }, fault: { kind: 'stall', ms: 2_000 } }], 3 * Q, { requestTimeoutMs: 200 });
    assert.equal(retries.length, 1);
  });

  test('a failing final request whose response is lost still completes', async () => {
    const { log } = await uploadWithFaults([{ match: { kind: 'chunk', nth: 5 }, fault: { kind: 'reset' } }]);
    assert.equal(log.at(-1)!.status, 200);
  });
});
