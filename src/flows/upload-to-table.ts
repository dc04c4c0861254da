/**
 * {@link uploadToTable}: the whole tabular upload flow. Content goes into a temp upload, the upload is created from
 * it, and Redivis' processing is waited for.
 * @module
 */
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { RedivisClient } from '../client/redivis-client.js';
import { tableReferencePathSegment, type TableReferenceInput } from '../client/table-reference.js';
import { AbortError, ApiError, InvalidArgumentError, NameConflictError } from '../errors.js';
import { CHUNK_ALIGNMENT } from '../upload/content-range.js';
import { uploadFile } from '../upload/file-upload.js';
import { createTempUploadStream, type UploadRetry } from '../upload/temp-upload-stream.js';
import { isReadable } from './file-inputs.js';
import { closed } from './put-content.js';
import { parseUpload, pollUpload, type TabularUpload } from './poll-upload.js';
import { renamedUploadName, tabularBody, uniqueTempUploadName, uploadNamePathSegment, type TabularUploadOptions } from './tabular-options.js';

export type { TabularUpload } from './poll-upload.js';
export type { TabularUploadOptions } from './tabular-options.js';

/** Most alternative names `onConflict: 'rename'` tries before giving up with `NameConflictError`. */
const MAX_RENAMES = 1000;

/** Progress of {@link uploadToTable}'s data transfer. */
export interface TableUploadProgress {
  /** Bytes the upload server has confirmed. */
  bytesConfirmed: number;
  /** Size of the data, once known (a Readable's is known only when it ends). */
  totalBytes: number | undefined;
}

/** Options of {@link uploadToTable}. */
export interface UploadToTableOptions extends TabularUploadOptions {
  /** The client that makes every request. */
  client: RedivisClient;
  /** The table to upload into; uploads are allowed only on an unreleased version (reference it with `:next`). */
  table: TableReferenceInput;
  /** The data: a file path, a Buffer, or a Readable of unknown length (streamed through a resumable session). */
  source: string | Buffer | Readable;
  /**
   * The upload's name in the table.
   * @default the file's basename for a path; required for a Buffer or a Readable
   */
  name?: string;
  /**
   * What to do when the table already has an upload of this name: `'error'` throws `NameConflictError` before any
   * data is sent; `'replace'` deletes the existing upload first; `'rename'` picks the first free name among
   * `data_1.csv`, `data_2.csv`, ... (`name_1`, ... without an extension). The renaming happens in this library,
   * because what Redivis itself does with a conflicting name is not documented.
   * @default 'error'
   */
  onConflict?: 'error' | 'replace' | 'rename';
  /**
   * Wait until Redivis has processed the upload. `false` resolves as soon as the upload is created (usually
   * `queued`).
   * @default true
   */
  wait?: boolean;
  /**
   * First delay between two status requests while waiting, in milliseconds; each later one doubles.
   * @default 500 ms
   */
  pollIntervalMs?: number;
  /**
   * Longest delay between two status requests, in milliseconds.
   * @default 10_000 ms, or `pollIntervalMs` when that is larger
   */
  maxPollIntervalMs?: number;
  /**
   * Longest wait for processing, in milliseconds, counted once the upload is created; `Infinity` waits forever.
   * @default 3_600_000 ms (1 hour)
   */
  timeoutMs?: number;
  /**
   * Bytes per chunk of a resumable transfer, a positive multiple of 262144 (256 KiB).
   * @default 8_388_608 bytes (8 MiB)
   */
  chunkSize?: number;
  /**
   * Aborts every step; the call then rejects with `AbortError`.
   * @default none (the call runs until the upload is processed, fails or times out)
   */
  signal?: AbortSignal;
  /**
   * Called as the upload server confirms bytes.
   * @default none (no progress reports)
   */
  onProgress?: (progress: TableUploadProgress) => void;
  /**
   * Called before each retry of an upload request (API calls report theirs through the client's `retry` event).
   * @default none
   */
  onRetry?: (retry: UploadRetry) => void;
}

