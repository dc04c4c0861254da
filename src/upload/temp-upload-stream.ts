/**
 * `createTempUploadStream()`: a Writable that uploads data of unknown length through the resumable protocol. It is
 * a thin adapter: writes go into a {@link ReplayBuffer}, and one {@link SessionDriver} sends from it.
 * @module
 */
import { Writable } from 'node:stream';
import { AbortError, InvalidArgumentError, RedivisUploadError, SizeMismatchError } from '../errors.js';
import { defaultUserAgent } from '../client/user-agent.js';
import type { EventNameOf, ListenerOf } from '../util/typed-events.js';
import { ReplayBuffer, SLAB_SIZE } from './replay-buffer.js';
import { SessionDriver, type DriverOptions } from './session-driver.js';
import type { SessionContext } from './session.js';
import {
  resolveStreamOptions,
  type ResolvedStreamOptions,
  type TempUploadResult,
  type TempUploadStreamOptions,
  type UploadProgress,
  type UploadRetry,
} from './stream-options.js';

export type { TempUploadResult, UploadProgress, UploadRetry } from './stream-options.js';

/** The completion callback Node passes to a Writable's implementation hooks. */
type Callback = (error?: Error | null) => void;

/** The stream's own events and their payloads. */
export interface TempUploadStreamEvents {
  /** The session exists (or was joined): keep the URL to resume after a crash. */
  session: [sessionUrl: string];
  /** The server confirmed more bytes (and once at completion). */
  progress: [progress: UploadProgress];
  /** A request failed and will be tried again after `delayMs`. */
  retry: [retry: UploadRetry];
}

/** Every event name of {@link TempUploadStream}. */
export type TempUploadStreamEventName = EventNameOf<TempUploadStreamEvents>;

/** The listener of an event of {@link TempUploadStream}. */
export type TempUploadStreamListener<K extends TempUploadStreamEventName> = ListenerOf<TempUploadStreamEvents, K>;

// Typed events: a misspelt event name or a wrong payload type is a compile error.
export interface TempUploadStream {
  on<K extends TempUploadStreamEventName>(event: K, listener: ListenerOf<TempUploadStreamEvents, K>): this;
  once<K extends TempUploadStreamEventName>(event: K, listener: ListenerOf<TempUploadStreamEvents, K>): this;
  addListener<K extends TempUploadStreamEventName>(event: K, listener: ListenerOf<TempUploadStreamEvents, K>): this;
  prependListener<K extends TempUploadStreamEventName>(event: K, listener: ListenerOf<TempUploadStreamEvents, K>): this;
  prependOnceListener<K extends TempUploadStreamEventName>(event: K, listener: ListenerOf<TempUploadStreamEvents, K>): this;
  off<K extends TempUploadStreamEventName>(event: K, listener: ListenerOf<TempUploadStreamEvents, K>): this;
  removeListener<K extends TempUploadStreamEventName>(event: K, listener: ListenerOf<TempUploadStreamEvents, K>): this;
}

/**
 * Bytes taken in between two turns the stream gives the event loop. A source that is always ready writes from one
 * `process.nextTick` to the next, and Node runs those before any promise or I/O: without a turn, the requests that
 * send the bytes would wait until memory is full, so filling and sending would take turns instead of overlapping.
 * Measured on loopback (1 GiB, 64 KiB writes, 4 to 6 runs each), as a share of a plain PUT's throughput: a turn
 * every 1 MiB gave 0.76–0.90, every 2 MiB 0.84–0.93, every 4 MiB 0.73–0.89, no turn at all 0.63–0.68.
 */
const TURN_EVERY_BYTES = 2 * 1024 * 1024;

/** Errors thrown by the stream's own listeners: they end the stream but never cancel its session. */
const listenerErrors = new WeakSet<object>();

/**
 * A Writable that streams into a Redivis temp upload. Events: `session`, `progress`, `retry` (see
 * {@link TempUploadStreamEvents}) and the usual `finish`/`error`/`close`.
 *
 * Memory bound: the bytes held in memory ({@link TempUploadStream.bufferedBytes}) stay below `memoryLimit` plus
 * 4 MiB of pending disk writes plus the largest single write; Node buffers at most `highWaterMark` more in front.
 * On disk the stream holds at most `spill.maxBytes`, and only when the measured link makes larger requests pay.
 *
 * Destroying the stream before it finishes cancels the session (best effort) when the cause is an abort,
 * `destroy()` without an error, an error that is not from this library (a failing source), or a data error (the
 * source's size, data the server lost). Network and server failures, and a listener that throws, leave the session
 * open, so the upload can be resumed from {@link sessionUrl}.
 */
export class TempUploadStream extends Writable {
  /** The session URL, as soon as the session exists. Keep it to resume after a crash. */
  sessionUrl: string | undefined;
  /** The temp upload's id when the stream created it (or was told it). Keep it with the session URL. */
  tempUploadId: string | undefined;
  /** Set once the stream has finished: what the server stored. */
  result: TempUploadResult | undefined;

