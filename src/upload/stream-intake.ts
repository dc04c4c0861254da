/**
 * What the upload stream has received from its source: the bytes still held (a {@link ByteQueue} whose start is
 * the server's persisted offset), how many arrived, the bytes still to skip because the server already holds them,
 * and the running checksums.
 * @module
 */
import { ByteQueue, DEFAULT_SLAB_SIZE } from './byte-queue.js';
import { RunningChecksums, type ChecksumOptions } from './checksums.js';

export class StreamIntake {
  readonly queue: ByteQueue;
  /** Checksums of the whole object; only possible when the source starts at byte 0. */
  readonly checksums: RunningChecksums | undefined;
  private written = 0;
  private skip = 0;
  private peak = 0;

  /** @param sourceStart absolute offset of the first byte the source writes */
  constructor(private readonly sourceStart: number, chunkSize: number, checksums: Required<ChecksumOptions>) {
    const slabSize = Math.min(DEFAULT_SLAB_SIZE, chunkSize);
    // Enough free slabs to cover the two chunks the stream may hold, so a warm upload allocates nothing.
    this.queue = new ByteQueue(sourceStart, { slabSize, maxPooledSlabs: Math.ceil((2 * chunkSize) / slabSize) + 1 });
    this.checksums = sourceStart === 0 && (checksums.crc32c || checksums.md5) ? new RunningChecksums(checksums) : undefined;
  }

  /** Absolute offset one past the last byte the source has written. */
  get sourceEnd(): number {
    return this.sourceStart + this.written;
  }

  /** The most bytes held at once so far. */
  get peakHeld(): number {
    return this.peak;
  }

  /** Whether the source still owes bytes that the server already holds (it ended too early if so). */
  get skipping(): boolean {
    return this.skip > 0;
  }

  accept(chunk: Buffer): void {
    this.written += chunk.length;
    this.checksums?.update(chunk);
    let data = chunk;
    if (this.skip > 0) {
      const skipped = Math.min(this.skip, data.length);
      this.skip -= skipped;
      data = data.subarray(skipped);
    }
    this.queue.push(data);
    if (this.queue.length > this.peak) this.peak = this.queue.length;
  }

  /** The server already holds bytes up to `persisted`: drop what has arrived of them and skip the rest. */
  skipTo(persisted: number): void {
    const held = Math.min(persisted - this.queue.start, this.queue.length);
    this.queue.drop(held);
    this.skip = persisted - this.queue.start;
    if (this.skip > 0) this.queue.rebase(persisted);
  }
}
