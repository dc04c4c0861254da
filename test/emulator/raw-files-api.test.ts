/** The emulator's rawFiles endpoint: registration in request order, all-or-nothing checks, inspection. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTempUploads, harness, http, md5B64, md5Hex, seededBytes, type Harness } from './helpers.js';

const TABLE = 'owner.dataset:next.files';
let h: Harness;

before(async () => {
  h = await harness();
});
after(() => h.close());

let counter = 0;

async function completedTempUpload(data: Buffer, table = TABLE): Promise<string> {
  const [upload] = await createTempUploads(h, [{ name: `raw-${++counter}`, size: data.length }], table);
  const res = await http(h.agent, upload!.url, { method: 'PUT', body: data });
  assert.equal(res.status, 200, res.text);
  return upload!.id;
}

function postRawFiles(body: unknown, table = TABLE, token: string | null = h.emu.token) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  return http(h.agent, `${h.emu.apiEndpoint}/tables/${encodeURIComponent(table)}/rawFiles`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

test('files are registered in request order with their MD5 and size', async () => {
  const contents = [seededBytes(11, 3000), seededBytes(12, 0), seededBytes(13, 70_000)];
  const ids: string[] = [];
  for (const data of contents) ids.push(await completedTempUpload(data));
  const names = ['z/last.txt', 'a/empty.bin', 'm/middle.dat'];
  const res = await postRawFiles({ files: names.map((name, i) => ({ name, tempUploadId: ids[i] })) });
  assert.equal(res.status, 201, res.text);
  const body = res.json();
  assert.equal(body.kind, 'rawFileList');
  assert.deepEqual(
    body.results.map((r: any) => [r.kind, r.name, r.md5Hash, r.size]),
    names.map((name, i) => ['rawFile', name, md5B64(contents[i]!), String(contents[i]!.length)]),
  );
  for (const result of body.results) {
    assert.equal(result.uri, `/rawFiles/${result.id}`);
    assert.equal(result.url, `${h.emu.apiEndpoint}/rawFiles/${result.id}`);
  }
  assert.equal(new Set(body.results.map((r: any) => r.id)).size, 3);
  const listed = h.emu.listRawFiles();
  assert.deepEqual(
    listed.map((f) => [f.table, f.name, f.tempUploadId, f.size, f.md5Hex]),
    names.map((name, i) => [TABLE, name, ids[i], contents[i]!.length, md5Hex(contents[i]!)]),
  );
});

test('a request with any bad entry is refused with 400 and registers nothing', async () => {
  const good = await completedTempUpload(seededBytes(21, 10));
  const good2 = await completedTempUpload(seededBytes(22, 10));
  const foreign = await completedTempUpload(seededBytes(23, 10), 'owner.dataset:next.elsewhere');
  const [unfinished] = await createTempUploads(h, [{ name: `raw-${++counter}`, size: 10 }], TABLE);
  assert.equal((await postRawFiles({ files: [{ name: 'taken.txt', tempUploadId: good2 }] })).status, 201);
  const before = h.emu.listRawFiles().length;

  const cases: Array<[unknown, RegExp]> = [
    ['not json', /non-empty files array/],
    [{ files: [] }, /non-empty files array/],
    [{ files: [{ name: 'ok.txt', tempUploadId: good }, 'x'] }, /files\[1\] must be an object/],
    [{ files: [{ name: 'ok.txt', tempUploadId: good }, { name: '', tempUploadId: good }] }, /files\[1\]\.name/],
    [{ files: [{ name: 'ok.txt', tempUploadId: good }, { name: 'ok.txt', tempUploadId: good }] }, /files\[1\]\.name "ok.txt" is already used/],
    [{ files: [{ name: 'ok.txt', tempUploadId: good }, { name: 'taken.txt', tempUploadId: good }] }, /already used/],
    [{ files: [{ name: 'ok.txt', tempUploadId: 'missing' }] }, /files\[0\]\.tempUploadId "missing" is not a temp upload/],
    [{ files: [{ name: 'ok.txt', tempUploadId: foreign }] }, /belongs to table/],
    [{ files: [{ name: 'ok.txt', tempUploadId: unfinished!.id }] }, /not complete/],
  ];
  for (const [body, message] of cases) {
    const res = await postRawFiles(body);
    assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
    assert.match(res.json().error_description, message);
  }
  assert.equal(h.emu.listRawFiles().length, before);
  // The same name in another table is fine.
  const other = await completedTempUpload(seededBytes(24, 10), 'owner.dataset:next.elsewhere');
  assert.equal((await postRawFiles({ files: [{ name: 'taken.txt', tempUploadId: other }] }, 'owner.dataset:next.elsewhere')).status, 201);
});

test('registering needs a token with data.edit', async () => {
  const id = await completedTempUpload(seededBytes(31, 10));
  assert.equal((await postRawFiles({ files: [{ name: 'auth.txt', tempUploadId: id }] }, TABLE, null)).status, 401);
  assert.equal((await postRawFiles({ files: [{ name: 'auth.txt', tempUploadId: id }] }, TABLE, h.emu.readOnlyToken)).status, 403);
  assert.equal((await postRawFiles({ files: [{ name: 'auth.txt', tempUploadId: id }] })).status, 201);
});
