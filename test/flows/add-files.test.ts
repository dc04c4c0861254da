/** addFiles against the emulator: a nested folder in batches, per-file failures, the concurrency bound, aborts. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RedivisClient } from '../../src/client/redivis-client.js';
import type { TableReferenceInput } from '../../src/client/table-reference.js';
import type { CreateTempUploadsOptions, TempUpload, TempUploadRequest } from '../../src/client/index.js';
import { AbortError, ApiError, InvalidArgumentError, ProtocolError } from '../../src/errors.js';
import { addFiles, type AddFilesProgress } from '../../src/flows/add-files.js';
import { chunkedSource, md5Hex, prng, randomBytes, runSeed } from '../support/data.js';
import { apiRequests, failingSource, FAST_RETRY, flowHarness, md5Base64, slowSource, type FlowHarness } from './helpers.js';

const seed = runSeed();
let h: FlowHarness;

before(async () => {
  h = await flowHarness();
});
after(() => h.close());

/** Writes `count` files of 1 byte to 64 KiB into nested folders under `root`; returns name -> content. */
async function makeTree(root: string, count: number): Promise<Map<string, Buffer>> {
  const random = prng(seed);
  const files = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const name = `d${i % 4}/s${Math.floor(i / 4) % 5}/f${String(i).padStart(3, '0')}.bin`;
    const data = randomBytes(1 + Math.floor(random() * 65_536), seed + 1000 + i);
    await mkdir(join(root, `d${i % 4}`, `s${Math.floor(i / 4) % 5}`), { recursive: true });
    await writeFile(join(root, ...name.split('/')), data);
    files.set(name, data);
  }
  return files;
}

test('a folder of 300 nested files plus Buffer and Readable entries, one of which fails midway', async () => {
  const table = 'owner.dataset:next.tree';
  const root = join(h.dir, 'tree');
  const expected = await makeTree(root, 300);
  await writeFile(join(root, 'empty.txt'), Buffer.alloc(0));
  expected.set('empty.txt', Buffer.alloc(0));
  const outside = randomBytes(5_000, seed + 1);
  await writeFile(join(h.dir, 'outside.bin'), outside);
  await symlink(join(h.dir, 'outside.bin'), join(root, 'z-link.bin'));
  expected.set('z-link.bin', outside);
  await symlink(join(root, 'd0'), join(root, 'link-to-d0'), 'dir');

  const buffer = randomBytes(40_000, seed + 2);
  const streamed = randomBytes(90_000, seed + 3);
  const sized = randomBytes(20_000, seed + 4);
  const progress: AddFilesProgress[] = [];
  const result = await addFiles({
    client: h.client,
    table,
    files: [
      root,
      { name: 'extra/buffer.bin', source: buffer },
      { name: 'extra/stream.bin', source: chunkedSource(streamed, [4_096, 10_000]) },
      { name: 'extra/broken.bin', source: failingSource(randomBytes(10_000, seed + 5), new Error('disk read failed')) },
      { name: 'extra/sized.bin', source: chunkedSource(sized, [3_000]), size: sized.length },
    ],
    concurrency: 8,
    batchSize: 100,
    resumableThreshold: 32_768,
    onProgress: (p) => progress.push(p),
  });
  expected.set('extra/buffer.bin', buffer).set('extra/stream.bin', streamed).set('extra/sized.bin', sized);

  assert.deepEqual(result.failed.map((f) => [f.name, f.error.message]), [['extra/broken.bin', 'disk read failed']], `seed ${seed}`);
  const treeNames = [...expected.keys()].filter((name) => !name.startsWith('extra/')).sort();
  assert.deepEqual(result.added.map((f) => f.name), [...treeNames, 'extra/buffer.bin', 'extra/stream.bin', 'extra/sized.bin']);
  for (const file of result.added) {
    const data = expected.get(file.name)!;
    assert.equal(file.md5Hash, md5Base64(data), `${file.name}; seed ${seed}`);
    assert.equal(file.size, data.length, file.name);
  }
  const registered = h.emu.listRawFiles().filter((f) => f.table === 'owner.dataset:next.tree');
  assert.equal(registered.length, expected.size);
  for (const file of registered) {
    assert.equal(file.md5Hex, md5Hex(expected.get(file.name)!), `${file.name}; seed ${seed}`);
    const tempUpload = h.emu.getTempUpload(file.tempUploadId)!;
    const streamedEntry = file.name === 'extra/stream.bin' || file.name === 'extra/sized.bin';
    assert.equal(tempUpload.resumable, streamedEntry || file.size >= 32_768, file.name);
  }
  // 305 files in batches of 100: four tempUploads requests and four rawFiles requests.
  assert.equal(apiRequests(h.emu, /\.tree\/tempUploads$/, 'POST').length, 4);
  assert.equal(apiRequests(h.emu, /\.tree\/rawFiles$/, 'POST').length, 4);
  assert.deepEqual(
    { ...progress.at(-1)!, bytesConfirmed: undefined },
    { filesDone: expected.size, filesUploaded: expected.size, filesFailed: 1, filesTotal: expected.size + 1, bytesConfirmed: undefined, bytesTotal: undefined },
  );
});

