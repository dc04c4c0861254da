import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Agent } from 'undici';
import { RedivisClient, type RetryEvent } from '../../src/client/redivis-client.js';
import {
  AbortError,
  ApiError,
  NetworkError,
  RetriesExhaustedError,
} from '../../src/errors.js';
import { sendJson, startServer, testAgent, testClient, TOKEN, type Handler, type TestServer } from './helpers.js';

let server: TestServer;
let agent: Agent;
let handler: Handler;

before(async () => {
  server = await startServer((req, res, body, index) => handler(req, res, body, index));
  agent = testAgent();
});
after(async () => {
  await agent.close();
  await server.close();
});
beforeEach(() => {
  server.requests.length = 0;
});

function retryEvents(client: RedivisClient): RetryEvent[] {
  const events: RetryEvent[] = [];
  client.on('retry', (event) => events.push(event));
  return events;
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

test('503 then success: retried with the computed backoff', async () => {
  handler = (_req, res, _body, index) =>
    index < 2 ? sendJson(res, 503, { error: 'unavailable', status: 503 }) : sendJson(res, 200, { ok: true });
  const client = testClient(server, agent);
  const events = retryEvents(client);
  const response = await client.request('GET', '/datasets/a.b');
  assert.deepEqual(response.body, { ok: true });
  assert.equal(server.requests.length, 3);
  assert.deepEqual(events.map((e) => [e.attempt, e.delayMs]), [[1, 1], [2, 2]]);
  assert.ok(events.every((e) => e.error instanceof ApiError && e.error.status === 503 && e.path === '/datasets/a.b' && e.method === 'GET'));
});

test('429 with Retry-After in seconds: honoured, capped at maxDelayMs', async () => {
  handler = (_req, res, _body, index) =>
    index === 0 ? sendJson(res, 429, { error: 'rate_limited' }, { 'retry-after': '1' }) : sendJson(res, 200, { ok: 1 });
  const client = testClient(server, agent);
  const events = retryEvents(client);
  await client.request('GET', '/a');
  assert.equal(server.requests.length, 2);
  // Without Retry-After the first delay would be 1 ms; 1 s is honoured up to the 5 ms cap.
  assert.deepEqual(events.map((e) => e.delayMs), [5]);
  assert.ok(events[0]!.error instanceof ApiError && events[0]!.error.status === 429);
});

test('429 with Retry-After as an HTTP date: honoured, capped; a past date falls back to backoff', async () => {
  const future = new Date(Date.now() + 120_000).toUTCString();
  const past = new Date(Date.now() - 120_000).toUTCString();
  handler = (_req, res, _body, index) => {
    if (index === 0) return sendJson(res, 429, {}, { 'retry-after': future });
    if (index === 1) return sendJson(res, 429, {}, { 'retry-after': past });
    if (index === 2) return sendJson(res, 429, {}, { 'retry-after': 'soon-ish' });
    return sendJson(res, 200, {});
  };
  const client = testClient(server, agent);
  const events = retryEvents(client);
  await client.request('GET', '/a');
  // Backoff alone gives 1, 2, 4 ms; the future date lifts the first to the 5 ms cap.
  assert.deepEqual(events.map((e) => e.delayMs), [5, 2, 4]);
});

test('persistent 503 -> RetriesExhaustedError with the last ApiError as cause', async () => {
  handler = (_req, res) => sendJson(res, 503, { error: { message: 'Down for maintenance', status: 503 } });
  const client = testClient(server, agent);
  const events = retryEvents(client);
  const error = await rejection(client.request('POST', '/tables/a.b.c/tempUploads', { body: { tempUploads: [] } }));
  assert.ok(error instanceof RetriesExhaustedError);
  assert.equal(error.code, 'ERR_RETRIES_EXHAUSTED');
  assert.equal(error.attempts, 4);
  assert.ok(error.cause instanceof ApiError);
  assert.equal(error.cause.status, 503);
  assert.equal(error.cause.errorDescription, 'Down for maintenance');
  assert.equal(server.requests.length, 4);
  assert.deepEqual(events.map((e) => e.delayMs), [1, 2, 4]);
  assert.equal(error.message.includes(TOKEN), false);
});

test('retry: false makes one attempt and throws its error as is', async () => {
  handler = (_req, res) => sendJson(res, 503, { error: 'unavailable' });
  const client = testClient(server, agent);
  const error = await rejection(client.request('GET', '/a', { retry: false }));
  assert.ok(error instanceof ApiError);
  assert.equal(error.status, 503);
  assert.equal(server.requests.length, 1);

  const none = testClient(server, agent, { retry: { retries: 0, initialDelayMs: 1, maxDelayMs: 5 } });
  const exhausted = await rejection(none.request('GET', '/a'));
  assert.ok(exhausted instanceof RetriesExhaustedError);
  assert.equal(exhausted.attempts, 1);
  assert.equal(server.requests.length, 2);
});

test('a reset connection is a NetworkError and is retried', async () => {
  handler = (req, res, _body, index) => {
    if (index === 0) {
      req.socket.destroy();
      return;
    }
    sendJson(res, 200, { second: true });
  };
  const client = testClient(server, agent);
  const events = retryEvents(client);
  const response = await client.request('GET', '/flaky');
  assert.deepEqual(response.body, { second: true });
  assert.equal(events.length, 1);
  assert.ok(events[0]!.error instanceof NetworkError);
  assert.ok(events[0]!.error.cause instanceof Error);
});

test('a body cut short after the headers is a NetworkError and is retried', async () => {
  handler = (req, res, _body, index) => {
    if (index === 0) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      // Once the headers and part of the body are flushed, the connection drops.
      res.write('{"partial":', () => req.socket.destroy());
      return;
    }
    sendJson(res, 200, { whole: true });
  };
  const client = testClient(server, agent);
  const events = retryEvents(client);
  const response = await client.request('GET', '/cut');
  assert.deepEqual(response.body, { whole: true });
  assert.equal(events.length, 1);
  assert.ok(events[0]!.error instanceof NetworkError);
  assert.equal(server.requests.length, 2);
});

