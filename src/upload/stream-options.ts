/**
 * Options of {@link createTempUploadStream}, their defaults and their validation, in one place.
 * @module
 */
import { tmpdir } from 'node:os';
import type { Dispatcher } from 'undici';
import type { RedivisClient } from '../client/redivis-client.js';
import { formatTableReference, type TableReferenceInput } from '../client/table-reference.js';
import { InvalidArgumentError, UnsafeUrlError } from '../errors.js';
import { isLoopbackHost } from '../util/loopback.js';
import { resolveRetryOptions, type ResolvedRetryOptions, type RetryOptions } from '../util/retry.js';
import { CHUNK_ALIGNMENT } from './content-range.js';
import type { ChecksumOptions } from './checksums.js';

/** 8 MiB, Google's recommended minimum chunk for throughput. */
export const DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024;
/** The longest an upload waits on the server without progress by default: 10 minutes. */
export const DEFAULT_STALL_TIMEOUT_MS = 600_000;
/** Bytes the stream holds in memory by default: two 16 MiB requests, one in flight while the next fills. */
export const DEFAULT_MEMORY_LIMIT = 32 * 1024 * 1024;
/** Bytes the stream may spill to disk by default, when measurements show that larger requests pay off. */
export const DEFAULT_SPILL_BYTES = 256 * 1024 * 1024;

/** Where the stream may spill its replay buffer, and how much. */
export interface SpillOptions {
  /**
   * Folder of the temp file. The file is removed when the upload ends, however it ends; on POSIX systems it is
   * unlinked as soon as it is open, so even a killed process leaves nothing behind.
   * @default os.tmpdir()
   */
  directory?: string;
  /**
   * Most bytes kept in the file at once, in bytes.
   * @default 268435456 (256 MiB)
   */
  maxBytes?: number;
}

/** Options shared by every way of telling the stream where to send. */
export interface TempUploadStreamCommonOptions {
  /**
   * The unit of requests, a positive multiple of 256 KiB (262144): every request but the last carries a whole
   * number of chunks, at least one, so this is also the smallest request.
   * @default `8388608` (8 MiB)
   */
  chunkSize?: number;
  /**
   * The most bytes one request carries. By default requests are as large as the data at hand and the link allow:
   * half the memory limit, and, when the measured bandwidth and round trip show that larger ones pay off, up to
   * 40 round trips' worth of bytes (spilled to disk). `maxRequestSize: chunkSize` sends fixed-size chunks.
   * @default measured (see the README's "How the stream behaves")
   */
  maxRequestSize?: number;
  /**
   * Bytes the replay buffer holds in memory. Writes wait (backpressure) when it is full and nothing may spill.
   * Memory stays below this plus 4 MiB of pending disk writes plus the largest single write.
   * @default `33554432` (32 MiB), or `2 × chunkSize` when that is larger
   */
  memoryLimit?: number;
  /**
   * Lets the replay buffer overflow into a temp file, so one request can carry more than memory holds. It is used
   * only when the measured link makes larger requests pay off (never on a fast loopback); `false` turns it off.
   * @default `{ directory: os.tmpdir(), maxBytes: 268435456 }`
   */
  spill?: SpillOptions | false;
  /**
   * Exact size of the data in bytes, when known. It is sent as the total from the first request, and a stream that
   * ends short or runs long fails with a `SizeMismatchError` before anything is finalized.
   * @default `undefined` (unknown: the total is sent with the last request)
   */
  size?: number;
  /** Checksums computed while uploading and compared with the server's. @default { crc32c: true, md5: false } */
  checksums?: ChecksumOptions;
  /** Retry policy for upload requests. @default the client's `retry`, else the {@link RetryOptions} defaults */
  retry?: RetryOptions;
  /**
   * The longest the upload may wait on the server without its persisted offset advancing, in milliseconds:
   * requests in flight, status queries and the waits between retries count; waiting for the source does not. A
   * request still in flight when it runs out is cut off, and the stream fails with `TimeoutError` (the session is
   * kept, so it can be resumed).
   * @default `600000` (10 minutes)
   */
  stallTimeoutMs?: number;
  /**
   * Timeout for a single request's response headers and for body inactivity, in milliseconds.
   * @default the client's `requestTimeoutMs`, else `60000` (60 s)
   */
  requestTimeoutMs?: number;
  /**
   * Aborting it destroys the stream with an `AbortError` and cancels the session.
   * @default none (only `destroy()` stops the upload early)
   */
  signal?: AbortSignal;
  /**
   * undici dispatcher for upload requests.
   * @default the client's `dispatcher`, else undici's global dispatcher (`getGlobalDispatcher()`)
   */
  dispatcher?: Dispatcher;
  /** Writable high-water mark in bytes: how much Node buffers in front of the stream. @default `65536` (64 KiB) */
  highWaterMark?: number;
}

/** Send to a temp upload's URL; the stream starts the resumable session itself. */
export interface TempUploadUrlTarget extends TempUploadStreamCommonOptions {
  /**
   * The temp upload's `url` as the API returned it (https; plain http only on loopback). The stream starts a
   * resumable session there with a `POST`.
   */
  url: string;
  /**
   * Supplies User-Agent, the token (only for URLs on the API's own site), retries, the request timeout and the
   * dispatcher.
   * @default none (no token is sent; the User-Agent, retries and timeouts take their defaults)
   */
  client?: RedivisClient;
}

