/**
 * Run by leaks.test.ts in a child process (the test runner's own handles would blur an in-process count). For each
 * scenario named in `process.argv`, in order: starts an emulator and a dispatcher, runs one upload, closes both, and
 * prints one JSON line with the active resources before, during, once the upload settled and after closing, and what
 * TMPDIR holds while the emulator runs and after it closed.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setImmediate as tick } from 'node:timers/promises';
import { Agent } from 'undici';
import { startEmulator, type Emulator, type FaultRule } from '../../src/emulator/index.js';
import { RedivisClient } from '../../src/client/redivis-client.js';
import { RedivisUploadError } from '../../src/errors.js';
import { uploadFile } from '../../src/upload/file-upload.js';
import { createTempUploadStream } from '../../src/upload/temp-upload-stream.js';
import { CHUNK_ALIGNMENT as Q } from '../../src/upload/content-range.js';
import { chunkedSource, randomBytes } from '../support/data.js';

const TABLE = 'leak_owner.leak_dataset.leak_table';
const retry = { retries: 2, initialDelayMs: 1, maxDelayMs: 2 };
let counter = 0;

type Source = ReturnType<typeof chunkedSource> | (() => AsyncGenerator<Buffer>);

interface Run {
  emulator: Emulator;
  client: RedivisClient;
  during: string[];
  /** Called once the server has confirmed the first chunk. */
  onConfirmed?: () => void;
}

function describeOutcome(error: unknown): string {
  return error instanceof RedivisUploadError ? error.code : `untyped ${String(error)}`;
}

async function stream(run: Run, faults: FaultRule[], options: Record<string, unknown> = {}, source?: Source): Promise<string> {
  const { emulator, client } = run;
  const [temp] = await client.createTempUploads(TABLE, [{ name: `stream-${++counter}`, size: 0, resumable: true }]);
  for (const rule of faults) emulator.injectFault({ ...rule, match: { ...rule.match, tempUploadId: temp!.id } });
  const upload = createTempUploadStream({ client, url: temp!.url, chunkSize: Q, maxRequestSize: Q, spill: false, ...options });
  upload.on('progress', (progress: { bytesConfirmed: number }) => {
    run.during = process.getActiveResourcesInfo();
    if (progress.bytesConfirmed >= Q) run.onConfirmed?.();
  });
  const from = (source ?? chunkedSource(randomBytes(3 * Q + 5, 1), [40_000])) as ReturnType<typeof chunkedSource>;
  return pipeline(from, upload).then(() => 'completed', describeOutcome);
}

async function file(run: Run, abort: boolean): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'leaks-file-'));
  try {
    const path = join(dir, 'data.bin');
    await writeFile(path, randomBytes(3 * Q + 1, 2));
    const controller = new AbortController();
    if (abort) run.emulator.injectFault({ match: { kind: 'chunk', nth: 2 }, fault: { kind: 'stall', ms: 5_000 } });
    return await uploadFile(path, {
      client: run.client,
      table: TABLE,
      name: `file-${++counter}`,
      resumable: true,
      chunkSize: Q,
      signal: controller.signal,
      onProgress: (progress) => {
        if (abort && progress.bytesConfirmed >= Q) controller.abort();
      },
    }).then(() => 'completed', describeOutcome);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function scenario(name: string, run: Run): Promise<string> {
  switch (name) {
    case 'success':
    case 'global-dispatcher':
      return stream(run, []);
    case 'faults':
      return stream(run, [
        { match: { kind: 'chunk', nth: 1 }, fault: { kind: 'reset', afterBytes: 1000 } },
        { match: { kind: 'chunk', nth: 3 }, fault: { kind: 'status', status: 503 } },
        { match: { kind: 'chunk', nth: 4 }, fault: { kind: 'stall', ms: 3_000 } },
      ], { requestTimeoutMs: 300 });
    case 'abort': {
      // Aborted while the second chunk is stalled on the server, so a request is in flight.
      const controller = new AbortController();
      run.onConfirmed = () => setImmediate(() => controller.abort());
      return stream(run, [{ match: { kind: 'chunk', nth: 2 }, fault: { kind: 'stall', ms: 10_000 } }], { signal: controller.signal });
    }
    case 'exhausted':
      return stream(run, [{ match: { kind: 'chunk', nth: 2 }, fault: { kind: 'status', status: 503 }, times: 50 }]);
    case 'stall-timeout':
      return stream(run, [{ match: { kind: 'chunk' }, fault: { kind: 'status', status: 503 }, times: 500 }], {
        stallTimeoutMs: 100,
        retry: { retries: 1000, initialDelayMs: 20, maxDelayMs: 20 },
      });
    case 'size-mismatch':
      return stream(run, [], { size: 2 * Q });
    case 'expired':
      return stream(run, [{ match: { kind: 'chunk', nth: 2 }, fault: { kind: 'expire' } }]);
    case 'source-error':
      return stream(run, [], {}, async function* () {
        yield randomBytes(2 * Q, 3);
        throw new Error('source failed');
      });
    case 'file':
      return file(run, false);
    case 'file-abort':
      return file(run, true);
    default:
      throw new Error(`unknown scenario ${name}`);
  }
}

for (const name of process.argv.slice(2)) {
  const baseline = process.getActiveResourcesInfo();
  const emulator = await startEmulator();
  const tmpAtStart = await readdir(tmpdir());
  const agent = name === 'global-dispatcher' ? undefined : new Agent();
  const client = new RedivisClient({ apiEndpoint: emulator.apiEndpoint, apiToken: emulator.token, dispatcher: agent, retry, requestTimeoutMs: 2_000 });
  const run: Run = { emulator, client, during: [] };
  const outcome = await scenario(name, run);
  // Closed handles finish closing on the next turns of the loop.
  for (let i = 0; i < 5; i++) await tick();
  // What the upload left running: keep-alive sockets and the emulator are expected, timers are not.
  const settled = process.getActiveResourcesInfo();
  await emulator.close();
  await agent?.close();
  const tmp = await readdir(tmpdir());
  for (let i = 0; i < 5; i++) await tick();
  const after = process.getActiveResourcesInfo();
  process.stdout.write(`${JSON.stringify({ scenario: name, outcome, baseline, during: run.during, settled, after, tmpAtStart, tmp })}\n`);
}