test('uploads in flight never exceed concurrency, and reach it', async () => {
  const concurrency = 4;
  let active = 0;
  let peak = 0;
  const contents = Array.from({ length: 24 }, (_, i) => randomBytes(16 * 1024, seed + 100 + i));
  const result = await addFiles({
    client: h.client,
    table: 'owner.dataset:next.pool',
    files: contents.map((data, i) => ({
      name: `s${i}.bin`,
      source: slowSource(data, 1024, {
        start: () => {
          active += 1;
          peak = Math.max(peak, active);
        },
        end: () => {
          active -= 1;
        },
      }),
    })),
    concurrency,
  });
  assert.equal(result.failed.length, 0, String(result.failed[0]?.error));
  assert.deepEqual(result.added.map((f) => f.md5Hash), contents.map(md5Base64), `seed ${seed}`);
  assert.equal(peak, concurrency);
});

test('an API failure registering a batch marks only that batch failed', async () => {
  const table = 'owner.dataset:next.batches';
  await addFiles({ client: h.client, table, files: [{ name: 'taken.bin', source: Buffer.from('first') }] });
  const names = ['b0.bin', 'b1.bin', 'b2.bin', 'b3.bin', 'taken.bin', 'b5.bin'];
  const result = await addFiles({
    client: h.client,
    table,
    files: names.map((name, i) => ({ name, source: randomBytes(100 + i, seed + 200 + i) })),
    batchSize: 3,
  });
  assert.deepEqual(result.added.map((f) => f.name), ['b0.bin', 'b1.bin', 'b2.bin']);
  assert.deepEqual(result.failed.map((f) => f.name), ['b3.bin', 'taken.bin', 'b5.bin']);
  for (const { error } of result.failed) {
    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.status, 400);
  }
});

test('batches close at batchBytes as well as at batchSize', async () => {
  const result = await addFiles({
    client: h.client,
    table: 'owner.dataset:next.bytes',
    files: Array.from({ length: 5 }, (_, i) => ({ name: `k${i}`, source: randomBytes(1000, seed + 300 + i) })),
    batchBytes: 2500,
  });
  assert.equal(result.added.length, 5);
  assert.equal(apiRequests(h.emu, /\.bytes\/tempUploads$/, 'POST').length, 2);
  assert.equal(apiRequests(h.emu, /\.bytes\/rawFiles$/, 'POST').length, 2);
});

test('duplicate names and bad entries are refused before any request; no files means no request', async () => {
  const root = join(h.dir, 'dups');
  await mkdir(join(root, 'a'), { recursive: true });
  await writeFile(join(root, 'a', 'x.txt'), 'x');
  const before = h.emu.requestLog().length;
  const base = { client: h.client, table: 'owner.dataset:next.dups' };
  await assert.rejects(addFiles({ ...base, files: [root, { name: 'a/x.txt', source: Buffer.from('y') }] }), (error: unknown) => {
    assert.ok(error instanceof InvalidArgumentError);
    assert.equal(error.argument, 'files[1]');
    return true;
  });
  await assert.rejects(addFiles({ ...base, files: [join(h.dir, 'no-such-file')] }), InvalidArgumentError);
  await assert.rejects(addFiles({ ...base, files: [{ name: '', source: Buffer.from('y') }] }), InvalidArgumentError);
  await assert.rejects(addFiles({ ...base, files: [{ name: 'n', source: Buffer.from('y'), size: 2 }] }), InvalidArgumentError);
  await assert.rejects(addFiles({ ...base, files: [root], concurrency: 0 }), InvalidArgumentError);
  assert.deepEqual(await addFiles({ ...base, files: [] }), { added: [], failed: [], skipped: [] });
  assert.equal(h.emu.requestLog().length, before);
});

