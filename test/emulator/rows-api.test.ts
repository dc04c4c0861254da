/** Stream uploads: rows checked against the schema, stored in order, counted at once; faults on rows requests. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFaultSpec, type FaultRule } from '../../src/emulator/index.js';
import { harness, http, type Harness } from './helpers.js';

const TABLE = 'me.events:next.clicks';
let h: Harness;
before(async () => {
  h = await harness();
});
after(() => h.close());

const SCHEMA = [
  { name: 'id', type: 'integer' },
  { name: 'score', type: 'float' },
  { name: 'label', type: 'string' },
  { name: 'ok', type: 'boolean' },
  { name: 'day', type: 'date' },
  { name: 'at', type: 'dateTime' },
  { name: 'clock', type: 'time' },
  { name: 'where', type: 'geography' },
];

function api(target: Harness, method: string, path: string, body?: unknown, token: string | null = target.emu.token) {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  return http(target.agent, `${target.emu.apiEndpoint}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

let counter = 0;
/** Creates a stream upload; returns its uri and name. */
async function streamUpload(target: Harness = h, schema: unknown = SCHEMA, table = TABLE): Promise<{ uri: string; name: string }> {
  const name = `stream-${++counter}`;
  const res = await api(target, 'POST', `/tables/${encodeURIComponent(table)}/uploads`, { name, type: 'stream', schema, tempUploadId: null });
  assert.equal(res.status, 200, res.text);
  return { uri: res.json().uri, name };
}

const row = (id: number) => ({ id, score: id / 2, label: `row ${id}`, ok: id % 2 === 0, day: '2024-02-29', at: '2024-02-29T23:59:59.123456', clock: '07:30', where: 'POINT(1 2)' });

test('rows are stored in order and counted at once; the answer is the upload resource', async () => {
  const { uri, name } = await streamUpload();
  const first = await api(h, 'POST', `${uri}/rows`, { rows: [row(1), row(2)] });
  assert.equal(first.status, 200, first.text);
  assert.deepEqual([first.json().kind, first.json().numRows, first.json().status], ['upload', 2, 'completed']);
  assert.equal((await api(h, 'GET', uri)).json().numRows, 2);
  assert.equal((await api(h, 'POST', `${uri}/rows`, { rows: [row(3), { id: 4 }, { id: '9223372036854775807', score: null }] })).json().numRows, 5);
  assert.equal((await api(h, 'GET', uri)).json().numRows, 5, 'a GET sees every row, and does not change a stream upload');
  assert.deepEqual(h.emu.getUploadRows(TABLE, name), [row(1), row(2), row(3), { id: 4 }, { id: '9223372036854775807', score: null }]);
  const numBytes = (await api(h, 'GET', uri)).json().numBytes;
  assert.ok(numBytes > 0);
  assert.equal(h.emu.getUpload(TABLE, name)?.numRows, 5);
});

test('a row that does not fit is a 400 naming its index and variable, and nothing of that request is stored', async () => {
  const { uri, name } = await streamUpload();
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ id: 1.5 }, /rows\[1\]\.id must be an integer .*received 1\.5/],
    [{ id: '12a' }, /rows\[1\]\.id must be an integer/],
    [{ id: '9223372036854775808' }, /rows\[1\]\.id must be an integer/],
    [{ score: 'high' }, /rows\[1\]\.score must be a finite number/],
    [{ label: 7 }, /rows\[1\]\.label must be a string/],
    [{ ok: 'yes' }, /rows\[1\]\.ok must be a boolean/],
    [{ day: '2023-02-29' }, /rows\[1\]\.day must be a date/],
    [{ at: '2024-01-01T10:00:00Z' }, /rows\[1\]\.at must be a dateTime/],
    [{ at: '2024-01-01' }, /rows\[1\]\.at must be a dateTime/],
    [{ clock: '24:00' }, /rows\[1\]\.clock must be a time/],
    [{ where: '' }, /rows\[1\]\.where must be a geography/],
    [{ extra: 1 }, /rows\[1\]\.extra is not a variable of the upload's schema/],
  ];
  for (const [bad, message] of cases) {
    const res = await api(h, 'POST', `${uri}/rows`, { rows: [row(1), bad, row(3)] });
    assert.equal(res.status, 400, JSON.stringify(bad));
    assert.equal(res.json().error, 'invalid_request');
    assert.match(res.json().error_description, message, JSON.stringify(bad));
  }
  for (const [body, message] of [
    [{ rows: [] }, /non-empty rows array/],
    [{ rows: 'x' }, /non-empty rows array/],
    [[row(1)], /non-empty rows array/],
    [{ rows: [row(1), [1, 2]] }, /rows\[1\] must be an object/],
    [{ rows: [null] }, /rows\[0\] must be an object/],
  ] as const) {
    const res = await api(h, 'POST', `${uri}/rows`, body);
    assert.equal(res.status, 400);
    assert.match(res.json().error_description, message);
  }
  assert.deepEqual(h.emu.getUploadRows(TABLE, name), []);
  assert.equal((await api(h, 'GET', uri)).json().numRows, 0);
});

