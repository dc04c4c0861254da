/**
 * Running checksums over the bytes of an upload, in the encodings the server reports (base64, CRC32C big-endian).
 * @module
 */
import { createHash, type Hash } from 'node:crypto';
import { crc32c } from '@node-rs/crc32';
import { InvalidArgumentError } from '../errors.js';

/** Which checksums to compute while uploading. */
export interface ChecksumOptions {
  /**
   * Running CRC32C (hardware-accelerated, several GB/s), sent in `X-Goog-Hash` and compared with the server's.
   * @default true
   */
  crc32c?: boolean;
  /**
   * Running MD5, sent and compared the same way. Costs about 1.5 s of CPU per GB.
   * @default false
   */
  md5?: boolean;
}

/** Checksums updated piece by piece as bytes go out, so the content never has to be held or read twice. */
export class RunningChecksums {
  private crc: number | undefined;
  private readonly md5: Hash | undefined;
  private md5Digest: Buffer | undefined;

  constructor(options: ChecksumOptions = {}) {
    this.crc = options.crc32c === false ? undefined : 0;
    this.md5 = options.md5 ? createHash('md5') : undefined;
  }

  /** Adds the next bytes of the content, in order. */
  update(data: Buffer): void {
    if (this.crc !== undefined) this.crc = crc32c(data, this.crc);
    this.md5?.update(data);
  }

  /**
   * Final values, base64 as in the object resource, and the `X-Goog-Hash` header carrying them. Call after the last
   * update; later calls return the same values.
   */
  digest(): { crc32c: string | undefined; md5: string | undefined; header: string | undefined } {
    if (this.md5 && !this.md5Digest) this.md5Digest = this.md5.digest();
    const hashes = { ...(this.crc === undefined ? {} : { crc32c: this.crc }), ...(this.md5Digest ? { md5: this.md5Digest } : {}) };
    return {
      crc32c: this.crc === undefined ? undefined : crc32cToBase64(this.crc),
      md5: this.md5Digest?.toString('base64'),
      header: hashes.crc32c === undefined && hashes.md5 === undefined ? undefined : formatGoogHash(hashes),
    };
  }
}

/** Base64 of a CRC32C value (an unsigned 32-bit integer) as 4 big-endian bytes, the form GCS uses. */
export function crc32cToBase64(value: number): string {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new InvalidArgumentError('crc32c', 'an unsigned 32-bit integer', value);
  }
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value, 0);
  return bytes.toString('base64');
}

/** Builds an `X-Goog-Hash` value, `crc32c=<b64>,md5=<b64>`, from whichever of the two hashes is given. */
export function formatGoogHash(hashes: { crc32c?: number; md5?: Buffer }): string {
  const parts: string[] = [];
  if (hashes.crc32c !== undefined) parts.push(`crc32c=${crc32cToBase64(hashes.crc32c)}`);
  if (hashes.md5 !== undefined) {
    if (!Buffer.isBuffer(hashes.md5) || hashes.md5.length !== 16) {
      throw new InvalidArgumentError('md5', 'a 16-byte Buffer', hashes.md5);
    }
    parts.push(`md5=${hashes.md5.toString('base64')}`);
  }
  if (parts.length === 0) throw new InvalidArgumentError('hashes', 'at least one of crc32c and md5', hashes);
  return parts.join(',');
}
