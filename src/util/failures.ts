/**
 * The one classifier of failed requests, shared by API calls and upload requests: what a request threw becomes a
 * library error, and a closed list decides which failures another attempt may fix. Anything not on the list is
 * final, so a programming error (a bad header, a body of the wrong length) is never retried as if the network
 * had failed.
 * @module
 */
import {
  AbortError,
  ApiError,
  InvalidArgumentError,
  NetworkError,
  RedivisUploadError,
  UnsafeUrlError,
  UploadHttpError,
  type RequestDetails,
} from '../errors.js';
import { tlsFailureCode } from './tls.js';

/**
 * Codes of transport failures: the connection failed, was cut, timed out, or the response could not be parsed.
 * The request may or may not have reached the server; offset-addressed and status requests are safe to repeat.
 */
const TRANSPORT_CODES: ReadonlySet<string> = new Set([
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_HEADERS_OVERFLOW',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  // undici resets a connection whose answer arrived while the request was still being written.
  'UND_ERR_INFO',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** HTTP statuses worth another attempt: the server is overloaded, timed out or failed on its side. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599);
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Whether `error` (as undici or Node threw it) is a failure of the transport rather than of the request. */
export function isTransportFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = codeOf(error);
  if (code !== undefined && TRANSPORT_CODES.has(code)) return true;
  // A garbled response (a bad status line, `Content-Length: abc`): undici's parser names it, the code may be absent.
  if (error.name === 'HTTPParserError' || code?.startsWith('HPE_')) return true;
  // Both address families refused: the code is on each member only.
  if (error instanceof AggregateError) return error.errors.length > 0 && error.errors.every(isTransportFailure);
  return false;
}

/**
 * Turns whatever one request threw into the error to report. An aborted `signal` makes it an `AbortError`; a
 * certificate failure an `UnsafeUrlError`; a transport failure a `NetworkError`; a closed dispatcher or an argument
 * undici refuses an `InvalidArgumentError`; the library's own errors pass through; anything else (a programming
 * error) passes through unchanged. Only a `NetworkError` among these is retried.
 */
export function toRequestError(error: unknown, details: RequestDetails, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) return new AbortError(undefined, { cause: signal.reason ?? error });
  if (error instanceof RedivisUploadError) return error;
  const tls = tlsFailureCode(error);
  if (tls !== undefined) {
    return new UnsafeUrlError(`${details.method} ${details.path}: TLS certificate verification failed (${tls})`, { cause: error });
  }
  if (isTransportFailure(error)) return new NetworkError(details, error);
  const code = codeOf(error);
  if (code === 'UND_ERR_CLOSED' || code === 'UND_ERR_DESTROYED') {
    return new InvalidArgumentError('dispatcher', 'an open undici Dispatcher', 'a closed or destroyed one', { cause: error });
  }
  if (code === 'UND_ERR_INVALID_ARG') {
    return new InvalidArgumentError('request', 'valid request headers and body', (error as Error).message, { cause: error });
  }
  return error;
}

/**
 * Whether a request that failed with `error` may be tried again: a `NetworkError`, or an `ApiError` or
 * `UploadHttpError` with status 408, 429 or 5xx. Everything else is final: aborts, deadlines, expired or cancelled
 * sessions, data loss, size and integrity mismatches, protocol violations, other statuses, certificate failures and
 * errors that are not the library's.
 */
export function isRetryableError(error: unknown): boolean {
  if (error instanceof NetworkError) return true;
  if (error instanceof UploadHttpError || error instanceof ApiError) return isRetryableStatus(error.status);
  return false;
}

/** The delay a server asked for through `Retry-After`, in milliseconds, when `error` carries one. */
export function retryAfterOf(error: unknown): number | undefined {
  if (!(error instanceof UploadHttpError) && !(error instanceof ApiError)) return undefined;
  const value = (error as { retryAfterMs?: unknown }).retryAfterMs;
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}
