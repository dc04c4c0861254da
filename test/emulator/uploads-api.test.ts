/** The emulator's tabular uploads: creation (temp upload, transfer), the upload resource, import, HEAD, DELETE. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
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

/** GETs the upload until its import ends; returns the last resource and the statuses seen. */
async function importToEnd(path: string): Promise<{ body: any; statuses: string[] }> {
  const statuses: string[] = [];
  for (;;) {
    const body = (await api('GET', path)).json();
    statuses.push(body.status);
    if (body.status === 'completed' || body.status === 'failed') return { body, statuses };
  }
}

test('an upload is created queued, advances one step per GET, and reports the resource as Redivis has it', async () => {
  const data = Buffer.from('id,name\n1,ann\n2,bob\n3,cy\n');
  const tempUploadId = await completedTempUpload(data);
  const created = await api('POST', uploadsPath(), { name: 'people.csv', tempUploadId, hasHeaderRow: true, delimiter: null });
  assert.equal(created.status, 200, created.text);
  const body = created.json();
  assert.equal(body.kind, 'upload');
  assert.equal(typeof body.id, 'number');
  assert.equal(body.name, 'people.csv');
  assert.equal(body.uri, `/tables/${encodeURIComponent(TABLE)}/uploads/people_csv`);
  assert.equal(body.status, 'queued');
  assert.equal(body.type, 'delimited', 'inferred from the name');
  assert.equal(body.tempUploadId, tempUploadId);
  assert.equal(body.hash, md5Hex(data));
  assert.equal(body.size, data.length);
  assert.deepEqual([body.numRows, body.numBytes, body.badRecordsCount, body.errorMessage], [null, null, null, null]);
  assert.equal(typeof body.createdAt, 'number');
  for (const field of ['hasHeaderRow', 'skipBadRecords', 'hasQuotedNewlines', 'allowJaggedRows', 'delimiter', 'quoteCharacter',
    'escapeCharacter', 'nullMarkers', 'schema', 'metadata', 'transferSpecification']) {
    assert.ok(field in body, `the resource has ${field}`);
  }

  assert.equal((await api('HEAD', uploadPath('people.csv'))).status, 200);
  const statuses: string[] = [];
  for (let i = 0; i < 3; i++) statuses.push((await api('GET', body.uri)).json().status);
  assert.deepEqual(statuses, ['running', 'completed', 'completed']);
  const done = (await api('GET', body.uri)).json();
  assert.deepEqual([done.numRows, done.numBytes, done.badRecordsCount], [3, data.length, 0]);

  const info = h.emu.getUpload(TABLE, 'people.csv');
  assert.equal(info?.status, 'completed');
  assert.equal(info?.source, 'tempUpload');
  assert.deepEqual(info?.options, { hasHeaderRow: true }, 'fields sent as null are absent');
  assert.equal(info?.hash, md5Hex(data));
  assert.equal(md5Hex(await h.emu.readUpload(TABLE, 'people.csv')), md5Hex(data));
  // Inspection hands out copies.
  info!.status = 'failed';
  assert.equal(h.emu.getUpload(TABLE, 'people.csv')?.status, 'completed');
  assert.ok(h.emu.listUploads().some((u) => u.name === 'people.csv' && u.table === TABLE));
});

test('numRows counts delimited rows (header, quoted newlines, CRLF, gzip) and ndjson lines; other types report none', async () => {
  const cases: Array<[string, Buffer, Record<string, unknown>, number | null]> = [
    ['plain.csv', Buffer.from('a,b\n1,2\n3,4'), {}, 2],
    ['no-header.tsv', Buffer.from('1\t2\n\n3\t4\n'), { hasHeaderRow: false }, 2],
    ['crlf.csv', Buffer.from('a,b\r\n1,2\r\n3,4\r\n'), {}, 2],
    ['quoted.csv', Buffer.from('a,b\n1,"x\ny"\n3,"z"\n'), { hasQuotedNewlines: true }, 2],
    ['quoted-off.csv', Buffer.from('a,b\n1,"x\ny"\n'), {}, 2],
    ['single-quote.csv', Buffer.from("a,b\n1,'x\ny'\n"), { hasQuotedNewlines: true, quoteCharacter: "'" }, 1],
    ['zipped.csv.gz', gzipSync(Buffer.from('a\n1\n2\n3\n4\n')), {}, 4],
    ['lines.ndjson', Buffer.from('{"a":1}\n\n{"a":2}\n  \n{"a":3}'), {}, 3],
    ['zipped.jsonl.gz', gzipSync(Buffer.from('{"a":1}\n{"a":2}\n')), {}, 2],
    ['empty.csv', Buffer.alloc(0), {}, 0],
    ['table.parquet', seededBytes(11, 100), {}, null],
  ];
  for (const [name, data, fields, rows] of cases) {
    const created = await api('POST', uploadsPath(), { name, tempUploadId: await completedTempUpload(data), ...fields });
    assert.equal(created.status, 200, `${name}: ${created.text}`);
    const { body } = await importToEnd(created.json().uri);
    assert.equal(body.status, 'completed', name);
    assert.equal(body.numRows, rows, name);
    assert.equal(body.numBytes, data.length, name);
  }
});

