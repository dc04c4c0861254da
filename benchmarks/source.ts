/**
 * The source data of every case: a seeded 1 MiB pattern repeated, handed out as fresh buffers of the requested
 * write size, so each case uploads the same bytes and the generator costs a memcpy per byte and nothing else.
 * @module
 */
import { Readable } from 'node:stream';
import { crc32c } from '@node-rs/crc32';
import { MiB } from './protocol.js';

export const PATTERN_SIZE = MiB;
export const PATTERN_SEED = 0x5eed_b0a7;

/** The 1 MiB pattern (mulberry32 from {@link PATTERN_SEED}); incompressible, like gzip output. */
export function makePattern(): Buffer {
  const out = Buffer.allocUnsafe(PATTERN_SIZE);
  let state = PATTERN_SEED >>> 0;
  for (let i = 0; i < PATTERN_SIZE; i += 4) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out.writeUInt32LE((t ^ (t >>> 14)) >>> 0, i);
  }
  return out;
}

/** Copies `length` bytes of the repeated pattern from absolute `offset` into a fresh buffer. */
export function slice(pattern: Buffer, offset: number, length: number): Buffer {
  const piece = Buffer.allocUnsafe(length);
  let filled = 0;
  let at = offset % PATTERN_SIZE;
  while (filled < length) {
    const n = Math.min(length - filled, PATTERN_SIZE - at);
    pattern.copy(piece, filled, at, at + n);
    filled += n;
    at = 0;
  }
  return piece;
}

/**
 * A Readable of `size` bytes of the pattern in fresh `writeSize` buffers (the last one may be shorter); `onPiece`
 * sees each buffer as it is made.
 */
export function createSource(pattern: Buffer, size: number, writeSize: number, onPiece?: (piece: Buffer) => void): Readable {
  let offset = 0;
  return new Readable({
    highWaterMark: writeSize,
    read() {
      for (;;) {
        if (offset >= size) {
          this.push(null);
          return;
        }
        const length = Math.min(writeSize, size - offset);
        const piece = slice(pattern, offset, length);
        onPiece?.(piece);
        offset += length;
        if (!this.push(piece)) return;
      }
    },
  });
}

/** Base64 big-endian CRC32C of `size` bytes of the pattern, as the emulator reports it. */
export function expectedCrc32c(pattern: Buffer, size: number): string {
  let crc = 0;
  let left = size;
  while (left > 0) {
    const n = Math.min(left, PATTERN_SIZE);
    crc = crc32c(n === PATTERN_SIZE ? pattern : pattern.subarray(0, n), crc);
    left -= n;
  }
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(crc >>> 0);
  return bytes.toString('base64');
}