test('an abort stops the uploads and rejects with AbortError', async () => {
  const controller = new AbortController();
  let started = 0;
  const pending = addFiles({
    client: h.client,
    table: 'owner.dataset:next.abort',
    files: Array.from({ length: 30 }, (_, i) => ({
      name: `a${i}.bin`,
      source: slowSource(randomBytes(8 * 1024, seed + 400 + i), 512, {
        start: () => {
          started += 1;
          if (started === 3) controller.abort();
        },
      }),
    })),
    concurrency: 2,
    signal: controller.signal,
  });
  await assert.rejects(pending, AbortError);
  assert.ok(started < 30, `started ${started} of 30 after the abort`);
  assert.ok(h.emu.listRawFiles().filter((f) => f.table.endsWith('.abort')).length < 30);
});

/** A client whose temp uploads are never resumable, as a server that ignores `resumable: true` would make them. */
class NonResumableClient extends RedivisClient {
  override createTempUploads(table: TableReferenceInput, items: TempUploadRequest[], options?: CreateTempUploadsOptions): Promise<TempUpload[]> {
    return super.createTempUploads(table, items.map((item) => ({ ...item, resumable: false })), options);
  }
}

test('when the server makes every temp upload simple: sized Readables are buffered, unsized ones fail', async () => {
  const client = new NonResumableClient({ apiEndpoint: h.emu.apiEndpoint, apiToken: h.emu.token, dispatcher: h.dispatcher, retry: FAST_RETRY });
  const sized = randomBytes(30_000, seed + 500);
  const big = randomBytes(70_000, seed + 501);
  const bigPath = join(h.dir, 'big-simple.bin');
  await writeFile(bigPath, big);
  const unsized = chunkedSource(randomBytes(1_000, seed + 502), [100]);
  const result = await addFiles({
    client,
    table: 'owner.dataset:next.simple',
    files: [
      { name: 'sized.bin', source: chunkedSource(sized, [7_000]), size: sized.length },
      { name: 'unsized.bin', source: unsized },
      bigPath,
    ],
    resumableThreshold: 1,
  });
  assert.deepEqual(result.added.map((f) => [f.name, f.md5Hash]), [['sized.bin', md5Base64(sized)], ['big-simple.bin', md5Base64(big)]], `seed ${seed}`);
  assert.deepEqual(result.failed.map((f) => f.name), ['unsized.bin']);
  assert.ok(result.failed[0]!.error instanceof ProtocolError, String(result.failed[0]!.error));
  assert.equal(unsized.destroyed, true);
  const registered = h.emu.listRawFiles().filter((f) => f.table === 'owner.dataset:next.simple');
  assert.equal(registered.length, 2);
  for (const file of registered) assert.equal(h.emu.getTempUpload(file.tempUploadId)?.resumable, false, file.name);
});

test('a file whose session expires mid-upload goes to a new temp upload, and is registered under that one', async () => {
  const table = 'owner.dataset:next.renewed';
  const first = randomBytes(3 * 262_144 + 11, seed + 20);
  const second = randomBytes(70_000, seed + 21);
  const expire = { kind: 'expire' as const };
  // Every file resumable, so the first one's session can expire after its first chunk.
  const retries: string[] = [];
  h.emu.injectFault({ match: { kind: 'chunk', nth: 1 }, fault: expire });
  const result = await addFiles({
    client: h.client,
    table,
    files: [{ name: 'first.bin', source: first }, { name: 'second.bin', source: second }],
    concurrency: 1,
    resumableThreshold: 0,
    onRetry: (retry) => retries.push(retry.error.name),
  });
  h.emu.clearFaults();
  assert.deepEqual(result.failed, []);
  assert.deepEqual(result.added.map((f) => f.name), ['first.bin', 'second.bin']);
  assert.ok(retries.includes('SessionExpiredError'), retries.join());
  const registered = h.emu.listRawFiles().filter((f) => f.table === table);
  for (const file of registered) {
    const data = file.name === 'first.bin' ? first : second;
    assert.equal(file.md5Hex, md5Hex(data), file.name);
    assert.equal(h.emu.getTempUpload(file.tempUploadId)?.state, 'complete', file.name);
  }
  const names = h.emu.listTempUploads().filter((t) => t.table === table).map((t) => t.state).sort();
  assert.deepEqual(names, ['complete', 'complete', 'expired'], 'the expired one is left behind');
});
