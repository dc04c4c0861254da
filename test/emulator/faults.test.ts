import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'undici';
import {
  createTempUploads,
  harness,
  http,
  md5Hex,
  putChunk,
  Q,
  seededBytes,
  startSession,
  statusQuery,
  type Harness,
  until,
} from './helpers.js';

let h: Harness;
before(async () => {
  h = await harness();
});
after(() => h.close());

const SEED = 4242;

async function assertStored(target: Harness, id: string, expected: Buffer, seed: number): Promise<void> {
  assert.equal(md5Hex(await target.emu.readTempUpload(id)), md5Hex(expected), `seed ${seed}`);
}

test('status fault: answers the status (with Retry-After) before persisting anything', async () => {
  const data = seededBytes(SEED, 2 * Q);
  const { upload, session } = await startSession(h, data.length);
  h.emu.injectFault({ match: { kind: 'chunk', tempUploadId: upload.id }, fault: { kind: 'status', status: 429, retryAfter: '2' } });
  const res = await putChunk(h, session, 0, data.subarray(0, Q), '*');
  assert.equal(res.status, 429);
  assert.equal(res.headers['retry-after'], '2');
  const entry = h.emu.requestLog().at(-1)!;
  assert.equal(entry.fault, '429');
  assert.equal(entry.status, 429);
  assert.equal(entry.bytesReceived, Q, 'the body is drained so the connection stays usable');
  assert.equal(h.emu.getTempUpload(upload.id)?.persisted, 0);
  assert.equal((await putChunk(h, session, 0, data, data.length)).status, 200, 'the rule fired once');
  await assertStored(h, upload.id, data, SEED);
});

test('status fault with afterBytes persists the part of the chunk up to its last 256 KiB boundary, as GCS does', async () => {
  const data = seededBytes(SEED + 1, 3 * Q);
  const { upload, session } = await startSession(h, data.length);
  const k = Q + 12345;
  h.emu.injectFault({ match: { kind: 'chunk', tempUploadId: upload.id }, fault: { kind: 'status', status: 503, afterBytes: k } });
  const res = await putChunk(h, session, 0, data.subarray(0, 2 * Q), '*');
  assert.equal(res.status, 503);
  assert.equal(h.emu.requestLog().at(-1)?.fault, `503:after=${k}`);
  assert.equal((await statusQuery(h, session)).headers.range, `bytes=0-${Q - 1}`);
  // A later chunk that starts past a boundary is cut back to the boundary before it, never below what was persisted.
  h.emu.injectFault({ match: { kind: 'chunk', tempUploadId: upload.id }, fault: { kind: 'reset', afterBytes: 100 } });
  await assert.rejects(putChunk(h, session, Q, data.subarray(Q, 3 * Q), '*'));
  await h.emu.waitForRequest((e) => e.tempUploadId === upload.id && e.fault === 'reset:100');
  assert.equal((await statusQuery(h, session)).headers.range, `bytes=0-${Q - 1}`);
  assert.equal((await putChunk(h, session, Q, data.subarray(Q), data.length)).status, 200);
  await assertStored(h, upload.id, data, SEED + 1);
});

