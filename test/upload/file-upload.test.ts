/** uploadFile against the emulator: sizes around chunk boundaries, both protocols, faults, aborts, the token rule. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, truncateSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { startEmulator } from '../../src/emulator/index.js';
import type { Emulator, FaultRule } from '../../src/emulator/index.js';
import { RedivisClient } from '../../src/client/redivis-client.js';
import {
  AbortError,
  InvalidArgumentError,
  RetriesExhaustedError,
  SessionExpiredError,
  SizeMismatchError,
  UploadHttpError,
} from '../../src/errors.js';
import { uploadFile, type UploadFileOptions } from '../../src/upload/file-upload.js';
import { MAX_RENEWALS } from '../../src/upload/sized-upload.js';
import type { UploadRetry } from '../../src/upload/stream-options.js';
import { md5Hex, randomBytes, runSeed } from '../support/data.js';

const Q = 262_144;
const TABLE = 'owner.dataset.table';
const seed = runSeed();
const dir = await mkdtemp(join(tmpdir(), 'redivis-upload-file-'));
const dispatcher = new Agent();
const emu = await startEmulator();
const client = new RedivisClient({ apiEndpoint: emu.apiEndpoint, apiToken: emu.token, dispatcher, retry: { initialDelayMs: 1, maxDelayMs: 5 } });
after(async () => {
  await dispatcher.close();
  await emu.close();
  await rm(dir, { recursive: true, force: true });
});

let fileCounter = 0;

/** A file of `size` seeded random bytes; returns its path and content. */
async function makeFile(size: number, offset = 0): Promise<{ path: string; data: Buffer }> {
  fileCounter += 1;
  const data = randomBytes(size, seed + fileCounter * 7919 + offset);
  const path = join(dir, `file-${fileCounter}.bin`);
  await writeFile(path, data);
  return { path, data };
}

function options(extra: Partial<UploadFileOptions> = {}): UploadFileOptions {
  return { client, table: TABLE, ...extra };
}

/** Request-log entries of one temp upload. */
function logOf(target: Emulator, id: string) {
  return target.requestLog().filter((entry) => entry.tempUploadId === id);
}

function assertStored(target: Emulator, id: string, data: Buffer): void {
  const info = target.getTempUpload(id);
  assert.equal(info?.state, 'complete', `seed ${seed}`);
  assert.equal(info?.final?.md5Hex, md5Hex(data), `content differs; seed ${seed}`);
  assert.equal(info?.final?.size, data.length, `seed ${seed}`);
}

test('a 0-byte file, resumable: finalized with bytes */0', async () => {
  const { path, data } = await makeFile(0);
  const progress: number[] = [];
  const result = await uploadFile(path, options({ resumable: true, onProgress: (p) => progress.push(p.bytesConfirmed) }));
  assertStored(emu, result.id, data);
  assert.equal(result.resumable, true);
  assert.deepEqual(result.final, { size: 0, md5: '1B2M2Y8AsgTpgAmY7PhCfg==', crc32c: 'AAAAAA==' });
  assert.deepEqual(progress, [0]);
  assert.deepEqual(logOf(emu, result.id).map((e) => [e.kind, e.contentRange]), [['initiate', undefined], ['finalize', 'bytes */0']]);
});

test('a 0-byte file, simple: one empty PUT', async () => {
  const { path, data } = await makeFile(0);
  const result = await uploadFile(path, options());
  assertStored(emu, result.id, data);
  assert.equal(result.resumable, false);
  assert.deepEqual(logOf(emu, result.id).map((e) => [e.kind, e.bytesReceived]), [['simple', 0]]);
});

test('a 1-byte file, simple by default and resumable on request', async () => {
  const { path, data } = await makeFile(1);
  const simple = await uploadFile(path, options({ name: 'one-simple' }));
  assertStored(emu, simple.id, data);
  assert.equal(simple.name, 'one-simple');
  const resumable = await uploadFile(path, options({ name: 'one-resumable', resumable: true }));
  assertStored(emu, resumable.id, data);
  assert.deepEqual(logOf(emu, resumable.id).filter((e) => e.kind === 'chunk').map((e) => e.contentRange), ['bytes 0-0/1']);
});

