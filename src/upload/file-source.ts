/**
 * Sources of known size for the session driver: a file read at offsets (any byte can be read again after a
 * failure, and memory stays at a few pieces however large the request) and a Buffer. Both keep running checksums
 * fed each byte exactly once, in order, even when a retry reads bytes again.
 * @module
 */
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { SizeMismatchError } from '../errors.js';
import { RunningChecksums, type ChecksumOptions } from './checksums.js';
import type { ObjectDigest, ReplaySource } from './replay-source.js';

/** Pieces a file is read in: large enough for few system calls, small enough to keep memory flat. */
const PIECE = 1024 * 1024;

/** Running checksums over the content, fed by offset; bytes fed a second time (a resend) are skipped. */
export class ContentHashes {
  private readonly checksums: RunningChecksums;
  /** Bytes hashed so far, from offset 0. */
  hashedUpTo = 0;

  constructor(options: Required<ChecksumOptions> = { crc32c: true, md5: true }) {
    this.checksums = new RunningChecksums(options);
  }

  /** Feeds bytes starting at `offset`; only the part beyond what was already hashed counts. */
  feed(offset: number, data: Buffer): void {
    const end = offset + data.length;
    if (end <= this.hashedUpTo) return;
    if (offset > this.hashedUpTo) throw new RangeError(`checksum gap: bytes ${this.hashedUpTo}..${offset} were never hashed`);
    this.checksums.update(data.subarray(this.hashedUpTo - offset));
    this.hashedUpTo = end;
  }

  digest(): ObjectDigest {
    return this.checksums.digest();
  }
}

/** Content of fixed size that is all there from the start. */
abstract class SizedSource implements ReplaySource {
  readonly ended = true;
  readonly resting = true;
  readonly retainedFrom = 0;
  /** Checksums of what has been read, in order. */
  hashes: ContentHashes;

  constructor(
    readonly size: number,
    protected readonly checksums: Required<ChecksumOptions>,
  ) {
    this.hashes = new ContentHashes(checksums);
  }

  get available(): number {
    return this.size;
  }

  whenChanged(): Promise<void> {
    // Nothing ever changes: a caller waiting on a sized source has a bug, so never resolve it quietly.
    return Promise.reject(new RangeError('a sized source never changes'));
  }

  abstract read(from: number, to: number): AsyncIterable<Buffer> | Iterable<Buffer>;

  release(): void {
    // Every byte can be read again at any time.
  }

  digest(): ObjectDigest | undefined {
    return this.hashes.hashedUpTo === this.size ? this.hashes.digest() : undefined;
  }

  abstract checkEnd(): Promise<void>;

  allowSpill(): void {
    // Nothing is held, so nothing needs to spill.
  }

  async dispose(): Promise<void> {
    // The caller owns the file or the Buffer.
  }
}

/** A Buffer as a source: reads are views, nothing is copied. */
export class BufferSource extends SizedSource {
  constructor(
    readonly data: Buffer,
    checksums: Required<ChecksumOptions> = { crc32c: true, md5: true },
  ) {
    super(data.length, checksums);
  }

  *read(from: number, to: number): Generator<Buffer> {
    for (let at = from; at < to; at += PIECE) {
      const piece = this.data.subarray(at, Math.min(to, at + PIECE));
      this.hashes.feed(at, piece);
      yield piece;
    }
  }

  async checkEnd(): Promise<void> {
    if (this.data.length !== this.size) throw new SizeMismatchError('The Buffer', this.size, this.data.length);
  }

  /** Checksums of the whole Buffer, computed now (a simple upload sends them before the body). */
  digestAll(): ObjectDigest {
    this.hashes.feed(0, this.data);
    return this.hashes.digest();
  }
}

/** An open file as a source. Reads go to explicit positions, so the file position never matters. */
export class FileSource extends SizedSource {
  constructor(
    private readonly handle: FileHandle,
    size: number,
    private readonly label: string,
    checksums: Required<ChecksumOptions> = { crc32c: true, md5: true },
  ) {
    super(size, checksums);
  }

  /** Pieces of `[from, to)`, the next one read while the current one is being sent. */
  async *read(from: number, to: number): AsyncGenerator<Buffer> {
    let at = from;
    let next = at < to ? this.piece(at, Math.min(PIECE, to - at)) : undefined;
    while (next !== undefined) {
      const piece = await next;
      const pieceAt = at;
      at += piece.length;
      next = at < to ? this.piece(at, Math.min(PIECE, to - at)) : undefined;
      // A read that fails while the current piece is sent is reported when its turn comes.
      next?.catch(() => undefined);
      this.hashes.feed(pieceAt, piece);
      yield piece;
    }
  }

  async checkEnd(): Promise<void> {
    const { size } = await this.handle.stat();
    if (size !== this.size) throw new SizeMismatchError(`The file ${this.label} changed size during the upload`, this.size, size);
  }

  /** A fresh stream of the whole file, for a simple upload; checksums start over with each stream. */
  stream(): Readable {
    this.hashes = new ContentHashes(this.checksums);
    return Readable.from(this.wholeFile(), { objectMode: false });
  }

  private async *wholeFile(): AsyncGenerator<Buffer> {
    yield* this.read(0, this.size);
    await this.checkEnd();
  }

  /** A fresh Buffer each time: the socket may still hold the previous one while this one is read. */
  private async piece(offset: number, length: number): Promise<Buffer> {
    const target = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await this.handle.read(target, got, length - got, offset + got);
      if (bytesRead === 0) throw new SizeMismatchError(`The file ${this.label} changed size during the upload`, this.size, offset + got);
      got += bytesRead;
    }
    return target;
  }
}
