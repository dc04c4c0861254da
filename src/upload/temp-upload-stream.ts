/**
 * `createTempUploadStream()`: a Writable that uploads data of unknown length through the resumable protocol,
 * holding at most about two chunks, and recovers from interruptions by asking the server where it stands.
 * @module
 */
import { Writable } from 'node:stream';
import { debuglog } from 'node:util';
import {
  AbortError,
  DataLossError,
  IntegrityError,
  ProtocolError,
  RedivisUploadError,
  SizeMismatchError,
} from '../errors.js';
import { redactUrl } from '../util/redact.js';
import type { ByteQueue } from './byte-queue.js';
import { StreamIntake } from './stream-intake.js';
import { Recovery } from './recovery.js';
import { cancelSession, putChunk, queryStatus, startSession, type SessionContext, type SessionStatus, type StoredObject } from './session.js';
import {
  resolveStreamOptions,
  type ResolvedStreamOptions,
  type TempUploadResult,
  type TempUploadStreamOptions,
  type UploadProgress,
} from './stream-options.js';

export type { TempUploadResult, UploadProgress, UploadRetry } from './stream-options.js';
import { defaultUserAgent } from '../client/user-agent.js';

const debug = debuglog('redivis-upload');

/** The completion callback Node passes to a Writable's implementation hooks. */
type Callback = (error?: Error | null) => void;

/**
 * A Writable that streams into a Redivis temp upload. Events: `session` (sessionUrl), `progress`
 * ({@link UploadProgress}), `retry` ({@link UploadRetry}), and the usual `finish`/`error`/`close`.
 *
 * Memory bound: the bytes held ({@link TempUploadStream.bufferedBytes}) stay below `2 × chunkSize` plus the
 * largest single write; Node buffers at most `highWaterMark` more in front of it.
 *
 * Destroying the stream before it finishes cancels the session (best effort) when the cause is an abort,
 * `destroy()` without an error, an error not from this library, or a size, data-loss, protocol or argument error.
 * Network and server failures leave the session open, so the upload can be resumed from {@link sessionUrl}.
 */
export class TempUploadStream extends Writable {
  /** The session URL, as soon as the session exists. Keep it to resume after a crash. */
  sessionUrl: string | undefined;
  /** The temp upload's id when the stream created it (or was told it). */
  tempUploadId: string | undefined;
  /** Set once the stream has finished: what the server stored. */
  result: TempUploadResult | undefined;

  private readonly options: ResolvedStreamOptions;
  private readonly intake: StreamIntake;
  private readonly queue: ByteQueue;
  private readonly abortController = new AbortController();
  private readonly recovery: Recovery;
  private ctx: SessionContext | undefined;
  private ended = false;
  private running = false;
  private finished = false;
  private heldWrite: Callback | undefined;
  private finalCallback: Callback | undefined;
  private wake: (() => void) | undefined;
  private readonly detachSignal: (() => void) | undefined;

  constructor(options: TempUploadStreamOptions) {
    const resolved = resolveStreamOptions(options);
    super({ highWaterMark: resolved.highWaterMark, decodeStrings: true });
    this.options = resolved;
    this.intake = new StreamIntake(resolved.target.kind === 'session' ? resolved.target.offset : 0, resolved.chunkSize, resolved.checksums);
    this.queue = this.intake.queue;
    this.recovery = new Recovery({
      retry: resolved.retry,
      label: 'The upload',
      signal: this.abortController.signal,
      stallTimeoutMs: resolved.stallTimeoutMs,
      onRetry: (retry) => this.emit('retry', retry),
    });
    if (resolved.target.kind === 'session') this.sessionUrl = resolved.target.sessionUrl;
    if (resolved.target.kind !== 'table') this.ctx = this.contextFor(resolved.target.kind === 'url' ? resolved.target.url : resolved.target.sessionUrl);

    const signal = resolved.signal;
    if (signal) {
      const onAbort = () => this.destroy(new AbortError('The upload was aborted', { cause: signal.reason }));
      if (signal.aborted) queueMicrotask(onAbort);
      else signal.addEventListener('abort', onAbort, { once: true });
      this.detachSignal = () => signal.removeEventListener('abort', onAbort);
    }
  }