interface Settings {
  segment: string;
  name: string;
  onConflict: 'error' | 'replace' | 'rename';
  wait: boolean;
  pollIntervalMs: number;
  maxPollIntervalMs: number;
  timeoutMs: number;
  body: Record<string, unknown>;
}

function positiveMs(name: string, value: unknown, fallback: number, allowInfinity = false): number {
  if (value === undefined) return fallback;
  const ok = typeof value === 'number' && value > 0 && (Number.isFinite(value) || (allowInfinity && value === Infinity));
  if (!ok) throw new InvalidArgumentError(name, `a positive number of milliseconds${allowInfinity ? ' or Infinity' : ''}`, value);
  return value;
}

async function validate(options: UploadToTableOptions): Promise<Settings> {
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError('options', 'an object { client, table, source, ... }', options);
  }
  const { client, source, name, onConflict = 'error', wait = true, chunkSize, signal, onProgress } = options;
  if (client === null || typeof client !== 'object' || typeof client.request !== 'function' || typeof client.createTempUploads !== 'function') {
    throw new InvalidArgumentError('client', 'a RedivisClient', client);
  }
  const segment = tableReferencePathSegment(options.table);
  if (typeof source === 'string') {
    if (source === '') throw new InvalidArgumentError('source', 'a file path, a Buffer or a Readable', source);
  } else if (!Buffer.isBuffer(source) && !isReadable(source)) {
    throw new InvalidArgumentError('source', 'a file path, a Buffer or a Readable', source);
  }
  if (name !== undefined && (typeof name !== 'string' || name === '')) throw new InvalidArgumentError('name', 'a non-empty string', name);
  if (name === undefined && typeof source !== 'string') {
    throw new InvalidArgumentError('name', 'a non-empty string (required unless the source is a file path)', name);
  }
  if (onConflict !== 'error' && onConflict !== 'replace' && onConflict !== 'rename') {
    throw new InvalidArgumentError('onConflict', "'error', 'replace' or 'rename'", onConflict);
  }
  if (typeof wait !== 'boolean') throw new InvalidArgumentError('wait', 'a boolean', wait);
  const pollIntervalMs = positiveMs('pollIntervalMs', options.pollIntervalMs, 500);
  const maxPollIntervalMs = positiveMs('maxPollIntervalMs', options.maxPollIntervalMs, Math.max(10_000, pollIntervalMs));
  if (maxPollIntervalMs < pollIntervalMs) {
    throw new InvalidArgumentError('maxPollIntervalMs', `a number of milliseconds >= pollIntervalMs (${pollIntervalMs})`, maxPollIntervalMs);
  }
  const timeoutMs = positiveMs('timeoutMs', options.timeoutMs, 3_600_000, true);
  if (chunkSize !== undefined && (typeof chunkSize !== 'number' || !Number.isSafeInteger(chunkSize) || chunkSize < CHUNK_ALIGNMENT || chunkSize % CHUNK_ALIGNMENT !== 0)) {
    throw new InvalidArgumentError('chunkSize', `a positive multiple of ${CHUNK_ALIGNMENT} bytes`, chunkSize);
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new InvalidArgumentError('signal', 'an AbortSignal', signal);
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new InvalidArgumentError('onProgress', 'a function', onProgress);
  if (options.onRetry !== undefined && typeof options.onRetry !== 'function') throw new InvalidArgumentError('onRetry', 'a function', options.onRetry);
  const body = tabularBody(options);
  if (typeof source === 'string') {
    const stats = await stat(source).catch((cause: unknown) => {
      throw new InvalidArgumentError('source', 'the path of a readable regular file', source, { cause });
    });
    if (!stats.isFile()) throw new InvalidArgumentError('source', 'the path of a regular file', source);
  }
  const resolvedName = name ?? basename(source as string);
  return { segment, name: resolvedName, onConflict, wait, pollIntervalMs, maxPollIntervalMs, timeoutMs, body };
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
}

/** Whether the table has an upload named `name` (`HEAD`; a 404 means no). */
async function uploadExists(client: RedivisClient, segment: string, name: string, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    await client.request('HEAD', `/tables/${segment}/uploads/${uploadNamePathSegment(name)}`, { signal });
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return false;
    throw error;
  }
}

