/**
 * Byte storage of the emulator: one file per temp upload (or nothing, in discard mode) plus a running MD5 and
 * CRC32C of the committed bytes. Writes are staged past the committed end and committed explicitly, so a request
 * can persist all, an aligned prefix, or none of what it carried.
 * @module
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, constants as fsConstants } from 'node:fs';
import { mkdtemp, open, rename, rm, truncate, readFile, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { crc32c } from '@node-rs/crc32';
import { CHUNK_ALIGNMENT } from '../upload/content-range.js';

/** Size and checksums of a byte sequence. */
export interface Digest {
  size: number;
  /** Base64 MD5. */
  md5: string;
  /** Base64 big-endian CRC32C. */
  crc32c: string;
  md5Hex: string;
}

interface HashState {
  size: number;
  md5: Hash;
  crc: number;
}

function freshState(): HashState {
  return { size: 0, md5: createHash('md5'), crc: 0 };
}

function copyState(state: HashState): HashState {
  return { size: state.size, md5: state.md5.copy(), crc: state.crc };
}

/** Encodes a CRC32C value the way GCS does: 4 bytes big-endian, base64. */
export function crc32cBase64(crc: number): string {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(crc >>> 0);
  return bytes.toString('base64');
}

/** Where the bytes of every temp upload live. */
export class ByteStore {
  private constructor(readonly dir: string | undefined) {}

  /** Creates the store; in disk mode makes a fresh temporary folder. */
  static async create(mode: 'disk' | 'discard'): Promise<ByteStore> {
    if (mode === 'discard') return new ByteStore(undefined);
    return new ByteStore(await mkdtemp(join(tmpdir(), 'redivis-emulator-')));
  }

  get keepsBytes(): boolean {
    return this.dir !== undefined;
  }

  /** A new, empty blob stored under `name` (a file name without separators). */
  blob(name: string): Blob {
    return new Blob(this.dir === undefined ? undefined : join(this.dir, `${name}.bin`));
  }

  /** Removes the temporary folder and everything in it. */
  async destroy(): Promise<void> {
    if (this.dir !== undefined) await rm(this.dir, { recursive: true, force: true });
  }
}

/** The committed bytes of one object, with their running checksums. */
export class Blob {
  private state: HashState = freshState();
  private onDisk = false;

  constructor(readonly path: string | undefined) {}

  /** Bytes committed. */
  get size(): number {
    return this.state.size;
  }

  /** Checksums of the committed bytes (the running hashes are copied, not consumed). */
  digest(): Digest {
    const md5 = this.state.md5.copy().digest();
    return { size: this.state.size, md5: md5.toString('base64'), md5Hex: md5.toString('hex'), crc32c: crc32cBase64(this.state.crc) };
  }

  /** Opens a writer that stages bytes from the committed end onward. Close it when done. */
  async writer(): Promise<BlobWriter> {
    let handle: FileHandle | undefined;
    if (this.path !== undefined) {
      handle = await open(this.path, fsConstants.O_RDWR | fsConstants.O_CREAT);
      this.onDisk = true;
    }
    return new BlobWriter(this, handle, copyState(this.state));
  }

  /** Forgets every committed byte. */
  async reset(): Promise<void> {
    this.state = freshState();
    if (this.path !== undefined && this.onDisk) await truncate(this.path, 0);
  }

  /** Takes over the bytes and checksums of `other` (which is left empty), as an overwrite does. */
  async replaceWith(other: Blob): Promise<void> {
    if (this.path !== undefined && other.path !== undefined) {
      if (other.onDisk) {
        await rename(other.path, this.path);
      } else {
        await truncate(this.path, 0).catch(() => undefined);
      }
      this.onDisk = other.onDisk;
      other.onDisk = false;
    }
    this.state = other.state;
    other.state = freshState();
  }

  /** The committed bytes. Throws in discard mode. */
  async read(): Promise<Buffer> {
    if (this.path === undefined) throw new Error('The emulator was started with storage "discard": no bytes are kept');
    if (!this.onDisk || this.state.size === 0) return Buffer.alloc(0);
    const bytes = await readFile(this.path);
    return bytes.subarray(0, this.state.size);
  }

  /** A stream of the committed bytes. Throws in discard mode. */
  stream(): NodeJS.ReadableStream {
    if (this.path === undefined) throw new Error('The emulator was started with storage "discard": no bytes are kept');
    if (!this.onDisk || this.state.size === 0) return Readable.from([]);
    return createReadStream(this.path, { start: 0, end: this.state.size - 1 });
  }

  /** @internal used by {@link BlobWriter}. */
  commitState(state: HashState): void {
    this.state = state;
  }
}

/**
 * Stages bytes after the blob's committed end. Keeps the checksums of everything staged, and a snapshot at the last
 * 256 KiB boundary so an interrupted request can commit an aligned prefix.
 */
export class BlobWriter {
  private staged: HashState;
  private aligned: HashState;
  private closed = false;

  constructor(
    private readonly blob: Blob,
    private readonly handle: FileHandle | undefined,
    start: HashState,
  ) {
    this.staged = start;
    this.aligned = copyState(start);
  }

  /** Absolute offset one past the last staged byte. */
  get offset(): number {
    return this.staged.size;
  }

  /** Appends bytes at {@link offset}. */
  async write(data: Buffer): Promise<void> {
    let rest = data;
    while (rest.length > 0) {
      const toBoundary = CHUNK_ALIGNMENT - (this.staged.size % CHUNK_ALIGNMENT);
      const piece = rest.length > toBoundary ? rest.subarray(0, toBoundary) : rest;
      if (this.handle !== undefined) {
        let written = 0;
        while (written < piece.length) {
          const { bytesWritten } = await this.handle.write(piece, written, piece.length - written, this.staged.size + written);
          written += bytesWritten;
        }
      }
      this.staged.md5.update(piece);
      this.staged.crc = crc32c(piece, this.staged.crc);
      this.staged.size += piece.length;
      if (this.staged.size % CHUNK_ALIGNMENT === 0) this.aligned = copyState(this.staged);
      rest = rest.subarray(piece.length);
    }
  }

  /** Digest of the blob's committed bytes followed by everything staged. */
  stagedDigest(): Digest {
    const md5 = this.staged.md5.copy().digest();
    return { size: this.staged.size, md5: md5.toString('base64'), md5Hex: md5.toString('hex'), crc32c: crc32cBase64(this.staged.crc) };
  }

  /** Commits everything staged. */
  commitAll(): void {
    this.blob.commitState(copyState(this.staged));
  }

  /** Commits up to the last 256 KiB boundary staged, if that is past the committed end. */
  commitAligned(): void {
    if (this.aligned.size > this.blob.size) this.blob.commitState(copyState(this.aligned));
  }

  /** Releases the file, dropping staged bytes that were not committed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.handle === undefined) return;
    try {
      if (this.staged.size > this.blob.size) await this.handle.truncate(this.blob.size);
    } finally {
      await this.handle.close();
    }
  }
}