test('exactly one chunk, and one chunk plus one byte', async () => {
  const exact = await makeFile(Q);
  const one = await uploadFile(exact.path, options({ resumable: true, chunkSize: Q, maxRequestSize: Q }));
  assertStored(emu, one.id, exact.data);
  assert.deepEqual(logOf(emu, one.id).filter((e) => e.kind === 'chunk').map((e) => e.contentRange), [`bytes 0-${Q - 1}/${Q}`]);

  const plus = await makeFile(Q + 1);
  const progress: number[] = [];
  const two = await uploadFile(plus.path, options({ resumable: true, chunkSize: Q, maxRequestSize: Q, onProgress: (p) => progress.push(p.bytesConfirmed) }));
  assertStored(emu, two.id, plus.data);
  assert.deepEqual(logOf(emu, two.id).filter((e) => e.kind === 'chunk').map((e) => e.contentRange), [
    `bytes 0-${Q - 1}/${Q + 1}`,
    `bytes ${Q}-${Q}/${Q + 1}`,
  ]);
  assert.deepEqual(progress, [Q, Q + 1]);
});

test('by default a resumable file sends one chunk, then the whole rest in one request read from disk as it goes', async () => {
  const { path, data } = await makeFile(40 * Q + 3);
  const result = await uploadFile(path, options({ resumable: true, chunkSize: Q }));
  assertStored(emu, result.id, data);
  assert.deepEqual(logOf(emu, result.id).filter((e) => e.kind === 'chunk').map((e) => e.contentRange), [
    `bytes 0-${Q - 1}/${data.length}`,
    `bytes ${Q}-${data.length - 1}/${data.length}`,
  ]);
});

test('the resumable threshold decides the protocol asked for', async () => {
  const { path, data } = await makeFile(2 * Q + 5);
  const result = await uploadFile(path, options({ resumableThreshold: 2 * Q, chunkSize: Q, maxRequestSize: Q }));
  assert.equal(result.resumable, true);
  assertStored(emu, result.id, data);
  assert.equal(logOf(emu, result.id).filter((e) => e.kind === 'chunk').length, 3);
});

const faults: Array<[string, (nth: number) => FaultRule['fault']]> = [
  ['503 after some bytes', () => ({ kind: 'status', status: 503, afterBytes: 100_000 })],
  ['a connection reset mid-chunk', () => ({ kind: 'reset', afterBytes: 150_001 })],
  ['a lost response', () => ({ kind: 'reset' })],
  ['a 308 without Range', () => ({ kind: 'omitRange' })],
  ['a 429 without persisting', () => ({ kind: 'status', status: 429 })],
];

for (const [label, fault] of faults) {
  test(`a 3 MiB file in 256 KiB chunks survives ${label}`, async () => {
    const { path, data } = await makeFile(3 * 1024 * 1024 + 17);
    const progress: number[] = [];
    const rule = (nth: number): FaultRule => ({ match: { kind: 'chunk', nth }, fault: fault(nth) });
    emu.injectFault(rule(2));
    emu.injectFault(rule(6));
    emu.injectFault(rule(13));
    const result = await uploadFile(path, options({ resumable: true, chunkSize: Q, maxRequestSize: Q, onProgress: (p) => progress.push(p.bytesConfirmed) }));
    assertStored(emu, result.id, data);
    emu.clearFaults();
    const log = logOf(emu, result.id);
    assert.ok(log.some((e) => e.fault !== undefined), `no fault applied; seed ${seed}`);
    // Every failed or ambiguous chunk is followed by a status query before more data is sent.
    log.forEach((entry, index) => {
      if (entry.kind === 'chunk' && entry.fault !== undefined && entry.status !== 200) assert.equal(log[index + 1]?.kind, 'status', `${label}: ${JSON.stringify(log)}`);
    });
    assert.ok(progress.every((value, i) => i === 0 || value > progress[i - 1]!), `progress not increasing: ${progress.join(',')}`);
    assert.equal(progress.at(-1), data.length);
  });
}