test('exactBytes (and alignUnalignedChunks: false) persist exactly K bytes, even unaligned', async () => {
  const data = seededBytes(SEED + 9, 3 * Q);
  const { upload, session } = await startSession(h, data.length);
  const k = Q + 12345;
  h.emu.injectFault({ match: { kind: 'chunk', tempUploadId: upload.id }, fault: { kind: 'status', status: 503, afterBytes: k, exactBytes: true } });
  assert.equal((await putChunk(h, session, 0, data.subarray(0, 2 * Q), '*')).status, 503);
  assert.equal(h.emu.requestLog().at(-1)?.fault, `503:after=${k}:exact`);
  assert.equal((await statusQuery(h, session)).headers.range, `bytes=0-${k - 1}`);
  assert.equal((await putChunk(h, session, k, data.subarray(k), data.length)).status, 200);
  await assertStored(h, upload.id, data, SEED + 9);

  const unaligned = await harness({ alignUnalignedChunks: false });
  try {
    const other = await startSession(unaligned, data.length);
    unaligned.emu.injectFault({ match: { kind: 'chunk' }, fault: { kind: 'reset', afterBytes: 1000 } });
    await assert.rejects(putChunk(unaligned, other.session, 0, data.subarray(0, Q), '*'));
    await unaligned.emu.waitForRequest((e) => e.kind === 'chunk');
    assert.equal((await statusQuery(unaligned, other.session)).headers.range, 'bytes=0-999');
  } finally {
    await unaligned.close();
  }
  assert.throws(() => h.emu.injectFault({ fault: { kind: 'status', status: 503, exactBytes: true } }), { code: 'ERR_INVALID_ARGUMENT' });
  assert.throws(() => h.emu.injectFault({ fault: { kind: 'reset', afterBytes: 1, exactBytes: 'yes' as never } }), { code: 'ERR_INVALID_ARGUMENT' });
});

test('status fault with afterBytes past the chunk end persists only the chunk and does not finalize', async () => {
  const data = seededBytes(SEED + 2, 1000);
  const { upload, session } = await startSession(h, data.length);
  h.emu.injectFault({ match: { tempUploadId: upload.id }, fault: { kind: 'status', status: 500, afterBytes: 5000 } });
  assert.equal((await putChunk(h, session, 0, data, data.length)).status, 500);
  assert.equal(h.emu.getTempUpload(upload.id)?.persisted, 1000);
  assert.equal(h.emu.getTempUpload(upload.id)?.state, 'in_progress');
  const finalize = await statusQuery(h, session, 1000);
  assert.equal(finalize.status, 200);
  await assertStored(h, upload.id, data, SEED + 2);
});

test('reset fault with afterBytes: K bytes read (kept exactly with exactBytes), socket destroyed without a response', async () => {
  let connects = 0;
  const agent = new Agent({ connections: 1 }).on('connect', () => (connects += 1));
  const local: Harness = { emu: h.emu, agent, close: async () => undefined };
  try {
    const data = seededBytes(SEED + 3, 4 * Q);
    const { upload, session } = await startSession(local, data.length);
    const k = 2 * Q + 7;
    h.emu.injectFault({ match: { kind: 'chunk', tempUploadId: upload.id }, fault: { kind: 'reset', afterBytes: k, exactBytes: true } });
    await assert.rejects(putChunk(local, session, 0, data.subarray(0, 3 * Q), '*'));
    const entry = await h.emu.waitForRequest((e) => e.tempUploadId === upload.id && e.kind === 'chunk');
    assert.equal(entry.status, 0);
    assert.equal(entry.fault, `reset:${k}:exact`);
    assert.equal(entry.bytesReceived, k);
    const status = await statusQuery(local, session);
    assert.equal(status.headers.range, `bytes=0-${k - 1}`);
    assert.equal((await putChunk(local, session, k, data.subarray(k), data.length)).status, 200);
    assert.equal(connects, 2, 'the client had to open a new connection after the reset');
    await assertStored(h, upload.id, data, SEED + 3);
  } finally {
    await agent.close();
  }
});

test('reset fault without afterBytes processes the request, then drops the response', async () => {
  const data = seededBytes(SEED + 4, 2 * Q);
  const { upload, session } = await startSession(h, data.length);
  h.emu.injectFault({ match: { kind: 'chunk', tempUploadId: upload.id }, fault: { kind: 'reset' } });
  await assert.rejects(putChunk(h, session, 0, data.subarray(0, Q), '*'));
  assert.equal(h.emu.requestLog().at(-1)?.status, 0);
  const status = await statusQuery(h, session);
  assert.equal(status.headers.range, `bytes=0-${Q - 1}`, 'the chunk was persisted although its response was lost');
  // A lost final response: the upload is complete and a status query shows it.
  h.emu.injectFault({ match: { kind: 'chunk', tempUploadId: upload.id }, fault: { kind: 'reset' } });
  await assert.rejects(putChunk(h, session, Q, data.subarray(Q), data.length));
  assert.equal((await statusQuery(h, session)).status, 200);
  await assertStored(h, upload.id, data, SEED + 4);
});

