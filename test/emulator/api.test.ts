import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { API_ROUTES } from '../../src/emulator/index.js';
import { createTempUploads, harness, http, type Harness } from './helpers.js';

let h: Harness;
before(async () => {
  h = await harness({ maxTempUploadsPerRequest: 5 });
});
after(() => h.close());

const TABLE = 'owner.dataset:next.table';

function post(path: string, body: unknown, token: string | null = h.emu.token, method = 'POST') {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  return http(h.agent, `${h.emu.apiEndpoint}${path}`, {
    method,
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const tempUploadsPath = (table = TABLE) => `/tables/${encodeURIComponent(table)}/tempUploads`;

test('tempUploads answers the results in request order, sizes as strings, signed URLs on the upload origin', async () => {
  const res = await post(tempUploadsPath(), {
    tempUploads: [
      { name: 'order-b', size: 10 },
      { name: 'order-a', size: 2 ** 40, resumable: true },
      { name: 'order-c', size: '12345' },
    ],
  });
  assert.equal(res.status, 200, res.text);
  const body = res.json();
  assert.equal(body.kind, 'tempUploadList');
  assert.deepEqual(
    body.results.map((r: any) => [r.kind, r.name, r.size, r.resumable]),
    [
      ['tempUpload', 'order-b', '10', false],
      ['tempUpload', 'order-a', String(2 ** 40), true],
      ['tempUpload', 'order-c', '12345', false],
    ],
  );
  const ids = new Set(body.results.map((r: any) => r.id));
  assert.equal(ids.size, 3);
  for (const result of body.results) {
    const url = new URL(result.url);
    assert.equal(url.origin, h.emu.uploadOrigin);
    assert.equal(url.pathname, `/upload/temp/${result.id}`);
    assert.match(url.searchParams.get('X-Goog-Signature') ?? '', /^[0-9a-f]{32,}$/);
    const info = h.emu.getTempUpload(result.id);
    assert.equal(info?.state, 'created');
    assert.equal(info?.table, TABLE);
    assert.equal(info?.name, result.name);
  }
  assert.equal(h.emu.getTempUpload(body.results[1].id)?.declaredSize, 2 ** 40);
  assert.equal(h.emu.getTempUpload(body.results[2].id)?.declaredSize, 12345);
});

test('the table reference may arrive percent-encoded or with raw colons, and is normalized', async () => {
  const raw = await post('/tables/Owner.Dataset:123:v1_0.My_Table:abc/tempUploads', { tempUploads: [{ name: 'raw-colon', size: 1 }] });
  assert.equal(raw.status, 200, raw.text);
  const encoded = await post(tempUploadsPath('Owner.Dataset:123:v1_0.My_Table:abc'), { tempUploads: [{ name: 'encoded-colon', size: 1 }] });
  assert.equal(encoded.status, 200, encoded.text);
  for (const res of [raw, encoded]) {
    assert.equal(h.emu.getTempUpload(res.json().results[0].id)?.table, 'Owner.Dataset:123:v1_0.My_Table:abc');
  }
});

test('a missing or unknown token is 401 invalid_token in the flat error shape', async () => {
  for (const token of [null, 'not-a-token']) {
    const res = await post(tempUploadsPath(), { tempUploads: [{ name: 'x401', size: 1 }] }, token);
    assert.equal(res.status, 401);
    const body = res.json();
    assert.equal(body.error, 'invalid_token');
    assert.equal(body.status, 401);
    assert.equal(typeof body.error_description, 'string');
    assert.ok(!res.text.includes(h.emu.token));
  }
  assert.equal(h.emu.listTempUploads().some((u) => u.name === 'x401'), false);
});

test('the read-only token is 403 insufficient_scope', async () => {
  const res = await post(tempUploadsPath(), { tempUploads: [{ name: 'x403', size: 1 }] }, h.emu.readOnlyToken);
  assert.equal(res.status, 403);
  assert.equal(res.json().error, 'insufficient_scope');
  assert.equal(res.json().scope, 'data.edit');
  assert.equal(res.json().status, 403);
});

test('a malformed table reference is 400 naming the problem', async () => {
  const res = await post(tempUploadsPath('owner.dataset'), { tempUploads: [{ name: 'x', size: 1 }] });
  assert.equal(res.status, 400);
  assert.equal(res.json().error, 'invalid_request');
  assert.match(res.json().error_description, /three dot-separated parts/);
  const badName = await post(tempUploadsPath('owner.data set.table'), { tempUploads: [{ name: 'x', size: 1 }] });
  assert.equal(badName.status, 400);
  assert.match(badName.json().error_description, /dataset name "data set" must be escaped/);
});

test('the body must be JSON with a non-empty tempUploads array of at most the maximum', async () => {
  const cases: Array<[unknown, RegExp]> = [
    ['{not json', /JSON object/],
    [[1, 2], /JSON object/],
    [{}, /non-empty array/],
    [{ tempUploads: [] }, /non-empty array/],
    [{ tempUploads: 'x' }, /non-empty array/],
    [{ tempUploads: Array.from({ length: 6 }, (_, i) => ({ name: `max-${i}`, size: 1 })) }, /at most 5/],
    [{ tempUploads: [null] }, /tempUploads\[0\] must be an object/],
  ];
  for (const [body, message] of cases) {
    const res = await post(tempUploadsPath(), body);
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.match(res.json().error_description, message);
  }
  assert.equal(h.emu.listTempUploads().some((u) => u.name.startsWith('max-')), false);
});

test('each size must be a non-negative safe integer (a decimal string is accepted)', async () => {
  for (const size of [-1, 1.5, 2 ** 53, '1.5', '-3', '01', 'abc', null, undefined, true]) {
    const res = await post(tempUploadsPath(), { tempUploads: [{ name: 'size-case', size }] });
    assert.equal(res.status, 400, String(size));
    assert.match(res.json().error_description, /tempUploads\[0\]\.size/);
  }
  const ok = await post(tempUploadsPath(), { tempUploads: [{ name: 'size-zero', size: 0 }, { name: 'size-string', size: '0' }] });
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual(ok.json().results.map((r: any) => r.size), ['0', '0']);
});

test('each name must be a non-empty string', async () => {
  for (const name of ['', 7, null, undefined]) {
    const res = await post(tempUploadsPath(), { tempUploads: [{ name, size: 1 }] });
    assert.equal(res.status, 400, String(name));
    assert.match(res.json().error_description, /tempUploads\[0\]\.name must be a non-empty string/);
  }
});

test('a name may be asked for again in later requests (a new temp upload each time); twice in one request is 400', async () => {
  const inRequest = await post(tempUploadsPath(), { tempUploads: [{ name: 'dup', size: 1 }, { name: 'dup', size: 2 }] });
  assert.equal(inRequest.status, 400);
  assert.match(inRequest.json().error_description, /tempUploads\[1\]\.name "dup" is already used by another temp upload of this request/);
  assert.equal(h.emu.listTempUploads().some((u) => u.name === 'dup'), false, 'nothing is created by a refused request');

  const first = await post(tempUploadsPath(), { tempUploads: [{ name: 'earlier', size: 3 }] });
  assert.equal(first.status, 200);
  const firstId = first.json().results[0].id;
  assert.equal((await http(h.agent, first.json().results[0].url, { method: 'PUT', body: 'abc' })).status, 200);
  const again = await post(tempUploadsPath(), { tempUploads: [{ name: 'fresh', size: 1 }, { name: 'earlier', size: 5, resumable: true }] });
  assert.equal(again.status, 200, again.text);
  const secondId = again.json().results[1].id;
  assert.notEqual(secondId, firstId);
  assert.deepEqual([h.emu.getTempUpload(firstId)?.state, h.emu.getTempUpload(firstId)?.final?.size], ['complete', 3], 'the earlier one is untouched');
  assert.deepEqual([h.emu.getTempUpload(secondId)?.state, h.emu.getTempUpload(secondId)?.resumable], ['created', true]);
});

test('resumable defaults to false and must be a boolean', async () => {
  const [created] = await createTempUploads(h, [{ name: 'resumable-default', size: 3 }]);
  assert.equal(created!.resumable, false);
  const res = await post(tempUploadsPath(), { tempUploads: [{ name: 'resumable-bad', size: 1, resumable: 'yes' }] });
  assert.equal(res.status, 400);
  assert.match(res.json().error_description, /resumable must be a boolean/);
});

test('unknown API paths are 404 and wrong methods 405, in the Redivis error shape', async () => {
  const unknown = await post('/tables/a.b.c/nothingHere', {});
  assert.equal(unknown.status, 404);
  assert.equal(unknown.json().error, 'not_found');
  const wrongMethod = await post(tempUploadsPath(), undefined, h.emu.token, 'GET');
  assert.equal(wrongMethod.status, 405);
  assert.equal(wrongMethod.json().error, 'method_not_allowed');
  assert.equal(wrongMethod.headers.allow, 'POST');
});

test('the nested error shape is {error: {message, status}}', async () => {
  const nested = await harness({ errorShape: 'nested' });
  try {
    const res = await http(nested.agent, `${nested.emu.apiEndpoint}${tempUploadsPath()}`, { method: 'POST', body: '{}' });
    assert.equal(res.status, 401);
    const body = res.json();
    assert.deepEqual(Object.keys(body), ['error']);
    assert.equal(body.error.status, 401);
    assert.equal(typeof body.error.message, 'string');
  } finally {
    await nested.close();
  }
});

test('routes are a table that can be extended; HEAD errors carry X-REDIVIS-ERROR-PAYLOAD', async () => {
  API_ROUTES.push({
    method: 'GET',
    path: '/tables/:tableReference/probe/:name',
    scope: 'data.edit',
    handle: (context) =>
      context.params.name === 'missing'
        ? context.error(404, `No upload named ${context.params.name}`)
        : context.json(200, { table: context.params.tableReference, name: context.params.name }),
  });
  try {
    const ok = await post('/tables/a.b%3Anext.c/probe/x%2Fy', undefined, h.emu.token, 'GET');
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.json(), { table: 'a.b:next.c', name: 'x/y' });
    const head = await post('/tables/a.b.c/probe/missing', undefined, h.emu.token, 'HEAD');
    assert.equal(head.status, 404);
    assert.equal(head.text, '');
    const payload = JSON.parse(decodeURIComponent(String(head.headers['x-redivis-error-payload'])));
    assert.equal(payload.error, 'not_found');
    const badEncoding = await post('/tables/a.b.c/probe/%E0%A4%A', undefined, h.emu.token, 'GET');
    assert.equal(badEncoding.status, 400);
  } finally {
    API_ROUTES.pop();
  }
});

test('temp upload URLs need their signature: missing or wrong is 403, unknown id 404', async () => {
  const [created] = await createTempUploads(h, [{ name: 'signed', size: 4 }]);
  const url = new URL(created!.url);
  const unsigned = await http(h.agent, `${url.origin}${url.pathname}`, { method: 'PUT', body: 'abcd' });
  assert.equal(unsigned.status, 403);
  assert.equal(unsigned.headers['content-type'], 'text/plain; charset=utf-8');
  url.searchParams.set('X-Goog-Signature', '0'.repeat(64));
  const wrong = await http(h.agent, String(url), { method: 'PUT', body: 'abcd' });
  assert.equal(wrong.status, 403);
  const unknown = await http(h.agent, `${h.emu.uploadOrigin}/upload/temp/nope?X-Goog-Signature=00`, { method: 'PUT', body: 'abcd' });
  assert.equal(unknown.status, 404);
  assert.equal(h.emu.getTempUpload(created!.id)?.state, 'created');
});
