import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pipeline } from 'node:stream/promises';
import { crc32c } from '@node-rs/crc32';
import { createTempUploadStream } from '../../src/upload/temp-upload-stream.js';
import { CHUNK_ALIGNMENT as Q } from '../../src/upload/content-range.js';
import { crc32cToBase64 } from '../../src/upload/checksums.js';
import { chunkedSource, randomBytes, runSeed } from '../support/data.js';
import { rangeOf, resumeIncomplete, startScriptedServer, type ScriptedRequest, type ScriptedResponse } from '../support/scripted-server.js';

const seed = runSeed();
const retry = { initialDelayMs: 1, maxDelayMs: 2, retries: 3 };

type Override = (request: ScriptedRequest, persisted: number) => ScriptedResponse | undefined;

/**
 * A faithful session, except where `override` answers first. It keeps every byte so the final object can be
 * described truthfully.
 */
async function sessionServer(override: Override) {
  let persisted = 0;
  const stored: Buffer[] = [];
  const server = await startScriptedServer((request) => {
    if (request.method === 'POST') return { status: 201, headers: { location: `${server.origin}/session?upload_id=abc` } };
    if (request.method === 'DELETE') return { status: 499 };
    const answer = override(request, persisted);
    if (answer) return answer;
    const range = rangeOf(request);
    if (range && range.first === persisted) {
      stored.push(request.body);
      persisted += request.body.length;
    }
    const total = /\/(\d+)$/.exec(String(request.headers['content-range']))?.[1];
    if (total !== undefined && Number(total) === persisted) {
      const data = Buffer.concat(stored);
      return { status: 200, body: JSON.stringify({ size: String(data.length), crc32c: crc32cToBase64(crc32c(data)) }) };
    }
    return resumeIncomplete(persisted);
  });
  return server;
}

async function uploadThrough(override: Override, size: number) {
  const server = await sessionServer(override);
  try {
    const stream = createTempUploadStream({ url: `${server.origin}/temp`, chunkSize: Q, maxRequestSize: Q, spill: false, retry });
    const outcome = pipeline(chunkedSource(randomBytes(size, seed), [Q]), stream).then(() => undefined, (error: unknown) => error);
    return { error: (await outcome) as (Error & Record<string, unknown>) | undefined, requests: server.requests, stream };
  } finally {
    await server.close();
  }
}

test(`a server acknowledging more than was sent is data loss, and the session is cancelled (seed ${seed})`, async () => {
  const { error, requests } = await uploadThrough((request) => (rangeOf(request)?.first === 0 ? resumeIncomplete(2 * Q) : undefined), 3 * Q);
  assert.equal(error?.code, 'ERR_DATA_LOSS');
  assert.equal(error?.serverOffset, 2 * Q);
  assert.equal(error?.sentUpTo, Q);
  assert.equal(requests.at(-1)!.method, 'DELETE');
});

test('a server offset before what the replay buffer holds is data loss, after asking again', async () => {
  let failedOnce = false;
  const { error, requests } = await uploadThrough((request, persisted) => {
    if (rangeOf(request)?.first === Q && !failedOnce) {
      failedOnce = true;
      return { status: 503 };
    }
    if (request.headers['content-range'] === 'bytes */*' && persisted === Q) return resumeIncomplete(100);
    return undefined;
  }, 3 * Q);
  assert.equal(error?.code, 'ERR_DATA_LOSS');
  assert.equal(error?.serverOffset, 100);
  assert.equal(error?.retainedFrom, Q);
  assert.equal(requests.filter((r) => r.headers['content-range'] === 'bytes */*').length, 3, 'asked three times before giving up');
});

test('a server that completes the upload before the stream ended is a protocol error', async () => {
  const { error } = await uploadThrough(
    (request) => (rangeOf(request)?.first === 0 ? { status: 200, body: JSON.stringify({ size: String(Q) }) } : undefined),
    3 * Q,
  );
  assert.equal(error?.code, 'ERR_PROTOCOL');
  assert.match(String(error?.message), /completed the upload at 262144 bytes though only 262144 of 786432 bytes were sent/);
});

test('a final object whose CRC32C differs is an integrity error', async () => {
  const { error } = await uploadThrough((request) => {
    if (String(request.headers['content-range']).endsWith(`/${2 * Q + 1}`)) {
      return { status: 200, body: JSON.stringify({ size: String(2 * Q + 1), crc32c: 'AAAAAA==' }) };
    }
    return undefined;
  }, 2 * Q + 1);
  assert.equal(error?.code, 'ERR_INTEGRITY');
  assert.equal(error?.field, 'crc32c');
});

test('a final object whose size differs is an integrity error', async () => {
  const { error } = await uploadThrough((request) => {
    if (String(request.headers['content-range']).endsWith(`/${Q + 1}`)) return { status: 200, body: JSON.stringify({ size: '5' }) };
    return undefined;
  }, Q + 1);
  assert.equal(error?.code, 'ERR_INTEGRITY');
  assert.equal(error?.field, 'size');
});

test('a malformed Range header is a protocol error naming it', async () => {
  const { error } = await uploadThrough((request) => (rangeOf(request) ? { status: 308, headers: { range: 'bytes=5-10' } } : undefined), 2 * Q);
  assert.equal(error?.code, 'ERR_PROTOCOL');
  assert.match(String(error?.message), /bytes=5-10/);
});

test('a session start without Location is a protocol error', async () => {
  const server = await startScriptedServer(() => ({ status: 201 }));
  try {
    const stream = createTempUploadStream({ url: `${server.origin}/temp`, retry });
    await assert.rejects(pipeline(chunkedSource(randomBytes(10, seed), [10]), stream), { code: 'ERR_PROTOCOL' });
  } finally {
    await server.close();
  }
});

test('a server that keeps persisting nothing exhausts the retry budget instead of looping', async () => {
  const { error } = await uploadThrough((request) => (rangeOf(request) ? resumeIncomplete(0) : undefined), 2 * Q);
  assert.equal(error?.code, 'ERR_RETRIES_EXHAUSTED');
});

test('a server that will not finalize an empty stream is a protocol error', async () => {
  const { error } = await uploadThrough((request) => (request.headers['content-range'] === 'bytes */0' ? resumeIncomplete(0) : undefined), 0);
  assert.equal(error?.code, 'ERR_PROTOCOL');
  assert.match(String(error?.message), /holds all 0 bytes but does not complete/);
});