test('a Buffer source, simple and resumable', async () => {
  const data = randomBytes(Q * 2 + 333, seed + 11);
  const simple = await uploadFile(data, options({ name: 'buffer-simple' }));
  assertStored(emu, simple.id, data);
  assert.equal(simple.final.md5, emu.getTempUpload(simple.id)?.final?.md5);
  const resumable = await uploadFile(data, options({ name: 'buffer-resumable', resumable: true, chunkSize: Q, maxRequestSize: Q }));
  assertStored(emu, resumable.id, data);
  assert.equal(resumable.final.crc32c, emu.getTempUpload(resumable.id)?.final?.crc32c);
});

test('a simple upload is retried from byte 0', async () => {
  const { path, data } = await makeFile(500_000);
  emu.injectFault({ match: { kind: 'simple' }, fault: { kind: 'status', status: 503 } });
  emu.injectFault({ match: { kind: 'simple', nth: 2 }, fault: { kind: 'reset', afterBytes: 1000 } });
  const result = await uploadFile(path, options());
  assertStored(emu, result.id, data);
  assert.deepEqual(logOf(emu, result.id).map((e) => e.kind), ['simple', 'simple', 'simple']);
});

test('the token goes to the API host only', async () => {
  const separate = await startEmulator({ separateUploadOrigin: true });
  const local = new RedivisClient({ apiEndpoint: separate.apiEndpoint, apiToken: separate.token, dispatcher, retry: { initialDelayMs: 1, maxDelayMs: 5 } });
  try {
    const { path, data } = await makeFile(Q + 10);
    const resumable = await uploadFile(path, { client: local, table: TABLE, resumable: true, chunkSize: Q, maxRequestSize: Q });
    assertStored(separate, resumable.id, data);
    const simple = await uploadFile(path, { client: local, table: TABLE, name: 'simple' });
    assertStored(separate, simple.id, data);
    const log = separate.requestLog();
    const api = log.filter((e) => e.kind === 'api');
    const uploads = log.filter((e) => e.kind !== 'api');
    assert.equal(api.length, 2);
    assert.ok(api.every((e) => e.authorization));
    assert.ok(uploads.length >= 4);
    assert.ok(uploads.every((e) => !e.authorization), JSON.stringify(uploads));
  } finally {
    await separate.close();
  }
  const { path } = await makeFile(10);
  const sameOrigin = await uploadFile(path, options());
  assert.ok(logOf(emu, sameOrigin.id).every((e) => e.authorization));
});

test('arguments are validated before any request', async () => {
  const { path } = await makeFile(10);
  const before = emu.requestLog().length;
  const cases: Array<[string | Buffer, Partial<UploadFileOptions>, string]> = [
    [path, { chunkSize: Q + 1 }, 'chunkSize'],
    [path, { chunkSize: 0 }, 'chunkSize'],
    [path, { resumableThreshold: -1 }, 'resumableThreshold'],
    [path, { name: '' }, 'name'],
    [Buffer.from('x'), {}, 'name'],
    ['', {}, 'source'],
    [42 as unknown as string, {}, 'source'],
    [join(dir, 'missing.bin'), {}, 'source'],
    [dir, {}, 'source'],
    [path, { resumable: 'yes' as unknown as boolean }, 'resumable'],
    [path, { onProgress: 5 as unknown as () => void }, 'onProgress'],
    [path, { client: {} as RedivisClient }, 'client'],
  ];
  for (const [source, extra, argument] of cases) {
    await assert.rejects(uploadFile(source, options(extra)), (error: unknown) => {
      assert.ok(error instanceof InvalidArgumentError, `${argument}: ${String(error)}`);
      assert.equal(error.argument, argument);
      return true;
    });
  }
  await assert.rejects(uploadFile(path, options({ table: 'not a table' })), (error: unknown) => (error as { code?: string }).code === 'ERR_TABLE_REFERENCE');
  assert.equal(emu.requestLog().length, before);
});

