/**
 * The retry budget and the stall deadline of one upload. The budget counts retries since the server's persisted
 * offset last advanced. The stall clock counts only time spent waiting on the server (requests in flight and the
 * waits between them), never time spent waiting for the source, and every request is cut off when the time left
 * runs out, so no request can outlive the deadline.
 * @module
 */
import { debuglog } from 'node:util';
import { AbortError, RetriesExhaustedError, TimeoutError } from '../errors.js';
import { retryAfterOf } from '../util/failures.js';
import { mayRetry, RetrySchedule, sleep, type ResolvedRetryOptions } from '../util/retry.js';

const debug = debuglog('redivis-upload');

/** What is reported before each retry. */
export interface RetryNotice {
  attempt: number;
  delayMs: number;
  error: Error;
}

export interface RecoveryOptions {
  retry: ResolvedRetryOptions;
  /** Names the operation in errors, e.g. `The upload of data.csv`. */
  label: string;
  /** The caller's abort: it ends any request or wait at once. */
  signal: AbortSignal | undefined;
  /** Longest time waiting on the server without progress, ms. @default Infinity */
  stallTimeoutMs?: number;
  onRetry?: (notice: RetryNotice) => void;
}

/** The reason given to a request cut off by the stall deadline, to tell it from the caller's abort. */
const STALLED = Symbol('stalled');

export class Recovery {
  private readonly schedule: RetrySchedule;
  private readonly stallTimeoutMs: number;
  /** Time spent waiting on the server since the last progress, ms. */
  private waitedMs = 0;

  constructor(private readonly options: RecoveryOptions) {
    this.schedule = new RetrySchedule(options.retry);
    this.stallTimeoutMs = options.stallTimeoutMs ?? Number.POSITIVE_INFINITY;
  }

  /** The server's offset advanced: the budget and the stall clock start over. */
  progressed(): void {
    this.schedule.reset();
    this.waitedMs = 0;
  }

  private stalled(cause?: unknown): TimeoutError {
    return new TimeoutError(`${this.options.label} made no progress and`, this.stallTimeoutMs, cause === undefined ? undefined : { cause });
  }

  /**
   * Runs one request under the stall deadline: `operation` gets a signal that aborts when the caller aborts or the
   * time left runs out; the latter rejects with {@link TimeoutError}.
   */
  async timed<T>(operation: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const outer = this.options.signal;
    if (outer?.aborted) throw new AbortError(undefined, { cause: outer.reason });
    const left = this.stallTimeoutMs - this.waitedMs;
    if (left <= 0) throw this.stalled();
    const controller = new AbortController();
    const onAbort = () => controller.abort(outer!.reason);
    outer?.addEventListener('abort', onAbort, { once: true });
    const timer = Number.isFinite(left) ? setTimeout(() => controller.abort(STALLED), left) : undefined;
    const startedAt = performance.now();
    try {
      return await operation(controller.signal);
    } catch (error) {
      // The request was cut off by the deadline: what it failed with is only the cut itself.
      if (controller.signal.reason === STALLED && !outer?.aborted) throw this.stalled();
      throw error;
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onAbort);
      this.waitedMs += performance.now() - startedAt;
    }
  }

  /**
   * Waits out one retry for `error`, or throws: the error itself when it is final (see {@link mayRetry}), a
   * {@link RetriesExhaustedError} past the budget, a {@link TimeoutError} when the wait would pass the stall
   * deadline. `force` retries an answer that is not an error but made no progress.
   */
  async backOff(error: unknown, force = false): Promise<void> {
    if (!force && !mayRetry(this.options.retry, error, this.schedule.attempts + 1)) throw error;
    if (!this.schedule.canRetry) throw new RetriesExhaustedError(this.options.label, this.schedule.attempts + 1, error);
    const delayMs = this.schedule.nextDelay(retryAfterOf(error));
    if (this.waitedMs + delayMs > this.stallTimeoutMs) throw this.stalled(error);
    const cause = error instanceof Error ? error : new Error(String(error));
    debug('%s: retry %d in %d ms after %s', this.options.label, this.schedule.attempts, delayMs, cause.message);
    this.options.onRetry?.({ attempt: this.schedule.attempts, delayMs, error: cause });
    const startedAt = performance.now();
    try {
      await sleep(delayMs, this.options.signal);
    } finally {
      this.waitedMs += performance.now() - startedAt;
    }
  }

  /** Runs `operation` under the deadline, retrying failures within the budget. */
  async retrying<T>(operation: (signal: AbortSignal) => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await this.timed(operation);
      } catch (error) {
        await this.backOff(error);
      }
    }
  }
}
