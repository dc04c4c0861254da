import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32cB64, createTempUploads, harness, http, md5B64, md5Hex, putChunk, Q, seededBytes, startSession, statusQuery } from './helpers.js';

const SEED = 99;

async function findBlobFolder(id: string): Promise<string | undefined> {
  for (const name of await readdir(tmpdir())) {
    if (!name.startsWith('redivis-emulator-')) continue;
    const folder = join(tmpdir(), name);
    if (await stat(join(folder, `${id}.bin`)).then(() => true, () => false)) return folder;
  }
  return undefined;
}

test('disk storage: bytes live in a temporary folder that close() removes; big uploads stream back', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  const data = seededBytes(SEED, 8 * 1024 * 1024 + 17);
  const { upload, session } = await startSession(h, data.length);
  const chunk = 8 * Q;
  for (let offset = 0; offset < data.length; offset += chunk) {
    const end = Math.min(offset + chunk, data.length);
    const res = await putChunk(h, session, offset, data.subarray(offset, end), end === data.length ? data.length : '*');
    assert.equal(res.status, end === data.length ? 200 : 308);
  }
  const hash = createHash('md5');
  for await (const piece of h.emu.createReadStream(upload.id)) hash.update(piece as Buffer);
  assert.equal(hash.digest('hex'), md5Hex(data), `seed ${SEED}`);
  const folder = await findBlobFolder(upload.id);
  assert.ok(folder !== undefined, 'the upload is a file in a redivis-emulator- folder');
  assert.throws(() => h.emu.createReadStream('nope'), { code: 'ERR_INVALID_ARGUMENT' });
  await assert.rejects(h.emu.readTempUpload('nope'), { code: 'ERR_INVALID_ARGUMENT' });
  await h.emu.close();
  assert.equal(await stat(folder).then(() => true, () => false), false, 'close() removed the folder');
});

test('discard storage keeps sizes and checksums only', async (t) => {
  const h = await harness({ storage: 'discard' });
  t.after(() => h.close());
  const data = seededBytes(SEED + 1, 3 * Q + 3);
  const { upload, session } = await startSession(h, data.length);
  assert.equal((await putChunk(h, session, 0, data.subarray(0, Q + 5), '*')).headers.range, `bytes=0-${Q - 1}`);
  const res = await putChunk(h, session, Q, data.subarray(Q), data.length);
  assert.equal(res.status, 200);
  assert.equal(res.json().md5Hash, md5B64(data), `seed ${SEED + 1}`);
  assert.equal(res.json().crc32c, crc32cB64(data), `seed ${SEED + 1}`);
  assert.equal(h.emu.getTempUpload(upload.id)?.final?.md5Hex, md5Hex(data));
  await assert.rejects(h.emu.readTempUpload(upload.id), /discard/);
  assert.throws(() => h.emu.createReadStream(upload.id), /discard/);
  assert.equal(await findBlobFolder(upload.id), undefined);
});

test('separateUploadOrigin serves upload URLs from 127.0.0.2 only', async (t) => {
  const h = await harness({ separateUploadOrigin: true });
  t.after(() => h.close());
  assert.match(h.emu.uploadOrigin, /^http:\/\/127\.0\.0\.2:\d+$/);
  assert.match(h.emu.origin, /^http:\/\/127\.0\.0\.1:\d+$/);
  const data = seededBytes(SEED + 2, 1000);
  const [simple, resumable] = await createTempUploads(h, [{ name: 's', size: 1000 }, { name: 'r', size: 1000, resumable: true }]);
  assert.equal(new URL(simple!.url).origin, h.emu.uploadOrigin);
  const onApiOrigin = simple!.url.replace(h.emu.uploadOrigin, h.emu.origin);
  assert.equal((await http(h.agent, onApiOrigin, { method: 'PUT', body: data })).status, 404);
  assert.equal((await http(h.agent, `${h.emu.uploadOrigin}/api/v1/tables/a.b.c/tempUploads`, { method: 'POST', body: '{}' })).status, 404);
  assert.equal((await http(h.agent, simple!.url, { method: 'PUT', body: data })).status, 200);
  const init = await http(h.agent, resumable!.url, { method: 'POST', headers: { 'x-goog-resumable': 'start', 'content-length': '0' } });
  assert.equal(new URL(String(init.headers.location)).origin, h.emu.uploadOrigin);
  assert.equal((await putChunk(h, String(init.headers.location), 0, data, 1000)).status, 200);
  assert.equal(md5Hex(await h.emu.readTempUpload(resumable!.id)), md5Hex(data), `seed ${SEED + 2}`);
});

