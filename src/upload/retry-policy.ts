/**
 * Which upload failures are worth another attempt. Resumable requests are offset-addressed, so resending after a
 * transient failure is safe once the server's persisted offset has been asked for again.
 * @module
 */
import { NetworkError, RedivisUploadError, TimeoutError, UploadHttpError } from '../errors.js';
import { REQUEST_TIMEOUT_CODES } from './session-http.js';

/**
 * Whether an upload request that failed with `error` may be tried again: true for {@link NetworkError}, for
 * {@link UploadHttpError} with status 408, 429 or 5xx, and for a {@link TimeoutError} caused by one request's
 * timeout (its `cause` chain holds undici's connect, headers or body timeout). False for everything else:
 * aborts, an overall deadline, expired or cancelled sessions, data loss, size or integrity mismatches, protocol
 * violations, other 4xx statuses and errors that are not the library's.
 */
export function isRetryableUploadError(error: unknown): boolean {
  if (error instanceof NetworkError) return true;
  if (error instanceof UploadHttpError) {
    return error.status === 408 || error.status === 429 || (error.status >= 500 && error.status <= 599);
  }
  if (error instanceof TimeoutError) return causedByRequestTimeout(error.cause);
  return false;
}

function causedByRequestTimeout(cause: unknown): boolean {
  for (let depth = 0; cause instanceof Error && depth < 8; depth += 1) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' && REQUEST_TIMEOUT_CODES.has(code)) return true;
    cause = cause.cause;
  }
  return false;
}

/**
 * The delay the server asked for through `Retry-After`, in milliseconds, when `error` carries one
 * ({@link UploadHttpError#retryAfterMs}); otherwise `undefined`.
 */
export function retryAfterOf(error: unknown): number | undefined {
  if (!(error instanceof RedivisUploadError)) return undefined;
  const value = (error as { retryAfterMs?: unknown }).retryAfterMs;
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}
