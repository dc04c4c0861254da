/**
 * `createRowStream()`: an object-mode Writable whose rows go into a Redivis stream upload, in order and exactly
 * once. Rows are checked and turned into JSON as they are written, gathered into batches bounded by rows and by
 * bytes, and sent one request at a time (the order of the rows is the order of the requests), while the next
 * batch fills. Writes wait while a full batch waits for the one in flight, so memory stays at two batches.
 * @module
 */
import type { EventNameOf, ListenerOf } from '../../util/typed-events.js';
import { Writable } from 'node:stream';
import { AbortError, InvalidRowError } from '../../errors.js';
import { Recovery } from '../../upload/recovery.js';
import type { TabularUpload } from '../poll-upload.js';
import { serializeRow, type RowProblem } from './row-schema.js';
import { RowInserter, type RowBatch } from './row-inserter.js';
import {
  BATCH_ENVELOPE_BYTES,
  resolveRowStreamOptions,
  type ResolvedRowStreamOptions,
  type RowStreamEvents,
  type RowStreamOptions,
  type RowStreamResult,
} from './row-stream-options.js';
import { openStreamUpload } from './stream-upload.js';

/** The completion callback Node passes to a Writable's implementation hooks. */
type Callback = (error?: Error | null) => void;

/** Every event name of {@link RowStream}: its own and those every Writable has. */
export type RowStreamEventName = EventNameOf<RowStreamEvents>;

/** The listener of an event of {@link RowStream}. */
export type RowStreamListener<K extends RowStreamEventName> = ListenerOf<RowStreamEvents, K>;

// Typed events: a misspelt event name or a wrong payload type is a compile error.
export interface RowStream {
  on<K extends RowStreamEventName>(event: K, listener: ListenerOf<RowStreamEvents, K>): this;
  once<K extends RowStreamEventName>(event: K, listener: ListenerOf<RowStreamEvents, K>): this;
  addListener<K extends RowStreamEventName>(event: K, listener: ListenerOf<RowStreamEvents, K>): this;
  prependListener<K extends RowStreamEventName>(event: K, listener: ListenerOf<RowStreamEvents, K>): this;
  prependOnceListener<K extends RowStreamEventName>(event: K, listener: ListenerOf<RowStreamEvents, K>): this;
  off<K extends RowStreamEventName>(event: K, listener: ListenerOf<RowStreamEvents, K>): this;
  removeListener<K extends RowStreamEventName>(event: K, listener: ListenerOf<RowStreamEvents, K>): this;
}

/** A batch being filled. */
interface FillingBatch extends RowBatch {
  /** Bytes of the request body it would make. */
  bodyBytes: number;
  /** When its first row arrived (performance.now()). */
  firstAt: number;
}

function emptyBatch(): FillingBatch {
  return { rows: [], rowBytes: 0, bodyBytes: BATCH_ENVELOPE_BYTES, firstAt: 0 };
}

/** A row that does not fit, and the write waiting to report it. */
interface RefusedRow {
  index: number;
  problem: RowProblem;
  callback: Callback;
}

/**
 * An object-mode Writable of rows (plain objects keyed by variable name) into a stream upload. Events: `upload`,
 * `progress`, `retry` (see {@link RowStreamEvents}) and the usual `finish`/`error`/`close`; `result` once
 * finished.
 *
 * A row that does not fit the schema fails the stream with {@link InvalidRowError}: the rows written before it
 * are sent first, so the upload holds exactly the rows before it whatever the batching, and nothing from it on is
 * sent. After a failure that may have stored a batch the upload's row count decides whether to send it again;
 * when it cannot, the stream fails with `RowsInDoubtError`. Rows confirmed stay in the upload however the stream
 * ends: nothing deletes them.
 */
export class RowStream extends Writable {
  /** The upload, once created or found. */
  upload: TabularUpload | undefined;
  /** Set once the stream has finished. */
  result: RowStreamResult | undefined;

