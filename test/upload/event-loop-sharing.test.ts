import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32c } from '@node-rs/crc32';
import { createTempUploadStream, type TempUploadStream } from '../../src/upload/temp-upload-stream.js';
import { randomBytes, runSeed } from '../support/data.js';
import { startSessionServer } from '../support/session-server.js';

const seed = runSeed();
const MiB = 1024 * 1024;

/** A source that always has its next piece at hand, as a generator or a file read ahead does. */
function alwaysReady(pattern: Buffer, size: number, pieceSize: number): Readable {
  let offset = 0;
  return new Readable({
    highWaterMark: pieceSize,
    read() {
      while (offset < size) {
        const at = offset % pattern.length;
        const piece = Buffer.from(pattern.subarray(at, at + Math.min(pieceSize, size - offset, pattern.length - at)));
        offset += piece.length;
        if (!this.push(piece)) return;
      }
      this.push(null);
    },
  });
}

test('a source that is always ready shares the event loop: sending starts long before memory is full', async () => {
  const memoryLimit = 64 * MiB;
  const size = 96 * MiB;
  const pattern = randomBytes(MiB, seed);
  let upload: TempUploadStream | undefined;
  let heldWhenBodyArrived: number | undefined;
  // The server runs in this process: it reads a body only when the stream lets the event loop turn.
  const server = await startSessionServer({ onBodyData: () => void (heldWhenBodyArrived ??= upload!.bufferedBytes) });
  try {
    upload = createTempUploadStream({ url: `${server.origin}/temp`, memoryLimit, spill: false });
    await pipeline(alwaysReady(pattern, size, 64 * 1024), upload);
    assert.ok(heldWhenBodyArrived !== undefined, 'the server received a body');
    assert.ok(
      heldWhenBodyArrived < memoryLimit / 2,
      `expected the first body bytes to arrive while the stream held less than ${memoryLimit / 2} bytes, received them at ${heldWhenBodyArrived} (seed ${seed})`,
    );
    let expected = 0;
    for (let offset = 0; offset < size; offset += pattern.length) expected = crc32c(pattern.subarray(0, Math.min(pattern.length, size - offset)), expected);
    assert.equal(server.stored().length, size);
    assert.equal(crc32c(server.stored()), expected, `seed ${seed}`);
  } finally {
    await server.close();
  }
});
