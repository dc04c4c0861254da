/** addFiles and the table itself: a missing table (404 as is), createTable, and a table that is no file index. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RedivisClient } from '../../src/client/redivis-client.js';
import { ApiError, InvalidArgumentError } from '../../src/errors.js';
import { addFiles } from '../../src/flows/add-files.js';
import { randomBytes, runSeed } from '../support/data.js';
import { apiErrorBody, apiRequests, FAST_RETRY, flowHarness, md5Base64, startApiGate, type FlowHarness } from './helpers.js';

const seed = runSeed();
let h: FlowHarness;

before(async () => {
  h = await flowHarness({ tables: [{ reference: 'owner.dataset:next.scans', isFileIndex: true }, 'owner.dataset:next.tabular'] });
});
after(() => h.close());

const files = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => ({ name: `${prefix}${i}.bin`, source: randomBytes(500 + i, seed + i) }));

test('a table that does not exist rejects once with the 404 ApiError, whatever the number of files', async () => {
  h.emu.clearRequestLog();
  await assert.rejects(addFiles({ client: h.client, table: 'owner.dataset:next.absent', files: files('a', 50), batchSize: 10 }), (error: unknown) => {
    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.status, 404);
    return true;
  });
  assert.equal(h.emu.requestLog().length, 1);
});

test('createTable creates a missing table as a file index table, then adds the files', async () => {
  const table = 'owner.dataset:next.created';
  const input = files('c', 5);
  const result = await addFiles({ client: h.client, table, files: input, createTable: true });
  assert.deepEqual(result.added.map((file) => file.md5Hash), input.map((file) => md5Base64(file.source)), `seed ${seed}`);
  assert.equal((await h.client.tables.get(table)).isFileIndex, true);
  assert.equal(apiRequests(h.emu, /\/datasets\/[^/]+\/tables$/, 'POST').length, 1);
  // A second call finds the table and creates nothing.
  await addFiles({ client: h.client, table, files: files('d', 2), createTable: true });
  assert.equal(apiRequests(h.emu, /\/datasets\/[^/]+\/tables$/, 'POST').length, 1);
});

test('createTable with an existing file index table creates nothing', async () => {
  h.emu.clearRequestLog();
  const result = await addFiles({ client: h.client, table: 'owner.dataset:next.scans', files: files('s', 3), createTable: true });
  assert.equal(result.added.length, 3);
  assert.equal(apiRequests(h.emu, /\/tables$/, 'POST').length, 0);
});

test('createTable refuses a table of tabular data before any byte is sent', async () => {
  h.emu.clearRequestLog();
  await assert.rejects(addFiles({ client: h.client, table: 'owner.dataset:next.tabular', files: files('t', 3), createTable: true }), (error: unknown) => {
    assert.ok(error instanceof InvalidArgumentError, String(error));
    assert.equal(error.argument, 'table');
    return true;
  });
  assert.deepEqual(h.emu.requestLog().map((entry) => entry.method), ['GET']);
});

test('createTable with a read-only token: the 403 of the creation, as is', async () => {
  const reader = new RedivisClient({ apiEndpoint: h.emu.apiEndpoint, apiToken: h.emu.readOnlyToken, dispatcher: h.dispatcher });
  await assert.rejects(addFiles({ client: reader, table: 'owner.dataset:next.nope', files: files('r', 2), createTable: true }), (error: unknown) => {
    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.status, 403);
    return true;
  });
});

test('createTable when the table appears meanwhile: the refused creation is followed by a GET, and the files go in', async () => {
  let firstGet = true;
  const gate = await startApiGate(h.emu, ({ method, path }) => {
    if (method !== 'GET' || !/^\/tables\/[^/]+$/.test(path) || !firstGet) return undefined;
    firstGet = false;
    return { status: 404, body: apiErrorBody(404, 'not_found', 'Table not found') };
  });
  try {
    const client = new RedivisClient({ apiEndpoint: gate.apiEndpoint, apiToken: h.emu.token, dispatcher: h.dispatcher, retry: FAST_RETRY });
    h.emu.clearRequestLog();
    const result = await addFiles({ client, table: 'owner.dataset:next.scans', files: files('m', 2), createTable: true });
    assert.equal(result.added.length, 2);
    assert.deepEqual(
      h.emu.requestLog().filter((entry) => !entry.path.endsWith('/tempUploads') && !entry.path.endsWith('/rawFiles') && entry.kind === 'api').map((entry) => [entry.method, entry.status]),
      [['POST', 400], ['GET', 200]],
    );
  } finally {
    await gate.close();
  }
});
