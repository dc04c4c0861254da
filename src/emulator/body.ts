/**
 * Pull-based reading of a request body, with an optional byte limit (a fault that acts after K bytes) and a count
 * of what was consumed for the request log.
 * @module
 */
import type { IncomingMessage } from 'node:http';

export class BodyReader {
  private readonly iterator: AsyncIterator<Buffer>;
  private leftover: Buffer | undefined;
  private ended = false;
  /** Bytes handed out or drained so far. */
  consumed = 0;

  constructor(
    req: IncomingMessage,
    private readonly onConsumed: (total: number) => void,
    /** Stop handing out bytes after this many (the rest can still be drained). */
    private readonly limit?: number,
  ) {
    this.iterator = req[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /** Whether the limit stopped reading before the body ended. */
  get stoppedAtLimit(): boolean {
    return this.limit !== undefined && this.consumed >= this.limit && !this.ended;
  }

  private async pull(): Promise<Buffer | undefined> {
    if (this.leftover !== undefined) {
      const piece = this.leftover;
      this.leftover = undefined;
      return piece;
    }
    if (this.ended) return undefined;
    const { value, done } = await this.iterator.next();
    if (done) {
      this.ended = true;
      return undefined;
    }
    return Buffer.isBuffer(value) ? value : Buffer.from(value as Uint8Array);
  }

  /** The next piece of the body, or undefined at its end or at the limit. Rejects when the connection fails. */
  async next(): Promise<Buffer | undefined> {
    const room = this.limit === undefined ? Infinity : this.limit - this.consumed;
    if (room <= 0) return undefined;
    let piece = await this.pull();
    if (piece === undefined) return undefined;
    if (piece.length > room) {
      this.leftover = piece.subarray(room);
      piece = piece.subarray(0, room);
    }
    this.consumed += piece.length;
    this.onConsumed(this.consumed);
    return piece;
  }

  /** Reads and discards the rest of the body, ignoring the limit. Resolves false when the connection failed. */
  async drain(): Promise<boolean> {
    try {
      for (;;) {
        const piece = await this.pull();
        if (piece === undefined) return true;
        this.consumed += piece.length;
        this.onConsumed(this.consumed);
      }
    } catch {
      return false;
    }
  }
}