/**
 * Continue an already-started session. Bytes the server already holds are skipped; feed the source from `offset`.
 */
export interface TempUploadSessionTarget extends TempUploadStreamCommonOptions {
  /**
   * The session URL of an earlier stream ({@link TempUploadStream.sessionUrl}, or the `session` event). The stream
   * first asks it how many bytes are persisted.
   */
  sessionUrl: string;
  /**
   * Absolute offset of the first byte the source will write. With the default, feed the whole source again: the
   * stream skips what the server has persisted and can still verify the checksums of the whole object.
   * @default 0
   */
  offset?: number;
  /**
   * The temp upload's id, kept from the first stream ({@link TempUploadStream.tempUploadId}), so that
   * `result.tempUploadId` is set after the resumption too.
   * @default undefined
   */
  tempUploadId?: string;
  /**
   * Supplies User-Agent, the token (only for session URLs on the API's own site), retries, the request timeout and
   * the dispatcher.
   * @default none (no token is sent; the User-Agent, retries and timeouts take their defaults)
   */
  client?: RedivisClient;
}

/** Create the temp upload first (resumable), then stream into it. */
export interface TempUploadTableTarget extends TempUploadStreamCommonOptions {
  /** Creates the temp upload, and supplies User-Agent, token, retries, the request timeout and the dispatcher. */
  client: RedivisClient;
  /** The table the temp upload is created in, as a reference string or object. */
  table: TableReferenceInput;
  /** The temp upload's name, unique within the table. */
  name: string;
  /**
   * Size to declare when creating the temp upload if `size` is not known (the protocol total stays unknown), in
   * bytes.
   * @default `size`, else `0`
   */
  sizeHint?: number;
}

/** Where and how {@link createTempUploadStream} uploads. Exactly one of `url`, `sessionUrl` or `table`. */
export type TempUploadStreamOptions = TempUploadUrlTarget | TempUploadSessionTarget | TempUploadTableTarget;

/** The one destination of a stream, after validation. */
export type ResolvedTarget =
  | { kind: 'url'; url: string }
  | { kind: 'session'; sessionUrl: string; offset: number; tempUploadId: string | undefined }
  | { kind: 'table'; table: TableReferenceInput; name: string; sizeHint: number | undefined };

/** {@link TempUploadStreamOptions} after validation, with every default filled in (same units). */
export interface ResolvedStreamOptions {
  target: ResolvedTarget;
  client: RedivisClient | undefined;
  chunkSize: number;
  maxRequestSize: number | undefined;
  memoryLimit: number;
  spill: Required<SpillOptions> | undefined;
  size: number | undefined;
  checksums: Required<ChecksumOptions>;
  retry: ResolvedRetryOptions;
  stallTimeoutMs: number;
  requestTimeoutMs: number;
  signal: AbortSignal | undefined;
  dispatcher: Dispatcher | undefined;
  highWaterMark: number;
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function optionalCount(name: string, value: unknown, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (!isNonNegativeInteger(value) || value < min) {
    throw new InvalidArgumentError(name, `an integer >= ${min}`, value);
  }
  return value;
}

/** Validates options before anything is sent, naming the option at fault with what was expected and received. */
export function resolveStreamOptions(options: TempUploadStreamOptions): ResolvedStreamOptions {
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError('options', 'an object with url, sessionUrl or client + table + name', options);
  }
  const raw = options as Partial<TempUploadUrlTarget & TempUploadSessionTarget & TempUploadTableTarget>;
  const targets = (['url', 'sessionUrl', 'table'] as const).filter((key) => raw[key] !== undefined);
  if (targets.length !== 1) {
    throw new InvalidArgumentError('options', 'exactly one of url, sessionUrl or table', targets.length === 0 ? 'none' : targets.join(' and '));
  }
  const client = raw.client;
  if (client !== undefined && (client === null || typeof client !== 'object' || typeof client.uploadHeaders !== 'function')) {
    throw new InvalidArgumentError('client', 'a RedivisClient', client);
  }

  let target: ResolvedTarget;
  if (raw.url !== undefined) {
    target = { kind: 'url', url: checkUrl('url', raw.url) };
  } else if (raw.sessionUrl !== undefined) {
    if (raw.tempUploadId !== undefined && (typeof raw.tempUploadId !== 'string' || raw.tempUploadId === '')) {
      throw new InvalidArgumentError('tempUploadId', 'a non-empty string', raw.tempUploadId);
    }
    target = {
      kind: 'session',
      sessionUrl: checkUrl('sessionUrl', raw.sessionUrl),
      offset: optionalCount('offset', raw.offset, 0) ?? 0,
      tempUploadId: raw.tempUploadId,
    };
  } else {
    if (client === undefined) throw new InvalidArgumentError('client', 'a RedivisClient (required with table)', client);
    if (typeof raw.name !== 'string' || raw.name === '') throw new InvalidArgumentError('name', 'a non-empty string', raw.name);
    // Parsed now so that a malformed reference throws here, not at the first write.
    target = { kind: 'table', table: formatTableReference(raw.table!), name: raw.name, sizeHint: optionalCount('sizeHint', raw.sizeHint, 0) };
  }

