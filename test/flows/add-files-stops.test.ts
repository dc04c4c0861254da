/** addFiles stops with one rejection when a failure is about the whole call: the token, its scope, the table. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RedivisClient } from '../../src/client/redivis-client.js';
import { ApiError, MissingTokenError } from '../../src/errors.js';
import { addFiles, isWholeCallFailure, type RawFile } from '../../src/flows/add-files.js';
import { randomBytes, runSeed } from '../support/data.js';
import { apiErrorBody, apiRequests, FAST_RETRY, flowHarness, md5Base64, startApiGate, type FlowHarness } from './helpers.js';

const seed = runSeed();
let h: FlowHarness;

before(async () => {
  h = await flowHarness();
});
after(() => h.close());

function clientFor(apiEndpoint: string, apiToken: string): RedivisClient {
  return new RedivisClient({ apiEndpoint, apiToken, dispatcher: h.dispatcher, retry: FAST_RETRY });
}

/** `count` one-byte files named f0000.txt, f0001.txt, ... */
function tinyFiles(count: number): Array<{ name: string; source: Buffer }> {
  return Array.from({ length: count }, (_, i) => ({ name: `f${String(i).padStart(4, '0')}.txt`, source: Buffer.from([i % 256]) }));
}

async function rejection(pending: Promise<unknown>): Promise<unknown> {
  return pending.then(
    () => assert.fail('expected the call to reject'),
    (error: unknown) => error,
  );
}

test('a wrong token stops 2,500 files at the first request with the 401 ApiError', async () => {
  h.emu.clearRequestLog();
  const error = await rejection(addFiles({ client: clientFor(h.emu.apiEndpoint, 'not-the-token'), table: 'owner.dataset:next.auth', files: tinyFiles(2_500) }));
  assert.ok(error instanceof ApiError, String(error));
  assert.equal(error.status, 401);
  assert.equal(error.errorCode, 'invalid_token');
  assert.equal(apiRequests(h.emu, /\/tempUploads$/).length, 1);
  assert.equal(h.emu.requestLog().length, 1);
});

test('a token without data.edit stops the run with the 403 ApiError', async () => {
  h.emu.clearRequestLog();
  const error = await rejection(addFiles({ client: clientFor(h.emu.apiEndpoint, h.emu.readOnlyToken), table: 'owner.dataset:next.scope', files: tinyFiles(1_200) }));
  assert.ok(error instanceof ApiError, String(error));
  assert.equal(error.status, 403);
  assert.equal(error.errorCode, 'insufficient_scope');
  assert.equal(h.emu.requestLog().length, 1);
});

test('a missing table (404 on tempUploads) stops the run with that ApiError', async () => {
  const gate = await startApiGate(h.emu, ({ path }) =>
    path.endsWith('/tempUploads') ? { status: 404, body: apiErrorBody(404, 'not_found', 'Table not found') } : undefined,
  );
  try {
    h.emu.clearRequestLog();
    const error = await rejection(addFiles({ client: clientFor(gate.apiEndpoint, h.emu.token), table: 'owner.dataset:next.missing', files: tinyFiles(30), batchSize: 10 }));
    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.status, 404);
    assert.equal(error.errorDescription, 'Table not found');
    assert.equal(h.emu.requestLog().length, 0);
  } finally {
    await gate.close();
  }
});

test('a token that stops working mid-run (401 on the second rawFiles) rejects once; the first batch stays registered', async () => {
  let registrations = 0;
  const gate = await startApiGate(h.emu, ({ method, path }) => {
    if (method !== 'POST' || !path.endsWith('/rawFiles')) return undefined;
    registrations += 1;
    return registrations === 2 ? { status: 401, body: apiErrorBody(401, 'invalid_token', 'The access token has expired') } : undefined;
  });
  try {
    const table = 'owner.dataset:next.expired';
    const files = Array.from({ length: 40 }, (_, i) => ({ name: `e${i}.bin`, source: randomBytes(2_000 + i, seed + i) }));
    const registered: RawFile[][] = [];
    const error = await rejection(
      addFiles({ client: clientFor(gate.apiEndpoint, h.emu.token), table, files, batchSize: 10, concurrency: 2, onRegistered: (batch) => registered.push(batch) }),
    );
    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.status, 401);
    assert.equal(registrations, 2, 'no registration is attempted after the whole-call failure');
    // Batches register in order here (concurrency 2 keeps the first batch ahead of the second).
    assert.deepEqual(registered.map((batch) => batch.map((file) => file.name)), [files.slice(0, 10).map((file) => file.name)]);
    const stored = h.emu.listRawFiles().filter((file) => file.table.endsWith('.expired'));
    assert.deepEqual(stored.map((file) => file.name), files.slice(0, 10).map((file) => file.name));
    assert.deepEqual(registered[0]!.map((file) => file.md5Hash), files.slice(0, 10).map((file) => md5Base64(file.source)), `seed ${seed}`);
  } finally {
    await gate.close();
  }
});

test('no token at all rejects with MissingTokenError before any request', async () => {
  const saved = process.env.REDIVIS_API_TOKEN;
  delete process.env.REDIVIS_API_TOKEN;
  try {
    h.emu.clearRequestLog();
    const client = new RedivisClient({ apiEndpoint: h.emu.apiEndpoint, dispatcher: h.dispatcher, retry: FAST_RETRY });
    await assert.rejects(addFiles({ client, table: 'owner.dataset:next.notoken', files: tinyFiles(20), batchSize: 5 }), MissingTokenError);
    assert.equal(h.emu.requestLog().length, 0);
  } finally {
    if (saved !== undefined) process.env.REDIVIS_API_TOKEN = saved;
  }
});

test('which failures are about the whole call', () => {
  const at = { method: 'POST', path: '/tables/t/tempUploads' };
  for (const status of [401, 403, 404]) assert.equal(isWholeCallFailure(new ApiError(at, status, undefined, undefined)), true, String(status));
  for (const status of [400, 409, 413, 500, 503]) assert.equal(isWholeCallFailure(new ApiError(at, status, undefined, undefined)), false, String(status));
  assert.equal(isWholeCallFailure(new MissingTokenError()), true);
  assert.equal(isWholeCallFailure(new Error('disk read failed')), false);
});
