/**
 * The upload stream's replay buffer: every byte from the server's persisted offset to the last byte the source
 * wrote, in slabs that live in memory or, once the memory limit is reached and the driver has measured that bigger
 * requests pay off, in a temp file. A request reads views of memory slabs (never a copy) and fresh reads of spilled
 * ones.
 *
 * Writes are copied once into recycled 1 MiB slabs: the source's buffers then die young. Holding references to
 * hundreds of small source buffers per request instead kept them alive into the old generation and cost more in
 * garbage collection than the copy does.
 *
 * Bounds: memory holds at most `memoryLimit` plus one slab per pending disk write (at most 4) plus the largest
 * single write; the file holds at most the allowance the driver gives, never more than `spill.maxBytes`.
 * @module
 */
import { debuglog } from 'node:util';
import { SpillError } from '../errors.js';
import { RunningChecksums, type ChecksumOptions } from './checksums.js';
import type { ObjectDigest, ReplaySource } from './replay-source.js';
import { SpillFile } from './spill-file.js';

const debug = debuglog('redivis-upload');

/** Large enough that a request is a handful of buffers, small enough to waste little. */
export const SLAB_SIZE = 1024 * 1024;
/** Disk writes under way at once; more make the writer wait. */
const MAX_PENDING_WRITES = 4;

export interface ReplayBufferOptions {
  /** Absolute offset of the first byte the source writes. */
  startOffset: number;
  /** Bytes held in memory before spilling (or, without a spill, before writes wait). */
  memoryLimit: number;
  /** Where and how much may be spilled; undefined: never. */
  spill: { directory: string; maxBytes: number } | undefined;
  checksums: Required<ChecksumOptions>;
  /** Called whenever room may have been freed: a write that found the buffer {@link ReplayBuffer.full} may go on. */
  onRoom: () => void;
  slabSize?: number;
}

interface Slab {
  /** Absolute offset of its first byte. */
  from: number;
  /** Bytes stored in it. */
  length: number;
  /** Its bytes; undefined once they are only on disk. */
  memory: Buffer | undefined;
  /** Ring position in the spill file, once space was taken there (given back when the slab is released). */
  diskAt: number | undefined;
  /** Counted as held on disk: its bytes are, or are being, written there. */
  spilled: boolean;
  /** A request was given views of it: it stays in memory until released. */
  pinned: boolean;
}

export class ReplayBuffer implements ReplaySource {
  private slabs: Slab[] = [];
  private head = 0;
  private readonly pool: Buffer[] = [];
  private readonly slabSize: number;
  private readonly checksums: RunningChecksums | undefined;
  private retained: number;
  private position: number;
  private isEnded = false;
  private memoryHeld = 0;
  private memoryPeak = 0;
  private diskHeld = 0;
  private diskPeak = 0;
  private allowance = 0;
  private spillBroken = false;
  private spill: SpillFile | undefined;
  private spillOpening: Promise<SpillFile | undefined> | undefined;
  private readonly pendingWrites = new Set<Promise<void>>();
  private waiters: Array<() => void> = [];
  private disposed = false;

  constructor(private readonly options: ReplayBufferOptions) {
    this.slabSize = options.slabSize ?? SLAB_SIZE;
    this.retained = options.startOffset;
    this.position = options.startOffset;
    const { crc32c, md5 } = options.checksums;
    this.checksums = options.startOffset === 0 && (crc32c || md5) ? new RunningChecksums(options.checksums) : undefined;
  }

  get retainedFrom(): number {
    return this.retained;
  }

  get available(): number {
    return this.position;
  }

  get ended(): boolean {
    return this.isEnded;
  }

  /** Bytes held in memory now: the memory gauge. */
  get memoryBytes(): number {
    return this.memoryHeld;
  }

  /** The most bytes held in memory at once. */
  get peakMemoryBytes(): number {
    return this.memoryPeak;
  }

  /** Bytes held in the spill file now. */
  get diskBytes(): number {
    return this.diskHeld;
  }