  private readonly options: ResolvedStreamOptions;
  private readonly buffer: ReplayBuffer;
  private readonly abortController = new AbortController();
  private readonly startOffset: number;
  private run: Promise<void> | undefined;
  private driver: SessionDriver | undefined;
  private failure: Error | undefined;
  private heldWrite: Callback | undefined;
  /** What the buffer had taken when the stream last let the event loop run. */
  private takenAtLastTurn = 0;
  private finalCallback: Callback | undefined;
  private readonly detachSignal: (() => void) | undefined;

  constructor(options: TempUploadStreamOptions) {
    const resolved = resolveStreamOptions(options);
    super({ highWaterMark: resolved.highWaterMark, decodeStrings: true });
    this.options = resolved;
    const { target } = resolved;
    this.startOffset = target.kind === 'session' ? target.offset : 0;
    if (target.kind === 'session') {
      this.sessionUrl = target.sessionUrl;
      this.tempUploadId = target.tempUploadId;
    }
    this.buffer = new ReplayBuffer({
      startOffset: this.startOffset,
      memoryLimit: resolved.memoryLimit,
      spill: resolved.spill,
      checksums: resolved.checksums,
      // Small chunks get small slabs, so a small memory limit is not rounded up to whole MiB.
      slabSize: Math.min(SLAB_SIZE, resolved.chunkSize),
      onRoom: () => this.releaseWrite(),
    });

    const signal = resolved.signal;
    if (signal) {
      const onAbort = () => this.destroy(new AbortError('The upload was aborted', { cause: signal.reason }));
      if (signal.aborted) queueMicrotask(onAbort);
      else signal.addEventListener('abort', onAbort, { once: true });
      this.detachSignal = () => signal.removeEventListener('abort', onAbort);
    }
  }

  /** Bytes currently held in memory (in flight plus filling): the memory gauge. */
  get bufferedBytes(): number {
    return this.buffer.memoryBytes;
  }

  /** The most bytes held in memory at once so far. */
  get peakBufferedBytes(): number {
    return this.buffer.peakMemoryBytes;
  }

  /** Bytes currently held in the spill file. */
  get spilledBytes(): number {
    return this.buffer.diskBytes;
  }

  /** The most bytes held in the spill file at once so far. */
  get peakSpilledBytes(): number {
    return this.buffer.peakDiskBytes;
  }

  /**
   * Refuses anything but bytes before Node sees it: an object written to a byte stream would otherwise throw
   * inside the writer's `pipe()`, out of reach of the caller's `try`/`catch` and of `pipeline()`.
   */
  override write(chunk: unknown, callback?: (error: Error | null | undefined) => void): boolean;
  override write(chunk: unknown, encoding: BufferEncoding, callback?: (error: Error | null | undefined) => void): boolean;
  override write(chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    if (typeof chunk !== 'string' && !ArrayBuffer.isView(chunk)) {
      const error = new InvalidArgumentError('chunk', 'a Buffer, a typed array, a DataView or a string (the stream uploads bytes: serialise objects first)', chunk);
      this.destroy(error);
      const done = typeof encoding === 'function' ? encoding : callback;
      if (typeof done === 'function') process.nextTick(done as Callback, error);
      return false;
    }
    return super.write(chunk, encoding as BufferEncoding, callback as Callback);
  }

