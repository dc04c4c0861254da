/**
 * Exactly once through failures: every row stored once and in order through each fault a rows request can meet,
 * the count asked before any batch is sent again, and a typed refusal when the count cannot decide.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RedivisClient } from '../../src/client/redivis-client.js';
import { AbortError, RetriesExhaustedError, RowsInDoubtError, TimeoutError } from '../../src/errors.js';
import type { FaultRule } from '../../src/emulator/index.js';
import { startEmulator } from '../../src/emulator/index.js';
import { createRowStream, type RowStream } from '../../src/flows/rows/row-stream.js';
import type { RowStreamOptions } from '../../src/flows/rows/row-stream-options.js';
import { runSeed } from '../support/data.js';
import { FAST_RETRY, flowHarness, type FlowHarness } from './helpers.js';
import { bodyRows, failureOf, makeRows, rowsRequests, SCHEMA, startGate, TABLE, writeAll, type Gate } from './rows-helpers.js';

const seed = runSeed();
let h: FlowHarness;
before(async () => {
  h = await flowHarness();
});
after(() => h.close());

let counter = 0;
function stream(extra: Partial<RowStreamOptions> = {}, client: RedivisClient = h.client): RowStream {
  return createRowStream({ client, table: TABLE, name: `faults-${++counter}`, schema: SCHEMA, batchRows: 100, ...extra });
}

/** Count queries (`GET <upload.uri>`) of the log for the stream's upload. */
function countQueries(rowStream: RowStream): number {
  const path = `/api/v1${rowStream.upload!.uri}`;
  return h.emu.requestLog().filter((entry) => entry.method === 'GET' && entry.path === path).length;
}

const cases: Array<[string, FaultRule['fault'], number]> = [
  ['a 503 before processing', { kind: 'status', status: 503 }, 0],
  ['a 503 after processing (stored, answer an error)', { kind: 'status', status: 503, afterProcessing: true }, 100],
  ['a lost answer (reset after processing)', { kind: 'reset' }, 100],
  ['a reset mid-body', { kind: 'reset', afterBytes: 700 }, 0],
  ['a reset before processing', { kind: 'reset', afterBytes: 0 }, 0],
  ['a 429 with Retry-After', { kind: 'status', status: 429, retryAfter: '0' }, 0],
];

for (const [what, fault, storedByFault] of cases) {
  test(`every row once and in order through ${what} (seed ${seed})`, async () => {
    const rows = makeRows(450, seed);
    h.emu.clearRequestLog();
    h.emu.injectFault({ match: { kind: 'rows', nth: 2 }, fault });
    const rowStream = stream();
    const retries: number[] = [];
    rowStream.on('retry', (retry) => retries.push(retry.attempt));
    await pipeline(Readable.from(rows), rowStream);
    h.emu.clearFaults();
    assert.deepEqual(h.emu.getUploadRows(TABLE, rowStream.upload!.name), rows, `seed ${seed}`);
    assert.equal(rowStream.result?.rowsConfirmed, 450);
    assert.equal(rowStream.result?.upload.numRows, 450);
    assert.deepEqual(retries, [1]);
    assert.equal(countQueries(rowStream), 1, 'the count is asked once, before the batch would be sent again');
    const requests = rowsRequests(h.emu);
    assert.equal(requests[1]!.fault !== undefined, true);
    // The batch is sent again only when the count showed it missing.
    assert.equal(requests.length, storedByFault === 0 ? 6 : 5);
  });
}

