import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request, type Agent } from 'undici';
import { startEmulator } from '../../src/emulator/index.js';
import type { Emulator, EmulatorOptions } from '../../src/emulator/index.js';
import { RedivisClient } from '../../src/client/redivis-client.js';
import { ApiError, MissingTokenError, RetriesExhaustedError, TableReferenceError } from '../../src/errors.js';
import { testAgent, withEnv } from './helpers.js';

const TABLE = 'demo.census:next.people';
const emulators: Emulator[] = [];
let agent: Agent;

before(() => {
  agent = testAgent();
});
after(async () => {
  await Promise.all(emulators.map((emulator) => emulator.close()));
  await agent.close();
});

async function emulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const started = await startEmulator(options);
  emulators.push(started);
  return started;
}

/** `null` makes a client without a token. */
function clientFor(emu: Emulator, token: string | null = emu.token): RedivisClient {
  return withEnv({ REDIVIS_API_TOKEN: undefined }, () =>
    new RedivisClient({
      apiToken: token ?? undefined,
      apiEndpoint: emu.apiEndpoint,
      dispatcher: agent,
      retry: { retries: 3, initialDelayMs: 1, maxDelayMs: 5, jitter: 0 },
    }),
  );
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof Error);
    return error;
  }
  assert.fail('expected the call to fail');
}

test('createTempUploads end to end: created on the emulator, and bytes PUT with uploadHeaders arrive intact', async () => {
  const emu = await emulator();
  const client = clientFor(emu);
  const content = Buffer.from('id,name\n1,Ada\n2,Grace\n');
  const [simple, resumable] = await client.createTempUploads(TABLE, [
    { name: 'people.csv', size: content.length },
    { name: 'big.csv', size: 5e7 + 1, resumable: true },
  ]);
  assert.ok(simple && resumable);
  assert.deepEqual(
    { name: simple.name, size: simple.size, resumable: simple.resumable },
    { name: 'people.csv', size: content.length, resumable: false },
  );
  assert.deepEqual({ name: resumable.name, size: resumable.size, resumable: resumable.resumable }, { name: 'big.csv', size: 5e7 + 1, resumable: true });
  const info = emu.getTempUpload(simple.id);
  assert.equal(info?.name, 'people.csv');
  assert.equal(info?.table, TABLE);
  assert.equal(info?.declaredSize, content.length);

  const [apiCall] = emu.requestLog();
  assert.deepEqual(
    { method: apiCall!.method, path: apiCall!.path, kind: apiCall!.kind, status: apiCall!.status, authorization: apiCall!.authorization },
    { method: 'POST', path: '/api/v1/tables/demo.census%3Anext.people/tempUploads', kind: 'api', status: 200, authorization: true },
  );

  // The upload URL is on the API's own host, so it gets the token.
  const headers = client.uploadHeaders(simple.url);
  assert.equal(headers.authorization, `Bearer ${emu.token}`);
  const response = await request(simple.url, { method: 'PUT', headers, body: content, dispatcher: agent });
  await response.body.text();
  assert.equal(response.statusCode, 200);
  const md5 = createHash('md5').update(content).digest('hex');
  assert.equal(emu.getTempUpload(simple.id)?.final?.md5Hex, md5);
  assert.equal(createHash('md5').update(await emu.readTempUpload(simple.id)).digest('hex'), md5);
});

test('upload URLs on another host never receive the token', async () => {
  const emu = await emulator({ separateUploadOrigin: true });
  const client = clientFor(emu);
  const [created] = await client.createTempUploads(TABLE, [{ name: 'x.bin', size: 4 }]);
  assert.ok(created);
  assert.equal(new URL(created.url).hostname, '127.0.0.2');
  const headers = client.uploadHeaders(created.url);
  assert.deepEqual(headers, { 'user-agent': client.userAgent });
  const response = await request(created.url, { method: 'PUT', headers, body: Buffer.from([1, 2, 3, 4]), dispatcher: agent });
  await response.body.text();
  assert.equal(response.statusCode, 200);
  const put = emu.requestLog().find((entry) => entry.kind === 'simple');
  assert.equal(put?.authorization, false);
});

