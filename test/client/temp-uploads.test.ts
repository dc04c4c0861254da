import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Agent } from 'undici';
import { RedivisClient } from '../../src/client/redivis-client.js';
import { parseTempUploadList, toBatches, validateTempUploadRequests, type TempUploadRequest } from '../../src/client/temp-uploads.js';
import { AbortError, InvalidArgumentError, MissingTokenError, ProtocolError, TableReferenceError } from '../../src/errors.js';
import { sendJson, startServer, testAgent, testClient, withEnv, type Handler, type TestServer } from './helpers.js';

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

/** Answers like the API: one result per requested item, ids numbered across requests. */
function echoHandler(overrides: (result: Record<string, unknown>, index: number) => Record<string, unknown> = (r) => r): Handler {
  let next = 0;
  return (_req, res, body) => {
    const { tempUploads } = JSON.parse(body) as { tempUploads: TempUploadRequest[] };
    const results = tempUploads.map((item, index) =>
      overrides(
        {
          kind: 'tempUpload',
          id: `tu-${next++}`,
          url: `${server.origin}/upload/${encodeURIComponent(item.name)}?sig=abc`,
          name: item.name,
          size: String(item.size),
          resumable: item.resumable ?? false,
        },
        index,
      ),
    );
    sendJson(res, 200, { kind: 'tempUploadList', results });
  };
}

test('createTempUploads posts to the table path and converts sizes to numbers', async () => {
  handler = echoHandler();
  const client = testClient(server, agent);
  const created = await client.createTempUploads(
    { owner: 'demo', dataset: 'My Dataset (2020)', version: 'next', table: 'Table 1' },
    [
      { name: 'a.csv', size: 10 },
      { name: 'b.csv', size: 2 ** 40, resumable: true },
      { name: 'empty', size: 0, resumable: false },
    ],
  );
  assert.deepEqual(created, [
    { id: 'tu-0', url: `${server.origin}/upload/a.csv?sig=abc`, name: 'a.csv', size: 10, resumable: false },
    { id: 'tu-1', url: `${server.origin}/upload/b.csv?sig=abc`, name: 'b.csv', size: 2 ** 40, resumable: true },
    { id: 'tu-2', url: `${server.origin}/upload/empty?sig=abc`, name: 'empty', size: 0, resumable: false },
  ]);
  assert.equal(server.requests.length, 1);
  const [seen] = server.requests;
  assert.equal(seen!.method, 'POST');
  assert.equal(seen!.url, '/api/v1/tables/demo.My_Dataset__2020_%3Anext.Table_1/tempUploads');
  assert.deepEqual(JSON.parse(seen!.body), {
    tempUploads: [
      { name: 'a.csv', size: 10 },
      { name: 'b.csv', size: 2 ** 40, resumable: true },
      { name: 'empty', size: 0, resumable: false },
    ],
  });
});

test('more items than batchSize are sent as several requests, results in request order', async () => {
  handler = echoHandler();
  const client = testClient(server, agent);
  const items = Array.from({ length: 7 }, (_, i) => ({ name: `f${i}`, size: i }));
  const created = await client.createTempUploads('demo.ds:next.t', items, { batchSize: 3 });
  assert.deepEqual(created.map((t) => t.name), items.map((i) => i.name));
  assert.deepEqual(created.map((t) => t.id), items.map((_, i) => `tu-${i}`));
  assert.deepEqual(
    server.requests.map((r) => (JSON.parse(r.body) as { tempUploads: unknown[] }).tempUploads.length),
    [3, 3, 1],
  );
  assert.deepEqual(toBatches([1, 2, 3, 4], 2), [[1, 2], [3, 4]]);
  assert.deepEqual(toBatches([1], 1000), [[1]]);
});

