/**
 * {@link RedivisClient}: authenticated JSON calls to the Redivis API with retries, the temp uploads endpoint, and
 * the table calls (`client.tables`).
 * @module
 */
import { EventEmitter } from 'node:events';
import { debuglog } from 'node:util';
import type { Dispatcher } from 'undici';
import { InvalidArgumentError, MissingTokenError, RetriesExhaustedError, type RequestDetails } from '../errors.js';
import { redactUrl } from '../util/redact.js';
import { mayRetry, RetrySchedule, sleep, type ResolvedRetryOptions } from '../util/retry.js';
import { warningsFromHeader, WARNING_HEADER } from './api-errors.js';
import { attemptRequest, type ResponseHeaders } from './http.js';
import { resolveClientOptions, type RedivisClientOptions } from './options.js';
import { isSameSite } from './site.js';
import { tableReferencePathSegment, type TableReferenceInput } from './table-reference.js';
import { TablesApi } from './tables.js';
import {
  parseTempUploadList,
  resolveBatchSize,
  tempUploadsBody,
  toBatches,
  validateTempUploadRequests,
  type TempUpload,
  type TempUploadRequest,
} from './temp-uploads.js';

const debug = debuglog('redivis-upload');

/** HTTP methods accepted by {@link RedivisClient.request}. */
export type ApiMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';