test(`several faults in one run, and a lost answer on creating the upload, store every row once (seed ${seed})`, async () => {
  const rows = makeRows(1200, seed + 1);
  h.emu.clearRequestLog();
  h.emu.injectFault({ match: { kind: 'api', nth: 2 }, fault: { kind: 'reset' } }); // HEAD, then the create: stored, answer lost
  for (const [nth, fault] of [
    [1, { kind: 'reset' }],
    [3, { kind: 'status', status: 503, afterProcessing: true }],
    [4, { kind: 'status', status: 500 }],
    [6, { kind: 'reset', afterBytes: 100 }],
    [7, { kind: 'reset' }],
    [8, { kind: 'status', status: 502, afterProcessing: true }],
  ] as const) {
    h.emu.injectFault({ match: { kind: 'rows', nth }, fault });
  }
  const rowStream = stream({ batchRows: 150 });
  await writeAll(rowStream, rows);
  h.emu.clearFaults();
  assert.equal(rowStream.upload!.name, `faults-${counter}`, 'the upload created by the lost answer is the one written into');
  const creates = h.emu.requestLog().filter((entry) => entry.method === 'POST' && entry.path.endsWith('/uploads'));
  assert.deepEqual(creates.map((entry) => entry.fault), ['reset'], 'one create, whose answer was lost');
  assert.equal(h.emu.listUploads().filter((upload) => upload.name.startsWith(`faults-${counter}`)).length, 1, 'no second upload');
  assert.deepEqual(h.emu.getUploadRows(TABLE, rowStream.upload!.name), rows, `seed ${seed}`);
});

test(`seeded random faults on every kind of request still store every row once and in order`, async () => {
  const seeds: number[] = [];
  let rowsFaults = 0;
  for (let run = 0; run < 3; run++) {
    const runSeedValue = seed + 100 + run;
    seeds.push(runSeedValue);
    // Only the kinds that act on a rows request, so each one drawn is a fault the stream has to get through.
    const emu = await startEmulator({ randomFaults: { seed: runSeedValue, probability: 0.3, kinds: ['status', 'reset'] } });
    const client = new RedivisClient({ apiEndpoint: emu.apiEndpoint, apiToken: emu.token, retry: { ...FAST_RETRY, retries: 20 } });
    try {
      const rows = makeRows(600, runSeedValue);
      const rowStream = stream({ batchRows: 50, batchBytes: 4096 }, client);
      await pipeline(Readable.from(rows), rowStream);
      assert.deepEqual(emu.getUploadRows(TABLE, rowStream.upload!.name), rows, `random fault seed ${runSeedValue}`);
      rowsFaults += emu.requestLog().filter((entry) => entry.kind === 'rows' && entry.fault !== undefined).length;
    } finally {
      await emu.close();
    }
  }
  // One run leaves its rows requests without a fault about once in 100 seeds (2 of 300 measured); all three, about
  // once in a million.
  assert.ok(rowsFaults > 0, `seeds ${seeds.join(', ')}: no rows request met a fault`);
});

/** A client of the gate, with the harness' fast retries. */
function gateClient(gate: Gate, retries = 8): RedivisClient {
  return new RedivisClient({ apiEndpoint: gate.apiEndpoint, apiToken: h.emu.token, retry: { ...FAST_RETRY, retries } });
}

test('a server that stores part of a batch: refused as in doubt, carrying the rows confirmed, nothing sent again', async () => {
  const gate = await startGate(h.emu, async (request, forward) => {
    if (request.rowsIndex !== 2) return undefined;
    const rows = bodyRows(request.body);
    await forward(JSON.stringify({ rows: rows.slice(0, 40) }));
    return { status: 503, body: { error: 'unavailable' } };
  });
  try {
    const rows = makeRows(300, seed + 2);
    const rowStream = stream({}, gateClient(gate));
    const failed = failureOf(rowStream);
    for (const row of rows) rowStream.write(row);
    rowStream.end();
    const error = await failed;
    assert.ok(error instanceof RowsInDoubtError, error.message);
    assert.equal(error.code, 'ERR_ROWS_IN_DOUBT');
    assert.equal(error.rowsConfirmed, 100);
    assert.equal(error.rowsInDoubt, 100);
    assert.equal(error.serverRows, 140);
    assert.match(error.message, /100 rows are confirmed, but whether the next 100 are stored is unknown: the upload holds 140 rows/);
    assert.deepEqual(h.emu.getUploadRows(TABLE, rowStream.upload!.name), rows.slice(0, 140), 'nothing sent after the doubt');
    assert.equal(rowStream.rowsConfirmed, 100);
  } finally {
    await gate.close();
  }
});

