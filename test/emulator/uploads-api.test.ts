/** The emulator's tabular uploads: creation from a completed temp upload, simulated processing, HEAD, DELETE. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTempUploads, harness, http, md5Hex, seededBytes, type Harness } from './helpers.js';

const TABLE = 'owner.dataset:next.table';
const OTHER_TABLE = 'owner.dataset:next.other';
let h: Harness;

before(async () => {
  h = await harness({ failUploads: { 'doomed.csv': 'Column count mismatch on line 7' } });
});
after(() => h.close());

let counter = 0;

/** A completed (simple) temp upload of `table` holding `data`; returns its id. */
async function completedTempUpload(data: Buffer, table = TABLE): Promise<string> {
  const [upload] = await createTempUploads(h, [{ name: `tmp-${++counter}`, size: data.length }], table);
  const res = await http(h.agent, upload!.url, { method: 'PUT', body: data });
  assert.equal(res.status, 200, res.text);
  return upload!.id;
}

function api(method: string, path: string, body?: unknown, token: string | null = h.emu.token) {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  return http(h.agent, `${h.emu.apiEndpoint}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

const uploadsPath = (table = TABLE) => `/tables/${encodeURIComponent(table)}/uploads`;
const uploadPath = (name: string, table = TABLE) => `${uploadsPath(table)}/${encodeURIComponent(name.replace(/\./g, '_'))}`;

test('an upload is created queued, advances one step per GET to completed, and HEAD does not advance it', async () => {
  const data = seededBytes(1, 5000);
  const tempUploadId = await completedTempUpload(data);
  const created = await api('POST', uploadsPath(), { name: 'people.csv', tempUploadId, hasHeaderRow: true, delimiter: null });
  assert.equal(created.status, 200, created.text);
  const body = created.json();
  assert.equal(body.kind, 'upload');
  assert.equal(body.name, 'people.csv');
  assert.equal(body.uri, `/tables/${encodeURIComponent(TABLE)}/uploads/people_csv`);
  assert.equal(body.status, 'queued');
  assert.equal(body.type, 'csv');
  assert.equal(body.tempUploadId, tempUploadId);
  assert.equal(typeof body.createdAt, 'number');

  assert.equal((await api('HEAD', uploadPath('people.csv'))).status, 200);
  const statuses: string[] = [];
  for (let i = 0; i < 3; i++) statuses.push((await api('GET', body.uri)).json().status);
  assert.deepEqual(statuses, ['running', 'completed', 'completed']);

  const info = h.emu.getUpload(TABLE, 'people.csv');
  assert.equal(info?.status, 'completed');
  assert.deepEqual(info?.options, { hasHeaderRow: true, delimiter: null });
  assert.equal(h.emu.getTempUpload(info!.tempUploadId)?.final?.md5Hex, md5Hex(data));
  // Inspection hands out copies.
  info!.status = 'failed';
  assert.equal(h.emu.getUpload(TABLE, 'people.csv')?.status, 'completed');
  assert.ok(h.emu.listUploads().some((u) => u.name === 'people.csv' && u.table === TABLE));
});

test('failures injected by option and by failUpload() end processing with the errorMessage', async () => {
  const first = await api('POST', uploadsPath(), { name: 'doomed.csv', tempUploadId: await completedTempUpload(seededBytes(2, 10)) });
  assert.equal(first.status, 200, first.text);
  await api('GET', uploadPath('doomed.csv'));
  const failed = (await api('GET', uploadPath('doomed.csv'))).json();
  assert.deepEqual([failed.status, failed.errorMessage], ['failed', 'Column count mismatch on line 7']);

  const later = await api('POST', uploadsPath(), { name: 'later.parquet', tempUploadId: await completedTempUpload(seededBytes(3, 10)) });
  assert.equal(later.json().type, 'parquet');
  h.emu.failUpload('later.parquet', 'Not a parquet file');
  await api('GET', uploadPath('later.parquet'));
  const body = (await api('GET', uploadPath('later.parquet'))).json();
  assert.deepEqual([body.status, body.errorMessage], ['failed', 'Not a parquet file']);
  assert.equal(h.emu.getUpload(TABLE, 'later.parquet')?.errorMessage, 'Not a parquet file');
});

test('HEAD and GET of an unknown upload answer 404; HEAD carries the error in X-REDIVIS-ERROR-PAYLOAD', async () => {
  const head = await api('HEAD', uploadPath('nothing.csv'));
  assert.equal(head.status, 404);
  assert.equal(head.text, '');
  const payload = JSON.parse(decodeURIComponent(String(head.headers['x-redivis-error-payload'])));
  assert.equal(payload.error, 'not_found');
  assert.match(payload.error_description, /nothing_csv/);
  assert.equal((await api('GET', uploadPath('nothing.csv'))).status, 404);
});

test('DELETE removes the upload, and its name can be used again', async () => {
  const tempUploadId = await completedTempUpload(seededBytes(4, 100));
  assert.equal((await api('POST', uploadsPath(), { name: 'gone.csv', tempUploadId })).status, 200);
  const deleted = await api('DELETE', uploadPath('gone.csv'));
  assert.equal(deleted.status, 200);
  assert.equal((await api('HEAD', uploadPath('gone.csv'))).status, 404);
  assert.equal(h.emu.getUpload(TABLE, 'gone.csv'), undefined);
  assert.equal((await api('DELETE', uploadPath('gone.csv'))).status, 404);
  assert.equal((await api('POST', uploadsPath(), { name: 'gone.csv', tempUploadId })).status, 200);
});

test('creation is refused with 400 for a bad body, an unusable temp upload or a name in use', async () => {
  const good = await completedTempUpload(seededBytes(5, 64));
  const foreign = await completedTempUpload(seededBytes(6, 64), OTHER_TABLE);
  const [unfinished] = await createTempUploads(h, [{ name: `tmp-${++counter}`, size: 10 }]);
  assert.equal((await api('POST', uploadsPath(), { name: 'dup.csv', tempUploadId: good })).status, 200);

  const cases: Array<[unknown, RegExp]> = [
    ['not json', /JSON object/],
    [{ tempUploadId: good }, /name/],
    [{ name: 'x.csv' }, /tempUploadId/],
    [{ name: 'x.csv', tempUploadId: 'nope' }, /not a temp upload/],
    [{ name: 'x.csv', tempUploadId: foreign }, /belongs to table/],
    [{ name: 'x.csv', tempUploadId: unfinished!.id }, /not complete/],
    [{ name: 'x.csv', tempUploadId: good, type: 'excel' }, /type must be one of/],
    [{ name: 'x.csv', tempUploadId: good, hasHeaderRow: 'yes' }, /hasHeaderRow must be a boolean/],
    [{ name: 'x.csv', tempUploadId: good, nullMarkers: [1] }, /nullMarkers/],
    [{ name: 'dup.csv', tempUploadId: good }, /already exists/],
    // `.` and `_` are the same in a path, so these names collide.
    [{ name: 'dup_csv', tempUploadId: good }, /already exists/],
  ];
  for (const [body, message] of cases) {
    const res = await http(h.agent, `${h.emu.apiEndpoint}${uploadsPath()}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.emu.token}`, 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
    assert.equal(res.json().error, 'invalid_request');
    assert.match(res.json().error_description, message);
  }
  assert.equal((await api('POST', uploadsPath('not a table'), { name: 'x', tempUploadId: good })).status, 400);
});

test('creation needs data.edit; reading needs a valid token', async () => {
  const tempUploadId = await completedTempUpload(seededBytes(7, 64));
  assert.equal((await api('POST', uploadsPath(), { name: 'auth.csv', tempUploadId }, null)).status, 401);
  const readOnly = await api('POST', uploadsPath(), { name: 'auth.csv', tempUploadId }, h.emu.readOnlyToken);
  assert.equal(readOnly.status, 403);
  assert.equal(readOnly.json().error, 'insufficient_scope');
  assert.equal((await api('POST', uploadsPath(), { name: 'auth.csv', tempUploadId })).status, 200);
  assert.equal((await api('GET', uploadPath('auth.csv'), undefined, h.emu.readOnlyToken)).status, 200);
  assert.equal((await api('DELETE', uploadPath('auth.csv'), undefined, h.emu.readOnlyToken)).status, 403);
  assert.equal((await api('GET', uploadPath('auth.csv'), undefined, null)).status, 401);
});