test('stall fault delays handling; a client timeout fires while the emulator stalls', async () => {
  const { upload, session } = await startSession(h, 10);
  h.emu.injectFault({ match: { kind: 'status', tempUploadId: upload.id }, fault: { kind: 'stall', ms: 40 } });
  const started = performance.now();
  const res = await statusQuery(h, session);
  assert.equal(res.status, 308);
  assert.ok(performance.now() - started >= 35, 'the answer came after the stall');
  assert.equal(h.emu.requestLog().at(-1)?.fault, 'stall:40');

  h.emu.injectFault({ match: { kind: 'status', tempUploadId: upload.id }, fault: { kind: 'stall', ms: 60_000 } });
  const impatient = new Agent({ headersTimeout: 50 });
  try {
    await assert.rejects(statusQuery({ ...h, agent: impatient }, session), { code: 'UND_ERR_HEADERS_TIMEOUT' });
  } finally {
    await impatient.destroy();
  }
  const stalled = await h.emu.waitForRequest((e) => e.tempUploadId === upload.id && e.fault === 'stall:60000');
  assert.equal(stalled.status, 0);
});

test('close() ends a long stall at once', async () => {
  const other = await harness({ faults: [{ match: { kind: 'api' }, fault: { kind: 'stall', ms: 60_000 } }] });
  const pending = createTempUploads(other, [{ name: 'stalled', size: 1 }]).then(
    () => 'answered',
    () => 'failed',
  );
  await until(() => other.emu.requestLog().some((e) => e.fault === 'stall:60000'));
  const started = performance.now();
  await other.close();
  assert.ok(performance.now() - started < 5000);
  assert.equal(await pending, 'failed');
});

test('expire and terminate faults kill the session at that request (404 / 410)', async () => {
  const a = await startSession(h, 10);
  const b = await startSession(h, 10);
  h.emu.injectFault({ match: { tempUploadId: a.upload.id }, fault: { kind: 'expire' } });
  h.emu.injectFault({ match: { tempUploadId: b.upload.id }, fault: { kind: 'terminate' } });
  assert.equal((await statusQuery(h, a.session)).status, 404);
  assert.equal((await statusQuery(h, b.session)).status, 410);
  assert.equal((await statusQuery(h, a.session)).status, 404, 'it stays dead');
  assert.equal(h.emu.getTempUpload(a.upload.id)?.state, 'expired');
  assert.equal(h.emu.getTempUpload(b.upload.id)?.state, 'terminated');
});

test('omitRange fault: a 308 without Range although bytes are persisted', async () => {
  const data = seededBytes(SEED + 5, 2 * Q);
  const { upload, session } = await startSession(h, data.length);
  h.emu.injectFault({ match: { kind: 'chunk', tempUploadId: upload.id }, fault: { kind: 'omitRange' } });
  const res = await putChunk(h, session, 0, data.subarray(0, Q), '*');
  assert.equal(res.status, 308);
  assert.equal(res.headers.range, undefined);
  assert.equal((await statusQuery(h, session)).headers.range, `bytes=0-${Q - 1}`);
});

test('nth picks the n-th matching request; times makes a rule fire on consecutive ones', async () => {
  const data = seededBytes(SEED + 6, 6 * Q);
  const { upload, session } = await startSession(h, data.length);
  h.emu.injectFault({ match: { kind: 'chunk', tempUploadId: upload.id, nth: 2 }, fault: { kind: 'status', status: 502 }, times: 2 });
  const statuses: number[] = [];
  let offset = 0;
  while (offset < data.length) {
    const end = offset + Q;
    const res = await putChunk(h, session, offset, data.subarray(offset, end), end === data.length ? data.length : '*');
    statuses.push(res.status);
    if (res.status === 308 || res.status === 200) offset = end;
  }
  assert.deepEqual(statuses, [308, 502, 502, 308, 308, 308, 308, 200]);
  await assertStored(h, upload.id, data, SEED + 6);
});