  private readonly options: ResolvedRowStreamOptions;
  private readonly abortController = new AbortController();
  private readonly recovery: Recovery;
  private readonly detachSignal: (() => void) | undefined;
  private inserter: RowInserter | undefined;
  private filling: FillingBatch = emptyBatch();
  /** A full batch waiting for the one in flight; writes wait while it is here. */
  private ready: RowBatch | undefined;
  private inFlight: RowBatch | undefined;
  private heldWrite: Callback | undefined;
  private refused: RefusedRow | undefined;
  private finalCallback: Callback | undefined;
  private ending = false;
  private skipped = false;
  private written = 0;
  private peakHeld = 0;
  private run: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(options: RowStreamOptions) {
    const resolved = resolveRowStreamOptions(options);
    super({ objectMode: true, highWaterMark: resolved.highWaterMark });
    this.options = resolved;
    this.recovery = new Recovery({
      retry: resolved.retry,
      label: `The row stream into ${JSON.stringify(resolved.name)}`,
      signal: this.abortController.signal,
      stallTimeoutMs: resolved.stallTimeoutMs,
      onRetry: (notice) => this.notify('retry', notice),
    });
    const signal = resolved.signal;
    if (signal) {
      const onAbort = () => this.destroy(new AbortError('The row stream was aborted', { cause: signal.reason }));
      if (signal.aborted) queueMicrotask(onAbort);
      else signal.addEventListener('abort', onAbort, { once: true });
      this.detachSignal = () => signal.removeEventListener('abort', onAbort);
    }
  }

  /** Rows written and accepted so far. */
  get rowsWritten(): number {
    return this.written;
  }

  /** Rows the server has confirmed as stored. */
  get rowsConfirmed(): number {
    return this.inserter?.rowsConfirmed ?? 0;
  }

  /** Rows sent whose storage is not known (a batch in flight, or one the stream could not settle); 0 when none. */
  get rowsInDoubt(): number {
    return this.inserter?.rowsInDoubt ?? 0;
  }

  /** Rows the stream holds: in flight, waiting and filling (Node buffers up to `highWaterMark` more in front). */
  get heldRows(): number {
    return this.filling.rows.length + (this.ready?.rows.length ?? 0) + (this.inFlight?.rows.length ?? 0);
  }

  /** The most rows held at once so far. */
  get peakHeldRows(): number {
    return this.peakHeld;
  }

  /** @internal */
  override _write(row: unknown, _encoding: BufferEncoding, callback: Callback): void {
    if (this.skipped) {
      this.written += 1;
      return callback();
    }
    const index = this.written;
    const text = serializeRow(row, this.options.schema);
    if (typeof text !== 'string') return this.refuse({ index, problem: text, callback });
    const bytes = Buffer.byteLength(text);
    const { batchRows, batchBytes } = this.options;
    if (BATCH_ENVELOPE_BYTES + bytes > batchBytes) {
      const expected = `a row of at most ${batchBytes - BATCH_ENVELOPE_BYTES} bytes as JSON (batchBytes ${batchBytes})`;
      return this.refuse({ index, problem: { field: undefined, expected, received: `${bytes} bytes of JSON` }, callback });
    }
    this.written += 1;
    let filling = this.filling;
    if (filling.rows.length > 0 && filling.bodyBytes + 1 + bytes > batchBytes) filling = this.closeFilling();
    if (filling.rows.length === 0) filling.firstAt = performance.now();
    else filling.bodyBytes += 1;
    filling.rows.push(text);
    filling.rowBytes += bytes;
    filling.bodyBytes += bytes;
    if (filling.rows.length >= batchRows) this.closeFilling();
    this.peakHeld = Math.max(this.peakHeld, this.heldRows);
    this.start();
    // The sender needs waking only when this write changes what it should do: a batch to send, or a first row
    // whose flush interval starts now. Waking it for every row would cost a timer per row.
    if (this.ready !== undefined || filling.rows.length === 1 || this.options.flushIntervalMs === 0) this.wakeUp();
    if (this.ready !== undefined) this.heldWrite = callback;
    else callback();
  }

  /** @internal The last batch is confirmed before `'finish'` is emitted. */
  override _final(callback: Callback): void {
    this.finalCallback = callback;
    this.ending = true;
    this.start();
    this.wakeUp();
  }

  /** @internal */
  override _destroy(error: Error | null, callback: Callback): void {
    this.detachSignal?.();
    const reason = error ?? new AbortError('The row stream was destroyed');
    this.abortController.abort(reason);
    clearTimeout(this.flushTimer);
    this.wakeUp();
    // Writes held for backpressure, or waiting to report a refused row, are answered so none hangs.
    const held = [this.heldWrite, this.refused?.callback];
    this.heldWrite = undefined;
    if (this.refused) this.refused.callback = () => {};
    for (const write of held) write?.(reason);
    const settled = this.run ?? Promise.resolve();
    void settled.then(() => callback(error));
  }

  /** A row that does not fit: what is held before it is sent, then the write fails. */
  private refuse(refused: RefusedRow): void {
    this.refused = refused;
    this.start();
    this.wakeUp();
  }

