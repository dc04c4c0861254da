import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Agent, buildConnector } from 'undici';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { RedivisClient } from '../../src/client/redivis-client.js';
import { createTempUploadStream, type TempUploadStream } from '../../src/upload/temp-upload-stream.js';
import { CHUNK_ALIGNMENT as Q } from '../../src/upload/content-range.js';
import { startLinkProxy, type LinkProxy } from '../../benchmarks/link-proxy.js';
import { chunkedSource, md5Hex, randomBytes, runSeed } from '../support/data.js';

const seed = runSeed();
let emulator: Emulator;
let proxy: LinkProxy;
let agent: Agent;
let spillDir: string;
let counter = 0;

before(async () => {
  emulator = await startEmulator({ storage: 'discard' });
  // A link where larger requests pay off: 20 ms round trip at 200 Mbit/s (a 500 KB bandwidth-delay product).
  proxy = await startLinkProxy({ targetPort: Number(new URL(emulator.origin).port), rttMs: 20, bitsPerSecond: 200e6 });
  const base = buildConnector({});
  // Every connection dials the link, whatever the URL's origin, so the emulator's URLs work unchanged.
  agent = new Agent({ connect: (options, callback) => base({ ...options, hostname: '127.0.0.1', port: String(proxy.port) }, callback) });
  spillDir = await mkdtemp(join(tmpdir(), 'redivis-upload-spill-'));
});
after(async () => {
  await agent.close();
  await proxy.close();
  await emulator.close();
  await rm(spillDir, { recursive: true, force: true });
});

/** Spill files this process holds open; they are unlinked as soon as they exist, so only /proc shows them. */
async function openSpillFiles(): Promise<string[]> {
  const found: string[] = [];
  for (const fd of await readdir('/proc/self/fd').catch(() => [] as string[])) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target.includes(spillDir)) found.push(target);
  }
  return found;
}

function closed(stream: TempUploadStream): Promise<void> {
  return stream.closed ? Promise.resolve() : new Promise((resolve) => stream.once('close', () => resolve()));
}

async function throughLink(extra: object = {}) {
  const client = new RedivisClient({ apiEndpoint: emulator.apiEndpoint, apiToken: emulator.token, dispatcher: agent, retry: { initialDelayMs: 1, maxDelayMs: 2 } });
  return createTempUploadStream({
    client,
    table: 'owner.dataset.table',
    name: `spill-${++counter}`,
    chunkSize: Q,
    memoryLimit: 2 * Q,
    spill: { directory: spillDir, maxBytes: 16 * Q },
    ...extra,
  });
}

describe(`the replay buffer spills to disk when the measured link makes larger requests pay off (seed ${seed})`, () => {
  test('through a 20 ms link: requests grow past the memory limit, the bytes arrive exact, the file is gone', async () => {
    const data = randomBytes(24 * Q + 17, seed);
    const stream = await throughLink();
    let visible = 0;
    stream.on('progress', () => {
      void readdir(spillDir).then((names) => (visible += names.length));
    });
    await pipeline(chunkedSource(data, [65_536]), stream);
    const id = stream.result!.tempUploadId!;
    assert.equal(emulator.getTempUpload(id)!.final!.md5Hex, md5Hex(data), `seed ${seed}`);
    assert.ok(stream.peakSpilledBytes > 0, 'bytes were spilled');
    assert.ok(stream.peakSpilledBytes <= 16 * Q, `at most spill.maxBytes on disk: ${stream.peakSpilledBytes}`);
    assert.ok(stream.peakBufferedBytes <= 2 * Q + 4 * Q + 65_536, `memory bound: ${stream.peakBufferedBytes}`);
    const sizes = emulator
      .requestLog()
      .filter((e) => e.tempUploadId === id && e.kind === 'chunk')
      .map((e) => e.bytesReceived);
    assert.ok(Math.max(...sizes) > 2 * Q, `a request carried more than memory holds: ${sizes.join(' ')}`);
    assert.equal(visible, 0, 'the file never shows in its folder');
    await closed(stream);
    assert.deepEqual(await openSpillFiles(), []);
  });

  for (const how of ['destroy', 'abort', 'server error'] as const) {
    test(`${how} while spilling: the file is closed and gone`, async () => {
      const controller = new AbortController();
      const stream = await throughLink({ signal: controller.signal });
      stream.on('error', () => undefined);
      if (how === 'server error') emulator.injectFault({ match: { kind: 'chunk', nth: 3 }, fault: { kind: 'terminate' } });
      const data = randomBytes(24 * Q, seed + 1);
      const done = pipeline(chunkedSource(data, [65_536]), stream).catch(() => undefined);
      await new Promise<void>((resolve) => {
        const check = () => (stream.spilledBytes > 0 || stream.destroyed ? resolve() : stream.once('progress', check));
        check();
      });
      if (how === 'destroy') stream.destroy();
      if (how === 'abort') controller.abort();
      await done;
      await closed(stream);
      emulator.clearFaults();
      assert.deepEqual(await openSpillFiles(), []);
      assert.deepEqual(await readdir(spillDir), []);
    });
  }
});
