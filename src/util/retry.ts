/**
 * Backoff shared by API calls and upload requests: exponential with jitter (the `backoff` package's strategy),
 * a bounded number of attempts, `Retry-After` honoured, and sleeps that an `AbortSignal` cuts short.
 * @module
 */
import backoff from 'backoff';
import { setTimeout as delay } from 'node:timers/promises';
import { AbortError, InvalidArgumentError, RedivisUploadError } from '../errors.js';
import { isRetryableError } from './failures.js';

/** How failed requests are retried. */
export interface RetryOptions {
  /**
   * Retries after the first attempt before giving up. For uploads the count starts again whenever the server's
   * persisted offset advances.
   * @default 8
   */
  retries?: number;
  /**
   * First delay, in milliseconds; each later one doubles.
   * @default 500
   */
  initialDelayMs?: number;
  /**
   * Longest delay between two attempts, in milliseconds (also caps a server's `Retry-After`).
   * @default 32000
   */
  maxDelayMs?: number;
  /**
   * Random extra added to each delay, as a fraction of it (0 to 1).
   * @default 0.5
   */
  jitter?: number;
  /**
   * Decides whether a failed request is tried again, for a policy of your own. It is asked about every failure of a
   * request (an `ApiError`, `UploadHttpError`, `NetworkError` or `ProtocolError`), with the number of the retry it
   * would be (from 1), and only while `retries` allows another one. Aborts, deadlines, certificate failures, data
   * errors and expired sessions are never retried, whatever it answers.
   * @default isRetryableError (network failures and HTTP 408, 429 and 5xx)
   */
  shouldRetry?: (error: RedivisUploadError, attempt: number) => boolean;
}

/** {@link RetryOptions} with every default filled in: same fields and units, none of them optional. */
export type ResolvedRetryOptions = Required<RetryOptions>;

/** The retry policy used when none is given. */
export const DEFAULT_RETRY: ResolvedRetryOptions = Object.freeze({
  retries: 8,
  initialDelayMs: 500,
  maxDelayMs: 32_000,
  jitter: 0.5,
  shouldRetry: isRetryableError,
});

/** Validates and fills in retry options. `argument` names them in errors (e.g. `retry`). */
export function resolveRetryOptions(options: RetryOptions | undefined, argument = 'retry'): ResolvedRetryOptions {
  if (options === undefined) return DEFAULT_RETRY;
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError(argument, 'an object of retry options', options);
  }
  const resolved = { ...DEFAULT_RETRY, ...stripUndefined(options) };
  if (!Number.isSafeInteger(resolved.retries) || resolved.retries < 0) {
    throw new InvalidArgumentError(`${argument}.retries`, 'a non-negative integer', resolved.retries);
  }
  if (!Number.isFinite(resolved.initialDelayMs) || resolved.initialDelayMs < 1) {
    throw new InvalidArgumentError(`${argument}.initialDelayMs`, 'a number of milliseconds >= 1', resolved.initialDelayMs);
  }
  if (!Number.isFinite(resolved.maxDelayMs) || resolved.maxDelayMs < resolved.initialDelayMs) {
    throw new InvalidArgumentError(`${argument}.maxDelayMs`, `a number of milliseconds >= initialDelayMs (${resolved.initialDelayMs})`, resolved.maxDelayMs);
  }
  if (!Number.isFinite(resolved.jitter) || resolved.jitter < 0 || resolved.jitter > 1) {
    throw new InvalidArgumentError(`${argument}.jitter`, 'a fraction from 0 to 1', resolved.jitter);
  }
  if (typeof resolved.shouldRetry !== 'function') {
    throw new InvalidArgumentError(`${argument}.shouldRetry`, 'a function (error, attempt) => boolean', resolved.shouldRetry);
  }
  return Object.freeze(resolved);
}

/** A sequence of retry delays; `reset()` starts it over (e.g. when an upload makes progress). */
export class RetrySchedule {
  private readonly strategy: backoff.BackoffStrategy;
  private readonly options: ResolvedRetryOptions;
  /** Retries taken since the last reset. */
  attempts = 0;

  constructor(options: ResolvedRetryOptions) {
    this.options = options;
    this.strategy = new backoff.ExponentialStrategy({
      initialDelay: options.initialDelayMs,
      // The strategy refuses maxDelay <= initialDelay; equal values mean a constant delay here.
      maxDelay: Math.max(options.maxDelayMs, options.initialDelayMs + 1),
      randomisationFactor: options.jitter,
      factor: 2,
    });
  }

  /** Whether another retry is allowed. */
  get canRetry(): boolean {
    return this.attempts < this.options.retries;
  }

  /**
   * The delay before the next retry, in milliseconds, counting it as taken. A server's `Retry-After` (already in
   * milliseconds) wins over the computed delay when longer, capped at `maxDelayMs`.
   */
  nextDelay(retryAfterMs?: number): number {
    this.attempts += 1;
    const computed = Math.min(this.strategy.next(), this.options.maxDelayMs);
    if (retryAfterMs === undefined) return computed;
    return Math.min(Math.max(computed, retryAfterMs), this.options.maxDelayMs);
  }

  /** Starts the sequence over: the attempt count and the delay go back to their first values. */
  reset(): void {
    this.attempts = 0;
    this.strategy.reset();
  }
}

/**
 * Parses `Retry-After` (delay seconds or an HTTP date) into milliseconds from `now`; `undefined` when absent or
 * malformed, so the caller falls back to its own backoff.
 */
export function parseRetryAfter(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  if (!/[a-z]/i.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** Sleeps for `ms`, rejecting with {@link AbortError} as soon as `signal` aborts. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
  try {
    await delay(ms, undefined, signal ? { signal } : undefined);
  } catch (error) {
    if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
    throw error;
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The errors a retry policy is asked about: a request's answer, or a failure of the transport under it. */
const REQUEST_FAILURE_CODES: ReadonlySet<string> = new Set(['ERR_API', 'ERR_UPLOAD_HTTP', 'ERR_NETWORK', 'ERR_PROTOCOL']);

/**
 * Whether a request that failed with `error` on retry number `attempt` (from 1) may be tried again under
 * `policy`: failures of a request go to `policy.shouldRetry`; anything else (aborts, deadlines, certificate
 * failures, data errors, programming errors) is final.
 */
export function mayRetry(policy: ResolvedRetryOptions, error: unknown, attempt: number): boolean {
  if (!(error instanceof RedivisUploadError) || !REQUEST_FAILURE_CODES.has(error.code)) return false;
  return policy.shouldRetry(error, attempt) === true;
}
