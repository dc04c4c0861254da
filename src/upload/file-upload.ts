/**
 * {@link uploadFile}: one file or Buffer into a new temp upload, simple or resumable as the server decides, with
 * retries, end-to-end checksums, a new temp upload when the session expires, and cancellation of the session when
 * the upload is abandoned.
 * @module
 */
import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { AbortError, InvalidArgumentError, ProtocolError } from '../errors.js';
import type { RedivisClient } from '../client/redivis-client.js';
import { tableReferencePathSegment, type TableReferenceInput } from '../client/table-reference.js';
import type { TempUpload } from '../client/temp-uploads.js';
import { CHUNK_ALIGNMENT } from './content-range.js';
import { BufferSource, FileSource } from './file-source.js';
import { uploadSized } from './sized-upload.js';
import type { UploadRetry } from './stream-options.js';
import { debug } from './session-http.js';
import { redactUrl } from '../util/redact.js';

/** Size from which {@link uploadFile} asks for a resumable upload, in bytes (32 MiB, as the official clients). */
export const DEFAULT_RESUMABLE_THRESHOLD = 33_554_432;
/** The unit of a resumable {@link uploadFile}'s requests, and the size of its first one (8 MiB). */
export const DEFAULT_FILE_CHUNK_SIZE = 8_388_608;

/** Progress of {@link uploadFile}: bytes the server has confirmed so far, out of `total`. */
export interface UploadFileProgress {
  /** Bytes the server has confirmed as stored, counted from the start of the content. */
  bytesConfirmed: number;
  /** Size of the whole content, in bytes. */
  total: number;
}

/** Options of {@link uploadFile}. */
export interface UploadFileOptions {
  /** The client that creates the temp upload and supplies dispatcher, retry policy, timeouts and headers. */
  client: RedivisClient;
  /** The table the temp upload belongs to. */
  table: TableReferenceInput;
  /**
   * Name of the temp upload, unique within the table.
   * @default the file's basename (`path.basename(source)`); required when the source is a Buffer
   */
  name?: string;
  /**
   * Whether to ask for a resumable upload. The server's answer decides which protocol is used.
   * @default `size >= resumableThreshold`
   */
  resumable?: boolean;
  /**
   * Size from which a resumable upload is asked for, in bytes.
   * @default `33554432` (32 MiB, as the official clients)
   */
  resumableThreshold?: number;
  /**
   * The unit of a resumable upload's requests, a positive multiple of 262144 (256 KiB). The first request carries
   * one chunk and measures the link; the next one carries the whole rest of the file, read from disk as it is sent
   * (memory stays at a few MiB however large the request).
   * @default `8388608` (8 MiB)
   */
  chunkSize?: number;
  /**
   * The most bytes per request of a resumable upload, a multiple of `chunkSize`; `maxRequestSize: chunkSize` sends
   * fixed-size chunks. Requests are also kept short enough to end within `stallTimeoutMs` at the measured rate.
   * @default the whole rest of the file
   */
  maxRequestSize?: number;
  /**
   * The longest the upload may wait on the server without its persisted offset advancing, in milliseconds
   * (requests in flight and the waits between retries count). A request still in flight then is cut off.
   * @default `600000` (10 minutes)
   */
  stallTimeoutMs?: number;
  /**
   * Aborts the upload; it then rejects with `AbortError` and the session is cancelled (best effort).
   * @default none
   */
  signal?: AbortSignal;
  /**
   * Called each time the server confirms more bytes, and once at completion.
   * @default none
   */
  onProgress?: (progress: UploadFileProgress) => void;
  /**
   * Called before each retry of an upload request (API calls report theirs through the client's `retry` event).
   * @default none
   */
  onRetry?: (retry: UploadRetry) => void;
}

/** A temp upload whose content has been uploaded and verified. */
export interface UploadedTempUpload extends TempUpload {
  /** The stored object, verified against what was sent. */
  final: {
    /** Bytes stored. */
    size: number;
    /** Base64 MD5 of the content: the server's value, else the one computed locally. */
    md5: string;
    /** Base64 big-endian CRC32C of the content: the server's value, else the one computed locally. */
    crc32c: string;
  };
}

interface Validated {
  name: string;
  resumable: boolean | undefined;
  resumableThreshold: number;
  chunkSize: number;
  maxRequestSize: number | undefined;
  stallTimeoutMs: number;
}

/** Default of `stallTimeoutMs` for files, as for streams. */
const DEFAULT_STALL_TIMEOUT_MS = 600_000;

