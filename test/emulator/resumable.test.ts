import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import {
  crc32cB64,
  harness,
  http,
  md5B64,
  md5Hex,
  putChunk,
  Q,
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
