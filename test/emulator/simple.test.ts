import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { crc32cB64, createTempUploads, harness, http, md5B64, md5Hex, seededBytes, type Harness } from './helpers.js';

let h: Harness;
before(async () => {
  h = await harness();
});
after(() => h.close());

const SEED = 20240601;

test('a simple PUT stores the body and answers the object resource', async () => {
  const data = seededBytes(SEED, 300_001);
  const [created] = await createTempUploads(h, [{ name: 'simple-1', size: data.length }]);
  const res = await http(h.agent, created!.url, { method: 'PUT', body: data, headers: { 'content-type': 'application/octet-stream' } });
  assert.equal(res.status, 200, res.text);
  const object = res.json();
  assert.equal(object.kind, 'storage#object');
  assert.equal(object.name, 'simple-1');
  assert.equal(object.bucket, 'redivis-temp-uploads');
  assert.equal(object.size, String(data.length));
  assert.equal(object.md5Hash, md5B64(data), `seed ${SEED}`);
  assert.equal(object.crc32c, crc32cB64(data), `seed ${SEED}`);
  assert.match(object.generation, /^\d+$/);
  assert.equal(object.contentType, 'application/octet-stream');
  assert.equal(md5Hex(await h.emu.readTempUpload(created!.id)), md5Hex(data), `seed ${SEED}`);
  const info = h.emu.getTempUpload(created!.id)!;
  assert.equal(info.state, 'complete');
  assert.equal(info.persisted, data.length);
  assert.deepEqual(info.final, { size: data.length, md5: md5B64(data), crc32c: crc32cB64(data), md5Hex: md5Hex(data) });
});

test('a simple PUT of zero bytes completes an empty object', async () => {
  const [created] = await createTempUploads(h, [{ name: 'simple-empty', size: 0 }]);
  const res = await http(h.agent, created!.url, { method: 'PUT', body: Buffer.alloc(0) });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json().size, '0');
  assert.equal(res.json().md5Hash, md5B64(Buffer.alloc(0)));
  assert.equal((await h.emu.readTempUpload(created!.id)).length, 0);
});

test('a simple PUT whose length differs from the declared size is 400 and stores nothing', async () => {
  const data = seededBytes(SEED + 1, 1000);
  const [created] = await createTempUploads(h, [{ name: 'simple-wrong-size', size: 999 }]);
  const longer = await http(h.agent, created!.url, { method: 'PUT', body: data });
  assert.equal(longer.status, 400);
  assert.match(longer.text, /Content-Length 1000 does not match the declared size 999/);
  // Without Content-Length (chunked), the length is checked once the body ends.
  const chunkedShort = await http(h.agent, created!.url, { method: 'PUT', body: Readable.from([data.subarray(0, 500)]) });
  assert.equal(chunkedShort.status, 400);
  assert.match(chunkedShort.text, /500 bytes/);
  const chunkedLong = await http(h.agent, created!.url, { method: 'PUT', body: Readable.from([data.subarray(0, 600), data.subarray(600)]) });
  assert.equal(chunkedLong.status, 400);
  const info = h.emu.getTempUpload(created!.id)!;
  assert.equal(info.state, 'created');
  assert.equal(info.persisted, 0);
  assert.equal(info.final, undefined);
  const good = await http(h.agent, created!.url, { method: 'PUT', body: Readable.from([data.subarray(0, 400), data.subarray(400, 999)]) });
  assert.equal(good.status, 200, good.text);
  assert.equal(md5Hex(await h.emu.readTempUpload(created!.id)), md5Hex(data.subarray(0, 999)), `seed ${SEED + 1}`);
});

test('a second simple PUT replaces the object, and a failed one leaves the old object intact', async () => {
  const first = seededBytes(SEED + 2, 4096);
  const second = seededBytes(SEED + 3, 4096);
  const [created] = await createTempUploads(h, [{ name: 'simple-replace', size: 4096 }]);
  const one = await http(h.agent, created!.url, { method: 'PUT', body: first });
  assert.equal(one.status, 200);
  const two = await http(h.agent, created!.url, { method: 'PUT', body: second });
  assert.equal(two.status, 200);
  assert.ok(BigInt(two.json().generation) > BigInt(one.json().generation));
  assert.equal(md5Hex(await h.emu.readTempUpload(created!.id)), md5Hex(second), `seed ${SEED + 3}`);
  const bad = await http(h.agent, created!.url, { method: 'PUT', body: first.subarray(1) });
  assert.equal(bad.status, 400);
  assert.equal(md5Hex(await h.emu.readTempUpload(created!.id)), md5Hex(second), `seed ${SEED + 3}`);
  assert.equal(h.emu.getTempUpload(created!.id)?.final?.md5, md5B64(second));
});

