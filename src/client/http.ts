/**
 * One API request: send it with undici, read the whole response, and classify the result as success, a retryable
 * failure or a final failure. Redirects are never followed (undici's `request` does not), so the token cannot
 * follow one to another host.
 * @module
 */
import { request, type Dispatcher } from 'undici';
import { AbortError, ApiError, ProtocolError, type RequestDetails } from '../errors.js';
import { isRetryableError, isRetryableStatus, toRequestError } from '../util/failures.js';
import { parseRetryAfter } from '../util/retry.js';
import { parseErrorBody, parseErrorPayloadHeader, ERROR_PAYLOAD_HEADER, type ApiErrorDetails } from './api-errors.js';

/** Response headers as undici gives them: lower-case names, repeated headers as arrays. */
export type ResponseHeaders = Record<string, string | string[] | undefined>;

/** What one attempt needs. */
export interface HttpAttempt {
  method: Dispatcher.HttpMethod;
  /** Absolute URL, query string included. */
  url: string;
  /** What errors show: the path without query string. */
  details: RequestDetails;
  headers: Record<string, string>;
  body: string | undefined;
  signal: AbortSignal | undefined;
  dispatcher: Dispatcher | undefined;
  /** Headers timeout and body inactivity timeout, in milliseconds. */
  timeoutMs: number;
}

/** A complete response with a status below 300. */
export interface HttpSuccess {
  ok: true;
  status: number;
  headers: ResponseHeaders;
  body: unknown;
}

/** A failed attempt; `retryable` tells whether the same request may be tried again. */
export interface HttpFailure {
  ok: false;
  error: Error;
  retryable: boolean;
  /** The server's `Retry-After`, in milliseconds, when it sent one. */
  retryAfterMs: number | undefined;
  /** Headers of the response, when one arrived. */
  headers: ResponseHeaders | undefined;
}

/** Sends one request. Never throws: every outcome, aborts included, is returned. */
export async function attemptRequest(attempt: HttpAttempt): Promise<HttpSuccess | HttpFailure> {
  const { details, signal } = attempt;
  if (signal?.aborted) return abortFailure(signal);

  let response: Dispatcher.ResponseData;
  try {
    response = await request(attempt.url, {
      method: attempt.method,
      headers: attempt.headers,
      body: attempt.body,
      signal,
      dispatcher: attempt.dispatcher,
      headersTimeout: attempt.timeoutMs,
      bodyTimeout: attempt.timeoutMs,
    });
  } catch (error) {
    return transportFailure(error, details, signal, undefined);
  }

  const headers = response.headers as ResponseHeaders;
  let text: string;
  try {
    text = await response.body.text();
  } catch (error) {
    return transportFailure(error, details, signal, headers);
  }

  const status = response.statusCode;
  if (status >= 400) {
    const errorDetails: ApiErrorDetails =
      attempt.method === 'HEAD' ? parseErrorPayloadHeader(headers[ERROR_PAYLOAD_HEADER]) : parseErrorBody(text);
    const retryAfterMs = parseRetryAfter(headers['retry-after']);
    return {
      ok: false,
      error: new ApiError(details, status, errorDetails.errorCode, errorDetails.errorDescription, { retryAfterMs }),
      retryable: isRetryableStatus(status),
      retryAfterMs,
      headers,
    };
  }
  if (status >= 300) {
    return finalFailure(
      new ProtocolError(`unexpected HTTP ${status}; redirects are not followed`, details, status),
      headers,
    );
  }

  if (text.trim() === '') return { ok: true, status, headers, body: undefined };
  try {
    return { ok: true, status, headers, body: JSON.parse(text) as unknown };
  } catch (error) {
    return finalFailure(new ProtocolError(`HTTP ${status} response is not JSON`, details, status, { cause: error }), headers);
  }
}

function transportFailure(
  error: unknown,
  details: RequestDetails,
  signal: AbortSignal | undefined,
  headers: ResponseHeaders | undefined,
): HttpFailure {
  if (signal?.aborted) return abortFailure(signal);
  const mapped = toRequestError(error, details, signal);
  const reported = mapped instanceof Error ? mapped : new Error(String(mapped));
  return { ok: false, error: reported, retryable: isRetryableError(reported), retryAfterMs: undefined, headers };
}

function abortFailure(signal: AbortSignal): HttpFailure {
  return finalFailure(new AbortError(undefined, { cause: signal.reason }), undefined);
}

function finalFailure(error: Error, headers: ResponseHeaders | undefined): HttpFailure {
  return { ok: false, error, retryable: false, retryAfterMs: undefined, headers };
}