test('every documented type is accepted, and a type of null is inferred from the name', async () => {
  const types = ['delimited', 'csv', 'tsv', 'ndjson', 'json', 'avro', 'parquet', 'orc', 'xls', 'xlsx', 'dta', 'sav', 'sas7bdat',
    'geojson', 'geojsonl', 'kml', 'shp', 'shp.zip'];
  for (const type of types) {
    const created = await api('POST', uploadsPath(), { name: `typed-${type}`, type, tempUploadId: await completedTempUpload(Buffer.from('x')) });
    assert.equal(created.status, 200, `${type}: ${created.text}`);
    assert.equal(created.json().type, type);
  }
  const inferred: Array<[string, string]> = [
    ['a.csv', 'delimited'], ['a.TSV', 'delimited'], ['a.txt', 'delimited'], ['README', 'delimited'], ['a.csv.gz', 'delimited'],
    ['a.ndjson', 'ndjson'], ['a.jsonl', 'ndjson'], ['a.json', 'json'], ['a.geojson', 'geojson'], ['a.geojsonl', 'geojsonl'],
    ['a.shp.zip', 'shp.zip'], ['a.shp', 'shp'], ['a.kml', 'kml'], ['a.sas7bdat', 'sas7bdat'], ['a.xlsx', 'xlsx'], ['a.parquet.gz', 'parquet'],
  ];
  for (const [name, type] of inferred) {
    const created = await api('POST', uploadsPath(OTHER_TABLE), { name, type: null, tempUploadId: await completedTempUpload(Buffer.from('x'), OTHER_TABLE) });
    assert.equal(created.status, 200, `${name}: ${created.text}`);
    assert.equal(created.json().type, type, name);
  }
});

test('an upload with a transferSpecification completes without content', async () => {
  const transferSpecification = { sourceType: 'gcs', sourcePath: 'bucket/path.csv.gz', identity: 'user@example.com' };
  const created = await api('POST', uploadsPath(), { name: 'pulled.csv', transferSpecification, tempUploadId: null });
  assert.equal(created.status, 200, created.text);
  assert.deepEqual(created.json().transferSpecification, transferSpecification);
  const { body, statuses } = await importToEnd(created.json().uri);
  assert.deepEqual(statuses, ['running', 'completed']);
  assert.deepEqual([body.hash, body.size, body.numRows, body.tempUploadId], [null, null, null, null]);
  assert.equal(h.emu.getUpload(TABLE, 'pulled.csv')?.source, 'transfer');
  await assert.rejects(h.emu.readUpload(TABLE, 'pulled.csv'), { code: 'ERR_INVALID_ARGUMENT' });

  const redivis = await api('POST', uploadsPath(), { name: 'copy', transferSpecification: { sourceType: 'redivis', sourcePath: 'demo.dataset.table' } });
  assert.equal(redivis.status, 200, redivis.text);
  for (const [spec, message] of [
    [{ sourceType: 'ftp', sourcePath: 'x' }, /sourceType must be one of gcs, s3, url, redivis/],
    [{ sourceType: 's3' }, /sourcePath/],
    ['gs://bucket/x', /transferSpecification must be an object/],
  ] as const) {
    const res = await api('POST', uploadsPath(), { name: 'bad-transfer.csv', transferSpecification: spec });
    assert.equal(res.status, 400);
    assert.match(res.json().error_description, message);
  }
});

