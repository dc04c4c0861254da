/**
 * Running checksums over the bytes of an upload, in the encodings the server reports (base64, CRC32C big-endian).
 * @module
 */
import { createHash, type Hash } from 'node:crypto';
import { crc32c } from '@node-rs/crc32';

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

export class RunningChecksums {
  private crc: number | undefined;
  private readonly md5: Hash | undefined;
  private md5Digest: Buffer | undefined;

  constructor(options: ChecksumOptions = {}) {
    this.crc = options.crc32c === false ? undefined : 0;
    this.md5 = options.md5 ? createHash('md5') : undefined;
  }

  update(data: Buffer): void {
    if (this.crc !== undefined) this.crc = crc32c(data, this.crc);
    this.md5?.update(data);
  }

  /** Final values, base64 as in `X-Goog-Hash` and the object resource. Call once, after the last update. */
  digest(): { crc32c: string | undefined; md5: string | undefined } {
    if (this.md5 && !this.md5Digest) this.md5Digest = this.md5.digest();
    return {
      crc32c: this.crc === undefined ? undefined : crc32cToBase64(this.crc),
      md5: this.md5Digest?.toString('base64'),
    };
  }
}

/** A CRC32C as GCS encodes it: the 4 bytes big-endian, base64. */
export function crc32cToBase64(value: number): string {
  const bytes = Buffer.allocUnsafe(4);
  bytes.writeUInt32BE(value >>> 0, 0);
  return bytes.toString('base64');
}

/** The `X-Goog-Hash` header value for the given base64 checksums; `undefined` when there are none. */
export function formatGoogHash(hashes: { crc32c?: string | undefined; md5?: string | undefined }): string | undefined {
  const parts: string[] = [];
  if (hashes.crc32c) parts.push(`crc32c=${hashes.crc32c}`);
  if (hashes.md5) parts.push(`md5=${hashes.md5}`);
  return parts.length > 0 ? parts.join(',') : undefined;
}