  /** The most bytes held in the spill file at once. */
  get peakDiskBytes(): number {
    return this.diskPeak;
  }

  get resting(): boolean {
    return this.isEnded || this.full;
  }

  /** Whether a write should wait: memory is at its limit and nothing more may go to disk. */
  get full(): boolean {
    return this.memoryHeld >= this.options.memoryLimit && !this.canSpill();
  }

  /** Appends the source's next bytes (copied); bytes the server already holds are only counted and hashed. */
  push(data: Buffer): void {
    this.checksums?.update(data);
    let piece = data;
    if (this.position < this.retained) {
      const skipped = Math.min(piece.length, this.retained - this.position);
      this.position += skipped;
      piece = piece.subarray(skipped);
    }
    let copied = 0;
    while (copied < piece.length) {
      let slab = this.slabs.length > this.head ? this.slabs[this.slabs.length - 1]! : undefined;
      if (slab === undefined || slab.memory === undefined || slab.length === this.slabSize || slab.from + slab.length !== this.position) {
        slab = { from: this.position, length: 0, memory: this.pool.pop() ?? Buffer.allocUnsafeSlow(this.slabSize), diskAt: undefined, spilled: false, pinned: false };
        this.slabs.push(slab);
      }
      const count = Math.min(piece.length - copied, this.slabSize - slab.length);
      slab.memory!.set(count === piece.length ? piece : piece.subarray(copied, copied + count), slab.length);
      slab.length += count;
      copied += count;
      this.position += count;
      this.memoryHeld += count;
      if (slab.length === this.slabSize) this.considerSpilling(slab);
    }
    if (this.memoryHeld > this.memoryPeak) this.memoryPeak = this.memoryHeld;
    this.changed();
  }

  /** The source has ended. */
  end(): void {
    this.isEnded = true;
    this.changed();
  }

  whenChanged(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private changed(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  allowSpill(bytes: number): void {
    const limit = this.options.spill?.maxBytes ?? 0;
    const allowance = Math.min(Math.max(0, bytes), limit);
    if (allowance === this.allowance) return;
    this.allowance = allowance;
    this.options.onRoom();
  }

  private canSpill(): boolean {
    return (
      !this.spillBroken &&
      this.pendingWrites.size < MAX_PENDING_WRITES &&
      this.diskHeld + this.slabSize <= this.allowance
    );
  }

  private considerSpilling(slab: Slab): void {
    if (this.memoryHeld <= this.options.memoryLimit || slab.pinned || !this.canSpill()) return;
    slab.spilled = true;
    this.diskHeld += this.retainedIn(slab);
    if (this.diskHeld > this.diskPeak) this.diskPeak = this.diskHeld;
    const write = this.writeOut(slab).finally(() => {
      this.pendingWrites.delete(write);
      this.options.onRoom();
    });
    this.pendingWrites.add(write);
  }

  private async openSpill(): Promise<SpillFile | undefined> {
    const spill = this.options.spill!;
    this.spillOpening ??= SpillFile.create(spill.directory, spill.maxBytes).then(
      (file) => {
        if (this.disposed) {
          void file.close();
          return undefined;
        }
        this.spill = file;
        return file;
      },
      (error: unknown) => {
        debug('the spill file could not be created in %s: %s', spill.directory, (error as Error).message);
        return undefined;
      },
    );
    return this.spillOpening;
  }

  /** Copies a full slab to disk and frees its memory, unless a request has pinned it meanwhile. */
  private async writeOut(slab: Slab): Promise<void> {
    const file = await this.openSpill();
    const position = file?.take(slab.length);
    if (file === undefined || position === undefined) return this.keepInMemory(slab);
    slab.diskAt = position;
    try {
      await file.write(slab.memory!.subarray(0, slab.length), position);
    } catch (error) {
      debug('writing the spill file failed, keeping the rest in memory: %s', (error as Error).message);
      return this.keepInMemory(slab);
    }
    if (slab.pinned || slab.memory === undefined || this.disposed || slab.from + slab.length <= this.retained) return;
    this.recycle(slab.memory);
    slab.memory = undefined;
    this.memoryHeld -= this.retainedIn(slab);
  }

  /** Bytes of `slab` not yet released. */
  private retainedIn(slab: Slab): number {
    return Math.max(0, slab.from + slab.length - Math.max(slab.from, this.retained));
  }

  /** A slab that could not go to disk stays in memory, and so does everything after it. */
  private keepInMemory(slab: Slab): void {
    this.spillBroken = true;
    if (slab.spilled) this.diskHeld -= this.retainedIn(slab);
    slab.spilled = false;
  }

  read(from: number, to: number): AsyncIterable<Buffer> {
    if (from < this.retained || to > this.position || from > to) {
      throw new RangeError(`cannot read bytes ${from}..${to} of a buffer holding ${this.retained}..${this.position}`);
    }
    return this.pieces(from, to);
  }

  private async *pieces(from: number, to: number): AsyncGenerator<Buffer> {
    let at = from;
    let index = this.indexOf(from);
    while (at < to) {
      const slab = this.slabs[index++];
      if (slab === undefined || slab.from > at) throw new SpillError(`byte ${at} is no longer held`);
      const end = Math.min(to, slab.from + slab.length);
      if (slab.memory !== undefined) {
        slab.pinned = true;
        yield slab.memory.subarray(at - slab.from, end - slab.from);
      } else {
        yield await this.readBack(slab, at, end);
      }
      at = end;
    }
  }

  private async readBack(slab: Slab, from: number, to: number): Promise<Buffer> {
    try {
      return await this.spill!.read(slab.diskAt! + (from - slab.from), to - from);
    } catch (error) {
      throw new SpillError(`reading bytes ${from}..${to} back from the spill file failed: ${(error as Error).message}`, { cause: error });
    }
  }

  private indexOf(offset: number): number {
    let low = this.head;
    let high = this.slabs.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.slabs[middle]!.from <= offset) low = middle;
      else high = middle - 1;
    }
    return low;
  }