  /** @internal */
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: Callback): void {
    const refused = this.accept(chunk);
    if (refused) callback(refused);
    else this.afterAccept(callback);
  }

  /** @internal */
  override _writev(chunks: Array<{ chunk: Buffer }>, callback: Callback): void {
    for (const { chunk } of chunks) {
      const refused = this.accept(chunk);
      if (refused) return callback(refused);
    }
    this.afterAccept(callback);
  }

  /** @internal The upload finishes before `'finish'` is emitted. */
  override _final(callback: Callback): void {
    this.finalCallback = callback;
    this.buffer.end();
    this.start();
  }

  /** @internal */
  override _destroy(error: Error | null, callback: Callback): void {
    this.detachSignal?.();
    const reason = error ?? new AbortError('The upload stream was destroyed');
    this.abortController.abort(reason);
    // A write held for backpressure is answered, so a promisified write() never hangs.
    const held = this.heldWrite;
    this.heldWrite = undefined;
    held?.(reason);
    const settled = this.run ?? Promise.resolve();
    void settled.then(() => this.buffer.dispose()).then(() => callback(error));
  }

  /** Takes a write into the buffer; returns the error when it is refused (the stream is then destroyed). */
  private accept(chunk: Buffer): Error | undefined {
    const size = this.options.size;
    const end = this.buffer.available + chunk.length;
    if (size !== undefined && end > size) {
      // Checked before any of it is held, so bytes past the declared size are never sent.
      const error = new SizeMismatchError('The source is longer than the declared size', size, end);
      this.destroy(error);
      return error;
    }
    this.buffer.push(chunk);
    return undefined;
  }

  private afterAccept(callback: Callback): void {
    this.start();
    const taken = this.buffer.available;
    if (this.mustWait()) {
      this.heldWrite = callback;
      this.takenAtLastTurn = taken;
    } else if (taken - this.takenAtLastTurn >= TURN_EVERY_BYTES) {
      this.takenAtLastTurn = taken;
      setImmediate(callback);
    } else {
      callback();
    }
  }

  /**
   * Whether writes wait for room. Never once the declared size has arrived: the request that reaches it waits for
   * the end of the source, which Node signals only after the last write's callback.
   */
  private mustWait(): boolean {
    const { size } = this.options;
    return this.buffer.full && !(size !== undefined && this.buffer.available >= size);
  }

  private releaseWrite(): void {
    if (this.heldWrite !== undefined && !this.mustWait()) {
      const callback = this.heldWrite;
      this.heldWrite = undefined;
      callback();
    }
  }

  /** Emits one of the stream's own events; a listener that throws ends the stream without cancelling its session. */
  private notify<K extends keyof TempUploadStreamEvents>(event: K, ...args: TempUploadStreamEvents[K]): void {
    try {
      (this.emit as (name: string, ...payload: unknown[]) => boolean)(event, ...args);
    } catch (error) {
      const reported = error instanceof Error ? error : new Error(String(error));
      listenerErrors.add(reported);
      this.failure ??= reported;
      // Not from inside the driver's call stack: the stream ends once the listener's caller has returned.
      queueMicrotask(() => this.destroy(reported));
    }
  }

  private emitProgress(): void {
    const written = this.buffer.available - this.startOffset;
    const confirmed = this.driver?.confirmed ?? this.startOffset;
    this.notify('progress', {
      bytesWritten: Math.max(0, written),
      bytesConfirmed: confirmed,
      totalBytes: this.options.size ?? (this.buffer.ended ? this.buffer.available : undefined),
    });
  }

  private start(): void {
    if (this.run !== undefined || this.destroyed) return;
    this.run = this.upload().then(
      () => this.complete(),
      (error: unknown) => this.fail(error),
    );
  }

  private async upload(): Promise<void> {
    const target = await this.resolveTarget();
    const { options } = this;
    const driver = new SessionDriver({
      target,
      source: this.buffer,
      declaredSize: options.size,
      sizing: {
        chunkSize: options.chunkSize,
        maxRequestSize: options.maxRequestSize,
        sized: false,
        memoryLimit: options.memoryLimit,
        spillLimit: options.spill?.maxBytes ?? 0,
      },
      context: (url) => this.contextFor(url),
      retry: options.retry,
      stallTimeoutMs: options.stallTimeoutMs,
      signal: this.abortController.signal,
      keepsSessionOnAbort: (reason) => typeof reason === 'object' && reason !== null && listenerErrors.has(reason),
      label: 'The upload',
      onSession: (url) => {
        this.sessionUrl = url;
        this.notify('session', url);
      },
      onConfirmed: () => this.emitProgress(),
      onRetry: (notice) => this.notify('retry', notice),
    });
    this.driver = driver;
    const outcome = await driver.run();
    this.result = {
      tempUploadId: this.tempUploadId,
      size: outcome.size,
      md5: outcome.md5,
      crc32c: outcome.crc32c,
      sessionUrl: outcome.sessionUrl,
    };
  }

  private async resolveTarget(): Promise<DriverOptions['target']> {
    const { target, client } = this.options;
    if (target.kind === 'url') return { kind: 'start', url: target.url };
    if (target.kind === 'session') return { kind: 'join', sessionUrl: target.sessionUrl, offset: target.offset };
    const [tempUpload] = await client!.createTempUploads(
      target.table,
      [{ name: target.name, size: this.options.size ?? target.sizeHint ?? 0, resumable: true }],
      { signal: this.abortController.signal },
    );
    this.tempUploadId = tempUpload!.id;
    return { kind: 'start', url: tempUpload!.url };
  }

  private contextFor(url: string): SessionContext {
    const { client } = this.options;
    return {
      dispatcher: this.options.dispatcher,
      headers: client ? client.uploadHeaders(url) : { 'user-agent': defaultUserAgent() },
      requestTimeoutMs: this.options.requestTimeoutMs,
    };
  }

  private complete(): void {
    if (this.destroyed) return;
    const callback = this.finalCallback;
    this.finalCallback = undefined;
    void this.buffer.dispose().then(() => callback?.(this.failure ?? null));
  }

  private fail(error: unknown): void {
    if (this.destroyed) return;
    this.destroy(error instanceof Error ? error : new RedivisUploadError('ERR_PROTOCOL', String(error)));
  }
}

/** Creates a Writable that uploads everything written to it into a Redivis temp upload. */
export function createTempUploadStream(options: TempUploadStreamOptions): TempUploadStream {
  return new TempUploadStream(options);
}
