import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createTempUploads,
  harness,
  http,
  md5Hex,
  putChunk,
  Q,
  rawRequest,
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

const SEED = 8111;

async function assertStored(id: string, expected: Buffer, seed: number): Promise<void> {
  assert.equal(md5Hex(await h.emu.readTempUpload(id)), md5Hex(expected), `seed ${seed}`);
}

test('initiation answers 201 with an absolute session Location on the upload origin', async () => {
  const [created] = await createTempUploads(h, [{ name: 'init-ok', size: 10, resumable: true }]);
  const res = await http(h.agent, created!.url, {
    method: 'POST',
    headers: { 'x-goog-resumable': 'start', 'x-upload-content-length': '10', 'content-length': '0' },
  });
  assert.equal(res.status, 201);
  const location = new URL(String(res.headers.location));
  assert.equal(location.origin, h.emu.uploadOrigin);
  assert.equal(location.pathname, `/upload/sessions/${created!.id}`);
  assert.ok((location.searchParams.get('upload_id') ?? '').length >= 16);
  const info = h.emu.getTempUpload(created!.id)!;
  assert.equal(info.state, 'in_progress');
  assert.equal(info.sessionUrl, String(location));
  assert.equal(h.emu.requestLog().at(-1)?.kind, 'initiate');
});

test('initiation without x-goog-resumable: start is 400', async () => {
  const [created] = await createTempUploads(h, [{ name: 'init-no-header', size: 10, resumable: true }]);
  for (const headers of [{}, { 'x-goog-resumable': 'yes' }] as Array<Record<string, string>>) {
    const res = await http(h.agent, created!.url, { method: 'POST', headers: { ...headers, 'content-length': '0' } });
    assert.equal(res.status, 400);
    assert.match(res.text, /x-goog-resumable: start/);
  }
  assert.equal(h.emu.getTempUpload(created!.id)?.state, 'created');
});

test('initiation without Content-Length (nor a chunked body) is 411, as GCS requires Content-Length: 0', async () => {
  const [created] = await createTempUploads(h, [{ name: 'init-411', size: 10, resumable: true }]);
  assert.equal(await rawRequest(created!.url, 'POST', { 'x-goog-resumable': 'start' }), 411);
  assert.equal(await rawRequest(created!.url, 'POST', { 'x-goog-resumable': 'start', 'content-length': '0' }), 201);
});

test('a malformed x-upload-content-length is 400', async () => {
  const [created] = await createTempUploads(h, [{ name: 'init-bad-length', size: 10, resumable: true }]);
  const res = await http(h.agent, created!.url, {
    method: 'POST',
    headers: { 'x-goog-resumable': 'start', 'x-upload-content-length': '-5', 'content-length': '0' },
  });
  assert.equal(res.status, 400);
});

test('starting again gives a new session from byte 0; the previous session URL is dead (404)', async () => {
  const data = seededBytes(SEED, 2 * Q);
  const { upload, session: first } = await startSession(h, data.length);
  assert.equal((await putChunk(h, first, 0, data.subarray(0, Q), '*')).status, 308);
  const again = await http(h.agent, upload.url, { method: 'POST', headers: { 'x-goog-resumable': 'start', 'content-length': '0' } });
  assert.equal(again.status, 201);
  const second = String(again.headers.location);
  assert.notEqual(second, first);
  assert.equal((await statusQuery(h, first)).status, 404);
  const status = await statusQuery(h, second);
  assert.equal(status.status, 308);
  assert.equal(status.headers.range, undefined, 'the new session starts empty');
  assert.equal(h.emu.getTempUpload(upload.id)?.persisted, 0);
  assert.equal((await putChunk(h, second, 0, data, data.length)).status, 200);
  await assertStored(upload.id, data, SEED);
});

test('the session URL also accepts POST for chunks', async () => {
  const data = seededBytes(SEED + 2, Q + 10);
  const { upload, session } = await startSession(h, data.length);
  const res = await http(h.agent, session, { method: 'POST', headers: { 'content-range': `bytes 0-${data.length - 1}/${data.length}` }, body: data });
  assert.equal(res.status, 200);
  await assertStored(upload.id, data, SEED + 2);
});