function validate(source: unknown, options: UploadFileOptions): Validated {
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError('options', 'an object { client, table, ... }', options);
  }
  const { client, name, resumable, resumableThreshold, chunkSize, maxRequestSize, stallTimeoutMs, signal, onProgress, onRetry } = options;
  if (client === null || typeof client !== 'object' || typeof client.createTempUploads !== 'function' || typeof client.uploadHeaders !== 'function') {
    throw new InvalidArgumentError('client', 'a RedivisClient', client);
  }
  tableReferencePathSegment(options.table);
  if (typeof source === 'string') {
    if (source === '') throw new InvalidArgumentError('source', 'a file path or a Buffer', source);
  } else if (!Buffer.isBuffer(source)) {
    throw new InvalidArgumentError('source', 'a file path or a Buffer', source);
  }
  if (name !== undefined && (typeof name !== 'string' || name === '')) {
    throw new InvalidArgumentError('name', 'a non-empty string', name);
  }
  if (name === undefined && Buffer.isBuffer(source)) {
    throw new InvalidArgumentError('name', 'a non-empty string (required when the source is a Buffer)', name);
  }
  if (resumable !== undefined && typeof resumable !== 'boolean') {
    throw new InvalidArgumentError('resumable', 'a boolean or undefined', resumable);
  }
  const threshold = resumableThreshold ?? DEFAULT_RESUMABLE_THRESHOLD;
  if (typeof threshold !== 'number' || !Number.isSafeInteger(threshold) || threshold < 0) {
    throw new InvalidArgumentError('resumableThreshold', 'a non-negative safe integer number of bytes', threshold);
  }
  const chunk = chunkSize ?? DEFAULT_FILE_CHUNK_SIZE;
  if (typeof chunk !== 'number' || !Number.isSafeInteger(chunk) || chunk < CHUNK_ALIGNMENT || chunk % CHUNK_ALIGNMENT !== 0) {
    throw new InvalidArgumentError('chunkSize', `a positive multiple of ${CHUNK_ALIGNMENT} bytes`, chunk);
  }
  if (maxRequestSize !== undefined && (typeof maxRequestSize !== 'number' || !Number.isSafeInteger(maxRequestSize) || maxRequestSize < chunk || maxRequestSize % chunk !== 0)) {
    throw new InvalidArgumentError('maxRequestSize', `a multiple of chunkSize (${chunk}) bytes`, maxRequestSize);
  }
  const stall = stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
  if (typeof stall !== 'number' || !(stall >= 1)) {
    throw new InvalidArgumentError('stallTimeoutMs', 'a number of milliseconds >= 1 (Infinity for none)', stall);
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new InvalidArgumentError('signal', 'an AbortSignal or undefined', signal);
  }
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw new InvalidArgumentError('onProgress', 'a function or undefined', onProgress);
  }
  if (onRetry !== undefined && typeof onRetry !== 'function') {
    throw new InvalidArgumentError('onRetry', 'a function or undefined', onRetry);
  }
  const resolvedName = name ?? basename(source as string);
  if (resolvedName === '') throw new InvalidArgumentError('name', 'a non-empty string', resolvedName);
  return { name: resolvedName, resumable, resumableThreshold: threshold, chunkSize: chunk, maxRequestSize, stallTimeoutMs: stall };
}

async function openFile(path: string): Promise<{ handle: FileHandle; size: number }> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (cause) {
    throw new InvalidArgumentError('source', 'the path of a readable regular file', path, { cause });
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new InvalidArgumentError('source', 'the path of a regular file', path);
    return { handle, size: stats.size };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/**
 * Uploads a file (read from disk as it is sent, so memory stays at a few MiB) or a Buffer into a new temp upload
 * of `options.table`, and resolves with the temp upload and the server's description of the stored object.
 *
 * Arguments are validated before any request (`InvalidArgumentError`). The temp upload is created with the
 * content's size; its returned `resumable` flag picks the protocol. A simple upload is one PUT, repeated from
 * byte 0 after a retryable failure. A resumable upload sends one chunk, then the whole rest in one request; after
 * a retryable failure it backs off, asks the server for its persisted offset and continues from there. Retry
 * budgets come from `client.retry` and start over whenever the server confirms more bytes. A session that expires
 * or is terminated (404, 410) is replaced by a new temp upload of the same name (twice at most, reported through
 * `onRetry`), since the content can be read again.
 *
 * CRC32C and MD5 are computed while reading and compared with the server's; a Buffer's go in `X-Goog-Hash` too.
 * Failures: `IntegrityError` when the server's size or checksums differ from the local ones, `SizeMismatchError`
 * when the file changes size during the upload, `DataLossError` when the server reports bytes it was never sent,
 * `RetriesExhaustedError` (with the last failure as `cause`) when retries run out, `TimeoutError` past the stall
 * deadline, `SessionExpiredError` when the session is gone, `AbortError` on abort. An upload abandoned for an
 * abort, a size change or data loss has its session cancelled (best effort).
 */
export async function uploadFile(source: string | Buffer, options: UploadFileOptions): Promise<UploadedTempUpload> {
  const settings = validate(source, options);
  const { client, table, signal, onProgress } = options;
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });

  const opened = typeof source === 'string' ? await openFile(source) : undefined;
  try {
    const size = opened ? opened.size : (source as Buffer).length;
    const label = `Uploading ${JSON.stringify(settings.name)}`;
    const content = opened ? new FileSource(opened.handle, size, JSON.stringify(source)) : new BufferSource(source as Buffer);
    const resumable = settings.resumable ?? size >= settings.resumableThreshold;
    const create = async (): Promise<TempUpload> => {
      const [tempUpload] = await client.createTempUploads(table, [{ name: settings.name, size, resumable }], { signal });
      if (tempUpload === undefined) throw new ProtocolError('the API created no temp upload');
      debug('%s: %d bytes, %s upload to %s', label, size, tempUpload.resumable ? 'resumable' : 'simple', redactUrl(tempUpload.url));
      return tempUpload;
    };
    const { tempUpload, ...final } = await uploadSized(await create(), content, {
      client,
      signal,
      label,
      chunkSize: settings.chunkSize,
      maxRequestSize: settings.maxRequestSize,
      stallTimeoutMs: settings.stallTimeoutMs,
      onConfirmed: (bytesConfirmed) => onProgress?.({ bytesConfirmed, total: size }),
      onRetry: options.onRetry,
      renew: create,
    });
    return { ...tempUpload, final };
  } finally {
    await opened?.handle.close();
  }
}