test('2,500 items with a server limit of 1,000: three requests, order kept', async () => {
  const emu = await emulator({ maxTempUploadsPerRequest: 1000 });
  const client = clientFor(emu);
  const items = Array.from({ length: 2500 }, (_, i) => ({ name: `part-${String(i).padStart(4, '0')}.csv`, size: i * 7 }));
  const created = await client.createTempUploads(TABLE, items);
  assert.equal(created.length, 2500);
  assert.deepEqual(created.map((t) => t.name), items.map((i) => i.name));
  assert.deepEqual(created.map((t) => t.size), items.map((i) => i.size));
  assert.equal(new Set(created.map((t) => t.id)).size, 2500);
  assert.ok(created.every((t, i) => emu.getTempUpload(t.id)?.name === items[i]!.name));
  const apiCalls = emu.requestLog().filter((entry) => entry.kind === 'api');
  assert.equal(apiCalls.length, 3);
  assert.ok(apiCalls.every((entry) => entry.status === 200 && entry.method === 'POST'));

  // A batch above the server's limit is a 400, which is not retried.
  emu.clearRequestLog();
  const error = await rejection(
    client.createTempUploads(TABLE, [{ name: 'a', size: 1 }, { name: 'b', size: 1 }], { batchSize: 2 }).then(() =>
      client.createTempUploads(TABLE, items.map((i) => ({ ...i, name: `again-${i.name}` })).slice(0, 1001), { batchSize: 1001 }),
    ),
  );
  assert.ok(error instanceof ApiError);
  assert.equal(error.status, 400);
  assert.equal(emu.requestLog().filter((entry) => entry.kind === 'api').length, 2);
});

test('no token: MissingTokenError before any request; wrong token: 401', async () => {
  const emu = await emulator();
  const anonymous = clientFor(emu, null);
  assert.equal(anonymous.hasToken, false);
  await assert.rejects(anonymous.createTempUploads(TABLE, [{ name: 'a', size: 1 }]), MissingTokenError);
  assert.deepEqual(emu.requestLog(), []);

  const wrong = clientFor(emu, 'not-the-token');
  const error = await rejection(wrong.createTempUploads(TABLE, [{ name: 'a', size: 1 }]));
  assert.ok(error instanceof ApiError);
  assert.equal(error.status, 401);
  assert.equal(error.errorCode, 'invalid_token');
  assert.equal(error.path, '/tables/demo.census%3Anext.people/tempUploads');
  assert.equal(error.message.includes('not-the-token'), false);
  const log = emu.requestLog();
  assert.equal(log.length, 1, '401 is not retried');
  assert.equal(log[0]!.authorization, true);
});

test('read-only token: 403 insufficient_scope in the flat shape', async () => {
  const emu = await emulator({ errorShape: 'flat' });
  const error = await rejection(clientFor(emu, emu.readOnlyToken).createTempUploads(TABLE, [{ name: 'a', size: 1 }]));
  assert.ok(error instanceof ApiError);
  assert.equal(error.status, 403);
  assert.equal(error.errorCode, 'insufficient_scope');
  assert.match(error.errorDescription ?? '', /data\.edit/);
  assert.equal(emu.requestLog().length, 1);
});

test('read-only token: 403 in the nested shape', async () => {
  const emu = await emulator({ errorShape: 'nested' });
  const error = await rejection(clientFor(emu, emu.readOnlyToken).createTempUploads(TABLE, [{ name: 'a', size: 1 }]));
  assert.ok(error instanceof ApiError);
  assert.equal(error.status, 403);
  assert.equal(error.errorCode, undefined);
  assert.match(error.errorDescription ?? '', /data\.edit/);
});

test('a malformed reference is refused before any request', async () => {
  const emu = await emulator();
  const client = clientFor(emu);
  for (const reference of ['demo.census', 'demo.My Dataset.people', 'demo.census:next:sample.people']) {
    await assert.rejects(client.createTempUploads(reference, [{ name: 'a', size: 1 }]), TableReferenceError, reference);
  }
  assert.deepEqual(emu.requestLog(), []);
});

test('429 and 503 from the API are retried; a persistent 503 exhausts the budget', async () => {
  const emu = await emulator();
  const client = clientFor(emu);
  const delays: number[] = [];
  client.on('retry', (event) => delays.push(event.delayMs));
  emu.injectFault({ match: { kind: 'api' }, fault: { kind: 'status', status: 429, retryAfter: '1' } });
  emu.injectFault({ match: { kind: 'api' }, fault: { kind: 'status', status: 503 } });
  const [created] = await client.createTempUploads(TABLE, [{ name: 'retried.csv', size: 3 }]);
  assert.equal(created?.name, 'retried.csv');
  assert.deepEqual(emu.requestLog().map((entry) => entry.status), [429, 503, 200]);
  // The 1 s Retry-After is capped at maxDelayMs (5); the 503 that follows gets the second backoff step (2).
  assert.deepEqual(delays, [5, 2]);
  assert.equal(emu.listTempUploads().length, 1);

  emu.clearRequestLog();
  emu.injectFault({ match: { kind: 'api' }, fault: { kind: 'status', status: 503 }, times: Infinity });
  const error = await rejection(client.createTempUploads(TABLE, [{ name: 'never.csv', size: 3 }]));
  assert.ok(error instanceof RetriesExhaustedError);
  assert.equal(error.attempts, 4);
  assert.ok(error.cause instanceof ApiError && error.cause.status === 503);
  assert.equal(emu.requestLog().length, 4);
});