test('any request to a completed session answers 200 with the object, even a data chunk', async () => {
  const data = seededBytes(SEED + 19, 500);
  const { upload, session } = await startSession(h, data.length);
  const done = await putChunk(h, session, 0, data, data.length);
  assert.equal(done.status, 200);
  const again = await putChunk(h, session, 0, seededBytes(SEED + 20, Q), '*');
  assert.equal(again.status, 200);
  assert.deepEqual(again.json(), done.json());
  const del = await http(h.agent, session, { method: 'DELETE' });
  assert.equal(del.status, 200);
  await assertStored(upload.id, data, SEED + 19);
});

test('DELETE cancels with 499; later requests also answer 499 and the data is discarded', async () => {
  const data = seededBytes(SEED + 21, 2 * Q);
  const { upload, session } = await startSession(h, data.length);
  assert.equal((await putChunk(h, session, 0, data.subarray(0, Q), '*')).status, 308);
  const del = await http(h.agent, session, { method: 'DELETE', headers: { 'content-length': '0' } });
  assert.equal(del.status, 499);
  assert.equal(h.emu.requestLog().at(-1)?.kind, 'cancel');
  assert.equal((await statusQuery(h, session)).status, 499);
  assert.equal((await putChunk(h, session, Q, data.subarray(Q), data.length)).status, 499);
  assert.equal((await http(h.agent, session, { method: 'DELETE' })).status, 499);
  const info = h.emu.getTempUpload(upload.id)!;
  assert.equal(info.state, 'cancelled');
  assert.equal(info.persisted, 0);
});

test('a session older than the TTL answers 404 (clock from the now option)', async () => {
  let clock = 1_000_000;
  const other = await harness({ now: () => clock, sessionTtlMs: 60_000 });
  try {
    const { upload, session } = await startSession(other, 10);
    clock += 60_000;
    assert.equal((await statusQuery(other, session)).status, 308, 'exactly the TTL is still alive');
    clock += 1;
    assert.equal((await statusQuery(other, session)).status, 404);
    assert.equal(other.emu.getTempUpload(upload.id)?.state, 'expired');
    assert.equal(other.emu.requestLog().at(-1)?.time, clock);
  } finally {
    await other.close();
  }
});

test('expireSession makes the session 404; terminateSession makes it 410', async () => {
  const a = await startSession(h, 10);
  const b = await startSession(h, 10);
  h.emu.expireSession(a.upload.id);
  h.emu.terminateSession(b.upload.id);
  assert.equal((await statusQuery(h, a.session)).status, 404);
  assert.equal((await putChunk(h, b.session, 0, Buffer.alloc(10), 10)).status, 410);
  assert.equal(h.emu.getTempUpload(a.upload.id)?.state, 'expired');
  assert.equal(h.emu.getTempUpload(b.upload.id)?.state, 'terminated');
  assert.throws(() => h.emu.expireSession('unknown-id'), /tempUploadId/);
});

test('unknown sessions answer 404: unknown id, wrong or missing upload_id', async () => {
  const { session } = await startSession(h, 10);
  const url = new URL(session);
  assert.equal((await statusQuery(h, `${url.origin}/upload/sessions/unknown?upload_id=x`)).status, 404);
  assert.equal((await statusQuery(h, `${url.origin}${url.pathname}?upload_id=wrong`)).status, 404);
  assert.equal((await statusQuery(h, `${url.origin}${url.pathname}`)).status, 404);
  assert.equal((await statusQuery(h, session)).status, 308);
});

test('X-GUploader-No-308: yes turns 308 into 200 with X-HTTP-Status-Code-Override', async () => {
  const data = seededBytes(SEED + 22, Q);
  const { session } = await startSession(h, 2 * Q);
  const res = await putChunk(h, session, 0, data, '*', { 'x-guploader-no-308': 'yes' });
  assert.equal(res.status, 200);
  assert.equal(res.headers['x-http-status-code-override'], '308');
  assert.equal(res.headers.range, `bytes=0-${Q - 1}`);
});

