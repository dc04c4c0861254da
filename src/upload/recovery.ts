/**
 * The retry loop shared by every upload: back off with jitter, give up when the retry budget or the stall
 * deadline runs out, and start the budget over whenever the server's persisted offset advances.
 * @module
 */
import { debuglog } from 'node:util';
import { RetriesExhaustedError, TimeoutError } from '../errors.js';
import { RetrySchedule, sleep, type ResolvedRetryOptions } from '../util/retry.js';
import { isRetryableUploadError, retryAfterOf } from './retry-policy.js';

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
  signal: AbortSignal | undefined;
  /** Longest time without progress, ms. @default Infinity */
  stallTimeoutMs?: number;
  onRetry?: (notice: RetryNotice) => void;
}

export class Recovery {
  private readonly schedule: RetrySchedule;
  private lastProgressAt = Date.now();

  constructor(private readonly options: RecoveryOptions) {
    this.schedule = new RetrySchedule(options.retry);
  }

  /** The server's offset advanced: the budget and the stall clock start over. */
  progressed(): void {
    this.schedule.reset();
    this.lastProgressAt = Date.now();
  }

  /**
   * Waits out one retry for `error`, or throws: the error itself when it is not `retryable`, a
   * {@link RetriesExhaustedError} past the budget, a {@link TimeoutError} past the stall deadline.
   */
  async backOff(error: unknown, retryable = isRetryableUploadError(error)): Promise<void> {
    if (!retryable) throw error;
    if (!this.schedule.canRetry) throw new RetriesExhaustedError(this.options.label, this.schedule.attempts + 1, error);
    const delayMs = this.schedule.nextDelay(retryAfterOf(error));
    const stallTimeoutMs = this.options.stallTimeoutMs ?? Number.POSITIVE_INFINITY;
    if (Date.now() - this.lastProgressAt + delayMs > stallTimeoutMs) {
      throw new TimeoutError(`${this.options.label} made no progress and`, stallTimeoutMs, { cause: error });
    }
    const cause = error instanceof Error ? error : new Error(String(error));
    debug('%s: retry %d in %d ms after %s', this.options.label, this.schedule.attempts, delayMs, cause.message);
    this.options.onRetry?.({ attempt: this.schedule.attempts, delayMs, error: cause });
    await sleep(delayMs, this.options.signal);
  }

  /** Runs `operation`, retrying retryable failures within the budget. */
  async retrying<T>(operation: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await operation();
      } catch (error) {
        await this.backOff(error);
      }
    }
  }
}
