/**
 * Run by security.test.ts in a child process with NODE_DEBUG=redivis-upload: drives uploads through every kind of
 * outcome and prints, one JSON line each, every error (inspected with its causes), every event payload and every
 * result, plus the secrets (token, URL query values) the parent then looks for in this output and in stderr.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { inspect } from 'node:util';
import { Agent } from 'undici';
import { startEmulator, type Emulator, type FaultRule } from '../../src/emulator/index.js';
import { RedivisClient } from '../../src/client/redivis-client.js';
import { uploadFile } from '../../src/upload/file-upload.js';
import { createTempUploadStream } from '../../src/upload/temp-upload-stream.js';
import { CHUNK_ALIGNMENT as Q } from '../../src/upload/content-range.js';
import { chunkedSource, randomBytes } from '../support/data.js';

const TOKEN = 'tok_SECRET_0123456789abcdef';
const WRONG_TOKEN = 'tok_WRONG_fedcba9876543210';
const retry = { retries: 2, initialDelayMs: 1, maxDelayMs: 2 };

function emit(kind: string, value: unknown): void {
  const text = typeof value === 'string' ? value : inspect(value, { depth: Infinity, showHidden: false, getters: true });
  process.stdout.write(`${JSON.stringify({ kind, text })}\n`);
}

function secretsOf(url: string): string[] {
  return [...new URL(url).searchParams.values()];
}

async function scenario(emulator: Emulator, agent: Agent, label: string, faults: FaultRule[], options: Record<string, unknown> = {}, size = 3 * Q + 7) {
  const client = new RedivisClient({ apiEndpoint: emulator.apiEndpoint, apiToken: TOKEN, dispatcher: agent, retry, requestTimeoutMs: 400 });
  client.on('retry', (event) => emit('client-retry', event));
  const [temp] = await client.createTempUploads('sec_owner.sec_dataset.sec_table', [{ name: label, size, resumable: true }]);
  emit('secret', secretsOf(temp!.url).join(' '));
  for (const rule of faults) emulator.injectFault({ ...rule, match: { ...rule.match, tempUploadId: temp!.id } });
  const stream = createTempUploadStream({ client, url: temp!.url, chunkSize: Q, maxRequestSize: Q, spill: false, ...options });
  stream.on('session', (url: string) => emit('secret', secretsOf(url).join(' ')));
  stream.on('progress', (progress) => emit('progress', progress));
  stream.on('retry', (event) => emit('retry', event));
  try {
    await pipeline(chunkedSource(randomBytes(size, 1), [50_000]), stream);
    emit('result', { ...stream.result, sessionUrl: undefined });
  } catch (error) {
    emit('error', error);
    emit('error-message', `${(error as Error).message} ${(error as Error).stack ?? ''}`);
  }
  emulator.clearFaults();
}

const emulator = await startEmulator({ token: TOKEN, separateUploadOrigin: true });
const agent = new Agent();
emit('secret', TOKEN);
try {
  await scenario(emulator, agent, 'faults-then-success', [
    { match: { kind: 'chunk', nth: 1 }, fault: { kind: 'reset' } },
    { match: { kind: 'chunk', nth: 2 }, fault: { kind: 'status', status: 503, afterBytes: 1000 } },
    { match: { kind: 'chunk', nth: 4 }, fault: { kind: 'omitRange' } },
    { match: { kind: 'chunk', nth: 5 }, fault: { kind: 'status', status: 429, retryAfter: '0' } },
    { match: { kind: 'status', nth: 1 }, fault: { kind: 'status', status: 500 } },
  ]);
  await scenario(emulator, agent, 'exhausted', [{ match: { kind: 'chunk', nth: 2 }, fault: { kind: 'status', status: 503 }, times: 50 }]);
  await scenario(emulator, agent, 'expired', [{ match: { kind: 'chunk', nth: 2 }, fault: { kind: 'expire' } }]);
  await scenario(emulator, agent, 'data-loss', [
    { match: { kind: 'chunk', nth: 2 }, fault: { kind: 'status', status: 503, afterBytes: Q } },
    { match: { kind: 'status' }, fault: { kind: 'omitRange' }, times: 10 },
  ]);
  await scenario(emulator, agent, 'timeout', [{ match: { kind: 'chunk', nth: 1 }, fault: { kind: 'stall', ms: 3_000 } }], { stallTimeoutMs: 500 });
  await scenario(emulator, agent, 'size-mismatch', [], { size: 5 });
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error('user abort')), 50);
  await scenario(emulator, agent, 'aborted', [{ match: { kind: 'chunk', nth: 2 }, fault: { kind: 'stall', ms: 2_000 } }], { signal: controller.signal });

  // The API: a wrong token, and retried 503s.
  const wrong = new RedivisClient({ apiEndpoint: emulator.apiEndpoint, apiToken: WRONG_TOKEN, dispatcher: agent, retry });
  emit('secret', WRONG_TOKEN);
  await wrong.createTempUploads('sec_owner.sec_dataset.sec_table', [{ name: 'wrong', size: 1 }]).catch((error: unknown) => emit('error', error));
  emulator.injectFault({ match: { kind: 'api' }, fault: { kind: 'status', status: 503 }, times: 10 });
  const client = new RedivisClient({ apiEndpoint: emulator.apiEndpoint, apiToken: TOKEN, dispatcher: agent, retry });
  client.on('retry', (event) => emit('client-retry', event));
  await client.createTempUploads('sec_owner.sec_dataset.sec_table', [{ name: 'api-503', size: 1 }]).catch((error: unknown) => emit('error', error));
  emulator.clearFaults();

  // A connection that cannot be made, to a URL whose query string is a secret.
  const refused = createTempUploadStream({ client, url: 'http://127.0.0.1:1/upload?X-Goog-Signature=sig_SECRET_refused', retry });
  emit('secret', 'sig_SECRET_refused');
  refused.on('retry', (event) => emit('retry', event));
  await pipeline(chunkedSource(randomBytes(10, 2), [10]), refused).catch((error: unknown) => emit('error', error));

  // uploadFile, through a failure and a success.
  const dir = await mkdtemp(join(tmpdir(), 'redivis-security-'));
  try {
    const path = join(dir, 'data.bin');
    await writeFile(path, randomBytes(2 * Q + 3, 3));
    emulator.injectFault({ match: { kind: 'chunk', nth: 1 }, fault: { kind: 'reset', afterBytes: 100 } });
    const done = await uploadFile(path, { client, table: 'sec_owner.sec_dataset.sec_table', name: 'file-ok', resumable: true, chunkSize: Q });
    emit('secret', secretsOf(done.url).join(' '));
    emit('result', { ...done, url: undefined });
    emulator.injectFault({ match: { kind: 'chunk' }, fault: { kind: 'status', status: 502 }, times: 50 });
    await uploadFile(path, { client, table: 'sec_owner.sec_dataset.sec_table', name: 'file-fail', resumable: true, chunkSize: Q }).catch((error: unknown) => emit('error', error));
    emulator.clearFaults();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  emit('log', JSON.stringify(emulator.requestLog().map((entry) => ({ kind: entry.kind, authorization: entry.authorization, path: entry.path }))));
} finally {
  await emulator.close();
  await agent.close();
}