test('a list of kinds matches any of them; other temp uploads are unaffected', async () => {
  const mine = await startSession(h, 10);
  const other = await startSession(h, 10);
  h.emu.injectFault({ match: { kind: ['status', 'finalize'], tempUploadId: mine.upload.id }, fault: { kind: 'status', status: 504 }, times: 2 });
  assert.equal((await statusQuery(h, other.session)).status, 308);
  assert.equal((await statusQuery(h, mine.session)).status, 504);
  assert.equal((await statusQuery(h, mine.session, 10)).status, 504);
  assert.equal((await statusQuery(h, mine.session)).status, 308);
});

test('rules without a kind skip API calls; kind api faults answer in the Redivis error shape', async () => {
  h.emu.injectFault({ fault: { kind: 'status', status: 500 } });
  const [created] = await createTempUploads(h, [{ name: 'fault-api-skip', size: 3 }]);
  const put = await http(h.agent, created!.url, { method: 'PUT', body: Buffer.from('abc') });
  assert.equal(put.status, 500, 'the API call went through; the upload request got the fault');
  assert.equal(h.emu.getTempUpload(created!.id)?.state, 'created', 'a fault before persisting stores nothing');

  h.emu.injectFault({ match: { kind: 'api' }, fault: { kind: 'status', status: 503, retryAfter: '1' } });
  const res = await http(h.agent, `${h.emu.apiEndpoint}/tables/a.b.c/tempUploads`, {
    method: 'POST',
    headers: { authorization: `Bearer ${h.emu.token}` },
    body: JSON.stringify({ tempUploads: [{ name: 'fault-api', size: 1 }] }),
  });
  assert.equal(res.status, 503);
  assert.equal(res.headers['retry-after'], '1');
  assert.equal(res.json().error, 'service_unavailable');
  assert.equal(h.emu.listTempUploads().some((u) => u.name === 'fault-api'), false);
});

test('clearFaults drops queued rules; faults given at start apply', async () => {
  const { upload, session } = await startSession(h, 10);
  h.emu.injectFault({ match: { tempUploadId: upload.id }, fault: { kind: 'status', status: 503 } });
  h.emu.clearFaults();
  assert.equal((await statusQuery(h, session)).status, 308);

  const other = await harness({ faults: [{ match: { kind: 'initiate' }, fault: { kind: 'status', status: 408 } }] });
  try {
    await assert.rejects(startSession(other, 10), /initiation answered 408/);
    const { session: ok } = await startSession(other, 10);
    assert.equal((await statusQuery(other, ok)).status, 308);
  } finally {
    await other.close();
  }
});

test('invalid rules are refused with InvalidArgumentError', async () => {
  const bad: unknown[] = [
    { fault: { kind: 'status', status: 404 } },
    { fault: { kind: 'reset', afterBytes: -1 } },
    { fault: { kind: 'stall', ms: 1.5 } },
    { fault: { kind: 'nope' } },
    { fault: { kind: 'omitRange' }, times: 0 },
    { fault: { kind: 'omitRange' }, match: { nth: 0 } },
    { fault: { kind: 'omitRange' }, match: { kind: 'upload' } },
  ];
  for (const rule of bad) {
    assert.throws(() => h.emu.injectFault(rule as never), { code: 'ERR_INVALID_ARGUMENT' }, JSON.stringify(rule));
  }
  await assert.rejects(harness({ randomFaults: { probability: 2 } }), { code: 'ERR_INVALID_ARGUMENT' });
});

