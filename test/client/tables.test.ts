/** client.tables against the emulator with a fixed set of tables: exists, get, create, and what is refused. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'undici';
import { RedivisClient } from '../../src/client/redivis-client.js';
import { parseTable } from '../../src/client/tables.js';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { ApiError, InvalidArgumentError, ProtocolError, TableReferenceError } from '../../src/errors.js';
import { startApiGate, type GateRequest } from '../flows/helpers.js';

let emu: Emulator;
let dispatcher: Agent;
let client: RedivisClient;

before(async () => {
  emu = await startEmulator({ tables: ['owner.dataset:next.known', { reference: 'owner.dataset:next.files', isFileIndex: true, description: 'Scans' }] });
  dispatcher = new Agent({ keepAliveTimeout: 1000 });
  client = new RedivisClient({ apiEndpoint: emu.apiEndpoint, apiToken: emu.token, dispatcher, retry: { initialDelayMs: 1, maxDelayMs: 5 } });
});
after(async () => {
  await dispatcher.close();
  await emu.close();
});

test('exists is a HEAD: true for a known table, false for a 404, other errors thrown', async () => {
  emu.clearRequestLog();
  assert.equal(await client.tables.exists('owner.dataset:next.known'), true);
  assert.equal(await client.tables.exists({ owner: 'owner', dataset: 'dataset', version: 'next', table: 'missing' }), false);
  assert.deepEqual(emu.requestLog().map((entry) => entry.method), ['HEAD', 'HEAD']);
  const stranger = new RedivisClient({ apiEndpoint: emu.apiEndpoint, apiToken: 'wrong', dispatcher });
  await assert.rejects(stranger.tables.exists('owner.dataset:next.known'), (error: unknown) => error instanceof ApiError && error.status === 401);
});

test('get reads the table resource, typed; a missing table is the 404 ApiError', async () => {
  const files = await client.tables.get('owner.dataset:next.files');
  assert.equal(files.name, 'files');
  assert.equal(files.isFileIndex, true);
  assert.equal(files.description, 'Scans');
  assert.equal(files.uploadMergeStrategy, 'append');
  assert.match(files.uri ?? '', /^\/tables\//);
  assert.equal(files.raw.kind, 'table');
  assert.equal((await client.tables.get('owner.dataset:next.known')).isFileIndex, false);
  await assert.rejects(client.tables.get('owner.dataset:next.nowhere'), (error: unknown) => error instanceof ApiError && error.status === 404);
});

test('create posts { name, isFileIndex, uploadMergeStrategy, description } to the dataset; the table then exists', async () => {
  const seen: GateRequest[] = [];
  const gate = await startApiGate(emu, (request) => {
    seen.push(request);
    return undefined;
  });
  try {
    const viaGate = new RedivisClient({ apiEndpoint: gate.apiEndpoint, apiToken: emu.token, dispatcher });
    const created = await viaGate.tables.create('owner.dataset:next.new_files', { isFileIndex: true, description: 'Raw scans' });
    assert.deepEqual([created.name, created.isFileIndex, created.description], ['new_files', true, 'Raw scans']);
    const tabular = await viaGate.tables.create('owner.dataset:next.plain');
    assert.deepEqual([tabular.isFileIndex, tabular.uploadMergeStrategy], [false, 'append']);
    assert.deepEqual(
      seen.map(({ method, path, body }) => [method, path, JSON.parse(body.toString('utf8'))]),
      [
        ['POST', `/datasets/${encodeURIComponent('owner.dataset:next')}/tables`, { name: 'new_files', isFileIndex: true, uploadMergeStrategy: 'append', description: 'Raw scans' }],
        ['POST', `/datasets/${encodeURIComponent('owner.dataset:next')}/tables`, { name: 'plain', isFileIndex: false, uploadMergeStrategy: 'append' }],
      ],
    );
  } finally {
    await gate.close();
  }
  assert.equal(await client.tables.exists('owner.dataset:next.new_files'), true);
  assert.equal((await client.tables.get('owner.dataset:next.new_files')).isFileIndex, true);
});

test('creating a table that exists, or without data.edit, is the API error', async () => {
  await assert.rejects(client.tables.create('owner.dataset:next.known'), (error: unknown) => error instanceof ApiError && error.status === 400);
  const reader = new RedivisClient({ apiEndpoint: emu.apiEndpoint, apiToken: emu.readOnlyToken, dispatcher });
  await assert.rejects(reader.tables.create('owner.dataset:next.other'), (error: unknown) => error instanceof ApiError && error.status === 403);
});

test('bad arguments are refused before any request', async () => {
  emu.clearRequestLog();
  const cases: Array<[() => Promise<unknown>, new (...args: any[]) => Error, string?]> = [
    [() => client.tables.exists('not a table'), TableReferenceError],
    [() => client.tables.get('owner.dataset.t', { signal: 'x' as unknown as AbortSignal }), InvalidArgumentError, 'signal'],
    [() => client.tables.create({ owner: 'o', workflow: 'w', table: 't' }), InvalidArgumentError, 'table'],
    [() => client.tables.create('owner.dataset:next.t:abc-1'), InvalidArgumentError, 'table'],
    [() => client.tables.create('owner.dataset:next.t', { uploadMergeStrategy: 'merge' as 'append' }), InvalidArgumentError, 'uploadMergeStrategy'],
    [() => client.tables.create('owner.dataset:next.t', { isFileIndex: 'yes' as unknown as boolean }), InvalidArgumentError, 'isFileIndex'],
    [() => client.tables.create('owner.dataset:next.t', { description: 5 as unknown as string }), InvalidArgumentError, 'description'],
  ];
  for (const [call, type, argument] of cases) {
    await assert.rejects(call(), (error: unknown) => {
      assert.ok(error instanceof type, String(error));
      if (argument !== undefined) assert.equal((error as InvalidArgumentError).argument, argument);
      return true;
    });
  }
  assert.equal(emu.requestLog().length, 0);
});

test('table resources: counts as strings or numbers, nulls as absent, anything else a ProtocolError', () => {
  const request = { method: 'GET', path: '/tables/t' };
  const table = parseTable({ name: 't', numRows: '12', numBytes: 30, description: null, isFileIndex: null }, request, 200);
  assert.deepEqual([table.numRows, table.numBytes, table.description, table.isFileIndex], [12, 30, undefined, undefined]);
  for (const bad of [[], { numRows: 1 }, { name: 't', numRows: '-1' }, { name: 't', isFileIndex: 'yes' }, { name: 't', uri: 5 }]) {
    assert.throws(() => parseTable(bad, request, 200), ProtocolError, JSON.stringify(bad));
  }
});
