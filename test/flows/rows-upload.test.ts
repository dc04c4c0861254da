/** uploadRowsToTable, the bulk path: rows as one NDJSON upload, all or nothing. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { InvalidArgumentError, InvalidRowError } from '../../src/errors.js';
import { uploadRowsToTable } from '../../src/flows/rows/upload-rows.js';
import type { UploadRowsToTableOptions } from '../../src/flows/rows/upload-rows-options.js';
import { md5Hex, runSeed } from '../support/data.js';
import { flowHarness, type FlowHarness } from './helpers.js';
import { makeRows, SCHEMA, TABLE } from './rows-helpers.js';

const seed = runSeed();
let h: FlowHarness;
before(async () => {
  h = await flowHarness();
});
after(() => h.close());

const FAST_POLL = { pollIntervalMs: 1, maxPollIntervalMs: 2 };

function ndjsonOf(rows: unknown[]): Buffer {
  return Buffer.from(rows.map((row) => `${JSON.stringify(row)}\n`).join(''));
}

test(`rows from a generator become one processed ndjson upload holding exactly them (seed ${seed})`, async () => {
  const rows = makeRows(20_000, seed);
  rows[7]!.label = 'a label\nover two lines';
  async function* produce() {
    yield* rows;
  }
  const result = await uploadRowsToTable({ client: h.client, table: TABLE, name: 'bulk.ndjson', rows: produce(), schema: SCHEMA, ...FAST_POLL });
  assert.equal(result.status, 'completed');
  assert.equal(result.type, 'ndjson');
  assert.equal(result.rowsSent, rows.length);
  assert.equal(result.numRows, rows.length, 'one line per row, a newline inside a value included');
  const stored = await h.emu.readUpload(TABLE, 'bulk.ndjson');
  assert.equal(md5Hex(stored), md5Hex(ndjsonOf(rows)), `seed ${seed}`);
  assert.deepEqual(stored.toString('utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as unknown), rows);
  assert.equal(h.emu.getUpload(TABLE, 'bulk.ndjson')?.type, 'ndjson');
});

test('an array or an object-mode Readable, without a schema; onConflict and the other uploadToTable options apply', async () => {
  const rows = [{ a: 1, nested: { b: [1, 2] } }, { a: 2n }];
  const first = await uploadRowsToTable({ client: h.client, table: TABLE, name: 'plain.ndjson', rows, ...FAST_POLL });
  assert.equal(first.rowsSent, 2);
  assert.equal((await h.emu.readUpload(TABLE, 'plain.ndjson')).toString(), '{"a":1,"nested":{"b":[1,2]}}\n{"a":"2"}\n');
  const renamed = await uploadRowsToTable({ client: h.client, table: TABLE, name: 'plain.ndjson', rows: Readable.from(rows), onConflict: 'rename', ...FAST_POLL });
  assert.equal(renamed.name, 'plain_1.ndjson');
  const skipped = await uploadRowsToTable({ client: h.client, table: TABLE, name: 'plain.ndjson', rows, onConflict: 'skip', ...FAST_POLL });
  assert.equal(skipped.skipped, true);
  assert.equal(skipped.rowsSent, 0);
});

test('a row that does not fit rejects typed and creates no upload', async () => {
  const before = h.emu.listUploads().length;
  const rows = [...makeRows(5000, seed + 1), { id: 'seven' }, ...makeRows(10, seed + 2)];
  await assert.rejects(
    uploadRowsToTable({ client: h.client, table: TABLE, name: 'refused.ndjson', rows, schema: SCHEMA, ...FAST_POLL }),
    (error: unknown) => error instanceof InvalidRowError && error.rowIndex === 5000 && error.field === 'id' && error.rowsConfirmed === 0,
  );
  await assert.rejects(
    uploadRowsToTable({ client: h.client, table: TABLE, name: 'refused.ndjson', rows: [{ a: 1 }, { a: Number.NaN }], ...FAST_POLL }),
    (error: unknown) => error instanceof InvalidRowError && error.rowIndex === 1 && error.field === 'a',
  );
  assert.equal(h.emu.listUploads().length, before, 'no upload was created');
  const bad: Array<[Partial<UploadRowsToTableOptions>, string]> = [
    [{ rows: 'a,b' as unknown as unknown[] }, 'rows'],
    [{ rows: 5 as unknown as unknown[] }, 'rows'],
    [{ name: '' }, 'name'],
    [{ schema: [{ name: 'x', type: 'text' as 'string' }] }, 'schema[0].type'],
  ];
  h.emu.clearRequestLog();
  for (const [change, argument] of bad) {
    await assert.rejects(
      uploadRowsToTable({ client: h.client, table: TABLE, name: 'x.ndjson', rows: [], ...change }),
      (error: unknown) => error instanceof InvalidArgumentError && error.argument === argument,
      argument,
    );
  }
  assert.deepEqual(h.emu.requestLog(), []);
});
