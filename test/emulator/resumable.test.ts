import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import {
  crc32cB64,
  createTempUploads,
  harness,
  http,
  md5B64,
  md5Hex,
  putChunk,
  Q,
  rawRequest,
  seededBytes,
  startSession,
  statusQuery,
  type Harness,
} from './helpers.js';

let h: Harness;
before(async () => {
  h = await harness();
});
after(() => h.close());

const SEED = 7331;

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

test('a status query on an empty session answers 308 without Range', async () => {
  const { session } = await startSession(h, 10);
  const res = await statusQuery(h, session);
  assert.equal(res.status, 308);
  assert.equal(res.headers.range, undefined);
  assert.equal(h.emu.requestLog().at(-1)?.kind, 'status');
});

test('aligned chunks answer 308 with Range and the final chunk completes with the object', async () => {
  const data = seededBytes(SEED + 1, 3 * Q + 1234);
  const { upload, session } = await startSession(h, data.length);
  let res = await putChunk(h, session, 0, data.subarray(0, 2 * Q), '*');
  assert.equal(res.status, 308);
  assert.equal(res.headers.range, `bytes=0-${2 * Q - 1}`);
  res = await putChunk(h, session, 2 * Q, data.subarray(2 * Q, 3 * Q), data.length);
  assert.equal(res.status, 308);
  assert.equal(res.headers.range, `bytes=0-${3 * Q - 1}`);
  assert.equal(h.emu.getTempUpload(upload.id)?.persisted, 3 * Q);
  res = await putChunk(h, session, 3 * Q, data.subarray(3 * Q), data.length);
  assert.equal(res.status, 200, res.text);
  const object = res.json();
  assert.equal(object.kind, 'storage#object');
  assert.equal(object.size, String(data.length));
  assert.equal(object.md5Hash, md5B64(data), `seed ${SEED + 1}`);
  assert.equal(object.crc32c, crc32cB64(data), `seed ${SEED + 1}`);
  assert.equal(object.bucket, 'redivis-temp-uploads');
  assert.equal(object.contentType, 'application/octet-stream');
  await assertStored(upload.id, data, SEED + 1);
  assert.equal(h.emu.getTempUpload(upload.id)?.state, 'complete');
  assert.equal(h.emu.getTempUpload(upload.id)?.final?.md5Hex, md5Hex(data));
});

test('the session URL also accepts POST for chunks', async () => {
  const data = seededBytes(SEED + 2, Q + 10);
  const { upload, session } = await startSession(h, data.length);
  const res = await http(h.agent, session, { method: 'POST', headers: { 'content-range': `bytes 0-${data.length - 1}/${data.length}` }, body: data });
  assert.equal(res.status, 200);
  await assertStored(upload.id, data, SEED + 2);
});

test('a missing or malformed Content-Range is 400', async () => {
  const { session } = await startSession(h, 10);
  const missing = await http(h.agent, session, { method: 'PUT', body: Buffer.alloc(10) });
  assert.equal(missing.status, 400);
  assert.match(missing.text, /Content-Range is required/);
  for (const range of ['bytes 0-9', 'bytes 5-2/10', 'items 0-9/10', 'bytes 0-10/10']) {
    const res = await http(h.agent, session, { method: 'PUT', headers: { 'content-range': range }, body: Buffer.alloc(10) });
    assert.equal(res.status, 400, range);
  }
  assert.equal((await statusQuery(h, session)).status, 308);
});

test('a Content-Length different from the range length is 400', async () => {
  const data = seededBytes(SEED + 3, Q + 1);
  const { upload, session } = await startSession(h, data.length);
  const res = await http(h.agent, session, { method: 'PUT', headers: { 'content-range': `bytes 0-${Q - 1}/*` }, body: data });
  assert.equal(res.status, 400);
  assert.match(res.text, /Content-Length/);
  const chunked = await http(h.agent, session, {
    method: 'PUT',
    headers: { 'content-range': `bytes 0-${Q - 1}/*` },
    body: Readable.from([data.subarray(0, Q - 1)]),
  });
  assert.equal(chunked.status, 400);
  assert.equal(h.emu.getTempUpload(upload.id)?.persisted, 0);
});