  const chunkSize = raw.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!isNonNegativeInteger(chunkSize) || chunkSize === 0 || chunkSize % CHUNK_ALIGNMENT !== 0) {
    throw new InvalidArgumentError('chunkSize', `a positive multiple of ${CHUNK_ALIGNMENT} (256 KiB)`, chunkSize);
  }
  const checksums = raw.checksums ?? {};
  if (checksums === null || typeof checksums !== 'object') {
    throw new InvalidArgumentError('checksums', 'an object like { crc32c?: boolean, md5?: boolean }', checksums);
  }
  if (raw.signal !== undefined && !(raw.signal instanceof AbortSignal)) {
    throw new InvalidArgumentError('signal', 'an AbortSignal', raw.signal);
  }

  const maxRequestSize = optionalCount('maxRequestSize', raw.maxRequestSize, chunkSize);
  if (maxRequestSize !== undefined && maxRequestSize % chunkSize !== 0) {
    throw new InvalidArgumentError('maxRequestSize', `a multiple of chunkSize (${chunkSize})`, maxRequestSize);
  }
  const memoryLimit = optionalCount('memoryLimit', raw.memoryLimit, chunkSize) ?? Math.max(DEFAULT_MEMORY_LIMIT, 2 * chunkSize);

  return {
    target,
    client,
    chunkSize,
    maxRequestSize,
    memoryLimit,
    spill: resolveSpill(raw.spill),
    size: optionalCount('size', raw.size, 0),
    checksums: { crc32c: checksums.crc32c !== false, md5: checksums.md5 === true },
    retry: raw.retry !== undefined ? resolveRetryOptions(raw.retry) : (client?.retry ?? resolveRetryOptions(undefined)),
    stallTimeoutMs: optionalCount('stallTimeoutMs', raw.stallTimeoutMs, 1) ?? DEFAULT_STALL_TIMEOUT_MS,
    requestTimeoutMs: optionalCount('requestTimeoutMs', raw.requestTimeoutMs, 1) ?? client?.requestTimeoutMs ?? 60_000,
    signal: raw.signal,
    dispatcher: raw.dispatcher ?? client?.dispatcher,
    highWaterMark: optionalCount('highWaterMark', raw.highWaterMark, 1) ?? 65_536,
  };
}

function resolveSpill(value: unknown): Required<SpillOptions> | undefined {
  if (value === false) return undefined;
  if (value === undefined) return { directory: tmpdir(), maxBytes: DEFAULT_SPILL_BYTES };
  if (value === null || typeof value !== 'object') {
    throw new InvalidArgumentError('spill', 'false or an object like { directory?: string, maxBytes?: number }', value);
  }
  const { directory, maxBytes } = value as SpillOptions;
  if (directory !== undefined && (typeof directory !== 'string' || directory === '')) {
    throw new InvalidArgumentError('spill.directory', 'a folder path', directory);
  }
  const bytes = optionalCount('spill.maxBytes', maxBytes, 0) ?? DEFAULT_SPILL_BYTES;
  return bytes === 0 ? undefined : { directory: directory ?? tmpdir(), maxBytes: bytes };
}

function checkUrl(name: string, value: unknown): string {
  if (typeof value !== 'string') throw new InvalidArgumentError(name, 'an http(s) URL string', value);
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new InvalidArgumentError(name, 'an absolute http(s) URL', '<unparseable URL>');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new InvalidArgumentError(name, 'an http(s) URL', parsed.protocol);
  }
  if (parsed.protocol === 'http:' && !isLoopbackHost(parsed.hostname)) {
    throw new UnsafeUrlError(`Refusing to upload over plain http to ${parsed.host}: use https (plain http is allowed only on loopback)`);
  }
  return value;
}

/** Payload of the `progress` event. */
export interface UploadProgress {
  /** Bytes the source has written into the stream. */
  bytesWritten: number;
  /** Bytes the server has confirmed as persisted. */
  bytesConfirmed: number;
  /** The total, once known (from `size`, or when the source has ended). */
  totalBytes: number | undefined;
}

/** Payload of the `retry` event. */
export interface UploadRetry {
  /** Retry number since the persisted offset last advanced, from 1. */
  attempt: number;
  /** Delay before the retry, ms. */
  delayMs: number;
  /** The failure that caused it. */
  error: Error;
}

/** What a finished upload stream reports as `stream.result`. */
export interface TempUploadResult {
  /** The temp upload's id, to pass on as `tempUploadId`; undefined when the stream was given only a URL. */
  tempUploadId: string | undefined;
  /** Bytes stored, as reported by the server. */
  size: number;
  /** Base64 MD5 as reported by the server, when it reports one. */
  md5: string | undefined;
  /** Base64 big-endian CRC32C as reported by the server, when it reports one. */
  crc32c: string | undefined;
  /** The session URL the data went to. */
  sessionUrl: string;
}