test('retries run out into RetriesExhaustedError carrying the last failure', async () => {
  const { path } = await makeFile(Q + 1);
  const limited = new RedivisClient({ apiEndpoint: emu.apiEndpoint, apiToken: emu.token, dispatcher, retry: { retries: 2, initialDelayMs: 1, maxDelayMs: 2 } });
  emu.injectFault({ match: { kind: 'chunk' }, fault: { kind: 'status', status: 503 }, times: Infinity });
  try {
    await assert.rejects(uploadFile(path, { client: limited, table: TABLE, resumable: true, chunkSize: Q, maxRequestSize: Q }), (error: unknown) => {
      assert.ok(error instanceof RetriesExhaustedError, String(error));
      assert.equal(error.attempts, 3);
      assert.ok(error.cause instanceof UploadHttpError && error.cause.status === 503);
      return true;
    });
  } finally {
    emu.clearFaults();
  }
});

test('aborting cancels the session', async () => {
  const { path } = await makeFile(4 * Q);
  const controller = new AbortController();
  await assert.rejects(
    uploadFile(path, options({ resumable: true, chunkSize: Q, maxRequestSize: Q, signal: controller.signal, onProgress: () => controller.abort() })),
    (error: unknown) => error instanceof AbortError,
  );
  const id = emu.listTempUploads().at(-1)?.id;
  assert.equal(emu.getTempUpload(id!)?.state, 'cancelled');
  assert.equal(logOf(emu, id!).filter((e) => e.kind === 'chunk').length, 1);
  const aborted = AbortSignal.abort();
  const before = emu.requestLog().length;
  await assert.rejects(uploadFile(path, options({ signal: aborted })), AbortError);
  assert.equal(emu.requestLog().length, before);
});

test('a file that shrinks or grows during the upload is a SizeMismatchError', async () => {
  for (const change of ['shrink', 'grow'] as const) {
    const { path } = await makeFile(3 * Q);
    let changed = false;
    const onProgress = (): void => {
      if (changed) return;
      changed = true;
      // Synchronous, so the change is on disk before the next chunk is read.
      if (change === 'shrink') truncateSync(path, Q + 10);
      else appendFileSync(path, Buffer.from('more'));
    };
    await assert.rejects(uploadFile(path, options({ resumable: true, chunkSize: Q, maxRequestSize: Q, onProgress })), (error: unknown) => {
      assert.ok(error instanceof SizeMismatchError, `${change}: ${String(error)}`);
      return true;
    });
    const id = emu.listTempUploads().at(-1)!.id;
    assert.equal(emu.getTempUpload(id)?.state, 'cancelled', change);
  }
});

test('a session that expires or is terminated mid-upload is replaced by a new temp upload, reported through onRetry', async () => {
  for (const kind of ['expire', 'terminate'] as const) {
    const { path, data } = await makeFile(2 * Q + 5);
    emu.injectFault({ match: { kind: 'chunk', nth: 2 }, fault: { kind }, times: 1 });
    const retries: UploadRetry[] = [];
    const done = await uploadFile(path, options({ resumable: true, chunkSize: Q, maxRequestSize: Q, onRetry: (retry) => retries.push(retry) }));
    assert.equal(emu.getTempUpload(done.id)!.final!.md5Hex, md5Hex(data), kind);
    assert.equal(done.final.size, data.length);
    const renewals = retries.filter((retry) => retry.error instanceof SessionExpiredError);
    assert.equal(renewals.length, 1, kind);
    emu.clearFaults();
  }
});

test('renewals are bounded: a session that keeps expiring ends with SessionExpiredError', async () => {
  const { path } = await makeFile(2 * Q);
  emu.injectFault({ match: { kind: 'chunk' }, fault: { kind: 'expire' }, times: Infinity });
  const created = emu.listTempUploads().length;
  await assert.rejects(uploadFile(path, options({ resumable: true, chunkSize: Q, maxRequestSize: Q })), (error: unknown) => {
    assert.ok(error instanceof SessionExpiredError && error.status === 404, String(error));
    return true;
  });
  assert.equal(emu.listTempUploads().length - created, 1 + MAX_RENEWALS, 'the first temp upload and its renewals');
  emu.clearFaults();
});