test('a server that cannot say: no numRows, or a count that cannot be read, is a typed refusal with the rows confirmed', async () => {
  for (const mode of ['no numRows', 'count unreadable'] as const) {
    let failedOnce = false;
    const gate = await startGate(h.emu, async (request, forward) => {
      if (request.rowsIndex === 2 && !failedOnce) {
        failedOnce = true;
        await forward();
        return 'reset';
      }
      if (request.method !== 'GET' || !failedOnce) return undefined;
      if (mode === 'count unreadable') return { status: 500, body: { error: 'internal' } };
      const answer = await forward();
      const upload = JSON.parse(answer.body) as Record<string, unknown>;
      delete upload.numRows;
      return { status: answer.status, body: upload };
    });
    try {
      const rowStream = stream({}, gateClient(gate, 2));
      const failed = failureOf(rowStream);
      const rows = makeRows(250, seed + 3);
      for (const row of rows) rowStream.write(row);
      rowStream.end();
      const error = await failed;
      assert.ok(error instanceof RowsInDoubtError, `${mode}: ${error.message}`);
      assert.equal(error.rowsConfirmed, 100, mode);
      assert.equal(error.rowsInDoubt, 100, mode);
      assert.equal(error.serverRows, undefined, mode);
      if (mode === 'count unreadable') assert.ok(error.cause instanceof RetriesExhaustedError, mode);
      else assert.match(error.message, /does not report numRows/);
      // The batch whose answer was lost is stored; nothing was sent again.
      assert.deepEqual(h.emu.getUploadRows(TABLE, rowStream.upload!.name), rows.slice(0, 200), mode);
    } finally {
      await gate.close();
    }
  }
});

test('a count that disagreed with a confirmed batch is never used to decide a resend', async () => {
  let lost = false;
  const gate = await startGate(h.emu, async (request, forward) => {
    if (request.rowsIndex === 1) {
      const answer = await forward();
      const upload = JSON.parse(answer.body) as Record<string, unknown>;
      return { status: 200, body: { ...upload, numRows: 90 } }; // a count that lags behind
    }
    if (request.rowsIndex === 2 && !lost) {
      lost = true;
      await forward();
      return 'reset';
    }
    return undefined;
  });
  try {
    const rowStream = stream({}, gateClient(gate));
    const failed = failureOf(rowStream);
    for (const row of makeRows(250, seed + 4)) rowStream.write(row);
    rowStream.end();
    const error = await failed;
    assert.ok(error instanceof RowsInDoubtError, error.message);
    assert.match(error.message, /counted 90, not 100/);
    assert.equal(error.rowsConfirmed, 100);
    assert.equal(h.emu.getUploadRows(TABLE, rowStream.upload!.name)?.length, 200, 'the lost batch is stored once, not sent again');
  } finally {
    await gate.close();
  }
});

