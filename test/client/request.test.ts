import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Agent } from 'undici';
import { RedivisClient, type RetryEvent } from '../../src/client/redivis-client.js';
import {
  ApiError,
  InvalidArgumentError,
  MissingTokenError,
  ProtocolError,
} from '../../src/errors.js';
import { sendJson, startServer, testAgent, testClient, TOKEN, withEnv, type Handler, type TestServer } from './helpers.js';

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

test('sends Authorization, User-Agent, Accept, JSON body and query; returns the parsed body', async () => {
  handler = (_req, res) => sendJson(res, 201, { kind: 'thing', id: 7 }, { 'x-ratelimit-remaining': '99' });
  const client = testClient(server, agent);
  const response = await client.request<{ kind: string; id: number }>('POST', '/tables/a.b%3Anext.c/things', {
    body: { name: 'n', list: [1, 2] },
    query: { exactReferences: true, limit: 5, skip: undefined, q: 'a b' },
  });
  assert.equal(response.status, 201);
  assert.deepEqual(response.body, { kind: 'thing', id: 7 });
  assert.equal(response.headers['x-ratelimit-remaining'], '99');

  assert.equal(server.requests.length, 1);
  const [seen] = server.requests;
  assert.equal(seen!.method, 'POST');
  assert.equal(seen!.url, '/api/v1/tables/a.b%3Anext.c/things?exactReferences=true&limit=5&q=a+b');
  assert.equal(seen!.headers.authorization, `Bearer ${TOKEN}`);
  assert.equal(seen!.headers['user-agent'], client.userAgent);
  assert.match(client.userAgent, /^redivis-upload\/\S+ \(\w+; Node\/\d+\.\d+\.\d+\)$/);
  assert.equal(seen!.headers.accept, 'application/json');
  assert.equal(seen!.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(seen!.body), { name: 'n', list: [1, 2] });
});

test('empty success bodies and HEAD responses give an undefined body', async () => {
  handler = (_req, res) => {
    res.writeHead(204);
    res.end();
  };
  const client = testClient(server, agent);
  assert.deepEqual((await client.request('DELETE', '/uploads/1')).body, undefined);
  handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '42' });
    res.end();
  };
  const head = await client.request('HEAD', '/tables/a.b.c/uploads/x');
  assert.equal(head.status, 200);
  assert.equal(head.body, undefined);
  assert.equal(server.requests[0]!.headers['content-type'], undefined, 'no body, no content type');
});

test('flat error body -> ApiError with code, description, method and path (no query, no token)', async () => {
  handler = (_req, res) =>
    sendJson(res, 403, { error: 'insufficient_scope', error_description: 'The token lacks data.edit', status: 403, scope: 'data.edit' });
  const client = testClient(server, agent);
  const error = await rejection(client.request('GET', '/tables/a.b.c', { query: { secretish: 'abc123' } }));
  assert.ok(error instanceof ApiError);
  assert.equal(error.code, 'ERR_API');
  assert.equal(error.status, 403);
  assert.equal(error.errorCode, 'insufficient_scope');
  assert.equal(error.errorDescription, 'The token lacks data.edit');
  assert.equal(error.method, 'GET');
  assert.equal(error.path, '/tables/a.b.c');
  assert.equal(error.message, 'GET /tables/a.b.c failed with HTTP 403 (insufficient_scope: The token lacks data.edit)');
  assert.equal(error.message.includes('abc123'), false);
  assert.equal(error.message.includes(TOKEN), false);
  assert.equal(server.requests.length, 1, '403 is not retried');
});

test('nested error body and non-JSON bodies are mapped without crashing', async () => {
  const client = testClient(server, agent);
  handler = (_req, res) => sendJson(res, 404, { error: { message: 'Table not found', status: 404 } });
  const notFound = await rejection(client.request('GET', '/tables/a.b.missing'));
  assert.ok(notFound instanceof ApiError);
  assert.equal(notFound.status, 404);
  assert.equal(notFound.errorCode, undefined);
  assert.equal(notFound.errorDescription, 'Table not found');

  handler = (_req, res) => {
    res.writeHead(400, { 'content-type': 'text/html' });
    res.end(`<html><h1>Bad request</h1>${'-'.repeat(1000)}</html>`);
  };
  const html = await rejection(client.request('POST', '/x', { body: {} }));
  assert.ok(html instanceof ApiError);
  assert.equal(html.status, 400);
  assert.ok(html.errorDescription!.startsWith('<html><h1>Bad request</h1>'));
  assert.ok(html.errorDescription!.length <= 201);

  handler = (_req, res) => {
    res.writeHead(409);
    res.end();
  };
  const empty = await rejection(client.request('PUT', '/y'));
  assert.ok(empty instanceof ApiError);
  assert.equal(empty.status, 409);
  assert.equal(empty.errorDescription, undefined);
  assert.equal(empty.message, 'PUT /y failed with HTTP 409');
});

test('401 is not retried', async () => {
  handler = (_req, res) => sendJson(res, 401, { error: 'invalid_token', error_description: 'Unknown token', status: 401 });
  const client = testClient(server, agent);
  const events = retryEvents(client);
  const error = await rejection(client.request('GET', '/tables/a.b.c'));
  assert.ok(error instanceof ApiError);
  assert.equal(error.status, 401);
  assert.equal(error.errorCode, 'invalid_token');
  assert.equal(server.requests.length, 1);
  assert.deepEqual(events, []);
});