test('a chunk starting past the persisted offset is 503 (GCS never fills gaps)', async () => {
  const data = seededBytes(SEED + 4, 2 * Q);
  const { upload, session } = await startSession(h, data.length);
  const res = await putChunk(h, session, Q, data.subarray(Q), data.length);
  assert.equal(res.status, 503);
  assert.match(res.text, /exceeds already uploaded size of 0 byte/);
  assert.equal(h.emu.getTempUpload(upload.id)?.persisted, 0);
});

test('an overlapping chunk only appends its new tail; an exact resend answers the same Range', async () => {
  const data = seededBytes(SEED + 5, 3 * Q);
  const { upload, session } = await startSession(h, data.length);
  assert.equal((await putChunk(h, session, 0, data.subarray(0, 2 * Q), '*')).status, 308);
  const resend = await putChunk(h, session, Q, data.subarray(Q, 2 * Q), '*');
  assert.equal(resend.status, 308);
  assert.equal(resend.headers.range, `bytes=0-${2 * Q - 1}`);
  // Overlap with garbage in the already-persisted part: it must be ignored, not written.
  const overlapping = Buffer.concat([Buffer.alloc(Q, 0xee), data.subarray(2 * Q)]);
  const res = await putChunk(h, session, Q, overlapping, data.length);
  assert.equal(res.status, 200, res.text);
  await assertStored(upload.id, data, SEED + 5);
});

test('a non-final chunk shorter than 256 KiB is 400 with GCS\u2019s message', async () => {
  const data = seededBytes(SEED + 6, 2 * Q);
  const { upload, session } = await startSession(h, data.length);
  for (const total of ['*', data.length] as const) {
    const res = await putChunk(h, session, 0, data.subarray(0, 1024), total);
    assert.equal(res.status, 400);
    assert.match(res.text, /required to be equal or greater than 262144, except for the final request/);
  }
  assert.equal(h.emu.getTempUpload(upload.id)?.persisted, 0);
  // A short final chunk is fine.
  const small = seededBytes(SEED + 7, 100);
  const { upload: other, session: otherSession } = await startSession(h, small.length);
  assert.equal((await putChunk(h, otherSession, 0, small, small.length)).status, 200);
  await assertStored(other.id, small, SEED + 7);
});

test('an unaligned non-final chunk commits only its 256 KiB-aligned prefix', async () => {
  const data = seededBytes(SEED + 8, 3 * Q);
  const { upload, session } = await startSession(h, data.length);
  let res = await putChunk(h, session, 0, data.subarray(0, Q + 1000), '*');
  assert.equal(res.status, 308);
  assert.equal(res.headers.range, `bytes=0-${Q - 1}`);
  // The next unaligned chunk never rewinds below what is already persisted.
  res = await putChunk(h, session, Q, data.subarray(Q, 2 * Q + 5), '*');
  assert.equal(res.headers.range, `bytes=0-${2 * Q - 1}`);
  res = await putChunk(h, session, 2 * Q, data.subarray(2 * Q), data.length);
  assert.equal(res.status, 200);
  await assertStored(upload.id, data, SEED + 8);
});

test('with alignUnalignedChunks: false an unaligned chunk is committed whole', async () => {
  const other = await harness({ alignUnalignedChunks: false });
  try {
    const data = seededBytes(SEED + 9, 2 * Q + 77);
    const { upload, session } = await startSession(other, data.length);
    const res = await putChunk(other, session, 0, data.subarray(0, Q + 1000), '*');
    assert.equal(res.headers.range, `bytes=0-${Q + 999}`);
    assert.equal((await putChunk(other, session, Q + 1000, data.subarray(Q + 1000), data.length)).status, 200);
    assert.equal(md5Hex(await other.emu.readTempUpload(upload.id)), md5Hex(data), `seed ${SEED + 9}`);
  } finally {
    await other.close();
  }
});

test('a total disagreeing with x-upload-content-length is 400', async () => {
  const data = seededBytes(SEED + 10, 2 * Q);
  const { upload, session } = await startSession(h, data.length, { 'x-upload-content-length': String(data.length) });
  const res = await putChunk(h, session, 0, data.subarray(0, Q), data.length + 1);
  assert.equal(res.status, 400);
  assert.match(res.text, /disagrees/);
  const finalize = await statusQuery(h, session, data.length - 1);
  assert.equal(finalize.status, 400);
  assert.equal(h.emu.getTempUpload(upload.id)?.persisted, 0);
});

