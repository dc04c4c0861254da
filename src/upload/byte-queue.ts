/**
 * The upload stream's only store of data: every byte from the server's persisted offset to the last byte the
 * source wrote. Its front is the replay buffer (the chunk in flight, resent after a failure), its back the chunk
 * that is filling. Taking a chunk hands out views of the stored memory, never copies.
 *
 * Writes are copied once into slabs that are recycled as soon as the server has persisted every byte of them. The
 * source's buffers then die young, and the queue allocates nothing once warm: holding references to a few hundred
 * source buffers per chunk instead kept them alive into the old generation and cost more in garbage collection
 * than the copy costs.
 * @module
 */

/** Default slab size: large enough that a chunk is a handful of buffers, small enough to waste little. */
export const DEFAULT_SLAB_SIZE = 1024 * 1024;

export interface ByteQueueOptions {
  /**
   * Bytes per slab.
   * @default 1048576
   */
  slabSize?: number;
  /**
   * Free slabs kept for reuse; more are left to the garbage collector.
   * @default 16
   */
  maxPooledSlabs?: number;
}

export class ByteQueue {
  /** Views of the slabs, in order; each slab has exactly one view here until it is recycled. */
  private views: Buffer[] = [];
  /** The slab behind each view. */
  private slabs: Buffer[] = [];
  private head = 0;
  private current: Buffer | undefined;
  private currentUsed = 0;
  private readonly free: Buffer[] = [];
  private readonly slabSize: number;
  private readonly maxPooled: number;
  private bytes = 0;
  private offset: number;
  private allocated = 0;

  /** @param startOffset the absolute offset of the first byte that will be pushed */
  constructor(startOffset = 0, options: ByteQueueOptions = {}) {
    this.offset = startOffset;
    this.slabSize = options.slabSize ?? DEFAULT_SLAB_SIZE;
    this.maxPooled = options.maxPooledSlabs ?? 16;
  }

  /** Bytes held. */
  get length(): number {
    return this.bytes;
  }

  /** Absolute offset of the first byte held. */
  get start(): number {
    return this.offset;
  }

  /** Absolute offset one past the last byte held. */
  get end(): number {
    return this.offset + this.bytes;
  }

  /** Slabs allocated so far (reused ones are not counted again): flat once the queue is warm. */
  get slabsAllocated(): number {
    return this.allocated;
  }

  /** Moves the start of an empty queue forward, e.g. past bytes the server holds from an earlier run. */
  rebase(offset: number): void {
    if (this.bytes !== 0 || offset < this.offset) {
      throw new RangeError(`Cannot rebase a queue holding ${this.bytes} bytes at ${this.offset} to ${offset}`);
    }
    this.offset = offset;
  }

  /** Appends a copy of `data`. */
  push(data: Uint8Array): void {
    let copied = 0;
    while (copied < data.length) {
      if (this.current === undefined || this.currentUsed === this.current.length) this.startSlab();
      const slab = this.current!;
      const count = Math.min(data.length - copied, slab.length - this.currentUsed);
      slab.set(copied === 0 && count === data.length ? data : data.subarray(copied, copied + count), this.currentUsed);
      const last = this.views.length - 1;
      if (last >= this.head && this.slabs[last] === slab) {
        const tail = this.views[last]!;
        this.views[last] = slab.subarray(tail.byteOffset - slab.byteOffset, this.currentUsed + count);
      } else {
        this.views.push(slab.subarray(this.currentUsed, this.currentUsed + count));
        this.slabs.push(slab);
      }
      this.currentUsed += count;
      copied += count;
    }
    this.bytes += data.length;
  }

  /** Views of the first `length` bytes held, in order. They stay valid until those bytes are dropped. */
  peek(length: number): Buffer[] {
    if (length > this.bytes || length < 0) {
      throw new RangeError(`Cannot take ${length} bytes from a queue holding ${this.bytes}`);
    }
    const taken: Buffer[] = [];
    let remaining = length;
    for (let i = this.head; remaining > 0; i++) {
      const view = this.views[i]!;
      if (view.length <= remaining) {
        taken.push(view);
        remaining -= view.length;
      } else {
        taken.push(view.subarray(0, remaining));
        remaining = 0;
      }
    }
    return taken;
  }

  /** Forgets the first `length` bytes (they are persisted on the server); slabs emptied by it are recycled. */
  drop(length: number): void {
    if (length > this.bytes || length < 0) {
      throw new RangeError(`Cannot drop ${length} bytes from a queue holding ${this.bytes}`);
    }
    this.bytes -= length;
    this.offset += length;
    let remaining = length;
    while (remaining > 0) {
      const view = this.views[this.head]!;
      if (view.length <= remaining) {
        remaining -= view.length;
        this.release(this.slabs[this.head]!);
        this.views[this.head] = EMPTY;
        this.slabs[this.head] = EMPTY;
        this.head += 1;
      } else {
        this.views[this.head] = view.subarray(remaining);
        remaining = 0;
      }
    }
    if (this.head === this.views.length) {
      this.views = [];
      this.slabs = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.views.length) {
      // Compacting only now and then keeps drop() amortised O(1) per view.
      this.views = this.views.slice(this.head);
      this.slabs = this.slabs.slice(this.head);
      this.head = 0;
    }
  }

  private startSlab(): void {
    const reused = this.free.pop();
    if (reused === undefined) this.allocated += 1;
    this.current = reused ?? Buffer.allocUnsafeSlow(this.slabSize);
    this.currentUsed = 0;
  }

  private release(slab: Buffer): void {
    if (slab === this.current) {
      // The slab still being filled stays in use; once full it is free as soon as its last view is dropped.
      if (this.currentUsed < slab.length) return;
      this.current = undefined;
    }
    if (this.free.length < this.maxPooled) this.free.push(slab);
  }
}

const EMPTY = Buffer.alloc(0);