  /** Bytes currently held by the stream (in flight plus filling): the memory gauge. */
  get bufferedBytes(): number {
    return this.queue.length;
  }

  /** The most bytes held at once so far. */
  get peakBufferedBytes(): number {
    return this.intake.peakHeld;
  }

  /**
   * Writable implementation hook, called by Node only.
   * @internal
   */
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: Callback): void {
    this.accept(chunk);
    this.afterAccept(callback);
  }

  /**
   * Writable implementation hook, called by Node only.
   * @internal
   */
  override _writev(chunks: Array<{ chunk: Buffer }>, callback: Callback): void {
    for (const { chunk } of chunks) {
      this.accept(chunk);
      if (this.destroyed) return;
    }
    this.afterAccept(callback);
  }

  /**
   * Writable implementation hook, called by Node only: the upload finishes before `'finish'` is emitted.
   * @internal
   */
  override _final(callback: Callback): void {
    this.ended = true;
    this.finalCallback = callback;
    this.start();
    this.signalData();
  }

  /**
   * Writable implementation hook, called by Node only.
   * @internal
   */
  override _destroy(error: Error | null, callback: Callback): void {
    this.detachSignal?.();
    this.heldWrite = undefined;
    this.abortController.abort(error ?? new AbortError('The upload stream was destroyed'));
    this.signalData();
    const sessionUrl = this.sessionUrl;
    const shouldCancel = sessionUrl !== undefined && !this.finished && cancelsSession(error);
    if (!shouldCancel) {
      callback(error);
      return;
    }
    debug('cancelling session %s', redactUrl(sessionUrl));
    const signal = AbortSignal.timeout(5_000);
    cancelSession(sessionUrl, { ...(this.ctx ?? this.contextFor(sessionUrl)), signal }).then(
      () => callback(error),
      (cancelError: unknown) => {
        debug('cancelling the session failed: %s', (cancelError as Error).message);
        callback(error);
      },
    );
  }

  private accept(chunk: Buffer): void {
    const size = this.options.size;
    const end = this.intake.sourceEnd + chunk.length;
    if (size !== undefined && end > size) {
      // Checked before any of it is queued, so bytes past the declared size are never sent.
      this.destroy(new SizeMismatchError('The source is longer than the declared size', size, end));
      return;
    }
    this.intake.accept(chunk);
  }

  private afterAccept(callback: Callback): void {
    if (this.destroyed) return;
    this.start();
    this.signalData();
    if (this.queue.length >= 2 * this.options.chunkSize) this.heldWrite = callback;
    else callback();
  }

  private releaseWrites(): void {
    if (this.heldWrite && this.queue.length < 2 * this.options.chunkSize) {
      const callback = this.heldWrite;
      this.heldWrite = undefined;
      callback();
    }
  }

  private signalData(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private start(): void {
    if (this.running) return;
    this.running = true;
    this.run().then(
      (object) => this.complete(object),
      (error: unknown) => this.fail(error),
    );
  }

  private fail(error: unknown): void {
    if (this.destroyed) return;
    this.destroy(error instanceof Error ? error : new RedivisUploadError('ERR_PROTOCOL', String(error)));
  }

  private complete(object: StoredObject): void {
    this.finished = true;
    this.result = {
      tempUploadId: this.tempUploadId,
      size: object.size,
      md5: object.md5Hash,
      crc32c: object.crc32c,
      sessionUrl: this.sessionUrl!,
    };
    this.emitProgress();
    const callback = this.finalCallback;
    this.finalCallback = undefined;
    callback?.();
  }

  private emitProgress(): void {
    this.emit('progress', {
      bytesWritten: this.intake.sourceEnd,
      bytesConfirmed: this.queue.start,
      totalBytes: this.options.size ?? (this.ended ? this.intake.sourceEnd : undefined),
    } satisfies UploadProgress);
  }

  private waitForData(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  /** Whether the next request can go out now. */
  private ready(): boolean {
    if (this.ended) return true;
    const { chunkSize, size } = this.options;
    if (this.queue.length < chunkSize) return false;
    // With a declared size, the chunk that reaches it is final and waits for the end of the source, so a source
    // that runs long is caught before anything is finalized.
    return size === undefined || this.queue.start + chunkSize < size;
  }

  private async run(): Promise<StoredObject> {
    const early = await this.openSession();
    if (early) return this.finishAlreadyComplete(early);
    const { chunkSize, size } = this.options;
    const session = { method: 'PUT', path: redactUrl(this.sessionUrl!) };
    for (;;) {
      while (!this.ready()) {
        await this.waitForData();
        this.throwIfAborted();
      }
      this.throwIfAborted();
      const start = this.queue.start;
      const length = Math.min(this.queue.length, chunkSize);
      const isFinal = this.ended && length === this.queue.length;
      if (isFinal) this.checkSourceLength();
      const total = size ?? (isFinal ? this.queue.end : undefined);
      const hashHeader = isFinal && this.intake.checksums ? this.intake.checksums.digest().header : undefined;
      let status: SessionStatus;
      let recovered = false;
      try {
        status =
          length > 0
            ? await putChunk(this.sessionUrl!, this.ctx!, { start, buffers: this.queue.peek(length), length, total, hashHeader })
            : await queryStatus(this.sessionUrl!, this.ctx!, total, hashHeader);
        // A 308 that shows no progress after data was sent may only lack its Range header: confirm, never assume.
        if (!status.complete && length > 0 && status.persisted <= start) status = await this.confirmedStatus();
      } catch (error) {
        await this.recovery.backOff(error);
        status = await this.confirmedStatus();
        recovered = true;
      }
      if (status.complete) {
        if (!isFinal && !(this.ended && status.object.size === this.queue.end)) {
          throw new ProtocolError(`the server completed the upload at ${status.object.size} bytes before the stream ended`, session);
        }
        return this.verify(status.object);
      }
      const progressed = this.advanceTo(status.persisted, start + length);
      if (!progressed && !recovered) {
        if (length === 0) throw new ProtocolError(`the server refused to finalize at ${start} bytes`, session, 308);
        // Accepted but not kept: worth resending, within the same budget as any other failure.
        await this.recovery.backOff(new ProtocolError(`the server persisted nothing of bytes ${start}-${start + length - 1}`, session, 308), true);
      }
    }
  }

  /**
   * Asks the server for its offset (`bytes *\/*`), asking again when the answer would mean lost data, since a
   * missing `Range` header reads as 0.
   */
  private async confirmedStatus(): Promise<SessionStatus> {
    const query = () => queryStatus(this.sessionUrl!, this.ctx!);
    let status = await this.recovery.retrying(query);
    for (let recheck = 0; recheck < 2 && !status.complete && status.persisted < this.queue.start; recheck++) {
      status = await this.recovery.retrying(query);
    }
    return status;
  }

  private checkSourceLength(): void {
    if (this.intake.skipping) {
      throw new SizeMismatchError('The source ended before the bytes the server already holds', this.queue.start, this.intake.sourceEnd);
    }
    const size = this.options.size;
    if (size !== undefined && this.intake.sourceEnd !== size) {
      throw new SizeMismatchError('The source ended before the declared size', size, this.intake.sourceEnd);
    }
  }

  /** Applies the server's persisted offset, refusing any that would skip or duplicate bytes. */
  private advanceTo(persisted: number, sentUpTo: number): boolean {
    if (persisted > sentUpTo || persisted < this.queue.start) {
      throw new DataLossError(persisted, this.queue.start, sentUpTo);
    }
    if (persisted === this.queue.start) return false;
    this.queue.drop(persisted - this.queue.start);
    this.recovery.progressed();
    this.emitProgress();
    this.releaseWrites();
    return true;
  }

  private verify(object: StoredObject): StoredObject {
    const expected = this.queue.end;
    if (object.size !== expected) throw new IntegrityError('size', String(expected), String(object.size));
    this.queue.drop(this.queue.length);
    if (this.intake.checksums) {
      const local = this.intake.checksums.digest();
      if (local.crc32c && object.crc32c && local.crc32c !== object.crc32c) throw new IntegrityError('crc32c', local.crc32c, object.crc32c);
      if (local.md5 && object.md5Hash && local.md5 !== object.md5Hash) throw new IntegrityError('md5', local.md5, object.md5Hash);
    }
    return object;
  }

  private throwIfAborted(): void {
    if (this.abortController.signal.aborted) throw new AbortError('The upload stream was destroyed');
  }

  /** Starts or joins the session. Returns the object when a joined session turns out to be complete already. */
  private async openSession(): Promise<StoredObject | undefined> {
    const { target, client } = this.options;
    if (target.kind === 'table') {
      const [tempUpload] = await client!.createTempUploads(
        target.table,
        [{ name: target.name, size: this.options.size ?? target.sizeHint ?? 0, resumable: true }],
        { signal: this.abortController.signal },
      );
      this.tempUploadId = tempUpload!.id;
      this.ctx = this.contextFor(tempUpload!.url);
      return this.startSession(tempUpload!.url);
    }
    if (target.kind === 'url') return this.startSession(target.url);

    const status = await this.recovery.retrying(() => queryStatus(target.sessionUrl, this.ctx!));
    this.emit('session', this.sessionUrl);
    if (status.complete) return status.object;
    if (status.persisted < target.offset) throw new DataLossError(status.persisted, target.offset, target.offset);
    this.intake.skipTo(status.persisted);
    this.releaseWrites();
    return undefined;
  }

  private async startSession(url: string): Promise<undefined> {
    this.sessionUrl = await this.recovery.retrying(() => startSession(url, this.ctx!, { size: this.options.size }));
    // The session URL may be on another host than the temp upload URL; its headers are decided afresh.
    this.ctx = this.contextFor(this.sessionUrl);
    debug('session started at %s', redactUrl(this.sessionUrl));
    this.emit('session', this.sessionUrl);
    return undefined;
  }

  private contextFor(url: string): SessionContext {
    const { client } = this.options;
    return {
      dispatcher: this.options.dispatcher,
      headers: client ? client.uploadHeaders(url) : { 'user-agent': defaultUserAgent() },
      signal: this.abortController.signal,
      requestTimeoutMs: this.options.requestTimeoutMs,
    };
  }

  private async finishAlreadyComplete(object: StoredObject): Promise<StoredObject> {
    while (!this.ended) {
      this.queue.drop(this.queue.length);
      this.releaseWrites();
      // Ending the source can happen inside releaseWrites(), before anything waits for it.
      if (!this.ended) await this.waitForData();
      this.throwIfAborted();
    }
    if (object.size !== this.intake.sourceEnd) throw new SizeMismatchError('The source and the completed session differ', object.size, this.intake.sourceEnd);
    this.queue.drop(this.queue.length);
    return object;
  }
}

/** User aborts and data errors cancel the session; failures of the network keep it, so it can be resumed. */
function cancelsSession(error: Error | null): boolean {
  if (error === null) return true;
  if (!(error instanceof RedivisUploadError)) return true;
  return ['ERR_ABORTED', 'ERR_SIZE_MISMATCH', 'ERR_DATA_LOSS', 'ERR_PROTOCOL', 'ERR_INVALID_ARGUMENT'].includes(error.code);
}

/** Creates a Writable that uploads everything written to it into a Redivis temp upload. */
export function createTempUploadStream(options: TempUploadStreamOptions): TempUploadStream {
  return new TempUploadStream(options);
}
