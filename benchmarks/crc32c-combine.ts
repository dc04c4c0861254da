/**
 * CRC32C arithmetic without reading the bytes: the CRC of two pieces joined, from the pieces' CRCs and the second
 * one's length (multiplication by x^(8·length) modulo the Castagnoli polynomial), and from it the CRC of any prefix
 * of a pattern repeated without end in O(log length) steps. The trivial server uses it to report the true CRC32C of
 * what it holds after comparing the bytes with the pattern (a memcmp) instead of hashing them on the machine's
 * shared cores.
 * @module
 */
import { crc32c } from '@node-rs/crc32';

/** The Castagnoli polynomial, bit-reflected, as CRC32C is computed. */
const POLY = 0x82f6_3b78;

/** a·b modulo the polynomial, both in the reflected representation (bit 31 is x^0). */
function multiplyModP(a: number, b: number): number {
  let product = 0;
  let factor = b >>> 0;
  for (let bit = 0x8000_0000; bit !== 0; bit >>>= 1) {
    if ((a & bit) !== 0) product ^= factor;
    factor = factor & 1 ? (factor >>> 1) ^ POLY : factor >>> 1;
  }
  return product >>> 0;
}

/** x^(2^k) modulo the polynomial, k = 0..63. */
const X_POW_2K: number[] = (() => {
  const table: number[] = [];
  let power = 0x4000_0000; // x^1
  for (let k = 0; k < 64; k += 1) {
    table.push(power);
    power = multiplyModP(power, power);
  }
  return table;
})();

/** x^(8·bytes) modulo the polynomial: what shifting a CRC past `bytes` zero bytes multiplies it by. */
function shiftFor(bytes: number): number {
  let result = 0x8000_0000; // x^0
  let bits = BigInt(bytes) * 8n;
  for (let k = 0; bits > 0n; k += 1, bits >>= 1n) {
    if (bits & 1n) result = multiplyModP(X_POW_2K[k]!, result);
  }
  return result;
}

/** CRC32C of A followed by B, given CRC32C(A), CRC32C(B) and B's length. */
export function crc32cCombine(crcA: number, crcB: number, lengthB: number): number {
  if (lengthB === 0) return crcA >>> 0;
  return (multiplyModP(shiftFor(lengthB), crcA >>> 0) ^ (crcB >>> 0)) >>> 0;
}

/** The CRC32C of the first `length` bytes of `pattern` repeated without end, in O(log length) combines. */
export function repeatedPatternCrc32c(pattern: Buffer, wholeCrc: number, length: number): number {
  const whole = Math.floor(length / pattern.length);
  const rest = length - whole * pattern.length;
  // Square-and-multiply over the number of whole repetitions: `power` is the CRC of 2^k repetitions.
  let crc = 0;
  let power = wholeCrc >>> 0;
  let powerLength = pattern.length;
  for (let left = whole; left > 0; left = Math.floor(left / 2)) {
    if (left % 2 === 1) crc = crc32cCombine(crc, power, powerLength);
    power = crc32cCombine(power, power, powerLength);
    powerLength *= 2;
  }
  return rest === 0 ? crc : crc32cCombine(crc, crc32c(pattern.subarray(0, rest)), rest);
}