test('invalid items are refused before any request, naming the item', async () => {
  handler = echoHandler();
  const client = testClient(server, agent);
  const cases: Array<[unknown, string]> = [
    [[], 'tempUploads'],
    ['a', 'tempUploads'],
    [[null], 'tempUploads[0]'],
    [[{ name: 'a', size: 1 }, { name: '', size: 1 }], 'tempUploads[1].name'],
    [[{ name: 5, size: 1 }], 'tempUploads[0].name'],
    [[{ name: 'a', size: 1 }, { name: 'b', size: 1 }, { name: 'c', size: 1 }, { name: 'd', size: -1 }], 'tempUploads[3].size'],
    [[{ name: 'a', size: 1.5 }], 'tempUploads[0].size'],
    [[{ name: 'a', size: '10' }], 'tempUploads[0].size'],
    [[{ name: 'a', size: 2 ** 53 }], 'tempUploads[0].size'],
    [[{ name: 'a', size: Number.NaN }], 'tempUploads[0].size'],
    [[{ name: 'a', size: 1, resumable: 'yes' }], 'tempUploads[0].resumable'],
    [[{ name: 'a', size: 1 }, { name: 'b', size: 1 }, { name: 'a', size: 2 }], 'tempUploads[2].name'],
  ];
  for (const [items, argument] of cases) {
    await assert.rejects(
      client.createTempUploads('demo.ds.t', items as TempUploadRequest[]),
      (error: unknown) => error instanceof InvalidArgumentError && error.argument === argument,
      `${JSON.stringify(items)} should be refused as ${argument}`,
    );
  }
  const duplicate = await client.createTempUploads('demo.ds.t', [{ name: 'x', size: 1 }, { name: 'x', size: 1 }]).catch((e: unknown) => e);
  assert.ok(duplicate instanceof InvalidArgumentError);
  assert.match(duplicate.expected, /tempUploads\[0\]/);

  for (const batchSize of [0, -1, 1.5, '10']) {
    await assert.rejects(
      client.createTempUploads('demo.ds.t', [{ name: 'a', size: 1 }], { batchSize: batchSize as number }),
      { code: 'ERR_INVALID_ARGUMENT', argument: 'batchSize' },
    );
  }
  await assert.rejects(
    client.createTempUploads('demo.ds.t', [{ name: 'a', size: 1 }], null as unknown as object),
    { code: 'ERR_INVALID_ARGUMENT', argument: 'options' },
  );
  await assert.rejects(client.createTempUploads('demo.ds', [{ name: 'a', size: 1 }]), TableReferenceError);
  await assert.rejects(client.createTempUploads({ owner: 'o', table: 't' }, [{ name: 'a', size: 1 }]), { part: 'dataset' });
  assert.equal(server.requests.length, 0);
});

test('without a token nothing is sent', async () => {
  handler = echoHandler();
  const client = withEnv({ REDIVIS_API_TOKEN: undefined }, () => new RedivisClient({ apiEndpoint: server.apiEndpoint, dispatcher: agent }));
  await assert.rejects(client.createTempUploads('demo.ds.t', [{ name: 'a', size: 1 }]), MissingTokenError);
  assert.equal(server.requests.length, 0);
});

test('responses that do not match the request are ProtocolErrors', async () => {
  const client = testClient(server, agent);
  const items = [{ name: 'a', size: 3 }, { name: 'b', size: 4 }];
  const broken: Array<[Handler, RegExp]> = [
    [(_q, res) => sendJson(res, 200, { kind: 'tempUploadList', results: [] }), /0 results for 2/],
    [echoHandler((r, i) => (i === 1 ? { ...r, size: '5' } : r)), /results\[1\]\.size is 5 but 4/],
    [echoHandler((r) => ({ ...r, size: 'big' })), /results\[0\]\.size/],
    [echoHandler((r) => ({ ...r, size: '99999999999999999999' })), /results\[0\]\.size/],
    [echoHandler((r, i) => (i === 1 ? { ...r, id: 7 } : r)), /results\[1\]\.id/],
    [echoHandler((r) => ({ ...r, url: 'not a url' })), /results\[0\]\.url/],
    [echoHandler((r) => ({ ...r, url: 'file:///etc/passwd' })), /results\[0\]\.url/],
    [echoHandler((r) => ({ ...r, resumable: 'false' })), /results\[0\]\.resumable/],
    [echoHandler((r) => ({ ...r, name: null })), /results\[0\]\.name/],
    [(_q, res) => sendJson(res, 200, { kind: 'tempUploadList' }), /no results array/],
    [(_q, res) => sendJson(res, 200, [1, 2]), /not a JSON object/],
    [(_q, res) => sendJson(res, 200, { results: [1, 2] }), /results\[0\] is not an object/],
  ];
  for (const [brokenHandler, message] of broken) {
    handler = brokenHandler;
    await assert.rejects(
      client.createTempUploads('demo.ds.t', items),
      (error: unknown) => error instanceof ProtocolError && message.test(error.message) && error.method === 'POST' && error.status === 200,
      String(message),
    );
  }
  // Numeric sizes are accepted as well as strings.
  const numeric = parseTempUploadList(
    { results: [{ id: 'i', url: 'https://x/y', name: 'a', size: 3, resumable: true }] },
    [{ name: 'a', size: 3 }],
    { method: 'POST', path: '/p' },
    200,
  );
  assert.equal(numeric[0]!.size, 3);
  assert.doesNotThrow(() => validateTempUploadRequests([{ name: 'a', size: 1, resumable: undefined }]));
});

test('an abort during the call stops the remaining batches', async () => {
  const controller = new AbortController();
  const echo = echoHandler();
  handler = (req, res, body, index) => {
    echo(req, res, body, index);
    controller.abort();
  };
  const client = testClient(server, agent);
  const items = Array.from({ length: 5 }, (_, i) => ({ name: `f${i}`, size: 1 }));
  await assert.rejects(client.createTempUploads('demo.ds.t', items, { batchSize: 2, signal: controller.signal }), AbortError);
  assert.equal(server.requests.length, 1);
});
