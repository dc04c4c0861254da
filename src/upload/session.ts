/**
 * The requests of the resumable upload protocol, one function each: start a session, send a chunk, ask for the
 * status (or finalize), cancel, and the simple one-shot PUT. None of them retries; the callers own the retry loop,
 * because only they know what is safe to resend.
 * @module
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import {
  InvalidArgumentError,
  ProtocolError,
  SizeMismatchError,
  UnsafeUrlError,
  UploadHttpError,
  type RequestDetails,
} from '../errors.js';
import { isLoopbackHostname } from '../client/site.js';
import { redactUrl } from '../util/redact.js';
import { parseRetryAfter } from '../util/retry.js';
import { formatContentRange, parseRangeHeader } from './content-range.js';
import { debug, exchange, headerValue, statusError, type Exchange, type SessionContext } from './session-http.js';

export type { SessionContext } from './session-http.js';

/** The object a completed upload produced, as the server describes it. Every field is what the server reported. */
export interface StoredObject {
  /**
   * Size in bytes (the server sends a decimal string; this is the number). Undefined when the answer does not say:
   * GCS leaves `size` out of the object of a 0-byte upload, and an XML simple `PUT` may answer with no body.
   */
  size: number | undefined;
  /** Base64 MD5 of the content, when the server reported one. */
  md5Hash: string | undefined;
  /** Base64 big-endian CRC32C of the content, when the server reported one. */
  crc32c: string | undefined;
  /**
   * True when the answer was meant to describe the object but could not be read (a truncated or unparsable JSON
   * body, a `size` that is not a byte count): ask the session again rather than trust or refuse it.
   */
  malformed: boolean;
  /** The whole object resource as received (or, for a body-less answer, the values read from its headers). */
  raw: Record<string, unknown>;
}

/** What the server says about a session: still open with `persisted` bytes, or complete. */
export type SessionStatus =
  /** The session is open (a `308` answer). */
  | {
      /** Discriminant: the upload is not finished. */
      complete: false;
      /** Bytes the server has persisted, counted from the start of the object; the next chunk starts here. */
      persisted: number;
    }
  /** The upload is finished (a 2xx answer). */
  | {
      /** Discriminant: the upload is finished. */
      complete: true;
      /** The object the upload produced. */
      object: StoredObject;
    };

/** One chunk to send: bytes `[start, start + length)` of the object. */
export interface ChunkToSend {
  /** Offset of the first byte in the object. */
  start: number;
  /**
   * The bytes, in order: a list of buffers, or an iterable (sync or async) that yields exactly `length` bytes. They
   * are sent as one body without being copied together.
   */
  buffers: readonly Buffer[] | Iterable<Buffer> | AsyncIterable<Buffer>;
  /** Total length of `buffers`, in bytes; at least 1. */
  length: number;
  /**
   * The object's size in bytes, when known; completes the upload when `start + length` equals it.
   * @default unknown (sent as `*`)
   */
  total?: number;
  /**
   * An `X-Goog-Hash` value for the server to verify (send it with the request that completes the upload).
   * @default none (the header is not sent)
   */
  hashHeader?: string;
}

const OCTET_STREAM = 'application/octet-stream';

function details(method: string, url: string): RequestDetails {
  return { method, path: redactUrl(url) };
}

function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

/**
 * Starts a resumable session: `POST url` with `x-goog-resumable: start`, `Content-Length: 0` and, when `size` is
 * known, `x-upload-content-length`. Resolves with the session URL from `Location` (resolved against `url` when
 * relative). Rejects with {@link UploadHttpError} on an error status (a 404 here is not a session expiry),
 * {@link ProtocolError} when `Location` is missing or unparseable, and {@link UnsafeUrlError} when it is not
 * http(s) or moves from https to plain http on a non-loopback host.
 */
export async function startSession(url: string, ctx: SessionContext, options: { size?: number } = {}): Promise<string> {
  const { size } = options;
  if (size !== undefined && (!Number.isSafeInteger(size) || size < 0)) {
    throw new InvalidArgumentError('size', 'a non-negative safe integer number of bytes', size);
  }
  const request = details('POST', url);
  const headers: Record<string, string> = { 'x-goog-resumable': 'start', 'content-length': '0' };
  if (size !== undefined) headers['x-upload-content-length'] = String(size);
  const response = await exchange('POST', url, ctx, headers);
  debug('POST %s (start, size %s) -> %d', request.path, size ?? 'unknown', response.status);
  if (response.status !== 200 && response.status !== 201) {
    throw new UploadHttpError(request, response.status, response.text, parseRetryAfter(response.headers['retry-after']));
  }
  const location = headerValue(response.headers, 'location');
  if (location === undefined || location.trim() === '') {
    throw new ProtocolError('the response starting the session has no Location header', request, response.status);
  }
  let session: URL;
  try {
    session = new URL(location.trim(), url);
  } catch (cause) {
    throw new ProtocolError('the Location header is not a URL', request, response.status, { cause });
  }
  if (session.protocol !== 'https:' && session.protocol !== 'http:') {
    throw new UnsafeUrlError(`The upload session URL uses ${session.protocol}; only http(s) is accepted`);
  }
  if (new URL(url).protocol === 'https:' && session.protocol === 'http:' && !isLoopbackHostname(session.hostname)) {
    throw new UnsafeUrlError(`The upload session URL ${redactUrl(session)} downgrades https to plain http`);
  }
  return session.href;
}

