import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Storage } from '@google-cloud/storage';
import { harness, md5Hex, Q, seededBytes, startSession, type Harness } from './helpers.js';

let h: Harness;
const remoteAddresses: string[] = [];
const onSocket = (message: unknown) => {
  const socket = (message as { socket: Socket }).socket;
  socket.once('connect', () => remoteAddresses.push(socket.remoteAddress ?? '?'));
};

before(async () => {
  subscribe('net.client.socket', onSocket);
  h = await harness();
});
after(async () => {
  unsubscribe('net.client.socket', onSocket);
  await h.close();
});

/** Yields `data` in uneven pieces, as a real producer would. */
function source(data: Buffer): Readable {
  return Readable.from(
    (function* () {
      let offset = 0;
      let step = 1;
      while (offset < data.length) {
        const size = Math.min(((step * 7919) % 200_000) + 1, data.length - offset);
        yield data.subarray(offset, offset + size);
        offset += size;
        step += 1;
      }
    })(),
  );
}

async function uploadWithGcs(seed: number, size: number, options: { chunkSize?: number; validation: 'crc32c' | 'md5' | false }) {
  const data = seededBytes(seed, size);
  const { upload, session } = await startSession(h, size);
  const storage = new Storage({ apiEndpoint: h.emu.origin, projectId: 'emulator-test' });
  const file = storage.bucket('redivis-temp-uploads').file(upload.name);
  h.emu.clearRequestLog();
  const stream = file.createWriteStream({ uri: session, resumable: true, ...options });
  await pipeline(source(data), stream);
  const stored = await h.emu.readTempUpload(upload.id);
  assert.equal(md5Hex(stored), md5Hex(data), `seed ${seed}`);
  assert.equal(h.emu.getTempUpload(upload.id)?.state, 'complete');
  const log = h.emu.requestLog();
  assert.ok(log.every((entry) => !entry.authorization), 'session URLs are used without credentials');
  return { log, data };
}

test('@google-cloud/storage uploads to a session URL in single-request mode (bytes */* then bytes 0-*/*)', async () => {
  const { log, data } = await uploadWithGcs(31337, 5 * 1024 * 1024 + 99, { validation: 'crc32c' });
  assert.deepEqual(
    log.map((e) => [e.kind, e.contentRange, e.status]),
    [
      ['status', 'bytes */*', 308],
      ['chunk', 'bytes 0-*/*', 200],
    ],
  );
  assert.equal(log[1]!.bytesReceived, data.length);
  assert.equal(log[1]!.contentLength, undefined, 'the whole stream went as one chunked body');
  assert.ok(remoteAddresses.length > 0 && remoteAddresses.every((address) => address.startsWith('127.')), remoteAddresses.join(','));
});

test('@google-cloud/storage uploads to a session URL in multi-chunk mode with chunkSize 256 KiB * 3', async () => {
  const size = 4 * 1024 * 1024 + 12345;
  const chunkSize = 3 * Q;
  const { log } = await uploadWithGcs(4242, size, { chunkSize, validation: 'md5' });
  const chunks = log.filter((e) => e.kind === 'chunk');
  assert.equal(chunks.length, Math.ceil(size / chunkSize));
  chunks.forEach((entry, index) => {
    const first = index * chunkSize;
    const last = Math.min(first + chunkSize, size) - 1;
    const total = index === chunks.length - 1 ? String(size) : '*';
    assert.equal(entry.contentRange, `bytes ${first}-${last}/${total}`);
    assert.equal(entry.status, index === chunks.length - 1 ? 200 : 308);
  });
  assert.ok(remoteAddresses.every((address) => address.startsWith('127.')), remoteAddresses.join(','));
});

test('@google-cloud/storage recovers from an unaligned chunk the emulator commits only partly', async () => {
  // 256 KiB * 1.5 chunks are accepted but only their aligned prefix is committed; the client resends the rest.
  const { log } = await uploadWithGcs(777, 2 * 1024 * 1024 + 5, { chunkSize: Q + Q / 2, validation: false });
  const chunks = log.filter((e) => e.kind === 'chunk');
  assert.ok(chunks.length > Math.ceil((2 * 1024 * 1024 + 5) / (Q + Q / 2)), 'some bytes were sent twice');
  assert.equal(chunks.at(-1)?.status, 200);
  assert.ok(remoteAddresses.every((address) => address.startsWith('127.')), remoteAddresses.join(','));
});