  /** Moves the filling batch to `ready` and starts a new one; returns the new one. */
  private closeFilling(): FillingBatch {
    const { rows, rowBytes } = this.filling;
    this.ready = { rows, rowBytes };
    this.filling = emptyBatch();
    return this.filling;
  }

  /** Emits one of the stream's own events; a listener that throws fails the stream with its error. */
  private notify<K extends keyof RowStreamEvents>(event: K, ...args: RowStreamEvents[K]): void {
    try {
      (this.emit as (name: string, ...payload: unknown[]) => boolean)(event, ...args);
    } catch (error) {
      const reported = error instanceof Error ? error : new Error(String(error));
      // Not from inside the sender's call stack: the stream ends once the listener's caller has returned.
      queueMicrotask(() => this.destroy(reported));
    }
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private start(): void {
    if (this.run !== undefined || this.destroyed) return;
    this.run = this.send().then(
      () => this.complete(),
      (error: unknown) => this.fail(error),
    );
  }

  /** The next batch to send now, if any: a full one, else the filling one once it may go. */
  private takeBatch(): RowBatch | undefined {
    if (this.ready === undefined) {
      const { rows, firstAt } = this.filling;
      if (rows.length === 0) return undefined;
      const due = this.ending || this.refused !== undefined || performance.now() - firstAt >= this.options.flushIntervalMs;
      if (!due) return undefined;
      this.closeFilling();
    }
    const batch = this.ready!;
    this.ready = undefined;
    const held = this.heldWrite;
    this.heldWrite = undefined;
    held?.();
    return batch;
  }

  /** Resolves on the next write, the end, a refused row, an abort, or when the filling batch is due. */
  private async nextEvent(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.wake = resolve;
      const { rows, firstAt } = this.filling;
      if (rows.length > 0) this.flushTimer = setTimeout(() => this.wakeUp(), Math.max(0, firstAt + this.options.flushIntervalMs - performance.now()));
    });
    clearTimeout(this.flushTimer);
    const { signal } = this.abortController;
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new AbortError(undefined, { cause: signal.reason });
  }

  private async send(): Promise<void> {
    const { options } = this;
    const opened = await openStreamUpload(options, this.recovery, this.abortController.signal);
    this.recovery.progressed();
    this.upload = opened.upload;
    this.inserter = new RowInserter(options.client, opened.upload, opened.path, opened.baseRows, this.recovery);
    if (opened.skipped) this.skip();
    this.notify('upload', opened.upload, opened.skipped);
    for (;;) {
      const batch = this.skipped ? undefined : this.takeBatch();
      if (batch === undefined) {
        if (this.ending || this.refused !== undefined) return;
        await this.nextEvent();
        continue;
      }
      this.inFlight = batch;
      try {
        await this.inserter.insert(batch);
      } finally {
        this.inFlight = undefined;
      }
      this.upload = this.inserter.upload;
      this.notify('progress', { rowsWritten: this.written, rowsConfirmed: this.inserter.rowsConfirmed, bytesConfirmed: this.inserter.bytesConfirmed });
    }
  }

  /** `onConflict: 'skip'` found the upload: what is held is dropped, and later rows are accepted and dropped. */
  private skip(): void {
    this.skipped = true;
    this.filling = emptyBatch();
    this.ready = undefined;
    const held = this.heldWrite;
    this.heldWrite = undefined;
    held?.();
  }

  private rowError(refused: RefusedRow, cause?: unknown): InvalidRowError {
    const { field, expected, received } = refused.problem;
    return new InvalidRowError({ rowIndex: refused.index, field, expected, received, rowsConfirmed: this.rowsConfirmed }, cause === undefined ? undefined : { cause });
  }

  private complete(): void {
    if (this.destroyed) return;
    if (this.refused !== undefined) return this.refused.callback(this.rowError(this.refused));
    const inserter = this.inserter!;
    this.result = {
      upload: inserter.upload,
      rowsConfirmed: inserter.rowsConfirmed,
      bytesConfirmed: inserter.bytesConfirmed,
      batches: inserter.batches,
      skipped: this.skipped,
    };
    const callback = this.finalCallback;
    this.finalCallback = undefined;
    callback?.();
  }

  private fail(error: unknown): void {
    if (this.destroyed) return;
    const failure = error instanceof Error ? error : new Error(String(error));
    if (this.refused !== undefined) return this.refused.callback(this.rowError(this.refused, failure));
    this.destroy(failure);
  }
}

/** Creates an object-mode Writable that inserts every row written to it into a Redivis stream upload. */
export function createRowStream(options: RowStreamOptions): RowStream {
  return new RowStream(options);
}
