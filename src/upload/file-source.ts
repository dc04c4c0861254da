/**
 * What {@link uploadFile} reads from: a file read at offsets (so any byte can be read again after a failure and
 * memory stays at one chunk), or a Buffer. Plus the running checksums, fed each byte exactly once, in order, even
 * when a retry re-reads bytes already hashed.
 * @module
 */
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { SizeMismatchError } from '../errors.js';
import { RunningChecksums } from './checksums.js';

/** Pieces a file is streamed in by a simple upload, in bytes. */
const STREAM_PIECE = 262_144;

/** Content of fixed size, readable at any offset. */
export interface UploadSource {
  /** The size the upload declared, in bytes. */
  readonly size: number;
  /**
   * Bytes `[offset, offset + length)`. The returned Buffer may be reused by the next call, so send it before
   * reading again. A file that has become shorter rejects with {@link SizeMismatchError}.
   */
  readAt(offset: number, length: number): Promise<Buffer>;
  /** Rejects with {@link SizeMismatchError} when the content no longer has the declared size. */
  checkSize(): Promise<void>;
}

/** A Buffer as an upload source; reads are views, nothing is copied. */
export class BufferSource implements UploadSource {
  readonly size: number;
  constructor(private readonly data: Buffer) {
    this.size = data.length;
  }

  async readAt(offset: number, length: number): Promise<Buffer> {
    return this.data.subarray(offset, offset + length);
  }

  async checkSize(): Promise<void> {
    if (this.data.length !== this.size) throw new SizeMismatchError('The Buffer', this.size, this.data.length);
  }
}

/** An open file as an upload source. Reads go to explicit positions, so the file position never matters. */
export class FileSource implements UploadSource {
  private scratch: Buffer | undefined;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    private readonly label: string,
    private readonly maxRead: number,
  ) {}

  async readAt(offset: number, length: number): Promise<Buffer> {
    if (this.scratch === undefined || this.scratch.length < length) {
      this.scratch = Buffer.allocUnsafe(Math.max(length, Math.min(this.maxRead, this.size)));
    }
    return this.fill(this.scratch, offset, length);
  }

  async checkSize(): Promise<void> {
    const { size } = await this.handle.stat();
    if (size !== this.size) throw new SizeMismatchError(`The file ${this.label} changed size during the upload`, this.size, size);
  }

  /** A fresh stream of the whole file, for a simple upload; each piece goes through `onPiece` first. */
  stream(onPiece: (piece: Buffer) => void): Readable {
    return Readable.from(this.pieces(onPiece), { objectMode: false });
  }

  private async *pieces(onPiece: (piece: Buffer) => void): AsyncGenerator<Buffer> {
    for (let offset = 0; offset < this.size; offset += STREAM_PIECE) {
      // Each piece is a new Buffer: the socket may still hold the previous one while this one is read.
      const length = Math.min(STREAM_PIECE, this.size - offset);
      const piece = await this.fill(Buffer.allocUnsafe(length), offset, length);
      onPiece(piece);
      yield piece;
    }
    await this.checkSize();
  }

  private async fill(target: Buffer, offset: number, length: number): Promise<Buffer> {
    let got = 0;
    while (got < length) {
      const { bytesRead } = await this.handle.read(target, got, length - got, offset + got);
      if (bytesRead === 0) {
        throw new SizeMismatchError(`The file ${this.label} changed size during the upload`, this.size, offset + got);
      }
      got += bytesRead;
    }
    return target.subarray(0, length);
  }
}

/** Running CRC32C and MD5 over the content, fed by offset; bytes fed a second time (a resend) are skipped. */
export class ContentHashes {
  private readonly checksums = new RunningChecksums({ crc32c: true, md5: true });
  /** Bytes hashed so far, from offset 0. */
  hashedUpTo = 0;

  /** Feeds bytes starting at `offset`; only the part beyond what was already hashed counts. */
  feed(offset: number, data: Buffer): void {
    const end = offset + data.length;
    if (end <= this.hashedUpTo) return;
    if (offset > this.hashedUpTo) {
      throw new RangeError(`checksum gap: bytes ${this.hashedUpTo}..${offset} were never hashed`);
    }
    this.checksums.update(data.subarray(this.hashedUpTo - offset));
    this.hashedUpTo = end;
  }

  /** Final values, base64 as the server reports them, and the `X-Goog-Hash` header. */
  digest(): { crc32c: string; md5: string; header: string } {
    const { crc32c, md5, header } = this.checksums.digest();
    return { crc32c: crc32c!, md5: md5!, header: header! };
  }
}
