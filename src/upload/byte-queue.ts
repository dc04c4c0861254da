/**
 * The upload stream's only store of data: every byte from the server's persisted offset to the last byte the
 * source wrote, as a list of buffers. Its front is the replay buffer (the chunk in flight, resent after a failure),
 * its back the chunk that is filling. Taking a chunk hands out views of the stored buffers, never copies.
 * @module
 */

/** Writes below this many bytes are copied into a shared slab, so 1-byte writes do not cost a Buffer each. */
export const SMALL_WRITE_LIMIT = 4096;
const SLAB_SIZE = 65_536;

export class ByteQueue {
  private buffers: Buffer[] = [];
  private head = 0;
  private slab: Buffer | undefined;
  private slabUsed = 0;
  /** Whether the last stored buffer is a view of the slab ending at `slabUsed`, so small writes can extend it. */
  private tailIsSlab = false;
  private bytes = 0;
  private offset: number;

  /** @param startOffset the absolute offset of the first byte that will be pushed */
  constructor(startOffset = 0) {
    this.offset = startOffset;
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

  /** Moves the start of an empty queue forward, e.g. past bytes the server holds from an earlier run. */
  rebase(offset: number): void {
    if (this.bytes !== 0 || offset < this.offset) {
      throw new RangeError(`Cannot rebase a queue holding ${this.bytes} bytes at ${this.offset} to ${offset}`);
    }
    this.offset = offset;
  }

  /** Appends a buffer: referenced when large, copied into a slab when small. */
  push(data: Buffer): void {
    const size = data.length;
    if (size === 0) return;
    this.bytes += size;
    if (size >= SMALL_WRITE_LIMIT) {
      this.buffers.push(data);
      this.tailIsSlab = false;
      return;
    }
    if (this.slab === undefined || this.slabUsed + size > this.slab.length) {
      this.slab = Buffer.allocUnsafe(SLAB_SIZE);
      this.slabUsed = 0;
      this.tailIsSlab = false;
    }
    const slab = this.slab;
    data.copy(slab, this.slabUsed);
    if (this.tailIsSlab) {
      const tail = this.buffers[this.buffers.length - 1]!;
      this.buffers[this.buffers.length - 1] = slab.subarray(tail.byteOffset - slab.byteOffset, this.slabUsed + size);
    } else {
      this.buffers.push(slab.subarray(this.slabUsed, this.slabUsed + size));
      this.tailIsSlab = true;
    }
    this.slabUsed += size;
  }

  /** Views of the first `length` bytes held, in order. The views stay valid after later pushes and drops. */
  peek(length: number): Buffer[] {
    if (length > this.bytes || length < 0) {
      throw new RangeError(`Cannot take ${length} bytes from a queue holding ${this.bytes}`);
    }
    const views: Buffer[] = [];
    let remaining = length;
    for (let i = this.head; remaining > 0; i++) {
      const buffer = this.buffers[i]!;
      if (buffer.length <= remaining) {
        views.push(buffer);
        remaining -= buffer.length;
      } else {
        views.push(buffer.subarray(0, remaining));
        remaining = 0;
      }
    }
    return views;
  }

  /** Forgets the first `length` bytes (they are persisted on the server). */
  drop(length: number): void {
    if (length > this.bytes || length < 0) {
      throw new RangeError(`Cannot drop ${length} bytes from a queue holding ${this.bytes}`);
    }
    this.bytes -= length;
    this.offset += length;
    let remaining = length;
    while (remaining > 0) {
      const buffer = this.buffers[this.head]!;
      if (buffer.length <= remaining) {
        remaining -= buffer.length;
        this.buffers[this.head] = EMPTY;
        this.head += 1;
      } else {
        this.buffers[this.head] = buffer.subarray(remaining);
        remaining = 0;
      }
    }
    if (this.head === this.buffers.length) {
      this.buffers = [];
      this.head = 0;
      this.tailIsSlab = false;
    } else if (this.head > 1024 && this.head * 2 > this.buffers.length) {
      // Compacting only now and then keeps drop() amortised O(1) per buffer.
      this.buffers = this.buffers.slice(this.head);
      this.head = 0;
    }
  }
}

const EMPTY = Buffer.alloc(0);