test('failures injected by option and by failUpload() end the import with the errorMessage', async () => {
  const first = await api('POST', uploadsPath(), { name: 'doomed.csv', tempUploadId: await completedTempUpload(seededBytes(2, 10)) });
  assert.equal(first.status, 200, first.text);
  const failed = (await importToEnd(uploadPath('doomed.csv'))).body;
  assert.deepEqual([failed.status, failed.errorMessage, failed.numRows], ['failed', 'Column count mismatch on line 7', null]);

  const later = await api('POST', uploadsPath(), { name: 'later.parquet', tempUploadId: await completedTempUpload(seededBytes(3, 10)) });
  assert.equal(later.json().type, 'parquet');
  h.emu.failUpload('later.parquet', 'Not a parquet file');
  const body = (await importToEnd(uploadPath('later.parquet'))).body;
  assert.deepEqual([body.status, body.errorMessage], ['failed', 'Not a parquet file']);
  assert.equal(h.emu.getUpload(TABLE, 'later.parquet')?.errorMessage, 'Not a parquet file');

  h.emu.failUpload('remote.csv', 'Access denied to bucket');
  await api('POST', uploadsPath(), { name: 'remote.csv', transferSpecification: { sourceType: 'url', sourcePath: 'https://example.com/x.csv' } });
  assert.equal((await importToEnd(uploadPath('remote.csv'))).body.errorMessage, 'Access denied to bucket');
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

test('DELETE answers the deleted upload as JSON (or OK by option), and the name can be used again', async () => {
  const tempUploadId = await completedTempUpload(seededBytes(4, 100));
  assert.equal((await api('POST', uploadsPath(), { name: 'gone.csv', tempUploadId })).status, 200);
  const deleted = await api('DELETE', uploadPath('gone.csv'));
  assert.equal(deleted.status, 200);
  assert.match(String(deleted.headers['content-type']), /^application\/json/);
  assert.equal(deleted.json().name, 'gone.csv');
  assert.equal((await api('HEAD', uploadPath('gone.csv'))).status, 404);
  assert.equal(h.emu.getUpload(TABLE, 'gone.csv'), undefined);
  assert.equal((await api('DELETE', uploadPath('gone.csv'))).status, 404);
  const again = await api('POST', uploadsPath(), { name: 'gone.csv', tempUploadId });
  assert.equal(again.json().name, 'gone.csv');

  const ok = await harness({ deleteResponse: 'ok' });
  try {
    const res = await http(ok.agent, `${ok.emu.apiEndpoint}${uploadsPath()}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ok.emu.token}` },
      body: JSON.stringify({ name: 'x', transferSpecification: { sourceType: 'gcs', sourcePath: 'b/x' } }),
    });
    const removed = await http(ok.agent, `${ok.emu.apiEndpoint}${res.json().uri}`, { method: 'DELETE', headers: { authorization: `Bearer ${ok.emu.token}` } });
    assert.deepEqual([removed.status, removed.text, removed.headers['content-type']], [200, 'OK', 'text/plain; charset=utf-8']);
  } finally {
    await ok.close();
  }
});

test('a name already used in the table gets the first free name_N; no name is untitled_upload.<type>', async () => {
  const tempUploadId = await completedTempUpload(seededBytes(5, 64));
  assert.equal((await api('POST', uploadsPath(), { name: 'dup.csv', tempUploadId })).json().name, 'dup.csv');
  const second = (await api('POST', uploadsPath(), { name: 'dup.csv', tempUploadId })).json();
  assert.deepEqual([second.name, second.uri], ['dup_1.csv', `${uploadsPath()}/dup_1_csv`]);
  // `.` and `_` are the same in a path, so these names collide too.
  assert.equal((await api('POST', uploadsPath(), { name: 'dup_csv', tempUploadId })).json().name, 'dup_csv_1');
  assert.equal((await api('POST', uploadsPath(), { name: 'dup.csv', tempUploadId })).json().name, 'dup_2.csv');
  assert.equal(h.emu.getUpload(TABLE, 'dup.csv')?.name, 'dup.csv', 'the first upload is untouched');

  assert.equal((await api('POST', uploadsPath(), { name: null, tempUploadId })).json().name, 'untitled_upload.delimited');
  assert.equal((await api('POST', uploadsPath(), { name: '', type: 'parquet', tempUploadId })).json().name, 'untitled_upload.parquet');
});

