/** Tables: creation under a dataset, GET/HEAD, and the `tables` option under which other tables do not exist. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTempUploads, harness, http, type Harness } from './helpers.js';

let open: Harness;
let closed: Harness;
before(async () => {
  open = await harness();
  closed = await harness({
    tables: ['me.survey:next.visits', { reference: 'me.survey:next.scans', isFileIndex: true, description: 'Scanned forms' }],
  });
});
after(async () => {
  await open.close();
  await closed.close();
});

function api(h: Harness, method: string, path: string, body?: unknown, token: string | null = h.emu.token) {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  return http(h.agent, `${h.emu.apiEndpoint}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

const tablePath = (reference: string) => `/tables/${encodeURIComponent(reference)}`;
const datasetTablesPath = (dataset: string) => `/datasets/${encodeURIComponent(dataset)}/tables`;

test('POST /datasets/:ref/tables creates a table whose resource names its references and container', async () => {
  const created = await api(open, 'POST', datasetTablesPath('me.census:next'), {
    name: 'households',
    uploadMergeStrategy: 'replace',
    isFileIndex: false,
    description: 'One row per household',
  });
  assert.equal(created.status, 200, created.text);
  const body = created.json();
  assert.equal(body.kind, 'table');
  assert.equal(body.name, 'households');
  assert.equal(body.qualifiedReference, 'me.census:next.households');
  assert.equal(body.scopedReference, 'households');
  assert.equal(body.uri, `/tables/${encodeURIComponent('me.census:next.households')}`);
  assert.deepEqual([body.isFileIndex, body.uploadMergeStrategy, body.description], [false, 'replace', 'One row per household']);
  assert.deepEqual(body.container, {
    kind: 'dataset',
    uri: `/datasets/${encodeURIComponent('me.census:next')}`,
    qualifiedReference: 'me.census:next',
    scopedReference: 'census:next',
  });
  const got = await api(open, 'GET', body.uri);
  assert.equal(got.status, 200);
  assert.deepEqual(got.json(), body);
  assert.equal((await api(open, 'HEAD', body.uri)).status, 200);
  assert.equal(open.emu.getTable('ME.census:NEXT.Households')?.uploadMergeStrategy, 'replace', 'references match case-insensitively');

  const again = await api(open, 'POST', datasetTablesPath('me.census:next'), { name: 'households' });
  assert.equal(again.status, 400);
  assert.match(again.json().error_description, /already exists/);
});

test('a table name with spaces is escaped in its reference; defaults are append, not a file index, no description', async () => {
  const body = (await api(open, 'POST', datasetTablesPath('me.census:next'), { name: 'Raw scans 2024', isFileIndex: true, description: null })).json();
  assert.deepEqual([body.name, body.qualifiedReference], ['Raw scans 2024', 'me.census:next.Raw_scans_2024']);
  const plain = (await api(open, 'POST', datasetTablesPath('me.census:next'), { name: 'plain' })).json();
  assert.deepEqual([plain.isFileIndex, plain.uploadMergeStrategy, plain.description], [false, 'append', null]);
  assert.deepEqual(open.emu.listTables().map((table) => table.reference).slice(-2), ['me.census:next.Raw_scans_2024', 'me.census:next.plain']);
});

test('table creation refuses bad input with 400 and needs data.edit', async () => {
  const cases: Array<[string, unknown, RegExp]> = [
    [datasetTablesPath('me.census:next'), { isFileIndex: true }, /name must be a non-empty string/],
    [datasetTablesPath('me.census:next'), { name: 't', isFileIndex: 'yes' }, /isFileIndex must be a boolean/],
    [datasetTablesPath('me.census:next'), { name: 't', uploadMergeStrategy: 'merge' }, /uploadMergeStrategy/],
    [datasetTablesPath('me.census:next'), { name: 't', description: 5 }, /description must be a string/],
    [datasetTablesPath('me.census:next'), [], /JSON object/],
    [datasetTablesPath('me'), { name: 't' }, /two dot-separated parts/],
    [datasetTablesPath('me.census:next:bogus'), { name: 't' }, /qualifier/],
  ];
  for (const [path, body, message] of cases) {
    const res = await api(open, 'POST', path, body);
    assert.equal(res.status, 400, `${path} ${JSON.stringify(body)}: ${res.text}`);
    assert.match(res.json().error_description, message);
  }
  const readOnly = await api(open, 'POST', datasetTablesPath('me.census:next'), { name: 't' }, open.emu.readOnlyToken);
  assert.deepEqual([readOnly.status, readOnly.json().error], [403, 'insufficient_scope']);
  assert.equal((await api(open, 'GET', tablePath('me.census:next.households'), undefined, open.emu.readOnlyToken)).status, 200);
});

test('without the tables option every table exists, with default properties', async () => {
  const res = await api(open, 'GET', tablePath('someone.anything.whatever'));
  assert.equal(res.status, 200);
  assert.deepEqual([res.json().qualifiedReference, res.json().isFileIndex], ['someone.anything.whatever', false]);
  assert.equal(open.emu.getTable('someone.anything.whatever'), undefined, 'only known tables are listed');
});

test('with the tables option, other tables answer 404 on every route; HEAD carries the payload header', async () => {
  const missing = encodeURIComponent('me.survey:next.absent');
  const json = { 'content-type': 'application/json' };
  const requests: Array<[string, string, unknown]> = [
    ['HEAD', `/tables/${missing}`, undefined],
    ['GET', `/tables/${missing}`, undefined],
    ['POST', `/tables/${missing}/tempUploads`, { tempUploads: [{ name: 'a', size: 1 }] }],
    ['POST', `/tables/${missing}/uploads`, { name: 'a', transferSpecification: { sourceType: 'gcs', sourcePath: 'b/a' } }],
    ['HEAD', `/tables/${missing}/uploads/a`, undefined],
    ['GET', `/tables/${missing}/uploads/a`, undefined],
    ['DELETE', `/tables/${missing}/uploads/a`, undefined],
    ['POST', `/tables/${missing}/rawFiles`, { files: [{ name: 'a', tempUploadId: 'x' }] }],
  ];
  for (const [method, path, body] of requests) {
    const res = await http(closed.agent, `${closed.emu.apiEndpoint}${path}`, {
      method,
      headers: { authorization: `Bearer ${closed.emu.token}`, ...(body === undefined ? {} : json) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    assert.equal(res.status, 404, `${method} ${path}: ${res.text}`);
    const error = method === 'HEAD' ? JSON.parse(decodeURIComponent(String(res.headers['x-redivis-error-payload']))) : res.json();
    assert.equal(error.error, 'not_found', `${method} ${path}`);
    assert.match(error.error_description, /me\.survey:next\.absent was not found/);
  }
  assert.equal(closed.emu.listTempUploads().length, 0);

  // Listed tables exist in any reference form: case, reference ids, percent-encoding.
  for (const reference of ['me.survey:next.visits', 'ME.SURVEY:next.VISITS', 'me.survey:123:next.visits:456']) {
    assert.equal((await api(closed, 'HEAD', tablePath(reference))).status, 200, reference);
  }
  assert.equal((await api(closed, 'HEAD', tablePath('me.survey.visits'))).status, 404, 'the current version is another table');
  assert.deepEqual(closed.emu.listTables().map((table) => [table.reference, table.isFileIndex, table.description]), [
    ['me.survey:next.visits', false, null],
    ['me.survey:next.scans', true, 'Scanned forms'],
  ]);
});

test('with the tables option, creating a table makes it exist on every route', async () => {
  const reference = 'me.survey:next.later';
  assert.equal((await api(closed, 'HEAD', tablePath(reference))).status, 404);
  assert.equal((await api(closed, 'POST', datasetTablesPath('me.survey:next'), { name: 'later' })).status, 200);
  assert.equal((await api(closed, 'HEAD', tablePath(reference))).status, 200);
  const [created] = await createTempUploads(closed, [{ name: 'later.csv', size: 1 }], reference);
  assert.equal(created!.name, 'later.csv');
});

test('a file index table takes raw files but no tabular upload; another known table takes no raw files', async () => {
  const [file] = await createTempUploads(closed, [{ name: 'form-1.png', size: 3 }], 'me.survey:next.scans');
  assert.equal((await http(closed.agent, file!.url, { method: 'PUT', body: 'png' })).status, 200);
  const tabular = await api(closed, 'POST', `${tablePath('me.survey:next.scans')}/uploads`, { name: 'x.csv', tempUploadId: file!.id });
  assert.equal(tabular.status, 400);
  assert.match(tabular.json().error_description, /is a file index table/);
  const added = await api(closed, 'POST', `${tablePath('me.survey:next.scans')}/rawFiles`, { files: [{ name: 'form-1.png', tempUploadId: file!.id }] });
  assert.equal(added.status, 201, added.text);

  const [other] = await createTempUploads(closed, [{ name: 'notes.txt', size: 2 }], 'me.survey:next.visits');
  await http(closed.agent, other!.url, { method: 'PUT', body: 'hi' });
  const refused = await api(closed, 'POST', `${tablePath('me.survey:next.visits')}/rawFiles`, { files: [{ name: 'notes.txt', tempUploadId: other!.id }] });
  assert.equal(refused.status, 400);
  assert.match(refused.json().error_description, /not a file index table/);
});

test('the tables option and readOnlyToken are checked before anything listens', async () => {
  const { startEmulator } = await import('../../src/emulator/index.js');
  for (const options of [
    { tables: 'me.a.b' },
    { tables: ['not a reference'] },
    { tables: [{ reference: 'me.a.b', isFileIndex: 'yes' }] },
    { tables: [{ reference: 'me.a.b', uploadMergeStrategy: 'merge' }] },
    { tables: [{ reference: 'me.a.b', description: 1 }] },
    { tables: [{}] },
    { readOnlyToken: 'has space' },
    { token: 'same', readOnlyToken: 'same' },
    { deleteResponse: 'empty' },
  ]) {
    await assert.rejects(startEmulator(options as never), { code: 'ERR_INVALID_ARGUMENT' }, JSON.stringify(options));
  }
  const fixed = await harness({ readOnlyToken: 'reader-token' });
  try {
    assert.equal(fixed.emu.readOnlyToken, 'reader-token');
    const res = await api(fixed, 'POST', '/tables/a.b.c/tempUploads', { tempUploads: [{ name: 'x', size: 1 }] }, 'reader-token');
    assert.deepEqual([res.status, res.json().error, res.json().scope], [403, 'insufficient_scope', 'data.edit']);
  } finally {
    await fixed.close();
  }
});