test('a total disagreeing with an earlier chunk\u2019s total is 400', async () => {
  const data = seededBytes(SEED + 11, 3 * Q);
  const { session } = await startSession(h, data.length);
  assert.equal((await putChunk(h, session, 0, data.subarray(0, Q), data.length)).status, 308);
  const res = await putChunk(h, session, Q, data.subarray(Q), data.length + 5);
  assert.equal(res.status, 400);
  assert.match(res.text, /disagrees/);
});

test('data past the known total is 400', async () => {
  const data = seededBytes(SEED + 12, 3 * Q);
  const { upload, session } = await startSession(h, 2 * Q, { 'x-upload-content-length': String(2 * Q) });
  const res = await putChunk(h, session, 0, data, '*');
  assert.equal(res.status, 400);
  assert.match(res.text, /past the upload's total/);
  const { session: other } = await startSession(h, 3 * Q);
  assert.equal((await putChunk(h, other, 0, data.subarray(0, Q), 2 * Q)).status, 308);
  assert.equal((await putChunk(h, other, Q, data.subarray(Q, 3 * Q), '*')).status, 400);
  assert.equal(h.emu.getTempUpload(upload.id)?.persisted, 0);
});

test('an open-ended bytes a-*/* request appends the whole chunked body and completes at its end', async () => {
  const data = seededBytes(SEED + 13, 5 * Q + 321);
  const { upload, session } = await startSession(h, data.length);
  assert.equal((await putChunk(h, session, 0, data.subarray(0, Q), '*')).status, 308);
  const pieces = [data.subarray(Q, 2 * Q + 7), data.subarray(2 * Q + 7, 4 * Q), data.subarray(4 * Q)];
  const res = await http(h.agent, session, { method: 'PUT', headers: { 'content-range': `bytes ${Q}-*/*` }, body: Readable.from(pieces) });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json().size, String(data.length));
  await assertStored(upload.id, data, SEED + 13);
  const entry = h.emu.requestLog().at(-1)!;
  assert.equal(entry.kind, 'chunk');
  assert.equal(entry.bytesReceived, data.length - Q);
  assert.equal(entry.contentLength, undefined);
});

test('an open-ended request that ends short of the declared total is 400 and commits nothing', async () => {
  const data = seededBytes(SEED + 14, 2 * Q);
  const { upload, session } = await startSession(h, data.length + 1, { 'x-upload-content-length': String(data.length + 1) });
  const res = await http(h.agent, session, { method: 'PUT', headers: { 'content-range': 'bytes 0-*/*' }, body: Readable.from([data]) });
  assert.equal(res.status, 400);
  assert.equal(h.emu.getTempUpload(upload.id)?.persisted, 0);
  const { session: over } = await startSession(h, Q, { 'x-upload-content-length': String(Q) });
  const tooLong = await http(h.agent, over, { method: 'PUT', headers: { 'content-range': 'bytes 0-*/*' }, body: Readable.from([data]) });
  assert.equal(tooLong.status, 400);
});

test('bytes */* answers 308 with the Range, or 200 with the object once complete', async () => {
  const data = seededBytes(SEED + 15, Q + 5);
  const { session } = await startSession(h, data.length);
  assert.equal((await putChunk(h, session, 0, data.subarray(0, Q), '*')).status, 308);
  const mid = await statusQuery(h, session);
  assert.equal(mid.status, 308);
  assert.equal(mid.headers.range, `bytes=0-${Q - 1}`);
  assert.equal((await putChunk(h, session, Q, data.subarray(Q), data.length)).status, 200);
  const done = await statusQuery(h, session);
  assert.equal(done.status, 200);
  assert.equal(done.json().md5Hash, md5B64(data), `seed ${SEED + 15}`);
});

test('bytes */N finalizes when N equals the persisted size, otherwise answers 308 with the true Range', async () => {
  const data = seededBytes(SEED + 16, 2 * Q);
  const { upload, session } = await startSession(h, data.length);
  assert.equal((await putChunk(h, session, 0, data, '*')).status, 308);
  const wrong = await statusQuery(h, session, 3 * Q);
  assert.equal(wrong.status, 308);
  assert.equal(wrong.headers.range, `bytes=0-${2 * Q - 1}`);
  assert.equal(h.emu.requestLog().at(-1)?.kind, 'finalize');
  assert.equal(h.emu.getTempUpload(upload.id)?.state, 'in_progress');
  const right = await statusQuery(h, session, 2 * Q);
  assert.equal(right.status, 200);
  assert.equal(right.json().size, String(2 * Q));
  await assertStored(upload.id, data, SEED + 16);
});

