/**
 * The retry loop of a resumable upload: back off with jitter, ask the server where it stands, and give up when
 * the retry budget or the stall deadline runs out. The budget starts over whenever the server's offset advances.
 * @module
 */
import { debuglog } from 'node:util';
import { RetriesExhaustedError, TimeoutError } from '../errors.js';
import { RetrySchedule, sleep, type ResolvedRetryOptions } from '../util/retry.js';
import { isRetryableUploadError, retryAfterOf } from './retry-policy.js';

const debug = debuglog('redivis-upload');

export interface RetryNotice {
  attempt: number;
  delayMs: number;
  error: Error;
}

export class Recovery {
  private readonly schedule: RetrySchedule;
  private lastProgressAt = Date.now();

  constructor(
    retry: ResolvedRetryOptions,
    private readonly stallTimeoutMs: number,
    private readonly signal: AbortSignal,
    private readonly onRetry: (notice: RetryNotice) => void,
  ) {
    this.schedule = new RetrySchedule(retry);
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
    if (!this.schedule.canRetry) throw new RetriesExhaustedError('The upload', this.schedule.attempts + 1, error);
    const delayMs = this.schedule.nextDelay(retryAfterOf(error));
    const stalledFor = Date.now() - this.lastProgressAt;
    if (stalledFor + delayMs > this.stallTimeoutMs) {
      throw new TimeoutError('The upload made no progress and', this.stallTimeoutMs, { cause: error });
    }
    const cause = error instanceof Error ? error : new Error(String(error));
    debug('retry %d in %d ms after %s', this.schedule.attempts, delayMs, cause.message);
    this.onRetry({ attempt: this.schedule.attempts, delayMs, error: cause });
    await sleep(delayMs, this.signal);
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

  /** After a failed request: back off, then ask the server for its state (the query itself retried). */
  async recover<T>(error: unknown, query: () => Promise<T>): Promise<T> {
    await this.backOff(error);
    return this.retrying(query);
  }
}