const METHODS: ReadonlySet<string> = new Set<ApiMethod>(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']);

/** Query parameters; `undefined` values are left out. */
export type ApiQuery = Record<string, string | number | boolean | undefined>;

/** Per-call options of {@link RedivisClient.request}. */
export interface ApiRequestOptions {
  /** Sent as JSON. @default no body */
  body?: unknown;
  /** Appended as a query string (never shown in errors). @default none */
  query?: ApiQuery;
  /** Aborts the request and any wait between attempts. @default none */
  signal?: AbortSignal;
  /** `false` makes a single attempt and throws its error as is. @default true */
  retry?: boolean;
}

/** A successful API response. */
export interface ApiResponse<T> {
  /** HTTP status code, below 300. */
  status: number;
  /** Response headers: lower-case names, repeated headers as arrays. */
  headers: ResponseHeaders;
  /** The parsed JSON body; `undefined` when the body was empty. */
  body: T;
}

/** Payload of the client's `'retry'` event, emitted before each wait between attempts. */
export interface RetryEvent {
  /** HTTP method of the call. */
  method: string;
  /** Request path without query string. */
  path: string;
  /** Number of the attempt that just failed, from 1. */
  attempt: number;
  /** How long the client waits before the next attempt, in milliseconds. */
  delayMs: number;
  /** Why the attempt failed (an `ApiError` or a `NetworkError`). */
  error: Error;
}

/** Events of {@link RedivisClient}. */
export interface RedivisClientEvents {
  /** A distinct `X-REDIVIS-WARNING` text, emitted once per client. */
  warning: [message: string];
  /** An API call failed with a retryable error and will be tried again. */
  retry: [event: RetryEvent];
}

/** Options of {@link RedivisClient.createTempUploads}. */
export interface CreateTempUploadsOptions {
  /** Aborts the call. @default none */
  signal?: AbortSignal;
  /** Most temp uploads per request; more are sent as several requests, in order. @default 1000 */
  batchSize?: number;
}

/** Distinct warnings remembered per client; past this, older ones may be reported again. */
const MAX_REMEMBERED_WARNINGS = 1000;

/**
 * A client of the Redivis REST API.
 *
 * Failures of {@link request}: a status of 400 or more is an `ApiError`; a connection failure or timeout is a
 * `NetworkError`; an abort is an `AbortError`. 429, 5xx and network failures are retried with backoff (honouring
 * `Retry-After`, capped at `retry.maxDelayMs`). When they persist past `retry.retries`, the call throws
 * `RetriesExhaustedError` whose `cause` is the last `ApiError` or `NetworkError` and whose `attempts` counts every
 * attempt. Other 4xx statuses are thrown as `ApiError` at once.
 *
 * Emits `'warning'` (message) once per distinct `X-REDIVIS-WARNING` text, and `'retry'` ({@link RetryEvent})
 * before each wait between attempts.
 */
export class RedivisClient extends EventEmitter<RedivisClientEvents> {
  /** Base URL of the API, without trailing slash. */
  readonly apiEndpoint: string;
  /** `User-Agent` sent with every request. */
  readonly userAgent: string;
  /** Dispatcher for every request; `undefined` means undici's global dispatcher. */
  readonly dispatcher: Dispatcher | undefined;
  /** Retry policy for API calls and upload requests. */
  readonly retry: ResolvedRetryOptions;
  /** Per-request headers and body-inactivity timeout, in milliseconds. */
  readonly requestTimeoutMs: number;
  /** Table calls: `client.tables.exists(ref)`, `get(ref)` and `create(ref, { isFileIndex })`. */
  readonly tables: TablesApi;

  // A private field keeps the token out of enumeration, JSON.stringify and util.inspect.
  readonly #token: string | undefined;
  readonly #onWarning: ((message: string) => void) | undefined;
  readonly #warningsSeen = new Set<string>();

  constructor(options?: RedivisClientOptions) {
    super();
    const resolved = resolveClientOptions(options);
    this.#token = resolved.apiToken;
    this.apiEndpoint = resolved.apiEndpoint;
    this.userAgent = resolved.userAgent;
    this.dispatcher = resolved.dispatcher;
    this.retry = resolved.retry;
    this.requestTimeoutMs = resolved.requestTimeoutMs;
    this.#onWarning = resolved.onWarning;
    this.tables = new TablesApi(this);
  }

  /** Whether an API token is configured. */
  get hasToken(): boolean {
    return this.#token !== undefined;
  }

  /**
   * Calls the API. `path` is relative to {@link apiEndpoint} (e.g. `/tables/<segment>/tempUploads`) and must not
   * carry a query string (use `options.query`). Sends `Authorization`, `User-Agent` and `Accept`; throws
   * `MissingTokenError` before any request when no token is configured. See the class description for failures.
   */
  async request<T = unknown>(method: ApiMethod, path: string, options: ApiRequestOptions = {}): Promise<ApiResponse<T>> {
    if (typeof method !== 'string' || !METHODS.has(method)) {
      throw new InvalidArgumentError('method', 'one of GET, POST, PUT, PATCH, DELETE, HEAD', method);
    }
    if (typeof path !== 'string' || !path.startsWith('/') || path.startsWith('//') || /[?#]/.test(path)) {
      throw new InvalidArgumentError('path', 'a path starting with a single / and without ? or #', path);
    }
    if (options === null || typeof options !== 'object') {
      throw new InvalidArgumentError('options', 'an object or undefined', options);
    }
    const { signal, query } = options;
    const body = serializeBody(options.body);
    const url = this.apiEndpoint + path + queryString(query);
    if (this.#token === undefined) throw new MissingTokenError();

    const headers: Record<string, string> = {
      authorization: `Bearer ${this.#token}`,
      'user-agent': this.userAgent,
      accept: 'application/json',
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const details: RequestDetails = { method, path };

    const schedule = new RetrySchedule(this.retry);
    for (let attempt = 1; ; attempt += 1) {
      const outcome = await attemptRequest({
        method,
        url,
        details,
        headers,
        body,
        signal,
        dispatcher: this.dispatcher,
        timeoutMs: this.requestTimeoutMs,
      });
      if (outcome.headers) this.#reportWarnings(outcome.headers);
      if (outcome.ok) {
        debug('%s %s -> %d', method, path, outcome.status);
        return { status: outcome.status, headers: outcome.headers, body: outcome.body as T };
      }
      debug('%s %s attempt %d failed: %s', method, path, attempt, outcome.error.message);
      if (options.retry === false || !mayRetry(this.retry, outcome.error, attempt)) throw outcome.error;
      if (!schedule.canRetry) throw new RetriesExhaustedError(`${method} ${path}`, attempt, outcome.error);
      const delayMs = schedule.nextDelay(outcome.retryAfterMs);
      this.emit('retry', { method, path, attempt, delayMs, error: outcome.error });
      await sleep(delayMs, signal);
    }
  }

  /**
   * Creates temp uploads in `table`, in request order. Everything is validated before the first request
   * (`InvalidArgumentError` naming e.g. `tempUploads[3].size`, `TableReferenceError` for the table). More than
   * `batchSize` items are sent as several sequential requests. A response whose results do not match the request
   * one for one is a `ProtocolError`.
   */
  async createTempUploads(
    table: TableReferenceInput,
    items: TempUploadRequest[],
    options: CreateTempUploadsOptions = {},
  ): Promise<TempUpload[]> {
    const segment = tableReferencePathSegment(table);
    validateTempUploadRequests(items);
    if (options === null || typeof options !== 'object') {
      throw new InvalidArgumentError('options', 'an object or undefined', options);
    }
    const batchSize = resolveBatchSize(options.batchSize);
    if (this.#token === undefined) throw new MissingTokenError();

    const path = `/tables/${segment}/tempUploads`;
    const created: TempUpload[] = [];
    for (const batch of toBatches(items, batchSize)) {
      const response = await this.request('POST', path, { body: tempUploadsBody(batch), signal: options.signal });
      created.push(...parseTempUploadList(response.body, batch, { method: 'POST', path }, response.status));
    }
    return created;
  }

  /**
   * Headers for a request to an upload URL: always `User-Agent`; `Authorization` only when the URL is https (or
   * http to a loopback host) and its hostname is the API endpoint's hostname or a subdomain of it.
   */
  uploadHeaders(url: string | URL): Record<string, string> {
    let parsed: URL;
    try {
      parsed = new URL(String(url));
    } catch (error) {
      throw new InvalidArgumentError('url', 'an absolute URL', redactUrl(String(url)), { cause: error });
    }
    const headers: Record<string, string> = { 'user-agent': this.userAgent };
    if (this.#token !== undefined && isSameSite(parsed, this.apiEndpoint)) {
      headers.authorization = `Bearer ${this.#token}`;
    }
    return headers;
  }

  #reportWarnings(headers: ResponseHeaders): void {
    for (const message of warningsFromHeader(headers[WARNING_HEADER])) {
      if (this.#warningsSeen.has(message)) continue;
      if (this.#warningsSeen.size >= MAX_REMEMBERED_WARNINGS) this.#warningsSeen.clear();
      this.#warningsSeen.add(message);
      this.#onWarning?.(message);
      this.emit('warning', message);
    }
  }
}

function serializeBody(body: unknown): string | undefined {
  if (body === undefined) return undefined;
  let text: string | undefined;
  try {
    text = JSON.stringify(body);
  } catch (error) {
    throw new InvalidArgumentError('options.body', 'a JSON-serialisable value', body, { cause: error });
  }
  if (text === undefined) throw new InvalidArgumentError('options.body', 'a JSON-serialisable value', body);
  return text;
}

function queryString(query: ApiQuery | undefined): string {
  if (query === undefined) return '';
  if (query === null || typeof query !== 'object' || Array.isArray(query)) {
    throw new InvalidArgumentError('options.query', 'an object of string, number or boolean values', query);
  }
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new InvalidArgumentError(`options.query.${key}`, 'a string, number, boolean or undefined', value);
    }
    params.append(key, String(value));
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}