test('the request log records each request without query strings or credentials; clearRequestLog empties it', async (t) => {
  let clock = 5_000;
  const h = await harness({ now: () => clock, token: 'fixed-token-123' });
  t.after(() => h.close());
  assert.equal(h.emu.token, 'fixed-token-123');
  assert.notEqual(h.emu.readOnlyToken, h.emu.token);
  const data = seededBytes(SEED + 3, Q + 10);
  const { upload, session } = await startSession(h, data.length);
  clock = 6_000;
  await putChunk(h, session, 0, data.subarray(0, Q), '*');
  await statusQuery(h, session);
  await putChunk(h, session, Q, data.subarray(Q), data.length, { authorization: 'Bearer fixed-token-123' });
  await http(h.agent, session, { method: 'DELETE' });
  const log = h.emu.requestLog();
  assert.deepEqual(
    log.map((e) => ({ ...e, path: e.path.replace(upload.id, 'ID') })),
    [
      { time: 5000, method: 'POST', path: `/api/v1/tables/owner.dataset%3Anext.table/tempUploads`, kind: 'api', bytesReceived: log[0]!.contentLength!, contentLength: log[0]!.contentLength, status: 200, authorization: true },
      { time: 5000, method: 'POST', path: '/upload/temp/ID', kind: 'initiate', tempUploadId: upload.id, bytesReceived: 0, contentLength: 0, status: 201, authorization: false },
      { time: 6000, method: 'PUT', path: '/upload/sessions/ID', kind: 'chunk', tempUploadId: upload.id, contentRange: `bytes 0-${Q - 1}/*`, contentLength: Q, bytesReceived: Q, status: 308, authorization: false },
      { time: 6000, method: 'PUT', path: '/upload/sessions/ID', kind: 'status', tempUploadId: upload.id, contentRange: 'bytes */*', contentLength: 0, bytesReceived: 0, status: 308, authorization: false },
      { time: 6000, method: 'PUT', path: '/upload/sessions/ID', kind: 'chunk', tempUploadId: upload.id, contentRange: `bytes ${Q}-${data.length - 1}/${data.length}`, contentLength: 10, bytesReceived: 10, status: 200, authorization: true },
      { time: 6000, method: 'DELETE', path: '/upload/sessions/ID', kind: 'cancel', tempUploadId: upload.id, bytesReceived: 0, status: 200, authorization: false },
    ],
  );
  assert.ok(!JSON.stringify(log).includes('fixed-token-123'));
  log[0]!.status = 999;
  assert.equal(h.emu.requestLog()[0]!.status, 200, 'the log hands out copies');
  h.emu.clearRequestLog();
  assert.deepEqual(h.emu.requestLog(), []);
});

test('verbose mode prints one line per request to stderr, without tokens or query strings', async (t) => {
  const h = await harness({ verbose: true });
  t.after(() => h.close());
  const lines: string[] = [];
  const original = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    const [created] = await createTempUploads(h, [{ name: 'v', size: 3 }]);
    await http(h.agent, created!.url, { method: 'PUT', body: 'abc' });
    await h.emu.waitForRequest((e) => e.kind === 'simple');
  } finally {
    process.stderr.write = original;
  }
  const emulatorLines = lines.filter((l) => l.startsWith('[emulator]'));
  assert.equal(emulatorLines.length, 2, lines.join(''));
  assert.match(emulatorLines[0]!, /POST \/api\/v1\/tables\/.*\/tempUploads api -> 200/);
  assert.match(emulatorLines[1]!, /PUT \/upload\/temp\/\w+ simple -> 200 3B/);
  assert.ok(emulatorLines.every((l) => !l.includes(h.emu.token) && !l.includes('?')));
});

test('listTempUploads lists every temp upload in creation order', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  await createTempUploads(h, [{ name: 'one', size: 1 }, { name: 'two', size: 2, resumable: true }]);
  await createTempUploads(h, [{ name: 'three', size: 3 }], 'owner.other.table');
  assert.deepEqual(
    h.emu.listTempUploads().map((u) => [u.name, u.table, u.declaredSize, u.resumable, u.state, u.persisted]),
    [
      ['one', 'owner.dataset:next.table', 1, false, 'created', 0],
      ['two', 'owner.dataset:next.table', 2, true, 'created', 0],
      ['three', 'owner.other.table', 3, false, 'created', 0],
    ],
  );
  assert.equal(h.emu.getTempUpload('missing'), undefined);
});

test('invalid options are refused with InvalidArgumentError before anything listens', async () => {
  const { startEmulator } = await import('../../src/emulator/index.js');
  const bad: Array<Record<string, unknown>> = [
    { port: 70_000 },
    { port: -1 },
    { errorShape: 'deep' },
    { storage: 'memory' },
    { token: 'has space' },
    { token: '' },
    { maxTempUploadsPerRequest: 0 },
    { sessionTtlMs: 1.5 },
    { now: 5 },
    { faults: [{ fault: { kind: 'status', status: 418 } }] },
    { randomFaults: { probability: 0.5, seed: -1 } },
    { randomFaults: { probability: 0.5, kinds: [] } },
  ];
  for (const options of bad) {
    await assert.rejects(startEmulator(options as never), { code: 'ERR_INVALID_ARGUMENT' }, JSON.stringify(options));
  }
});

test('a fixed port and host are honoured', async (t) => {
  const first = await harness();
  const port = Number(new URL(first.emu.origin).port);
  await first.close();
  const h = await harness({ port, host: '127.0.0.1' });
  t.after(() => h.close());
  assert.equal(h.emu.origin, `http://127.0.0.1:${port}`);
  assert.equal(h.emu.apiEndpoint, `http://127.0.0.1:${port}/api/v1`);
  assert.equal(h.emu.uploadOrigin, h.emu.origin);
  const [created] = await createTempUploads(h, [{ name: 'p', size: 1 }]);
  assert.ok(created!.url.startsWith(`http://127.0.0.1:${port}/upload/temp/`));
});