test('text forms of numbers and booleans, and every date and time form, fit', async () => {
  const { uri, name } = await streamUpload();
  const rows = [
    { id: '-42', score: '1.5e3', ok: 'false', at: '2024-01-01 00:00', clock: '23:59:59.999999' },
    { score: -0.25, ok: true, at: '1999-12-31T12:30:45', clock: '00:00:00' },
  ];
  assert.equal((await api(h, 'POST', `${uri}/rows`, { rows })).status, 200);
  assert.deepEqual(h.emu.getUploadRows(TABLE, name), rows);
});

test('without a schema any object rows fit; rows into another kind of upload or an unknown one are refused', async () => {
  const { uri } = await streamUpload(h, null);
  assert.equal((await api(h, 'POST', `${uri}/rows`, { rows: [{ anything: [1, { deep: true }] }] })).status, 200);

  const transfer = await api(h, 'POST', `/tables/${encodeURIComponent(TABLE)}/uploads`, { name: 'pulled', transferSpecification: { sourceType: 'gcs', sourcePath: 'b/x' } });
  const refused = await api(h, 'POST', `${transfer.json().uri}/rows`, { rows: [{ a: 1 }] });
  assert.equal(refused.status, 400);
  assert.match(refused.json().error_description, /rows can only be inserted into a stream upload/);
  assert.equal((await api(h, 'POST', `/tables/${encodeURIComponent(TABLE)}/uploads/nothing/rows`, { rows: [{ a: 1 }] })).status, 404);
  assert.equal((await api(h, 'POST', `${uri}/rows`, { rows: [{ a: 1 }] }, h.emu.readOnlyToken)).status, 403);
  assert.equal((await api(h, 'POST', `${uri}/rows`, { rows: [{ a: 1 }] }, null)).status, 401);
});

test('under the tables option rows into a table that does not exist are 404; discard storage counts rows only', async () => {
  const closed = await harness({ tables: [TABLE], storage: 'discard' });
  try {
    const { uri, name } = await streamUpload(closed, [{ name: 'a', type: 'integer' }]);
    const missing = await api(closed, 'POST', `/tables/${encodeURIComponent('me.events:next.absent')}/uploads/x/rows`, { rows: [{ a: 1 }] });
    assert.equal(missing.status, 404);
    assert.match(missing.json().error_description, /was not found/);
    assert.equal((await api(closed, 'POST', `${uri}/rows`, { rows: [{ a: 1 }, { a: 2 }] })).json().numRows, 2);
    assert.throws(() => closed.emu.getUploadRows(TABLE, name), { code: 'ERR_INVALID_ARGUMENT' });
  } finally {
    await closed.close();
  }
});

