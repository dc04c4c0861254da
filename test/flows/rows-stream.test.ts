/** createRowStream against the emulator: batching, the result and events, options, name conflicts, bad rows. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidArgumentError, InvalidRowError, NameConflictError, TableReferenceError } from '../../src/errors.js';
import { createRowStream, RowStream } from '../../src/flows/rows/row-stream.js';
import type { RowProgress, RowStreamOptions } from '../../src/flows/rows/row-stream-options.js';
import type { TabularUpload } from '../../src/flows/poll-upload.js';
import { runSeed } from '../support/data.js';
import { flowHarness, type FlowHarness } from './helpers.js';
import { failureOf, makeRows, rowsRequests, SCHEMA, TABLE, writeAll } from './rows-helpers.js';

const seed = runSeed();
let h: FlowHarness;
before(async () => {
  h = await flowHarness();
});
after(() => h.close());

let counter = 0;
function stream(extra: Partial<RowStreamOptions> = {}): RowStream {
  return createRowStream({ client: h.client, table: TABLE, name: `events-${++counter}`, schema: SCHEMA, ...extra });
}

test(`rows arrive once and in order, in batches bounded by rows and by bytes (seed ${seed})`, async () => {
  const rows = makeRows(2345, seed);
  const rowStream = stream({ batchRows: 300, batchBytes: 16_384 });
  const progress: RowProgress[] = [];
  const uploads: Array<[TabularUpload, boolean]> = [];
  rowStream.on('progress', (p) => progress.push(p));
  rowStream.on('upload', (upload, skipped) => uploads.push([upload, skipped]));
  h.emu.clearRequestLog();
  await pipeline(Readable.from(rows), rowStream);

  const name = rowStream.upload!.name;
  assert.deepEqual(h.emu.getUploadRows(TABLE, name), rows, `seed ${seed}`);
  const requests = rowsRequests(h.emu);
  assert.ok(requests.every((entry) => entry.status === 200 && entry.contentLength! <= 16_384), 'every body within batchBytes');
  const result = rowStream.result!;
  assert.equal(result.rowsConfirmed, rows.length);
  assert.equal(result.batches, requests.length);
  assert.equal(result.upload.numRows, rows.length);
  assert.equal(result.skipped, false);
  assert.equal(result.bytesConfirmed, rows.reduce((sum, row) => sum + Buffer.byteLength(JSON.stringify(row)), 0));
  assert.ok(requests.length >= Math.ceil(rows.length / 300), 'at most batchRows per request');
  assert.equal(uploads.length, 1);
  assert.equal(uploads[0]![1], false);
  assert.equal(h.emu.getUpload(TABLE, name)?.type, 'stream');
  assert.deepEqual(h.emu.getUpload(TABLE, name)?.options.schema, SCHEMA);
  assert.deepEqual(progress.at(-1), { rowsWritten: rows.length, rowsConfirmed: rows.length, bytesConfirmed: result.bytesConfirmed });
  assert.ok(progress.every((p, i) => i === 0 || p.rowsConfirmed > progress[i - 1]!.rowsConfirmed));
  assert.ok(rowStream.peakHeldRows <= 600, `held ${rowStream.peakHeldRows} rows, at most two batches`);
  assert.equal(rowStream.heldRows, 0);
});

test('every row of a batch within the rows bound: 1 row per request, and an empty stream creates an empty upload', async () => {
  const rows = makeRows(5, seed + 1);
  const single = stream({ batchRows: 1 });
  h.emu.clearRequestLog();
  await pipeline(Readable.from(rows), single);
  assert.equal(rowsRequests(h.emu).length, 5);
  assert.deepEqual(h.emu.getUploadRows(TABLE, single.upload!.name), rows);

  const empty = stream();
  h.emu.clearRequestLog();
  await pipeline(Readable.from([]), empty);
  assert.equal(rowsRequests(h.emu).length, 0);
  assert.deepEqual(h.emu.getUploadRows(TABLE, empty.upload!.name), []);
  assert.equal(empty.result?.rowsConfirmed, 0);
  assert.equal(empty.result?.upload.numRows, 0);
});

test('a partial batch goes out after flushIntervalMs while the stream stays open', async () => {
  const rowStream = stream({ flushIntervalMs: 20 });
  const rows = makeRows(3, seed + 2);
  for (const row of rows) rowStream.write(row);
  const [progress] = (await once(rowStream, 'progress')) as [RowProgress];
  assert.equal(progress.rowsConfirmed, 3);
  assert.deepEqual(h.emu.getUploadRows(TABLE, rowStream.upload!.name), rows);
  assert.equal(rowStream.writableEnded, false);
  rowStream.end();
  await once(rowStream, 'finish');
  assert.equal(rowStream.result?.batches, 1);
});

test('a row is taken as written: changing or reusing the object afterwards changes nothing sent', async () => {
  const rowStream = stream();
  const reused: Record<string, unknown> = { id: 1, label: 'first' };
  rowStream.write(reused);
  reused.id = 2;
  reused.label = 'second';
  rowStream.write(reused);
  await writeAll(rowStream, []);
  assert.deepEqual(h.emu.getUploadRows(TABLE, rowStream.upload!.name), [
    { id: 1, label: 'first' },
    { id: 2, label: 'second' },
  ]);
});

test('values in their text forms, bigints, nulls and missing variables go as Redivis reads them', async () => {
  const rowStream = stream();
  const rows: Array<Record<string, unknown>> = [
    { id: 9007199254740993n, score: '1.5e3', ok: 'true', at: '2024-01-01 00:00' },
    { id: '-42', label: null, score: 2n, day: undefined },
    { label: 'line one\nline two' },
  ];
  await writeAll(rowStream, rows);
  assert.deepEqual(h.emu.getUploadRows(TABLE, rowStream.upload!.name), [
    { id: '9007199254740993', score: '1.5e3', ok: 'true', at: '2024-01-01 00:00' },
    { id: '-42', label: null, score: '2' },
    { label: 'line one\nline two' },
  ]);
});

test('a row that does not fit fails typed, naming its index and variable: the rows before it are stored, nothing after it is sent', async () => {
  const cases: Array<[Record<string, unknown> | unknown, string | undefined, RegExp]> = [
    [{ id: 1.5 }, 'id', /an integer within int64/],
    [{ id: '9223372036854775808' }, 'id', /an integer within int64/],
    [{ id: 2 ** 63 }, 'id', /an integer within int64/],
    [{ score: Number.NaN }, 'score', /a finite number/],
    [{ score: Infinity }, 'score', /a finite number/],
    [{ label: 7 }, 'label', /a string/],
    [{ ok: 'yes' }, 'ok', /a boolean/],
    [{ day: '2023-02-29' }, 'day', /a date/],
    [{ at: '2024-01-01T10:00:00Z' }, 'at', /without a time zone/],
    [{ at: new Date(0) }, 'at', /a dateTime/],
    [{ extra: 1 }, 'extra', /one of the schema's variables \(id, label, score, ok, day, at\)/],
    [[1, 2], undefined, /a plain object keyed by variable name/],
    ['a line of text', undefined, /a plain object/],
    [new Date(0), undefined, /a plain object/],
    [{ label: 'x'.repeat(5000) }, undefined, /a row of at most 4085 bytes as JSON \(batchBytes 4096\)/],
  ];
  for (const [bad, field, expected] of cases) {
    const good = makeRows(7, seed + 3);
    const after = makeRows(5, seed + 4, 100);
    const rowStream = stream({ batchRows: 3, batchBytes: 4096 });
    const failed = failureOf(rowStream);
    for (const row of [...good, bad, ...after]) rowStream.write(row);
    const error = await failed;
    const label = JSON.stringify(bad) ?? String(bad);
    assert.ok(error instanceof InvalidRowError, `${label}: ${error.message}`);
    assert.equal(error.code, 'ERR_INVALID_ROW');
    assert.equal(error.rowIndex, 7, label);
    assert.equal(error.field, field, label);
    assert.match(error.message, expected, label);
    assert.match(error.message, /7 rows are stored, nothing from this row on was sent/);
    assert.equal(error.rowsConfirmed, 7);
    assert.deepEqual(h.emu.getUploadRows(TABLE, rowStream.upload!.name), good, label);
    assert.equal(rowStream.rowsConfirmed, 7);
    assert.equal(rowStream.rowsWritten, 7);
  }
});

test('every option is checked before any request, naming the option, expected and received', async () => {
  h.emu.clearRequestLog();
  const base = { client: h.client, table: TABLE, name: 'checked', schema: SCHEMA } as RowStreamOptions;
  const bad: Array<[Partial<Record<keyof RowStreamOptions, unknown>>, string]> = [
    [{ client: {} }, 'client'],
    [{ name: '' }, 'name'],
    [{ schema: [] }, 'schema'],
    [{ schema: 'id:integer' }, 'schema'],
    [{ schema: [{ name: 'id', type: 'int' }] }, 'schema[0].type'],
    [{ schema: [{ name: '', type: 'string' }] }, 'schema[0].name'],
    [{ schema: [{ name: 'a', type: 'string' }, { name: 'A', type: 'integer' }] }, 'schema[1].name'],
    [{ onConflict: 'overwrite' }, 'onConflict'],
    [{ batchRows: 0 }, 'batchRows'],
    [{ batchRows: 1.5 }, 'batchRows'],
    [{ batchBytes: 12 }, 'batchBytes'],
    [{ flushIntervalMs: -1 }, 'flushIntervalMs'],
    [{ highWaterMark: 0 }, 'highWaterMark'],
    [{ stallTimeoutMs: 0 }, 'stallTimeoutMs'],
    [{ retry: { retries: -1 } }, 'retry.retries'],
    [{ signal: 'stop' }, 'signal'],
  ];
  for (const [change, argument] of bad) {
    assert.throws(
      () => createRowStream({ ...base, ...change } as RowStreamOptions),
      (error: unknown) => error instanceof InvalidArgumentError && error.argument === argument && /expected .*, received /.test(error.message),
      argument,
    );
  }
  assert.throws(() => createRowStream({ ...base, table: 'no-dataset' }), TableReferenceError);
  assert.throws(() => createRowStream(null as unknown as RowStreamOptions), InvalidArgumentError);
  assert.deepEqual(h.emu.requestLog(), []);
});

test("onConflict: 'error' refuses before any row is sent; 'replace', 'rename', 'skip' and 'append'", async () => {
  const name = 'conflicts';
  const first = makeRows(4, seed + 5);
  await writeAll(stream({ name }), first);

  const refused = stream({ name });
  const failed = failureOf(refused);
  refused.end({ id: 1 });
  assert.ok((await failed) instanceof NameConflictError);
  assert.deepEqual(h.emu.getUploadRows(TABLE, name), first);

  const appended = makeRows(3, seed + 6, 50);
  const append = stream({ name, onConflict: 'append' });
  await writeAll(append, appended);
  assert.deepEqual(h.emu.getUploadRows(TABLE, name), [...first, ...appended]);
  assert.equal(append.result?.rowsConfirmed, 3);
  assert.equal(append.result?.upload.numRows, 7);

  const renamed = stream({ name, onConflict: 'rename' });
  await writeAll(renamed, appended);
  assert.equal(renamed.upload?.name, 'conflicts_1');
  assert.deepEqual(h.emu.getUploadRows(TABLE, 'conflicts_1'), appended);

  const skipping = stream({ name, onConflict: 'skip' });
  const seen: boolean[] = [];
  skipping.on('upload', (_upload, skipped) => seen.push(skipped));
  h.emu.clearRequestLog();
  await writeAll(skipping, makeRows(10, seed + 7));
  assert.deepEqual(seen, [true]);
  assert.equal(skipping.result?.skipped, true);
  assert.equal(skipping.result?.rowsConfirmed, 0);
  assert.equal(skipping.rowsWritten, 10);
  assert.equal(rowsRequests(h.emu).length, 0);
  assert.deepEqual(h.emu.getUploadRows(TABLE, name), [...first, ...appended]);

  const replaced = makeRows(2, seed + 8, 900);
  await writeAll(stream({ name, onConflict: 'replace' }), replaced);
  assert.deepEqual(h.emu.getUploadRows(TABLE, name), replaced);

  // 'append' onto an upload that holds no rows stream: refused like a name conflict, nothing sent.
  await h.client.request('POST', `/tables/${encodeURIComponent(TABLE)}/uploads`, {
    body: { name: 'pulled', transferSpecification: { sourceType: 'gcs', sourcePath: 'bucket/pulled.csv' } },
  });
  const onto = stream({ name: 'pulled', onConflict: 'append' });
  const ontoFailed = failureOf(onto);
  onto.end({ id: 1 });
  assert.ok((await ontoFailed) instanceof NameConflictError);
});

test("after a bad row, a stream with onConflict: 'append' continues from rowsConfirmed: every good row once, in order", async () => {
  const rows = makeRows(500, seed + 9);
  const name = 'resumed';
  const first = stream({ name, batchRows: 64 });
  const failed = failureOf(first);
  for (const row of [...rows.slice(0, 321), { id: 'oops' }]) first.write(row);
  const error = await failed;
  assert.ok(error instanceof InvalidRowError);
  const second = stream({ name, onConflict: 'append', batchRows: 64 });
  await writeAll(second, rows.slice(error.rowsConfirmed));
  assert.deepEqual(h.emu.getUploadRows(TABLE, name), rows, `seed ${seed}`);
  assert.equal(second.result?.upload.numRows, 500);
});

test('a failing source destroys the stream: the rows confirmed stay and say how far it got, nothing held is sent later', async () => {
  const rows = makeRows(230, seed + 10);
  async function* failing() {
    yield* rows;
    throw new Error('the database went away');
  }
  const rowStream = stream({ batchRows: 100 });
  await assert.rejects(pipeline(Readable.from(failing()), rowStream), /the database went away/);
  const stored = h.emu.getUploadRows(TABLE, rowStream.upload!.name)!;
  assert.equal(stored.length, rowStream.rowsConfirmed);
  assert.deepEqual(stored, rows.slice(0, rowStream.rowsConfirmed));
  assert.equal(rowStream.rowsInDoubt, 0);
});