test('a simple PUT checks X-Goog-Hash when sent', async () => {
  const data = seededBytes(SEED + 4, 2048);
  const [created] = await createTempUploads(h, [{ name: 'simple-hash', size: data.length }]);
  const wrong = await http(h.agent, created!.url, { method: 'PUT', body: data, headers: { 'x-goog-hash': `md5=${md5B64(data.subarray(1))}` } });
  assert.equal(wrong.status, 400);
  assert.match(wrong.text, /MD5/);
  assert.equal(h.emu.getTempUpload(created!.id)?.state, 'created');
  const right = await http(h.agent, created!.url, {
    method: 'PUT',
    body: data,
    headers: { 'x-goog-hash': `crc32c=${crc32cB64(data)},md5=${md5B64(data)}` },
  });
  assert.equal(right.status, 200, right.text);
});

test('a PUT to a resumable temp upload is 400; so is POST x-goog-resumable on a simple one', async () => {
  const [resumable, simple] = await createTempUploads(h, [
    { name: 'simple-vs-resumable-r', size: 10, resumable: true },
    { name: 'simple-vs-resumable-s', size: 10 },
  ]);
  const put = await http(h.agent, resumable!.url, { method: 'PUT', body: Buffer.alloc(10) });
  assert.equal(put.status, 400);
  assert.match(put.text, /resumable/);
  const post = await http(h.agent, simple!.url, { method: 'POST', headers: { 'x-goog-resumable': 'start', 'content-length': '0' } });
  assert.equal(post.status, 400);
  assert.match(post.text, /not resumable/);
  const putWithHeader = await http(h.agent, simple!.url, { method: 'PUT', body: Buffer.alloc(10), headers: { 'x-goog-resumable': 'start' } });
  assert.equal(putWithHeader.status, 400);
  assert.equal(h.emu.getTempUpload(resumable!.id)?.state, 'created');
  assert.equal(h.emu.getTempUpload(simple!.id)?.state, 'created');
});

test('upload URLs need no Authorization, but the log records whether one was sent (never its value)', async () => {
  const data = seededBytes(SEED + 5, 64);
  const [a, b] = await createTempUploads(h, [{ name: 'simple-auth-a', size: 64 }, { name: 'simple-auth-b', size: 64 }]);
  h.emu.clearRequestLog();
  assert.equal((await http(h.agent, a!.url, { method: 'PUT', body: data })).status, 200);
  assert.equal((await http(h.agent, b!.url, { method: 'PUT', body: data, headers: { authorization: `Bearer ${h.emu.token}` } })).status, 200);
  const log = h.emu.requestLog();
  assert.deepEqual(
    log.map((e) => [e.kind, e.tempUploadId, e.authorization, e.status, e.bytesReceived, e.contentLength]),
    [
      ['simple', a!.id, false, 200, 64, 64],
      ['simple', b!.id, true, 200, 64, 64],
    ],
  );
  assert.ok(log.every((e) => !e.path.includes('?')));
  assert.ok(!JSON.stringify(log).includes(h.emu.token));
});

test('other methods on a temp upload URL are 405; unknown upload paths are 404', async () => {
  const [created] = await createTempUploads(h, [{ name: 'simple-405', size: 1 }]);
  const res = await http(h.agent, created!.url, { method: 'DELETE' });
  assert.equal(res.status, 405);
  const other = await http(h.agent, `${h.emu.origin}/upload/elsewhere`, { method: 'GET' });
  assert.equal(other.status, 404);
  const log = h.emu.requestLog();
  assert.equal(log.at(-2)?.kind, 'other');
  assert.equal(log.at(-1)?.kind, 'other');
});
