/** Backpressure: against a slow server write() returns false and the rows held stay within two batches. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { RedivisClient } from '../../src/client/redivis-client.js';
import { createRowStream } from '../../src/flows/rows/row-stream.js';
import { runSeed } from '../support/data.js';
import { FAST_RETRY, flowHarness, type FlowHarness } from './helpers.js';
import { makeRows, SCHEMA, startGate, TABLE } from './rows-helpers.js';

const seed = runSeed();
let h: FlowHarness;
before(async () => {
  h = await flowHarness();
});
after(() => h.close());

test(`a server that holds its answer: write() returns false, and the rows held stay at two batches (seed ${seed})`, async () => {
  let release!: () => void;
  const open = new Promise<void>((resolve) => (release = resolve));
  let firstArrived!: () => void;
  const arrived = new Promise<void>((resolve) => (firstArrived = resolve));
  const gate = await startGate(h.emu, async (request) => {
    if (request.rowsIndex === 1) {
      firstArrived();
      await open;
    }
    return undefined;
  });
  const client = new RedivisClient({ apiEndpoint: gate.apiEndpoint, apiToken: h.emu.token, retry: FAST_RETRY });
  try {
    const rows = makeRows(1000, seed);
    const rowStream = createRowStream({ client, table: TABLE, name: 'held', schema: SCHEMA, batchRows: 50, highWaterMark: 8 });
    let written = 0;
    while (rowStream.write(rows[written++])) {}
    await arrived;
    // The first batch is at the server, which does not answer: the next one fills, then writes wait.
    if (rowStream.writableNeedDrain) await once(rowStream, 'drain');
    while (rowStream.write(rows[written++])) {}
    assert.equal(rowStream.heldRows, 100, 'one batch in flight, one waiting');
    assert.ok(rowStream.writableLength <= 8, `Node buffers at most highWaterMark rows (${rowStream.writableLength})`);
    // A producer that ignores write() fills Node's buffer, never the stream's own batches.
    for (let i = 0; i < 100; i++) assert.equal(rowStream.write(rows[written++]), false);
    assert.equal(rowStream.heldRows, 100);
    assert.ok(rowStream.peakHeldRows <= 100);
    release();
    for (; written < rows.length; written++) if (!rowStream.write(rows[written])) await once(rowStream, 'drain');
    rowStream.end();
    await once(rowStream, 'finish');
    assert.deepEqual(h.emu.getUploadRows(TABLE, 'held'), rows, `seed ${seed}`);
    assert.ok(rowStream.peakHeldRows <= 100, `peak ${rowStream.peakHeldRows}`);
  } finally {
    await gate.close();
  }
});

test(`a stalling server: write() returns false while the stall lasts, rows held stay bounded, every row arrives once (seed ${seed})`, async () => {
  h.emu.injectFault({ match: { kind: 'rows' }, fault: { kind: 'stall', ms: 150 }, times: 3 });
  const rows = makeRows(600, seed + 1);
  const rowStream = createRowStream({ client: h.client, table: TABLE, name: 'stalled', schema: SCHEMA, batchRows: 40, highWaterMark: 4 });
  let refusedAfterStart = 0;
  for (const row of rows) {
    if (!rowStream.write(row)) {
      if (rowStream.upload !== undefined) refusedAfterStart += 1;
      assert.ok(rowStream.heldRows <= 80, `held ${rowStream.heldRows}`);
      await once(rowStream, 'drain');
    }
  }
  rowStream.end();
  await once(rowStream, 'finish');
  h.emu.clearFaults();
  assert.ok(refusedAfterStart > 0, 'write() returned false while requests stalled');
  assert.ok(rowStream.peakHeldRows <= 80, `peak ${rowStream.peakHeldRows}`);
  assert.deepEqual(h.emu.getUploadRows(TABLE, 'stalled'), rows, `seed ${seed}`);
});