  release(offset: number): void {
    if (offset <= this.retained) return;
    const before = this.retained;
    this.retained = offset;
    while (this.head < this.slabs.length) {
      const slab = this.slabs[this.head]!;
      const end = slab.from + slab.length;
      const released = Math.min(end, offset) - Math.max(slab.from, before);
      if (released > 0) {
        if (slab.memory !== undefined) this.memoryHeld -= released;
        if (slab.spilled) this.diskHeld -= released;
      }
      if (end > offset) break;
      this.drop(slab);
      this.slabs[this.head] = undefined as unknown as Slab;
      this.head += 1;
    }
    if (this.head === this.slabs.length) {
      this.slabs = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.slabs.length) {
      this.slabs = this.slabs.slice(this.head);
      this.head = 0;
    }
    this.options.onRoom();
  }

  /** Frees a slab whose bytes are all released (and no longer counted). */
  private drop(slab: Slab): void {
    if (slab.memory !== undefined) this.recycle(slab.memory);
    slab.memory = undefined;
    if (slab.diskAt !== undefined) this.spill?.giveBack(slab.length);
    slab.spilled = false;
  }

  private recycle(memory: Buffer): void {
    // Enough to cover the memory limit, so a warm upload allocates nothing.
    if (this.pool.length * this.slabSize < this.options.memoryLimit + this.slabSize) this.pool.push(memory);
  }

  digest(): ObjectDigest | undefined {
    if (this.checksums === undefined || !this.isEnded) return undefined;
    return this.checksums.digest();
  }

  async checkEnd(): Promise<void> {
    // Everything the buffer holds was checked on the way in.
  }

  /** Resolves once every disk write under way has finished. */
  async written(): Promise<void> {
    while (this.pendingWrites.size > 0) await Promise.all(this.pendingWrites);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.written();
    this.slabs = [];
    this.head = 0;
    this.pool.length = 0;
    this.memoryHeld = 0;
    this.changed();
    const file = this.spill ?? (await this.spillOpening);
    await file?.close();
  }
}
