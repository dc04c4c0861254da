/**
 * The HTTP plumbing under the session requests: one exchange with undici, response bodies always drained (so
 * keep-alive sockets are reused), and transport failures turned into the library's errors.
 * @module
 */
import { request, type Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';
import { debuglog } from 'node:util';
import {
  AbortError,
  NetworkError,
  RedivisUploadError,
  SessionCancelledError,
  SessionExpiredError,
  UploadHttpError,
  type RequestDetails,
} from '../errors.js';
import { DEFAULT_REQUEST_TIMEOUT_MS } from '../client/options.js';
import { toRequestError } from '../util/failures.js';
import { redactUrl } from '../util/redact.js';
import { parseRetryAfter } from '../util/retry.js';

/** Debug output of the upload layer; enable with `NODE_DEBUG=redivis-upload`. */
export const debug = debuglog('redivis-upload');

/** How each session request is sent. Shared by every request of one upload. */
export interface SessionContext {
  /**
   * The undici dispatcher the requests go through.
   * @default undici's global dispatcher
   */
  dispatcher?: Dispatcher;
  /**
   * Extra request headers (User-Agent and, when the URL's host may receive it, Authorization). Protocol headers
   * set by the request functions win over these.
   * @default no extra headers
   */
  headers?: Record<string, string>;
  /**
   * Aborts the request in flight; the request then rejects with {@link AbortError}.
   * @default none (requests end only by completing, failing or timing out)
   */
  signal?: AbortSignal;
  /**
   * `headersTimeout` and `bodyTimeout` of each request, in milliseconds.
   * @default 60000
   */
  requestTimeoutMs?: number;
}

export { DEFAULT_REQUEST_TIMEOUT_MS };

/** Error response bodies are kept only this far; the rest is read and dropped. */
const MAX_KEPT_BODY = 1 << 20;

/** What came back from one exchange. The body is fully consumed. */
export interface Exchange {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** `ctx.headers` with lower-cased names, then `own` on top. */
function mergeHeaders(ctx: SessionContext, own: Record<string, string>): Record<string, string> {
  const merged: Record<string, string> = {};
  for (const [name, value] of Object.entries(ctx.headers ?? {})) merged[name.toLowerCase()] = value;
  for (const [name, value] of Object.entries(own)) merged[name.toLowerCase()] = value;
  return merged;
}

async function drain(body: AsyncIterable<Buffer>): Promise<string> {
  const kept: Buffer[] = [];
  let size = 0;
  for await (const piece of body) {
    if (size < MAX_KEPT_BODY) {
      kept.push(piece);
      size += piece.length;
    }
  }
  return Buffer.concat(kept).subarray(0, MAX_KEPT_BODY).toString('utf8');
}

/**
 * Sends one request and reads its whole response. Never retries, never follows redirects (a 308 is a protocol
 * answer here). Transport failures reject with {@link NetworkError}, aborts with {@link AbortError}.
 */
export async function exchange(
  method: 'POST' | 'PUT' | 'DELETE',
  url: string,
  ctx: SessionContext,
  headers: Record<string, string>,
  body?: Buffer | Iterable<Buffer> | AsyncIterable<Buffer>,
): Promise<Exchange> {
  const details: RequestDetails = { method, path: redactUrl(url) };
  if (ctx.signal?.aborted) throw new AbortError(undefined, { cause: ctx.signal.reason });
  const timeout = ctx.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  try {
    const response = await request(url, {
      method,
      headers: mergeHeaders(ctx, headers),
      // undici accepts any iterable of Buffers as a body; its declared type lists only streams.
      body: (body ?? null) as Buffer | null,
      dispatcher: ctx.dispatcher,
      signal: ctx.signal ?? null,
      headersTimeout: timeout,
      bodyTimeout: timeout,
    });
    const text = await drain(response.body);
    return { status: response.statusCode, headers: response.headers, text };
  } catch (error) {
    const mapped = toRequestError(error, details, ctx.signal);
    // A NetworkError's message already names the request.
    if (mapped instanceof NetworkError) debug('%s', mapped.message);
    else debug('%s %s failed: %s', method, details.path, mapped instanceof Error ? mapped.message : String(mapped));
    throw mapped;
  }
}

/** The error for a non-success answer of a request on an existing session. */
export function statusError(details: RequestDetails, response: Exchange): RedivisUploadError {
  const { status } = response;
  if (status === 404 || status === 410) return new SessionExpiredError(details.path, status);
  if (status === 499) return new SessionCancelledError(details.path);
  return new UploadHttpError(details, status, response.text, parseRetryAfter(response.headers['retry-after']));
}

/** A header's single value; repeated headers are joined as HTTP allows for list-valued fields. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}
