/**
 * `X-Goog-Hash: crc32c=<b64>,md5=<b64>` on a finalizing request is checked against the whole object.
 * @module
 */
import type { Digest } from './storage.js';

/** Parses `X-Goog-Hash` (either or both of crc32c and md5; unknown algorithms ignored). */
export function parseHashHeader(header: string | string[] | undefined): { crc32c?: string; md5?: string } {
  const result: { crc32c?: string; md5?: string } = {};
  if (header === undefined) return result;
  for (const part of (Array.isArray(header) ? header.join(',') : header).split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const algorithm = part.slice(0, eq).trim().toLowerCase();
    const value = part.slice(eq + 1).trim();
    if (algorithm === 'crc32c' || algorithm === 'md5') result[algorithm] = value;
  }
  return result;
}

/** A GCS-style problem description when the header disagrees with `digest`, else undefined. */
export function checkHashHeader(header: string | string[] | undefined, digest: Digest): string | undefined {
  const given = parseHashHeader(header);
  if (given.crc32c !== undefined && given.crc32c !== digest.crc32c) {
    return `Provided CRC32C "${given.crc32c}" doesn't match calculated CRC32C "${digest.crc32c}"; the object was not created.`;
  }
  if (given.md5 !== undefined && given.md5 !== digest.md5) {
    return `Provided MD5 hash "${given.md5}" doesn't match calculated MD5 hash "${digest.md5}"; the object was not created.`;
  }
  return undefined;
}