/** POSTs one batch with a fault scripted on it; returns what the client saw and how many rows the upload holds. */
async function batchWithFault(rule: FaultRule | string): Promise<{ outcome: number | 'reset'; fault: string | undefined; numRows: number; body: any }> {
  const { uri, name } = await streamUpload();
  for (const parsed of typeof rule === 'string' ? parseFaultSpec(rule) : [rule]) h.emu.injectFault(parsed);
  let outcome: number | 'reset';
  let body: any;
  try {
    const res = await api(h, 'POST', `${uri}/rows`, { rows: [row(1), row(2), row(3)] });
    outcome = res.status;
    body = res.text === '' ? undefined : res.json();
  } catch {
    outcome = 'reset';
  }
  const entry = await h.emu.waitForRequest((e) => e.kind === 'rows' && e.path.includes(`/uploads/${name}/`));
  h.emu.clearFaults();
  return { outcome, fault: entry.fault, numRows: h.emu.getUploadRows(TABLE, name)!.length, body };
}

test('faults on rows requests: a status before or after processing, a reset before, mid-body or after processing', async () => {
  const cases: Array<[string, number | 'reset', string, number]> = [
    ['503@rows', 503, '503', 0],
    ['429:retry=2@rows', 429, '429', 0],
    ['503:processed@rows', 503, '503:processed', 3],
    ['reset:0@rows', 'reset', 'reset:0', 0],
    ['reset:20@rows', 'reset', 'reset:20', 0],
    ['reset@rows', 'reset', 'reset', 3],
    ['stall:5@rows', 200, 'stall:5', 3],
    // A rule without a kind applies to rows too; a rule for other API calls does not.
    ['500', 500, '500', 0],
    ['500@api', 200, '-', 3],
  ];
  for (const [spec, outcome, fault, stored] of cases) {
    const result = await batchWithFault(spec);
    assert.deepEqual([result.outcome, result.fault ?? '-', result.numRows], [outcome, fault, stored], spec);
    if (typeof outcome === 'number' && outcome >= 400) assert.equal(result.body.error_description, `Injected fault: HTTP ${outcome}`, spec);
  }
});

test('afterProcessing is checked: a boolean, and not with afterBytes', () => {
  assert.throws(() => h.emu.injectFault({ fault: { kind: 'status', status: 503, afterProcessing: 'yes' as never } }), { code: 'ERR_INVALID_ARGUMENT' });
  assert.throws(() => h.emu.injectFault({ fault: { kind: 'status', status: 503, afterProcessing: true, afterBytes: 1 } }), { code: 'ERR_INVALID_ARGUMENT' });
  assert.throws(() => parseFaultSpec('503:processed:after=4@rows'), { code: 'ERR_INVALID_ARGUMENT' });
});

test('seeded random faults reach rows requests, reproducibly, and every outcome matches what was stored', async () => {
  const seed = 31337;
  const runs: string[][] = [];
  for (let run = 0; run < 2; run++) {
    const target = await harness({ randomFaults: { seed, probability: 0.7, kinds: ['status', 'reset', 'stall', 'omitRange'] } });
    try {
      const { uri, name } = await streamUpload(target);
      let expected = 0;
      const labels: string[] = [];
      for (let i = 0; i < 24; i++) {
        target.emu.clearRequestLog();
        const answered = await api(target, 'POST', `${uri}/rows`, { rows: [row(i)] }).then((res) => res.status, () => 0);
        const entry = await target.emu.waitForRequest((e) => e.kind === 'rows');
        const label = entry.fault ?? '-';
        labels.push(label);
        if (label === '-' || label.startsWith('stall') || label === 'reset' || label.endsWith(':processed')) expected += 1;
        assert.equal(answered === 200, label === '-' || label.startsWith('stall'), `seed ${seed}: ${label} answered ${answered}`);
      }
      assert.equal(target.emu.getUploadRows(TABLE, name)!.length, expected, `seed ${seed}: ${labels.join(',')}`);
      runs.push(labels);
    } finally {
      await target.close();
    }
  }
  assert.deepEqual(runs[0], runs[1], `seed ${seed}`);
  const kinds = new Set(runs[0]!.map((label) => label.replace(/:\d+$/, '')));
  for (const kind of ['-', '503', '503:processed', 'reset', 'stall']) assert.ok(kinds.has(kind), `seed ${seed} gave ${runs[0]!.join(',')}`);
  assert.ok(runs[0]!.every((label) => label !== 'omitRange'), 'session-only kinds do nothing on rows');
});
