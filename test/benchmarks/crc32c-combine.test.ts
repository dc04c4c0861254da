import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { crc32c } from '@node-rs/crc32';
import { crc32cCombine, repeatedPatternCrc32c } from '../../benchmarks/crc32c-combine.js';
import { runSeed } from '../support/data.js';

const seed = runSeed();

test(`the CRC32C of two pieces joined is derived from theirs (seed ${seed})`, () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 3000 }), fc.uint8Array({ maxLength: 3000 }), (a, b) => {
      const joined = crc32c(Buffer.concat([a, b]));
      assert.equal(crc32cCombine(crc32c(Buffer.from(a)), crc32c(Buffer.from(b)), b.length), joined);
    }),
    { seed, numRuns: 200 },
  );
});

test(`the CRC32C of a prefix of a repeated pattern equals hashing it (seed ${seed})`, () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 700 }), fc.integer({ min: 0, max: 20_000 }), (bytes, length) => {
      const pattern = Buffer.from(bytes);
      const repeated = Buffer.alloc(length);
      for (let at = 0; at < length; at += pattern.length) pattern.copy(repeated, at, 0, Math.min(pattern.length, length - at));
      assert.equal(repeatedPatternCrc32c(pattern, crc32c(pattern), length), crc32c(repeated));
    }),
    { seed, numRuns: 200 },
  );
});

test('a prefix many gigabytes long is derived without reading it', () => {
  const pattern = Buffer.from('0123456789abcdef');
  // 2^32 + 16 bytes: 2^28 + 1 whole repetitions. Joining the 16-byte CRC onto 2^32 zero-extended ones is the check.
  const whole = 2 ** 32;
  const head = repeatedPatternCrc32c(pattern, crc32c(pattern), whole);
  const longer = repeatedPatternCrc32c(pattern, crc32c(pattern), whole + pattern.length);
  assert.equal(longer, crc32cCombine(head, crc32c(pattern), pattern.length));
  assert.notEqual(longer, head);
});
