import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pipeline } from 'node:stream/promises';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { RedivisClient } from '../../src/client/redivis-client.js';
import { RedivisUploadError } from '../../src/errors.js';
import { createTempUploadStream } from '../../src/upload/temp-upload-stream.js';
import { CHUNK_ALIGNMENT as Q } from '../../src/upload/content-range.js';
import { chunkedSource, md5Hex, randomBytes, runSeed } from '../support/data.js';

const seed = runSeed();
let emulator: Emulator;
let client: RedivisClient;
let counter = 0;

before(async () => {
  emulator = await startEmulator();
  client = new RedivisClient({ apiEndpoint: emulator.apiEndpoint, apiToken: emulator.token, retry: { retries: 0, initialDelayMs: 1, maxDelayMs: 2 } });
});
after(() => emulator.close());

/**
 * An upload whose completing request is processed by the server but whose answer is lost, with no retry budget
 * left to ask: the stream cannot know the upload completed.
 */
async function lostCompletion(data: Buffer) {
  const [temp] = await client.createTempUploads('owner.dataset.table', [{ name: `resume-${++counter}`, size: data.length, resumable: true }]);
  const chunks = Math.max(1, Math.ceil(data.length / Q));
  emulator.injectFault({ match: { kind: 'chunk', nth: chunks, tempUploadId: temp!.id }, fault: { kind: 'reset' } });
  const stream = createTempUploadStream({ client, url: temp!.url, chunkSize: Q, maxRequestSize: Q, spill: false });
  const error = await pipeline(chunkedSource(data, [Q]), stream).then(() => undefined, (e: unknown) => e);
  return { temp: temp!, stream, error };
}

/** Resumes `sessionUrl` with the whole source, as a user recovering from the failure would. */
function resume(sessionUrl: string, data: Buffer) {
  const stream = createTempUploadStream({ client, sessionUrl, chunkSize: Q, maxRequestSize: Q, spill: false });
  return { stream, done: pipeline(chunkedSource(data, [65_536]), stream) };
}

describe(`a failure after the upload completed (seed ${seed})`, () => {
  test('the stream fails typed, keeps the session, and resuming it reports the completed upload (source under two chunks)', async () => {
    const data = randomBytes(Q + 100, seed);
    const { temp, stream, error } = await lostCompletion(data);
    // Either outcome is honest: the library may ask the server once more and succeed, or fail with a kept session.
    if (error !== undefined) {
      assert.ok(error instanceof RedivisUploadError, String(error));
      assert.equal(error.code, 'ERR_RETRIES_EXHAUSTED');
      assert.ok(stream.sessionUrl);
      const resumed = resume(stream.sessionUrl, data);
      await resumed.done;
      assert.equal(resumed.stream.result!.size, data.length);
    }
    assert.equal(emulator.getTempUpload(temp.id)!.final!.md5Hex, md5Hex(data), `seed ${seed}`);
  });

  // TempUploadStream.finishAlreadyComplete() calls releaseWrites() and then waitForData() without checking `ended`
  // again: releasing the held write lets Node call _final() synchronously (the source had already ended), whose
  // wake-up comes before anyone waits, so the stream waits forever with no timer or socket left.
  test('resuming a session that is already complete finishes when the source holds two chunks or more', { timeout: 5_000 }, async () => {
    const data = randomBytes(2 * Q, seed + 1);
    const first = createTempUploadStream({ client, table: 'owner.dataset.table', name: `resume-${++counter}`, chunkSize: Q, maxRequestSize: Q, spill: false });
    await pipeline(chunkedSource(data, [Q]), first);
    const resumed = resume(first.sessionUrl!, data);
    const outcome = await Promise.race([
      resumed.done.then(() => 'finished', (e: unknown) => `failed: ${String(e)}`),
      new Promise((resolve) => setTimeout(resolve, 3_000, 'still pending after 3 s')),
    ]);
    if (outcome !== 'finished') resumed.stream.destroy();
    assert.equal(outcome, 'finished');
    assert.deepEqual(resumed.stream.result, { ...first.result, tempUploadId: undefined });
  });
});