/** Applies `onConflict` and returns the name to create the upload under. */
async function claimName(client: RedivisClient, settings: Settings, signal: AbortSignal | undefined): Promise<string> {
  const { segment, name, onConflict } = settings;
  if (!(await uploadExists(client, segment, name, signal))) return name;
  if (onConflict === 'error') throw new NameConflictError(name);
  if (onConflict === 'replace') {
    try {
      await client.request('DELETE', `/tables/${segment}/uploads/${uploadNamePathSegment(name)}`, { signal });
    } catch (error) {
      // Deleted meanwhile by someone else: the name is free either way.
      if (!(error instanceof ApiError && error.status === 404)) throw error;
    }
    return name;
  }
  for (let n = 1; n <= MAX_RENAMES; n++) {
    const candidate = renamedUploadName(name, n);
    if (!(await uploadExists(client, segment, candidate, signal))) return candidate;
  }
  throw new NameConflictError(name);
}

/** Sends the data into a new temp upload and returns its id. */
async function sendData(options: UploadToTableOptions, name: string): Promise<string> {
  const { client, table, source, chunkSize, signal, onProgress } = options;
  const tempName = uniqueTempUploadName(name);
  if (!isReadable(source)) {
    const uploaded = await uploadFile(source, {
      client,
      table,
      name: tempName,
      chunkSize,
      signal,
      onProgress: onProgress && ((progress) => onProgress({ bytesConfirmed: progress.bytesConfirmed, totalBytes: progress.total })),
      onRetry: options.onRetry,
    });
    return uploaded.id;
  }
  const stream = createTempUploadStream({ client, table, name: tempName, chunkSize, signal });
  if (onProgress) stream.on('progress', (progress) => onProgress({ bytesConfirmed: progress.bytesConfirmed, totalBytes: progress.totalBytes }));
  if (options.onRetry) stream.on('retry', options.onRetry);
  try {
    await pipeline(source, stream);
  } catch (error) {
    await closed(stream);
    throwIfAborted(signal);
    throw error;
  }
  return stream.result!.tempUploadId!;
}

/**
 * Uploads tabular data into `options.table` and, unless `wait` is false, waits until Redivis has processed it.
 *
 * Steps: the options are validated before any request (`InvalidArgumentError`, `TableReferenceError`); the name
 * is checked with `HEAD /tables/:table/uploads/:name` and `onConflict` applied (`NameConflictError`); the data goes
 * into a new temp upload (a path or a Buffer through `uploadFile`, resumable from 32 MiB; a Readable through a
 * resumable `createTempUploadStream`); `POST /tables/:table/uploads` creates the upload with the tabular options
 * that were given; then `GET <uri>` is polled with a doubling delay until the status is `completed` (resolves),
 * `failed` (`UploadFailedError` carrying Redivis' `errorMessage`) or `timeoutMs` passes (`TimeoutError`). The
 * signal aborts any step with `AbortError`. Temp uploads are named `<name>.<random hex>`, so a replacement or a
 * second attempt never collides with an earlier temp upload of the table.
 */
export async function uploadToTable(options: UploadToTableOptions): Promise<TabularUpload> {
  const settings = await validate(options);
  const { client, signal } = options;
  throwIfAborted(signal);
  const name = await claimName(client, settings, signal);
  const tempUploadId = await sendData(options, name);
  throwIfAborted(signal);

  const path = `/tables/${settings.segment}/uploads`;
  const response = await client.request('POST', path, { body: { name, ...settings.body, tempUploadId }, signal });
  const fallbackUri = `${path}/${uploadNamePathSegment(name)}`;
  const upload = parseUpload(response.body, { method: 'POST', path }, response.status, fallbackUri, tempUploadId);
  if (!settings.wait) return upload;
  return pollUpload(client, upload, {
    pollIntervalMs: settings.pollIntervalMs,
    maxPollIntervalMs: settings.maxPollIntervalMs,
    timeoutMs: settings.timeoutMs,
    signal,
  });
}
