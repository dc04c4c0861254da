import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReplayBuffer } from '../../src/upload/replay-buffer.js';
import { md5Hex, prng, randomBytes, runSeed } from '../support/data.js';

const seed = runSeed();
const KiB = 1024;
const SLAB = 64 * KiB;
const noChecksums = { crc32c: false, md5: false };

async function readAll(buffer: ReplayBuffer, from: number, to: number): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for await (const piece of buffer.read(from, to)) pieces.push(Buffer.from(piece));
  return Buffer.concat(pieces);
}

/** The spill files this process holds open (they are unlinked as soon as they are created). */
async function openSpillFiles(): Promise<string[]> {
  const { readlink } = await import('node:fs/promises');
  const found: string[] = [];
  for (const fd of await readdir('/proc/self/fd').catch(() => [])) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (/redivis-upload-.*\.spill/.test(target)) found.push(target);
  }
  return found;
}

async function withDir<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'redivis-upload-spill-test-'));
  try {
    return await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test(`in memory: reads are the bytes pushed, releases free room, and the limit makes writes wait (seed ${seed})`, async () => {
  let rooms = 0;
  const buffer = new ReplayBuffer({ startOffset: 0, memoryLimit: 4 * SLAB, spill: undefined, checksums: noChecksums, slabSize: SLAB, onRoom: () => rooms++ });
  const data = randomBytes(5 * SLAB + 123, seed);
  const random = prng(seed);
  for (let at = 0; at < data.length; ) {
    const size = Math.min(data.length - at, 1 + Math.floor(random() * 30_000));
    buffer.push(data.subarray(at, at + size));
    at += size;
  }
  assert.equal(buffer.available, data.length);
  assert.ok(buffer.full, 'past the memory limit with no spill');
  assert.equal(md5Hex(await readAll(buffer, 1000, data.length)), md5Hex(data.subarray(1000)));
  buffer.release(2 * SLAB + 7);
  assert.equal(buffer.retainedFrom, 2 * SLAB + 7);
  assert.equal(buffer.memoryBytes, data.length - (2 * SLAB + 7));
  assert.equal(buffer.full, false);
  assert.ok(rooms > 0, 'releasing room is announced');
  assert.throws(() => buffer.read(0, 10), RangeError, 'released bytes cannot be read');
  assert.equal(buffer.diskBytes, 0);
  await buffer.dispose();
});

test(`spilled: bytes past the memory limit go to an unlinked temp file, read back exactly, over several turns of its ring (seed ${seed})`, async () => {
  await withDir(async (dir) => {
    const buffer = new ReplayBuffer({
      startOffset: 0,
      memoryLimit: 2 * SLAB,
      spill: { directory: dir, maxBytes: 8 * SLAB },
      checksums: { crc32c: true, md5: true },
      slabSize: SLAB,
      onRoom: () => undefined,
    });
    buffer.allowSpill(8 * SLAB);
    const data = randomBytes(40 * SLAB + 5, seed + 1);
    let pushed = 0;
    let confirmed = 0;
    let sawDisk = false;
    // Push, read back and release in rounds, as requests would: the ring is reused five times over.
    while (confirmed < data.length) {
      while (pushed < data.length && !buffer.full) {
        const size = Math.min(data.length - pushed, 20_000);
        buffer.push(data.subarray(pushed, pushed + size));
        pushed += size;
      }
      await buffer.written();
      if (buffer.diskBytes > 0) sawDisk = true;
      assert.deepEqual(await readdir(dir), [], 'the spill file is never visible in its folder');
      const to = Math.min(pushed, confirmed + 3 * SLAB + 11);
      assert.equal(md5Hex(await readAll(buffer, confirmed, to)), md5Hex(data.subarray(confirmed, to)), `bytes ${confirmed}..${to}`);
      buffer.release(to);
      confirmed = to;
      if (pushed === data.length && !buffer.ended) buffer.end();
    }
    assert.ok(sawDisk, 'some bytes were spilled');
    assert.ok(buffer.peakDiskBytes <= 8 * SLAB, `peak on disk ${buffer.peakDiskBytes}`);
    assert.ok(buffer.peakMemoryBytes <= 2 * SLAB + 4 * SLAB + 20_000, `peak in memory ${buffer.peakMemoryBytes}`);
    assert.ok(buffer.digest()?.crc32c, 'the checksums cover every byte pushed');
    assert.equal((await openSpillFiles()).length > 0 || process.platform !== 'linux', true, 'the file is open while the buffer lives');
    await buffer.dispose();
    assert.deepEqual(await openSpillFiles(), [], 'disposing closes the file');
  });
});

test('a spill folder that cannot be written keeps everything in memory: no byte is lost', async () => {
  const buffer = new ReplayBuffer({
    startOffset: 0,
    memoryLimit: SLAB,
    spill: { directory: join(tmpdir(), `does-not-exist-${seed}`, 'deeper'), maxBytes: 16 * SLAB },
    checksums: noChecksums,
    slabSize: SLAB,
    onRoom: () => undefined,
  });
  buffer.allowSpill(16 * SLAB);
  const data = randomBytes(6 * SLAB, seed + 2);
  for (let at = 0; at < data.length; at += SLAB / 2) {
    buffer.push(data.subarray(at, at + SLAB / 2));
    await buffer.written();
  }
  assert.equal(buffer.diskBytes, 0);
  assert.equal(md5Hex(await readAll(buffer, 0, data.length)), md5Hex(data));
  assert.ok(buffer.full, 'with the disk refused, the memory limit holds writes back again');
  await buffer.dispose();
});

test('a source that starts at an offset, and bytes the server holds already, are skipped but counted', async () => {
  const buffer = new ReplayBuffer({ startOffset: 100, memoryLimit: 4 * SLAB, spill: undefined, checksums: noChecksums, slabSize: SLAB, onRoom: () => undefined });
  buffer.release(150);
  const data = randomBytes(200, seed + 3);
  buffer.push(data.subarray(0, 30));
  assert.equal(buffer.available, 130, 'still skipping');
  buffer.push(data.subarray(30));
  assert.equal(buffer.available, 300);
  assert.equal(md5Hex(await readAll(buffer, 150, 300)), md5Hex(data.subarray(50)));
  assert.equal(buffer.digest(), undefined, 'no checksums of an object the source did not start at byte 0');
  await buffer.dispose();
});
