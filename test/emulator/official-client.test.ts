/**
 * The requests the official Python client sends, request by request and header by header, sent raw with undici and
 * answered as that client needs: every field present with unset ones as null, multipart content, the HEAD/DELETE
 * sequence of a replace, table creation and existence, file index uploads, transfers, stream uploads and their rows.
 */
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { harness, md5Hex, rawRequest, seededBytes, type Harness } from './helpers.js';

const SEED = 6060;
let h: Harness;
before(async () => {
  h = await harness({ tables: ['me.survey:next.visits'], failUploads: { 'broken.csv': 'Expected 2 columns, found 3 on line 2' } });
});
after(() => h.close());

const TABLE = 'me.survey:next.visits';
const MIB = 1024 * 1024;

/** Python's `urllib.parse.quote(text, safe='')`. */
function quote(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
const tableUri = (reference = TABLE) => `/tables/${quote(reference)}`;
const uploadUri = (name: string) => `${tableUri()}/uploads/${quote(name.replace(/\./g, '_'))}`;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One request with the headers `requests` adds, to the API or (with an absolute URL) an upload URL. */
async function send(method: string, pathOrUrl: string, init: { headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<Answer> {
  const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${h.emu.apiEndpoint}${pathOrUrl}`;
  const res = await request(url, {
    dispatcher: h.agent,
    method: method as 'GET',
    headers: {
      'user-agent': 'redivis-python/0.20.10 (Linux-6.8-x86_64; Python/3.12.3)',
      'accept-encoding': 'gzip, deflate',
      accept: '*/*',
      authorization: `Bearer ${h.emu.token}`,
      ...init.headers,
    },
    body: init.body,
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

/** `make_request` with a JSON payload (`json.dumps`, Content-Type: application/json). */
const sendJson = (method: string, path: string, payload: unknown) =>
  send(method, path, { headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });

/** How `process_request_response` reads a success: `OK` as is, anything else must be JSON (else it raises). */
function successBody(answer: Answer): unknown {
  assert.ok(answer.status < 400, `HTTP ${answer.status}: ${answer.text}`);
  return answer.text === 'OK' ? 'OK' : JSON.parse(answer.text);
}

/** The body `Upload.create()` sends: every field, unset ones as null. */
function uploadPayload(name: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name, type: null, schema: null, metadata: null, hasHeaderRow: true, skipBadRecords: false, hasQuotedNewlines: null,
    allowJaggedRows: false, quoteCharacter: null, escapeCharacter: null, nullMarkers: null, delimiter: null,
    tempUploadId: null, transferSpecification: null, ...fields,
  };
}

/** `files={"metadata": json.dumps(payload), "data": content}` as requests/urllib3 encode it. */
function multipart(payload: unknown, data: Buffer, filename = 'data'): { headers: Record<string, string>; body: Buffer } {
  const boundary = randomBytes(16).toString('hex');
  const part = (name: string, file: string) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${file}"\r\n\r\n`;
  const body = Buffer.concat([
    Buffer.from(`${part('metadata', 'metadata')}${JSON.stringify(payload)}\r\n${part('data', filename)}`),
    data,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, body };
}

/** `GET <upload.uri>` until completed or failed, as `wait_for_finish` polls. */
async function waitForFinish(uri: string): Promise<any> {
  for (;;) {
    const upload = successBody(await send('GET', uri)) as any;
    if (upload.status === 'completed' || upload.status === 'failed') return upload;
  }
}

test('exists() and create() of a table, then HEAD/GET of it', async () => {
  const head = await send('HEAD', tableUri('me.survey:next.households'));
  assert.equal(head.status, 404, 'not listed, so it does not exist yet');
  assert.equal(JSON.parse(decodeURIComponent(String(head.headers['x-redivis-error-payload']))).error, 'not_found');

  const created = successBody(
    await sendJson('POST', `/datasets/${quote('me.survey:next')}/tables`, {
      name: 'households', uploadMergeStrategy: 'append', isFileIndex: false, description: 'Some info',
    }),
  ) as any;
  // update_properties() reads these four, then container.kind.
  assert.deepEqual([created.qualifiedReference, created.scopedReference, created.name, created.uri],
    ['me.survey:next.households', 'households', 'households', tableUri('me.survey:next.households')]);
  assert.equal(created.container.kind, 'dataset');
  assert.equal((await send('HEAD', created.uri)).status, 200);
  assert.equal((successBody(await send('GET', created.uri)) as any).description, 'Some info');
});

test('small content: HEAD 404, multipart POST with every field, GET until completed', async () => {
  const data = Buffer.from('a,b\n1,2\n3,"4\n5"\n');
  assert.equal((await send('HEAD', uploadUri('tiny.csv'))).status, 404);
  const { headers, body } = multipart(uploadPayload('tiny.csv', { type: 'delimited', hasQuotedNewlines: true }), data);
  const created = successBody(await send('POST', `${tableUri()}/uploads`, { headers, body })) as any;
  assert.equal(created.uri, uploadUri('tiny.csv'));
  const done = await waitForFinish(created.uri);
  assert.deepEqual([done.status, done.numRows, done.hash, done.size, done.hasQuotedNewlines], ['completed', 2, md5Hex(data), data.length, true]);
  assert.equal(h.emu.getUpload(TABLE, 'tiny.csv')?.source, 'multipart');
  assert.equal(md5Hex(await h.emu.readUpload(TABLE, 'tiny.csv')), md5Hex(data));
  // Fields sent as null are absent; those the client always sends are kept as sent.
  assert.deepEqual(h.emu.getUpload(TABLE, 'tiny.csv')?.options, { hasHeaderRow: true, skipBadRecords: false, hasQuotedNewlines: true, allowJaggedRows: false });
});

test('replace_on_conflict: HEAD 200, DELETE answered OK or JSON, POST again; if_not_exists sends nothing more', async () => {
  const first = Buffer.from('x\n1\n');
  const second = Buffer.from('x\n1\n2\n');
  for (const data of [first, second]) {
    const head = await send('HEAD', uploadUri('replaced.csv'));
    if (head.status === 200) {
      assert.equal(head.text, '');
      successBody(await send('DELETE', uploadUri('replaced.csv')));
    } else {
      assert.equal(head.status, 404);
    }
    const { headers, body } = multipart(uploadPayload('replaced.csv'), data, 'replaced.csv');
    const created = successBody(await send('POST', `${tableUri()}/uploads`, { headers, body })) as any;
    assert.equal(created.name, 'replaced.csv', 'the name was free again');
    assert.equal((await waitForFinish(created.uri)).numRows, data === first ? 1 : 2);
  }
  assert.equal(md5Hex(await h.emu.readUpload(TABLE, 'replaced.csv')), md5Hex(second));
  assert.equal(h.emu.listUploads().filter((upload) => upload.name.startsWith('replaced')).length, 1);
  assert.equal((await send('HEAD', uploadUri('replaced.csv'))).status, 200, 'if_not_exists stops here');
});

test('rename_on_conflict: the same name POSTed again is stored under a free name the answer carries', async () => {
  for (const expected of ['renamed.csv', 'renamed_1.csv']) {
    const { headers, body } = multipart(uploadPayload('renamed.csv'), Buffer.from('a\n1\n'));
    const created = successBody(await send('POST', `${tableUri()}/uploads`, { headers, body })) as any;
    assert.equal(created.name, expected);
    assert.equal((await waitForFinish(created.uri)).status, 'completed');
  }
});

test('content over 1 MiB, run three times (plain, replace, rename): each run creates the temp upload of that name again', async () => {
  const runs = [seededBytes(SEED, MIB + 1), seededBytes(SEED + 10, MIB + 2), seededBytes(SEED + 11, MIB + 3)];
  const tempUploadIds: string[] = [];
  for (const [run, data] of runs.entries()) {
    // Upload.create() sends the bytes first, and only then looks for a conflict.
    const temp = successBody(await sendJson('POST', `${tableUri()}/tempUploads`, { tempUploads: [{ size: data.length, name: 'big.csv', resumable: false }] })) as any;
    const [tempUpload] = temp.results;
    tempUploadIds.push(tempUpload.id);
    assert.equal((await send('PUT', tempUpload.url, { body: data })).status, 200);
    const head = await send('HEAD', uploadUri('big.csv'));
    assert.equal(head.status, run === 0 ? 404 : 200);
    if (run === 1) successBody(await send('DELETE', uploadUri('big.csv')));
    const created = successBody(await sendJson('POST', `${tableUri()}/uploads`, uploadPayload('big.csv', { tempUploadId: tempUpload.id }))) as any;
    assert.equal(created.name, run === 2 ? 'big_1.csv' : 'big.csv');
    const done = await waitForFinish(created.uri);
    assert.deepEqual([done.status, done.hash, done.size, done.tempUploadId], ['completed', md5Hex(data), data.length, tempUpload.id], `seed ${SEED}, run ${run}`);
  }
  assert.equal(new Set(tempUploadIds).size, 3);
  assert.equal(h.emu.getUpload(TABLE, 'big.csv')?.hash, md5Hex(runs[1]!), 'the replace holds the second run');
  assert.equal(h.emu.getUpload(TABLE, 'big_1.csv')?.hash, md5Hex(runs[2]!), 'the rename holds the third');
});

test('content of 32 MiB: resumable start, one PUT of the whole file, a bytes */N status query after a cut, the rest', async () => {
  const data = seededBytes(SEED + 1, 32 * MIB);
  const total = data.length;
  const [tempUpload] = (successBody(await sendJson('POST', `${tableUri()}/tempUploads`, { tempUploads: [{ size: total, name: 'huge.csv', resumable: true }] })) as any).results;
  const start = await send('POST', tempUpload.url, { headers: { 'content-length': '0', 'x-upload-content-length': String(total), 'x-goog-resumable': 'start' } });
  assert.equal(start.status, 201);
  const session = String(start.headers.location);
  h.emu.injectFault({ match: { kind: 'chunk', tempUploadId: tempUpload.id }, fault: { kind: 'reset', afterBytes: 5 * MIB } });
  await assert.rejects(send('PUT', session, { headers: { 'content-length': String(total), 'content-range': `bytes 0-${total - 1}/${total}` }, body: data }));
  await h.emu.waitForRequest((entry) => entry.tempUploadId === tempUpload.id && entry.kind === 'chunk');
  const status = await send('PUT', session, { headers: { 'content-length': '0', 'content-range': `bytes */${total}` } });
  assert.equal(status.status, 308);
  const match = /^bytes=0-(\d+)$/.exec(String(status.headers.range));
  assert.ok(match, `retry_partial_upload parses ${String(status.headers.range)}`);
  const next = Number(match[1]) + 1;
  const rest = await send('PUT', session, { headers: { 'content-length': String(total - next), 'content-range': `bytes ${next}-${total - 1}/${total}` }, body: data.subarray(next) });
  assert.equal(rest.status, 200);
  const created = successBody(await sendJson('POST', `${tableUri()}/uploads`, uploadPayload('huge.csv', { tempUploadId: tempUpload.id }))) as any;
  assert.equal((await waitForFinish(created.uri)).hash, md5Hex(data), `seed ${SEED + 1}`);
});

test('remove_on_fail: a failed import is read, then DELETEd', async () => {
  const { headers, body } = multipart(uploadPayload('broken.csv'), Buffer.from('a,b\n1,2,3\n'));
  const created = successBody(await send('POST', `${tableUri()}/uploads`, { headers, body })) as any;
  const done = await waitForFinish(created.uri);
  assert.deepEqual([done.status, done.errorMessage, done.kind], ['failed', 'Expected 2 columns, found 3 on line 2', 'upload']);
  successBody(await send('DELETE', created.uri));
  assert.equal((await send('HEAD', created.uri)).status, 404);
});

test('transfer_specification without content: no temp upload, no bytes, the import completes', async () => {
  const before = h.emu.listTempUploads().length;
  for (const transferSpecification of [
    { sourceType: 'gcs', sourcePath: 'redivis-data-dev/test.csv.gz', identity: 'user@example.com' },
    { sourceType: 'redivis', sourcePath: 'demo.novel_corona_virus_2019_dataset.covid_19_data' },
  ]) {
    const name = `transfer-${transferSpecification.sourceType}`;
    const created = successBody(await sendJson('POST', `${tableUri()}/uploads`, uploadPayload(name, { transferSpecification }))) as any;
    const done = await waitForFinish(created.uri);
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.transferSpecification, transferSpecification);
  }
  assert.equal(h.emu.listTempUploads().length, before);
});

test('add_files into a new file index table: create, temp uploads by relative path, PUTs (an empty one chunked), rawFiles', async () => {
  successBody(await sendJson('POST', `/datasets/${quote('me.survey:next')}/tables`, { name: 'scans', uploadMergeStrategy: 'append', isFileIndex: true }));
  const files = [
    { name: '2024/a.png', data: seededBytes(SEED + 2, 70_000) },
    { name: 'empty.txt', data: Buffer.alloc(0) },
  ];
  const scans = tableUri('me.survey:next.scans');
  const { results } = successBody(await sendJson('POST', `${scans}/tempUploads`, {
    tempUploads: files.map((file) => ({ size: file.data.length, name: file.name, resumable: file.data.length > 5e7 })),
  })) as any;
  assert.equal((await send('PUT', results[0].url, { body: files[0]!.data })).status, 200);
  // requests sends a zero-length file object with Transfer-Encoding: chunked.
  const emptyStatus = await rawRequest(results[1].url, 'PUT', { authorization: `Bearer ${h.emu.token}`, 'transfer-encoding': 'chunked' }, Buffer.from('0\r\n\r\n'));
  assert.equal(emptyStatus, 200);
  const added = successBody(await sendJson('POST', `${scans}/rawFiles`, {
    files: files.map((file, i) => ({ name: file.name, tempUploadId: results[i].id })),
  })) as any;
  assert.equal(added.kind, 'rawFileList');
  assert.deepEqual(added.results.map((file: any) => [file.name, file.size]), [['2024/a.png', '70000'], ['empty.txt', '0']]);
  const stored = h.emu.listRawFiles().filter((file) => file.table === 'me.survey:next.scans');
  assert.deepEqual(stored.map((file) => file.md5Hex), files.map((file) => md5Hex(file.data)), `seed ${SEED + 2}`);

  // Running add_files again asks for the same temp-upload names: those are created again. Registering a file
  // name the table already holds stays refused.
  const again = successBody(await sendJson('POST', `${scans}/tempUploads`, { tempUploads: [{ size: 3, name: '2024/a.png', resumable: false }] })) as any;
  assert.equal((await send('PUT', again.results[0].url, { body: Buffer.from('new') })).status, 200);
  const refused = await sendJson('POST', `${scans}/rawFiles`, { files: [{ name: '2024/a.png', tempUploadId: again.results[0].id }] });
  assert.equal(refused.status, 400);
  assert.match(JSON.parse(refused.text).error_description, /"2024\/a\.png" is already used by a file of table/);
});

test('a stream upload: create with type stream and a schema (no wait), then insert_rows per batch', async () => {
  assert.equal((await send('HEAD', uploadUri('streamed_data'))).status, 404);
  const schema = [{ name: 'id', type: 'integer' }, { name: 'Numeric', type: 'float' }, { name: 'Key', type: 'string' }, { name: 'Boolean', type: 'boolean' }];
  const created = successBody(await sendJson('POST', `${tableUri()}/uploads`, uploadPayload('streamed_data', { type: 'stream', schema }))) as any;
  const batches = [
    [{ id: 1, Numeric: 871976, Key: 'key5', Boolean: false }, { id: 2, Numeric: 743085, Key: 'key4', Boolean: false }],
    [{ id: 3 }],
  ];
  for (const rows of batches) {
    const answer = successBody(await sendJson('POST', `${created.uri}/rows`, { rows })) as any;
    assert.equal(answer.kind, 'upload', 'insert_rows returns the parsed JSON answer');
  }
  assert.equal((successBody(await send('GET', created.uri)) as any).numRows, 3);
  assert.deepEqual(h.emu.getUploadRows(TABLE, 'streamed_data'), batches.flat());
});

test('multipart bodies the client could not have meant are refused with 400', async () => {
  const good = multipart(uploadPayload('m.csv'), Buffer.from('a\n'));
  const boundary = /boundary=(\w+)/.exec(good.headers['content-type']!)![1]!;
  const onlyMetadata = `--${boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n${JSON.stringify(uploadPayload('m.csv'))}\r\n--${boundary}--\r\n`;
  const badJson = `--${boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{nope\r\n--${boundary}\r\nContent-Disposition: form-data; name="data"\r\n\r\na\r\n--${boundary}--\r\n`;
  const cases: Array<[string, string | Buffer, RegExp]> = [
    [good.headers['content-type']!, onlyMetadata, /part named "metadata" .* and a part named "data"/],
    [good.headers['content-type']!, badJson, /"metadata" part must be JSON/],
    [good.headers['content-type']!, 'garbage without parts', /malformed/],
    ['multipart/form-data; boundary=other', good.body, /malformed/],
  ];
  for (const [contentType, body, message] of cases) {
    const res = await send('POST', `${tableUri()}/uploads`, { headers: { 'content-type': contentType }, body });
    assert.equal(res.status, 400, res.text);
    assert.match(JSON.parse(res.text).error_description, message);
  }
  assert.equal(h.emu.getUpload(TABLE, 'm.csv'), undefined);
});