test('bytes */0 completes an empty object', async () => {
  const { upload, session } = await startSession(h, 0);
  const res = await statusQuery(h, session, 0);
  assert.equal(res.status, 200);
  assert.equal(res.json().size, '0');
  assert.equal(res.json().crc32c, crc32cB64(Buffer.alloc(0)));
  assert.equal(h.emu.getTempUpload(upload.id)?.state, 'complete');
});

test('a status query with a body is 400', async () => {
  const { session } = await startSession(h, 10);
  const res = await http(h.agent, session, { method: 'PUT', headers: { 'content-range': 'bytes */*' }, body: Buffer.alloc(3) });
  assert.equal(res.status, 400);
});

test('X-Goog-Hash on the finalizing request is checked: a mismatch is 400 and the session stays incomplete', async () => {
  const data = seededBytes(SEED + 17, Q + 999);
  const { upload, session } = await startSession(h, data.length);
  assert.equal((await putChunk(h, session, 0, data.subarray(0, Q), '*')).status, 308);
  const last = data.subarray(Q);
  const badCrc = await putChunk(h, session, Q, last, data.length, { 'x-goog-hash': `crc32c=${crc32cB64(last)}` });
  assert.equal(badCrc.status, 400);
  assert.match(badCrc.text, /CRC32C/);
  const badMd5 = await putChunk(h, session, Q, last, data.length, { 'x-goog-hash': `md5=${md5B64(data.subarray(1))}` });
  assert.equal(badMd5.status, 400);
  assert.match(badMd5.text, /MD5/);
  const status = await statusQuery(h, session);
  assert.equal(status.status, 308);
  assert.equal(status.headers.range, `bytes=0-${Q - 1}`, 'the final chunk was not committed');
  assert.equal(h.emu.getTempUpload(upload.id)?.final, undefined);
  const good = await putChunk(h, session, Q, last, data.length, { 'x-goog-hash': `crc32c=${crc32cB64(data)},md5=${md5B64(data)}` });
  assert.equal(good.status, 200, good.text);
  await assertStored(upload.id, data, SEED + 17);
});

test('X-Goog-Hash is also checked on a bytes */N finalize', async () => {
  const data = seededBytes(SEED + 18, Q);
  const { session } = await startSession(h, data.length);
  assert.equal((await putChunk(h, session, 0, data, '*')).status, 308);
  const finalize = (hash: string) =>
    http(h.agent, session, { method: 'PUT', headers: { 'content-range': `bytes */${Q}`, 'content-length': '0', 'x-goog-hash': hash } });
  assert.equal((await finalize(`md5=${md5B64(Buffer.from('x'))}`)).status, 400);
  assert.equal((await finalize(`md5=${md5B64(data)}`)).status, 200);
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

test('a client that drops the connection mid-chunk leaves the 256 KiB-aligned prefix it sent persisted', async () => {
  const { connect } = await import('node:net');
  const data = seededBytes(SEED + 24, 4 * Q);
  const { upload, session } = await startSession(h, data.length);
  const url = new URL(session);
  const socket = connect(Number(url.port), url.hostname);
  const sent = 2 * Q + 1000;
  socket.write(
    `PUT ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\ncontent-range: bytes 0-${data.length - 1}/${data.length}\r\n` +
      `content-length: ${data.length}\r\n\r\n`,
  );
  await new Promise<void>((resolve) => socket.write(data.subarray(0, sent), () => resolve()));
  const arrived = h.emu.waitForRequest((e) => e.tempUploadId === upload.id && e.kind === 'chunk');
  // Only destroy once the server has read everything that was sent, so the outcome is deterministic.
  for (;;) {
    const entry = h.emu.requestLog().find((e) => e.tempUploadId === upload.id && e.kind === 'chunk');
    if (entry !== undefined && entry.bytesReceived === sent) break;
    await new Promise((resolve) => setImmediate(resolve));
  }
  socket.destroy();
  const entry = await arrived;
  assert.equal(entry.status, 0);
  const status = await statusQuery(h, session);
  assert.equal(status.headers.range, `bytes=0-${2 * Q - 1}`);
  assert.equal((await putChunk(h, session, 2 * Q, data.subarray(2 * Q), data.length)).status, 200);
  await assertStored(upload.id, data, SEED + 24);
});