test('HEAD errors are read from the URL-encoded X-REDIVIS-ERROR-PAYLOAD header', async () => {
  const payload = { error: 'not_found', error_description: 'No upload named "x y"', status: 404 };
  handler = (_req, res) => {
    res.writeHead(404, { 'x-redivis-error-payload': encodeURIComponent(JSON.stringify(payload)) });
    res.end();
  };
  const client = testClient(server, agent);
  const error = await rejection(client.request('HEAD', '/tables/a.b.c/uploads/x_y'));
  assert.ok(error instanceof ApiError);
  assert.equal(error.status, 404);
  assert.equal(error.errorCode, 'not_found');
  assert.equal(error.errorDescription, 'No upload named "x y"');
  assert.equal(error.method, 'HEAD');
});

test('X-REDIVIS-WARNING: onWarning and the warning event fire once per distinct text', async () => {
  const texts = ['API v1 is deprecated', 'API v1 is deprecated', 'Dataset is large', 'API v1 is deprecated'];
  handler = (_req, res, _body, index) => {
    if (index === 2) return sendJson(res, 404, { error: 'not_found' }, { 'x-redivis-warning': texts[index]! });
    sendJson(res, 200, {}, { 'x-redivis-warning': texts[index]! });
  };
  const viaOption: string[] = [];
  const viaEvent: string[] = [];
  const client = testClient(server, agent, { onWarning: (message) => viaOption.push(message) });
  client.on('warning', (message) => viaEvent.push(message));
  await client.request('GET', '/1');
  await client.request('GET', '/2');
  await assert.rejects(client.request('GET', '/3'), ApiError);
  await client.request('GET', '/4');
  assert.deepEqual(viaOption, ['API v1 is deprecated', 'Dataset is large']);
  assert.deepEqual(viaEvent, viaOption);
});

test('redirects are not followed, so the token never goes to another host', async () => {
  const elsewhere = await startServer((_req, res) => sendJson(res, 200, { stolen: true }));
  try {
    handler = (_req, res) => {
      res.writeHead(302, { location: `${elsewhere.origin}/collect` });
      res.end();
    };
    const client = testClient(server, agent);
    const error = await rejection(client.request('GET', '/a'));
    assert.ok(error instanceof ProtocolError);
    assert.equal(error.status, 302);
    assert.equal(elsewhere.requests.length, 0);
    assert.equal(server.requests.length, 1);
  } finally {
    await elsewhere.close();
  }
});

test('a success response that is not JSON is a ProtocolError', async () => {
  handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<html>captive portal</html>');
  };
  const client = testClient(server, agent);
  const error = await rejection(client.request('GET', '/a'));
  assert.ok(error instanceof ProtocolError);
  assert.equal(error.status, 200);
  assert.ok(error.cause instanceof SyntaxError);
  assert.equal(server.requests.length, 1);
});

test('a success answered with a bare OK (as Redivis answers some deletions) has no body', async () => {
  handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('OK');
  };
  const client = testClient(server, agent);
  const response = await client.request('DELETE', '/tables/a/uploads/b');
  assert.equal(response.status, 200);
  assert.equal(response.body, undefined);
});

test('MissingTokenError is thrown before any request', async () => {
  handler = (_req, res) => sendJson(res, 200, {});
  const client = withEnv({ REDIVIS_API_TOKEN: undefined }, () =>
    new RedivisClient({ apiEndpoint: server.apiEndpoint, dispatcher: agent }),
  );
  assert.equal(client.hasToken, false);
  const error = await rejection(client.request('GET', '/a'));
  assert.ok(error instanceof MissingTokenError);
  assert.equal(error.code, 'ERR_MISSING_TOKEN');
  assert.equal(server.requests.length, 0);
});

test('invalid arguments are refused before any request', async () => {
  handler = (_req, res) => sendJson(res, 200, {});
  const client = testClient(server, agent);
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  const cases: Array<[() => Promise<unknown>, string]> = [
    [() => client.request('TRACE' as 'GET', '/a'), 'method'],
    [() => client.request('GET', 'a'), 'path'],
    [() => client.request('GET', '//evil.example/a'), 'path'],
    [() => client.request('GET', '/a?token=x'), 'path'],
    [() => client.request('GET', '/a#x'), 'path'],
    [() => client.request('POST', '/a', { body: circular }), 'options.body'],
    [() => client.request('POST', '/a', { body: () => 1 }), 'options.body'],
    [() => client.request('GET', '/a', { query: { a: {} as unknown as string } }), 'options.query.a'],
    [() => client.request('GET', '/a', { query: 'x=1' as unknown as Record<string, string> }), 'options.query'],
    [() => client.request('GET', '/a', null as unknown as object), 'options'],
  ];
  for (const [call, argument] of cases) {
    const error = await rejection(call());
    assert.ok(error instanceof InvalidArgumentError, argument);
    assert.equal(error.argument, argument);
  }
  assert.equal(server.requests.length, 0);
});