function* inOrder(buffers: readonly Buffer[]): Generator<Buffer> {
  for (const buffer of buffers) if (buffer.length > 0) yield buffer;
}

/**
 * Sends one chunk with `Content-Range: bytes a-b/N` (or `a-b/*` when `total` is undefined). Resolves with the
 * persisted count from a `308` (`Range` absent = 0, so a caller that just sent bytes should confirm with
 * {@link queryStatus}), or with the object on 2xx. Rejects with {@link SessionExpiredError} (404/410),
 * {@link SessionCancelledError} (499), {@link UploadHttpError} (any other status), {@link ProtocolError} (malformed
 * `Range`, unusable completion body), {@link NetworkError} or {@link AbortError}.
 */
export async function putChunk(sessionUrl: string, ctx: SessionContext, chunk: ChunkToSend): Promise<SessionStatus> {
  const { start, buffers, length, total, hashHeader } = chunk;
  if (!Number.isSafeInteger(start) || start < 0) {
    throw new InvalidArgumentError('chunk.start', 'a non-negative safe integer offset', start);
  }
  if (!Number.isSafeInteger(length) || length < 1) {
    throw new InvalidArgumentError('chunk.length', 'a positive safe integer (use queryStatus for an empty request)', length);
  }
  if (Array.isArray(buffers)) {
    const actual = (buffers as readonly Buffer[]).reduce((sum, buffer) => sum + buffer.length, 0);
    if (actual !== length) {
      throw new InvalidArgumentError('chunk.buffers', `buffers totalling chunk.length (${length}) bytes`, `${actual} bytes`);
    }
  }
  if (total !== undefined && (!Number.isSafeInteger(total) || total < start + length)) {
    throw new InvalidArgumentError('chunk.total', `undefined or a safe integer >= start + length (${start + length})`, total);
  }
  const contentRange = formatContentRange(start, length, total);
  const headers: Record<string, string> = {
    'content-type': OCTET_STREAM,
    'content-length': String(length),
    'content-range': contentRange,
  };
  if (hashHeader !== undefined) headers['x-goog-hash'] = hashHeader;
  const body = Array.isArray(buffers) ? inOrder(buffers as readonly Buffer[]) : (buffers as Iterable<Buffer> | AsyncIterable<Buffer>);
  const response = await exchange('PUT', sessionUrl, ctx, headers, body);
  return interpret(details('PUT', sessionUrl), contentRange, response);
}

/**
 * Sends an empty `PUT` with `Content-Range: bytes *\/*` (`total` undefined: a pure status query) or `bytes *\/N`
 * (which finalizes when the server holds exactly N bytes). `hashHeader` goes out as `X-Goog-Hash`, for a finalize.
 * Answers and errors as {@link putChunk}.
 */
export async function queryStatus(
  sessionUrl: string,
  ctx: SessionContext,
  total?: number,
  hashHeader?: string,
): Promise<SessionStatus> {
  if (total !== undefined && (!Number.isSafeInteger(total) || total < 0)) {
    throw new InvalidArgumentError('total', 'undefined or a non-negative safe integer number of bytes', total);
  }
  const contentRange = formatContentRange(0, 0, total);
  const headers: Record<string, string> = { 'content-length': '0', 'content-range': contentRange };
  if (hashHeader !== undefined) headers['x-goog-hash'] = hashHeader;
  const response = await exchange('PUT', sessionUrl, ctx, headers);
  return interpret(details('PUT', sessionUrl), contentRange, response);
}

function interpret(request: RequestDetails, contentRange: string, response: Exchange): SessionStatus {
  const { status } = response;
  if (status === 308) {
    const range = response.headers['range'];
    const persisted = parseRangeHeader(range);
    debug('PUT %s %s -> 308 Range %s', request.path, contentRange, range ?? '(none)');
    if (persisted === undefined) {
      throw new ProtocolError(`malformed Range header ${JSON.stringify(range)} in a 308 answer`, request, status);
    }
    return { complete: false, persisted };
  }
  debug('PUT %s %s -> %d', request.path, contentRange, status);
  if (isSuccess(status)) return { complete: true, object: parseStoredObject(response) };
  throw statusError(request, response);
}

/**
 * Cancels a session with `DELETE`. Resolves on 499 (the protocol's answer), 200/204, and 404/410 (already gone).
 * Rejects with {@link UploadHttpError} on other statuses, {@link NetworkError} or {@link AbortError}.
 */
