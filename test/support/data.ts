import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { mulberry32 } from '../../src/emulator/faults.js';

/** A seed for this run: TEST_SEED when set, else random. Print it in failure messages. */
export function runSeed(): number {
  const fromEnv = process.env.TEST_SEED;
  return fromEnv !== undefined ? Number(fromEnv) : Math.floor(Math.random() * 2 ** 31);
}

/** The emulator's own generator, so a seed means the same thing in tests and in fault schedules. */
export const prng = mulberry32;

/** `size` pseudo-random bytes from `seed`. */
export function randomBytes(size: number, seed: number): Buffer {
  const random = prng(seed);
  const data = Buffer.allocUnsafe(size);
  let i = 0;
  for (; i + 4 <= size; i += 4) data.writeUInt32LE(Math.floor(random() * 4294967296), i);
  for (; i < size; i++) data[i] = Math.floor(random() * 256);
  return data;
}

export function md5Hex(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

/**
 * A Readable that yields `data` in pieces whose sizes come from `sizes` (cycled), each piece a fresh copy so the
 * consumer cannot rely on shared memory.
 */
export function chunkedSource(data: Buffer, sizes: number[] | ((index: number) => number)): Readable {
  let offset = 0;
  let index = 0;
  const next = typeof sizes === 'function' ? sizes : (i: number) => sizes[i % sizes.length]!;
  return new Readable({
    read() {
      if (offset >= data.length) {
        this.push(null);
        return;
      }
      const size = Math.max(1, next(index++));
      const piece = Buffer.from(data.subarray(offset, offset + size));
      offset += piece.length;
      this.push(piece);
    },
  });
}