test('a refused connection ends in RetriesExhaustedError(NetworkError with cause)', async () => {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));

  const client = new RedivisClient({
    apiToken: TOKEN,
    apiEndpoint: `http://127.0.0.1:${port}/api/v1`,
    dispatcher: agent,
    retry: { retries: 2, initialDelayMs: 1, maxDelayMs: 2, jitter: 0 },
  });
  const error = await rejection(client.request('GET', '/tables/a.b.c', { query: { token: 'nope' } }));
  assert.ok(error instanceof RetriesExhaustedError);
  assert.equal(error.attempts, 3);
  assert.ok(error.cause instanceof NetworkError);
  assert.equal(error.cause.code, 'ERR_NETWORK');
  assert.equal(error.cause.path, '/tables/a.b.c');
  assert.equal((error.cause.cause as NodeJS.ErrnoException).code, 'ECONNREFUSED');
  assert.equal(error.message.includes('nope'), false);

  const single = await rejection(client.request('GET', '/x', { retry: false }));
  assert.ok(single instanceof NetworkError);
});

test('requestTimeoutMs bounds the wait for response headers', async () => {
  handler = () => {
    // Never answers; the client's timeout must end the request.
  };
  const client = testClient(server, agent, { requestTimeoutMs: 50 });
  const error = await rejection(client.request('GET', '/slow', { retry: false }));
  assert.ok(error instanceof NetworkError);
  assert.equal((error.cause as { code?: string }).code, 'UND_ERR_HEADERS_TIMEOUT');
});

test('aborting during a request -> AbortError carrying the reason', async () => {
  handler = () => {
    // Held open until the client aborts.
  };
  const client = testClient(server, agent);
  const controller = new AbortController();
  const pending = client.request('GET', '/held', { signal: controller.signal });
  await server.waitForRequests(1);
  const reason = new Error('user cancelled');
  controller.abort(reason);
  const error = await rejection(pending);
  assert.ok(error instanceof AbortError);
  assert.equal(error.code, 'ERR_ABORTED');
  assert.equal(error.cause, reason);
  assert.equal(server.requests.length, 1);
});

test('aborting during the wait between attempts -> AbortError without another attempt', async () => {
  handler = (_req, res) => sendJson(res, 503, {});
  const client = testClient(server, agent, { retry: { retries: 5, initialDelayMs: 60_000, maxDelayMs: 60_000, jitter: 0 } });
  const controller = new AbortController();
  client.on('retry', () => controller.abort());
  const started = Date.now();
  const error = await rejection(client.request('GET', '/a', { signal: controller.signal }));
  assert.ok(error instanceof AbortError);
  assert.ok(Date.now() - started < 30_000, 'the 60 s wait was cut short');
  assert.equal(server.requests.length, 1);
});

test('an already aborted signal sends nothing', async () => {
  handler = (_req, res) => sendJson(res, 200, {});
  const client = testClient(server, agent);
  const error = await rejection(client.request('GET', '/a', { signal: AbortSignal.abort() }));
  assert.ok(error instanceof AbortError);
  assert.equal(server.requests.length, 0);
});