export async function cancelSession(sessionUrl: string, ctx: SessionContext): Promise<void> {
  const request = details('DELETE', sessionUrl);
  const response = await exchange('DELETE', sessionUrl, ctx, { 'content-length': '0' });
  debug('DELETE %s -> %d', request.path, response.status);
  if ([499, 200, 204, 404, 410].includes(response.status)) return;
  throw new UploadHttpError(request, response.status, response.text, parseRetryAfter(response.headers['retry-after']));
}

/**
 * Uploads a whole object with one non-resumable `PUT` of exactly `length` bytes. `body` is a Buffer or a function
 * returning a fresh stream of the content (called once per call). A stream that yields a different number of
 * bytes rejects with {@link SizeMismatchError}. `options.hashHeader` goes out as `X-Goog-Hash`. Resolves with the
 * stored object on 2xx; errors as {@link putChunk}.
 */
export async function putSimple(
  url: string,
  ctx: SessionContext,
  body: Buffer | (() => Readable),
  length: number,
  options: { hashHeader?: string } = {},
): Promise<StoredObject> {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new InvalidArgumentError('length', 'a non-negative safe integer number of bytes', length);
  }
  if (Buffer.isBuffer(body) && body.length !== length) {
    throw new InvalidArgumentError('body', `a Buffer of length (${length}) bytes`, body);
  }
  if (!Buffer.isBuffer(body) && typeof body !== 'function') {
    throw new InvalidArgumentError('body', 'a Buffer or a function returning a Readable', body);
  }
  const request = details('PUT', url);
  const headers: Record<string, string> = { 'content-type': OCTET_STREAM, 'content-length': String(length) };
  if (options.hashHeader !== undefined) headers['x-goog-hash'] = options.hashHeader;
  const payload = Buffer.isBuffer(body) ? body : exactly(body(), length);
  const response = await exchange('PUT', url, ctx, headers, payload);
  debug('PUT %s (simple, %d bytes) -> %d', request.path, length, response.status);
  if (isSuccess(response.status)) return parseStoredObject(response);
  throw statusError(request, response);
}

/** Passes a stream through, failing with SizeMismatchError as soon as it is longer or shorter than `length`. */
async function* exactly(stream: Readable, length: number): AsyncGenerator<Buffer> {
  let seen = 0;
  for await (const piece of stream) {
    const buffer: Buffer = Buffer.isBuffer(piece) ? piece : Buffer.from(piece as Uint8Array);
    seen += buffer.length;
    if (seen > length) throw new SizeMismatchError('Upload body', length, seen);
    if (buffer.length > 0) yield buffer;
  }
  if (seen !== length) throw new SizeMismatchError('Upload body', length, seen);
}

function parseSize(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string' || !/^(0|[1-9][0-9]*)$/.test(value.trim())) return undefined;
  const size = Number(value.trim());
  return Number.isSafeInteger(size) ? size : undefined;
}

/**
 * Reads the object a completion answer describes: the JSON object resource, or, when the body is not JSON (the
 * XML API answers with headers only), `x-goog-stored-content-length` and `x-goog-hash`. Never throws: what cannot
 * be read is marked `malformed`, and what is absent stays undefined.
 */
function parseStoredObject(response: Exchange): StoredObject {
  const text = response.text.trim();
  let raw: Record<string, unknown> | undefined;
  let malformed = false;
  if (text !== '') {
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) raw = parsed as Record<string, unknown>;
      else malformed = true;
    } catch {
      // A body that is not JSON is an XML answer or plain text unless it starts like a JSON object (a truncated one).
      malformed = text.startsWith('{');
    }
  }
  const fromHeaders = objectFromHeaders(response.headers);
  const reportedSize = raw?.['size'];
  let size = reportedSize === undefined ? fromHeaders.size : parseSize(reportedSize);
  if (reportedSize !== undefined && size === undefined) malformed = true;
  if (malformed) size = undefined;
  const md5Hash = typeof raw?.['md5Hash'] === 'string' ? raw['md5Hash'] : fromHeaders.md5;
  const crc32c = typeof raw?.['crc32c'] === 'string' ? raw['crc32c'] : fromHeaders.crc32c;
  return { size, md5Hash, crc32c, malformed, raw: raw ?? { ...(size === undefined ? {} : { size: String(size) }), md5Hash, crc32c } };
}

function objectFromHeaders(headers: IncomingHttpHeaders): { size?: number; md5?: string; crc32c?: string } {
  const size = parseSize(headerValue(headers, 'x-goog-stored-content-length'));
  return { ...parseGoogHash(headerValue(headers, 'x-goog-hash')), ...(size === undefined ? {} : { size }) };
}

/** Parses an `X-Goog-Hash` value (`crc32c=<b64>,md5=<b64>`, either part optional) into its base64 parts. */
export function parseGoogHash(header: string | undefined): { crc32c?: string; md5?: string } {
  const result: { crc32c?: string; md5?: string } = {};
  for (const part of (header ?? '').split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim().toLowerCase();
    const value = part.slice(eq + 1).trim();
    if (name === 'crc32c' && value) result.crc32c = value;
    if (name === 'md5' && value) result.md5 = value;
  }
  return result;
}