async function randomRun(seed: number | undefined, probability: number): Promise<{ faults: string[]; seed: number | undefined }> {
  const other = await harness(seed === undefined ? { randomFaults: { probability } } : { randomFaults: { seed, probability } });
  try {
    const [created] = await createTempUploads(other, [{ name: 'random', size: 10, resumable: true }]);
    const faults: string[] = [];
    for (let i = 0; i < 40; i++) {
      await http(other.agent, created!.url, { method: 'POST', headers: { 'x-goog-resumable': 'start', 'content-length': '0' } }).catch(
        () => undefined,
      );
    }
    for (const entry of other.emu.requestLog()) {
      assert.equal(entry.kind === 'api' ? entry.fault : 'skip', entry.kind === 'api' ? undefined : 'skip', 'API calls never get random faults');
      if (entry.kind !== 'api') faults.push(entry.fault ?? '-');
    }
    return { faults, seed: other.emu.randomSeed };
  } finally {
    await other.close();
  }
}

test('random faults are reproducible from the seed and the seed is exposed', async () => {
  const first = await randomRun(12345, 0.5);
  const second = await randomRun(12345, 0.5);
  assert.equal(first.seed, 12345);
  assert.deepEqual(first.faults, second.faults);
  const kinds = new Set(first.faults.map((f) => f.replace(/:.*/, '')));
  assert.ok(kinds.has('-') && kinds.size >= 3, `seed 12345 gave ${first.faults.join(',')}`);
  assert.ok([...kinds].every((k) => ['-', '503', 'reset', 'omitRange'].includes(k)));
  const generated = await randomRun(undefined, 0);
  assert.equal(typeof generated.seed, 'number');
  assert.ok(generated.faults.every((f) => f === '-'), 'probability 0 injects nothing');
});

test('randomFaults.kinds limits the kinds picked', async () => {
  const other = await harness({ randomFaults: { seed: 7, probability: 1, kinds: ['omitRange'] } });
  try {
    const data = seededBytes(SEED + 7, 3 * Q);
    const { upload, session } = await startSession(other, data.length);
    for (let offset = 0; offset < data.length; offset += Q) {
      const res = await putChunk(other, session, offset, data.subarray(offset, offset + Q), offset + Q === data.length ? data.length : '*');
      assert.equal(res.status, offset + Q === data.length ? 200 : 308);
      assert.equal(res.headers.range, undefined, 'every 308 lost its Range');
    }
    const faults = other.emu.requestLog().filter((e) => e.kind !== 'api').map((e) => e.fault);
    assert.deepEqual(faults, ['omitRange', 'omitRange', 'omitRange', 'omitRange']);
    assert.equal(md5Hex(await other.emu.readTempUpload(upload.id)), md5Hex(data), `seed ${SEED + 7}`);
  } finally {
    await other.close();
  }
});

test('faults with afterBytes on a simple PUT read K bytes and store nothing', async () => {
  const data = seededBytes(SEED + 8, 5000);
  const [created] = await createTempUploads(h, [{ name: 'fault-simple-reset', size: data.length }]);
  h.emu.injectFault({ match: { kind: 'simple', tempUploadId: created!.id }, fault: { kind: 'reset', afterBytes: 10 } });
  await assert.rejects(http(h.agent, created!.url, { method: 'PUT', body: data }));
  const entry = await h.emu.waitForRequest((e) => e.tempUploadId === created!.id && e.kind === 'simple');
  assert.equal(entry.bytesReceived, 10);
  assert.equal(entry.status, 0);
  h.emu.injectFault({ match: { kind: 'simple', tempUploadId: created!.id }, fault: { kind: 'status', status: 503, afterBytes: 4000 } });
  assert.equal((await http(h.agent, created!.url, { method: 'PUT', body: data })).status, 503);
  assert.equal(h.emu.getTempUpload(created!.id)?.state, 'created');
  assert.equal(h.emu.getTempUpload(created!.id)?.persisted, 0);
  assert.equal((await http(h.agent, created!.url, { method: 'PUT', body: data })).status, 200);
  assert.equal(md5Hex(await h.emu.readTempUpload(created!.id)), md5Hex(data), `seed ${SEED + 8}`);
});