test('retries exhausted, or a failure the policy does not retry: the count is asked once more, so the rows confirmed are exact', async () => {
  h.emu.injectFault({ match: { kind: 'rows', nth: 2 }, fault: { kind: 'status', status: 503 }, times: Infinity });
  const exhausted = stream({ retry: { ...FAST_RETRY, retries: 2 } });
  const failed = failureOf(exhausted);
  for (const row of makeRows(250, seed + 5)) exhausted.write(row);
  exhausted.end();
  const error = await failed;
  h.emu.clearFaults();
  assert.ok(error instanceof RetriesExhaustedError, error.message);
  assert.equal(exhausted.rowsConfirmed, 100);
  assert.equal(exhausted.rowsInDoubt, 0);
  assert.equal(h.emu.getUploadRows(TABLE, exhausted.upload!.name)?.length, 100);

  // Not retried at all: the answer of the second batch is lost after it was stored, and the last count shows it.
  h.emu.injectFault({ match: { kind: 'rows', nth: 2 }, fault: { kind: 'reset' } });
  const final = stream({ retry: { ...FAST_RETRY, shouldRetry: () => false } });
  const finalFailed = failureOf(final);
  for (const row of makeRows(250, seed + 6)) final.write(row);
  final.end();
  const finalError = await finalFailed;
  h.emu.clearFaults();
  assert.equal((finalError as { code?: string }).code, 'ERR_NETWORK', finalError.message);
  assert.equal(final.rowsConfirmed, 200);
  assert.equal(final.rowsInDoubt, 0);
  assert.equal(h.emu.getUploadRows(TABLE, final.upload!.name)?.length, 200);
});

test('the stall deadline cuts off a request that hangs: TimeoutError, and the rows confirmed are exact', async () => {
  h.emu.injectFault({ match: { kind: 'rows', nth: 2 }, fault: { kind: 'stall', ms: 5000 } });
  const rowStream = stream({ stallTimeoutMs: 300 });
  const failed = failureOf(rowStream);
  const rows = makeRows(250, seed + 6);
  for (const row of rows) rowStream.write(row);
  rowStream.end();
  const error = await failed;
  h.emu.clearFaults();
  assert.ok(error instanceof TimeoutError, error.message);
  assert.equal(rowStream.rowsConfirmed, 100);
  assert.equal(rowStream.rowsInDoubt, 0);
  assert.deepEqual(h.emu.getUploadRows(TABLE, rowStream.upload!.name), rows.slice(0, 100));
});

test('an abort cuts the request in flight: AbortError, and the rows confirmed stay', async () => {
  h.emu.injectFault({ match: { kind: 'rows', nth: 2 }, fault: { kind: 'stall', ms: 5000 } });
  const controller = new AbortController();
  const rowStream = stream({ signal: controller.signal });
  const failed = failureOf(rowStream);
  rowStream.once('progress', () => controller.abort());
  const rows = makeRows(250, seed + 7);
  for (const row of rows) rowStream.write(row);
  const error = await failed;
  h.emu.clearFaults();
  assert.ok(error instanceof AbortError, error.message);
  assert.equal(rowStream.rowsConfirmed, 100);
  assert.equal(rowStream.rowsInDoubt, 0, 'the count read after the abort settled the batch in flight');
  assert.ok(rowStream.destroyed);
  assert.deepEqual(h.emu.getUploadRows(TABLE, rowStream.upload!.name), rows.slice(0, 100));
});

test('a listener that throws fails the stream with its error; it neither hangs nor ends half-done in silence', async () => {
  for (const event of ['progress', 'retry', 'upload'] as const) {
    h.emu.injectFault({ match: { kind: 'rows', nth: 1 }, fault: { kind: 'status', status: 503 } });
    const rowStream = stream();
    const failed = failureOf(rowStream);
    const closed = new Promise((resolve) => rowStream.once('close', resolve));
    const thrown = new Error(`listener of ${event}`);
    rowStream.on(event, () => {
      throw thrown;
    });
    for (const row of makeRows(250, seed + 8)) rowStream.write(row);
    rowStream.end();
    assert.equal(await failed, thrown, event);
    h.emu.clearFaults();
    await closed;
    const stored = rowStream.upload === undefined ? [] : (h.emu.getUploadRows(TABLE, rowStream.upload.name) ?? []);
    assert.equal(stored.length, rowStream.rowsConfirmed + rowStream.rowsInDoubt, `${event}: what is stored is what the stream reports`);
    assert.equal(rowStream.rowsInDoubt, 0, event);
  }
});