test('keep-alive connections are reused across upload requests', async () => {
  const { Agent } = await import('undici');
  let connects = 0;
  const agent = new Agent({ connections: 1, keepAliveTimeout: 5000 }).on('connect', () => (connects += 1));
  try {
    const data = seededBytes(SEED + 23, 3 * Q);
    const local: Harness = { emu: h.emu, agent, close: async () => undefined };
    const { upload, session } = await startSession(local, data.length);
    for (let offset = 0; offset < data.length; offset += Q) {
      const res = await putChunk(local, session, offset, data.subarray(offset, offset + Q), offset + Q === data.length ? data.length : '*');
      assert.equal(res.status, offset + Q === data.length ? 200 : 308);
    }
    assert.equal(connects, 1);
    await assertStored(upload.id, data, SEED + 23);
  } finally {
    await agent.close();
  }
});

/**
 * Sends a request head and raw body bytes on a socket, waits until the emulator has read `payload` body bytes (so
 * the outcome does not depend on socket timing), then drops the connection.
 */
async function sendAndDrop(target: Harness, session: string, id: string, headers: string, body: Buffer, payload = body.length): Promise<void> {
  const { connect } = await import('node:net');
  const url = new URL(session);
  const socket = connect(Number(url.port), url.hostname);
  socket.write(`PUT ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n${headers}\r\n`);
  await new Promise<void>((resolve) => socket.write(body, () => resolve()));
  const settled = target.emu.waitForRequest((e) => e.tempUploadId === id && e.kind === 'chunk');
  await until(() => target.emu.requestLog().some((e) => e.tempUploadId === id && e.kind === 'chunk' && e.bytesReceived === payload));
  socket.destroy();
  assert.equal((await settled).status, 0);
}

test('a client that drops the connection mid-chunk leaves the 256 KiB-aligned prefix it sent persisted', async () => {
  const data = seededBytes(SEED + 24, 4 * Q);
  const { upload, session } = await startSession(h, data.length);
  const head = `content-range: bytes 0-${data.length - 1}/${data.length}\r\ncontent-length: ${data.length}\r\n`;
  await sendAndDrop(h, session, upload.id, head, data.subarray(0, 2 * Q + 1000));
  const status = await statusQuery(h, session);
  assert.equal(status.headers.range, `bytes=0-${2 * Q - 1}`);
  assert.equal((await putChunk(h, session, 2 * Q, data.subarray(2 * Q), data.length)).status, 200);
  await assertStored(upload.id, data, SEED + 24);
});

test('a dropped open-ended request also keeps its aligned prefix; without alignment, every byte read', async () => {
  const data = seededBytes(SEED + 25, 3 * Q);
  const head = 'content-range: bytes 0-*/*\r\ntransfer-encoding: chunked\r\n';
  const partial = data.subarray(0, Q + 500);
  const framed = Buffer.concat([Buffer.from(`${partial.length.toString(16)}\r\n`), partial]);
  const { upload, session } = await startSession(h, data.length);
  await sendAndDrop(h, session, upload.id, head, framed, partial.length);
  assert.equal((await statusQuery(h, session)).headers.range, `bytes=0-${Q - 1}`);

  const unaligned = await harness({ alignUnalignedChunks: false });
  try {
    const other = await startSession(unaligned, data.length);
    await sendAndDrop(unaligned, other.session, other.upload.id, head, framed, partial.length);
    assert.equal((await statusQuery(unaligned, other.session)).headers.range, `bytes=0-${Q + 499}`);
    assert.equal((await putChunk(unaligned, other.session, Q + 500, data.subarray(Q + 500), data.length)).status, 200);
    assert.equal(md5Hex(await unaligned.emu.readTempUpload(other.upload.id)), md5Hex(data), `seed ${SEED + 25}`);
  } finally {
    await unaligned.close();
  }
});

test('other methods on a session URL are 405', async () => {
  const { session } = await startSession(h, 10);
  const res = await http(h.agent, session, { method: 'PATCH', body: 'x' });
  assert.equal(res.status, 405);
  assert.equal(res.headers.allow, 'PUT, POST, DELETE');
  assert.equal(h.emu.requestLog().at(-1)?.kind, 'other');
});
