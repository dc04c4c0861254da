/**
 * The replay buffer's overflow on disk: one temp file used as a ring of fixed capacity. Space is taken in the
 * order bytes arrive and given back in the same order once the server has persisted them, so the file never
 * grows past its capacity however long the upload runs.
 *
 * The file is unlinked as soon as it is open, so it disappears with the process however that ends (a crash or a
 * signal included); where the platform refuses that (Windows), it is removed on close and at process exit.
 * @module
 */
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { unlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

/** Files that could not be unlinked while open, removed at exit if still there. */
const leftAtExit = new Set<string>();
let exitHookInstalled = false;

function removeAtExit(path: string): void {
  leftAtExit.add(path);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const file of leftAtExit) {
      try {
        unlinkSync(file);
      } catch {
        // Already gone, or the platform still holds it: nothing more can be done at exit.
      }
    }
  });
}

export class SpillFile {
  /** Total bytes ever taken; a position in the ring is this modulo the capacity. */
  private taken = 0;
  /** Total bytes ever given back. */
  private returned = 0;

  private constructor(
    private readonly handle: FileHandle,
    private readonly path: string | undefined,
    readonly capacity: number,
  ) {}

  /** Creates the file (readable by this user only) in `directory`. Rejects as `open` does. */
  static async create(directory: string, capacity: number): Promise<SpillFile> {
    const path = join(directory, `redivis-upload-${process.pid}-${randomBytes(6).toString('hex')}.spill`);
    const handle = await open(path, 'wx+', 0o600);
    try {
      await unlink(path);
      return new SpillFile(handle, undefined, capacity);
    } catch {
      removeAtExit(path);
      return new SpillFile(handle, path, capacity);
    }
  }

  /** Bytes taken and not yet given back. */
  get used(): number {
    return this.taken - this.returned;
  }

  /** Takes `length` bytes of the ring; their position, or undefined when the ring lacks room. */
  take(length: number): number | undefined {
    if (this.used + length > this.capacity) return undefined;
    const position = this.taken;
    this.taken += length;
    return position;
  }

  /** Gives back the `length` oldest bytes taken. */
  giveBack(length: number): void {
    this.returned = Math.min(this.taken, this.returned + length);
  }

  /** Writes `data` at ring position `position` (as returned by {@link take}). */
  async write(data: Buffer, position: number): Promise<void> {
    for (const [offset, fileAt, length] of this.pieces(position, data.length)) {
      let done = 0;
      while (done < length) {
        const { bytesWritten } = await this.handle.write(data, offset + done, length - done, fileAt + done);
        done += bytesWritten;
      }
    }
  }

  /** Reads `length` bytes at ring position `position` into a fresh Buffer. */
  async read(position: number, length: number): Promise<Buffer> {
    const target = Buffer.allocUnsafe(length);
    for (const [offset, fileAt, pieceLength] of this.pieces(position, length)) {
      let done = 0;
      while (done < pieceLength) {
        const { bytesRead } = await this.handle.read(target, offset + done, pieceLength - done, fileAt + done);
        if (bytesRead === 0) throw new Error(`the spill file ends before byte ${fileAt + done}`);
        done += bytesRead;
      }
    }
    return target;
  }

  /** `[offsetInData, positionInFile, length]` of the one or two runs a ring range occupies in the file. */
  private pieces(position: number, length: number): Array<[number, number, number]> {
    const at = position % this.capacity;
    const first = Math.min(length, this.capacity - at);
    return first === length ? [[0, at, length]] : [[0, at, first], [first, 0, length - first]];
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    if (this.path !== undefined) {
      await unlink(this.path).catch(() => undefined);
      leftAtExit.delete(this.path);
    }
  }
}