test('creation is refused with 400 for a bad body, an unusable temp upload or a bad field', async () => {
  const good = await completedTempUpload(seededBytes(6, 64));
  const foreign = await completedTempUpload(seededBytes(7, 64), OTHER_TABLE);
  const [unfinished] = await createTempUploads(h, [{ name: `tmp-${++counter}`, size: 10 }]);

  const cases: Array<[unknown, RegExp]> = [
    ['not json', /JSON object/],
    [[1, 2], /JSON object/],
    [{ name: 'x.csv' }, /no content/],
    [{ name: 'x.csv', tempUploadId: null, transferSpecification: null }, /no content/],
    [{ name: 5, tempUploadId: good }, /name must be a string/],
    [{ name: 'x.csv', tempUploadId: 'nope' }, /not a temp upload/],
    [{ name: 'x.csv', tempUploadId: foreign }, /belongs to table/],
    [{ name: 'x.csv', tempUploadId: unfinished!.id }, /not complete/],
    [{ name: 'x.csv', tempUploadId: good, type: 'excel' }, /type must be null .* or one of/],
    [{ name: 'x.csv', tempUploadId: good, hasHeaderRow: 'yes' }, /hasHeaderRow must be a boolean/],
    [{ name: 'x.csv', tempUploadId: good, nullMarkers: [1] }, /nullMarkers/],
    [{ name: 'x.csv', tempUploadId: good, quoteCharacter: '' }, /quoteCharacter/],
    [{ name: 'x.csv', tempUploadId: good, metadata: [] }, /metadata must be an object/],
    [{ name: 'x.csv', tempUploadId: good, schema: 'a:string' }, /schema must be an array/],
    [{ name: 'x.csv', tempUploadId: good, transferSpecification: { sourceType: 'gcs', sourcePath: 'b/x' } }, /only one of/],
    [{ name: 'x', type: 'stream', tempUploadId: good }, /stream upload is filled with rows/],
  ];
  for (const [body, message] of cases) {
    const res = await http(h.agent, `${h.emu.apiEndpoint}${uploadsPath()}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.emu.token}`, 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
    assert.equal(res.json().error, 'invalid_request');
    assert.match(res.json().error_description, message, JSON.stringify(body));
  }
  assert.equal((await api('POST', uploadsPath('not a table'), { name: 'x', tempUploadId: good })).status, 400);
  assert.equal(h.emu.listUploads().some((upload) => upload.name === 'x.csv'), false, 'nothing was created');
});

test('creation needs data.edit; reading needs a valid token', async () => {
  const tempUploadId = await completedTempUpload(seededBytes(8, 64));
  assert.equal((await api('POST', uploadsPath(), { name: 'auth.csv', tempUploadId }, null)).status, 401);
  const readOnly = await api('POST', uploadsPath(), { name: 'auth.csv', tempUploadId }, h.emu.readOnlyToken);
  assert.equal(readOnly.status, 403);
  assert.equal(readOnly.json().error, 'insufficient_scope');
  assert.equal((await api('POST', uploadsPath(), { name: 'auth.csv', tempUploadId })).status, 200);
  assert.equal((await api('GET', uploadPath('auth.csv'), undefined, h.emu.readOnlyToken)).status, 200);
  assert.equal((await api('DELETE', uploadPath('auth.csv'), undefined, h.emu.readOnlyToken)).status, 403);
  assert.equal((await api('GET', uploadPath('auth.csv'), undefined, null)).status, 401);
});

test('a stream upload is created empty and completed, with its schema checked', async () => {
  const schema = [{ name: 'id', type: 'integer' }, { name: 'at', type: 'dateTime' }, { name: 'where', type: 'geography' }];
  const created = await api('POST', uploadsPath(), { name: 'live', type: 'stream', schema, tempUploadId: null });
  assert.equal(created.status, 200, created.text);
  assert.deepEqual([created.json().status, created.json().numRows, created.json().hash], ['completed', 0, null]);
  assert.deepEqual(created.json().schema, schema);
  assert.equal(h.emu.getUpload(TABLE, 'live')?.source, 'stream');
  assert.deepEqual(h.emu.getUploadRows(TABLE, 'live'), []);
  assert.equal(h.emu.getUploadRows(TABLE, 'nothing'), undefined);
  assert.equal((await api('POST', uploadsPath(), { name: 'no-schema', type: 'stream' })).status, 200, 'a schema is optional');
  for (const [bad, message] of [
    [[{ name: 'a', type: 'text' }], /schema\[0\]\.type must be one of string, integer, float, boolean, date, dateTime, time/],
    [[{ name: '', type: 'string' }], /schema\[0\]\.name/],
    [[null], /schema\[0\] must be an object/],
    [[{ name: 'a', type: 'string' }, { name: 'A', type: 'float' }], /schema\[1\]\.name "A" is already used/],
  ] as const) {
    const res = await api('POST', uploadsPath(), { name: 'bad-schema', type: 'stream', schema: bad });
    assert.equal(res.status, 400);
    assert.match(res.json().error_description, message);
  }
});
