/**
 * Options and result of {@link uploadToTable}, and their validation (all of it before any request).
 * @module
 */
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import type { RedivisClient } from '../client/redivis-client.js';
import { tableReferencePathSegment, type TableReferenceInput } from '../client/table-reference.js';
import { InvalidArgumentError } from '../errors.js';
import { CHUNK_ALIGNMENT } from '../upload/content-range.js';
import type { UploadRetry } from '../upload/temp-upload-stream.js';
import { isReadable } from './file-inputs.js';
import type { TabularUpload } from './poll-upload.js';
import { tabularBody, type TabularUploadOptions } from './tabular-options.js';
import { transferDefaultName, validateTransferSpecification, type TransferSpecification } from './transfer-specification.js';

/** What {@link uploadToTable} does when the table already has an upload of the name. */
export type UploadConflictPolicy = 'error' | 'replace' | 'rename' | 'skip';

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
  /**
   * The data: a file path, a Buffer, or a Readable of bytes of unknown length (streamed through a resumable
   * session). Exactly one of `source` and `transferSpecification` is given.
   * @default none (then `transferSpecification` is required)
   */
  source?: string | Buffer | Readable;
  /**
   * A server-side transfer instead of a `source`: Redivis pulls the data itself from a Google Cloud Storage or
   * S3 object, a URL or another table, and nothing passes through this client (see
   * `transferSpecificationFromUrl` for `gs://`, `s3://` and `https://` addresses).
   * @default none (then `source` is required)
   */
  transferSpecification?: TransferSpecification;
  /**
   * The upload's name in the table.
   * @default the file's basename for a path; the last segment of `sourcePath` for a gcs, s3 or url transfer;
   * required for a Buffer, a Readable or a redivis transfer
   */
  name?: string;
  /**
   * What to do when the table already has an upload of this name (checked with `HEAD` before anything is sent):
   * `'error'` throws `NameConflictError`; `'replace'` deletes the existing upload first; `'rename'` picks the
   * first free name among `data_1.csv`, `data_2.csv`, ... (`name_1`, ... without an extension), in this library,
   * because what Redivis itself does with a conflicting name is not documented; `'skip'` sends nothing and
   * resolves with the existing upload (`skipped: true`), waited for like a new one when `wait` is true.
   * @default 'error'
   */
  onConflict?: UploadConflictPolicy;
  /**
   * Wait until Redivis has processed the upload. `false` resolves as soon as the upload is created (usually
   * `queued`).
   * @default true
   */
  wait?: boolean;
  /**
   * Whether a failed import rejects with `UploadFailedError` (carrying Redivis' `errorMessage`). `false`
   * resolves with the failed upload instead (`status: 'failed'`, `errorMessage`). Other errors always reject.
   * @default true
   */
  throwOnFail?: boolean;
  /**
   * Delete the upload (`DELETE <uri>`) when its import fails, or when the MD5 Redivis reports differs from what
   * was sent, so that the name is free for another attempt. An upload found by `onConflict: 'skip'` is never
   * deleted. Needs `wait: true`.
   * @default false
   */
  removeOnFail?: boolean;
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

/** What {@link uploadToTable} resolves with: the upload as Redivis describes it, and what this call did. */
export interface TableUploadResult extends TabularUpload {
  /** Whether `onConflict: 'skip'` found an upload of this name, so nothing was sent or created. */
  skipped: boolean;
  /**
   * What this call sent, measured locally: the size in bytes and the base64 MD5 (compared with Redivis' `hash`
   * when it reports one). Absent for a transfer and for a skipped upload.
   */
  sent?: {
    /** Bytes sent. */
    size: number;
    /** Base64 MD5 of the bytes sent. */
    md5: string;
  };
  /** With `removeOnFail`, whether the failed upload was deleted; absent otherwise. */
  removed?: boolean;
}

/** Validated options. */
export interface UploadToTableSettings {
  segment: string;
  name: string;
  onConflict: UploadConflictPolicy;
  wait: boolean;
  throwOnFail: boolean;
  removeOnFail: boolean;
  pollIntervalMs: number;
  maxPollIntervalMs: number;
  timeoutMs: number;
  /** The tabular fields that were given, ready to send. */
  fields: Record<string, unknown>;
  transferSpecification: TransferSpecification | undefined;
}

const CONFLICT_POLICIES: ReadonlySet<string> = new Set<UploadConflictPolicy>(['error', 'replace', 'rename', 'skip']);

function positiveMs(name: string, value: unknown, fallback: number, allowInfinity = false): number {
  if (value === undefined) return fallback;
  const ok = typeof value === 'number' && value > 0 && (Number.isFinite(value) || (allowInfinity && value === Infinity));
  if (!ok) throw new InvalidArgumentError(name, `a positive number of milliseconds${allowInfinity ? ' or Infinity' : ''}`, value);
  return value;
}

function optionalBoolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new InvalidArgumentError(name, 'a boolean', value);
  return value;
}

function optionalFunction(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function') throw new InvalidArgumentError(name, 'a function', value);
}

/** Checks the data source, or the transfer; returns the transfer and the default name. */
function checkSource(options: UploadToTableOptions): { transfer: TransferSpecification | undefined; defaultName: string | undefined } {
  const { source } = options;
  if (options.transferSpecification !== undefined) {
    if (source !== undefined) {
      throw new InvalidArgumentError('source', 'no source with transferSpecification (Redivis pulls the data itself)', source);
    }
    const transfer = validateTransferSpecification(options.transferSpecification);
    return { transfer, defaultName: transferDefaultName(transfer) };
  }
  const expected = 'a file path, a Buffer or a Readable (or a transferSpecification instead)';
  if (typeof source === 'string') {
    if (source === '') throw new InvalidArgumentError('source', expected, source);
    return { transfer: undefined, defaultName: basename(source) };
  }
  if (!Buffer.isBuffer(source) && !isReadable(source)) throw new InvalidArgumentError('source', expected, source);
  return { transfer: undefined, defaultName: undefined };
}

/** Checks every option, and that a source path is a regular file; throws before any request. */
export async function validateUploadToTable(options: UploadToTableOptions): Promise<UploadToTableSettings> {
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError('options', 'an object { client, table, source, ... }', options);
  }
  const { client, name, onConflict = 'error', chunkSize, signal } = options;
  if (client === null || typeof client !== 'object' || typeof client.request !== 'function' || typeof client.createTempUploads !== 'function') {
    throw new InvalidArgumentError('client', 'a RedivisClient', client);
  }
  const segment = tableReferencePathSegment(options.table);
  const { transfer, defaultName } = checkSource(options);
  if (name !== undefined && (typeof name !== 'string' || name === '')) throw new InvalidArgumentError('name', 'a non-empty string', name);
  const resolvedName = name ?? defaultName;
  if (resolvedName === undefined || resolvedName === '') {
    const needs = transfer ? 'a transfer whose sourcePath ends in no file name' : 'a Buffer or a Readable';
    throw new InvalidArgumentError('name', `a non-empty string (required for ${needs})`, name);
  }
  if (typeof onConflict !== 'string' || !CONFLICT_POLICIES.has(onConflict)) {
    throw new InvalidArgumentError('onConflict', "'error', 'replace', 'rename' or 'skip'", onConflict);
  }
  const wait = optionalBoolean('wait', options.wait, true);
  const throwOnFail = optionalBoolean('throwOnFail', options.throwOnFail, true);
  const removeOnFail = optionalBoolean('removeOnFail', options.removeOnFail, false);
  if (removeOnFail && !wait) throw new InvalidArgumentError('removeOnFail', 'false when wait is false (a failure is seen only by waiting)', removeOnFail);
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
  optionalFunction('onProgress', options.onProgress);
  optionalFunction('onRetry', options.onRetry);
  const fields = tabularBody(options);
  const { source } = options;
  if (typeof source === 'string') {
    const stats = await stat(source).catch((cause: unknown) => {
      throw new InvalidArgumentError('source', 'the path of a readable regular file', source, { cause });
    });
    if (!stats.isFile()) throw new InvalidArgumentError('source', 'the path of a regular file', source);
  }
  return {
    segment,
    name: resolvedName,
    onConflict: onConflict as UploadConflictPolicy,
    wait,
    throwOnFail,
    removeOnFail,
    pollIntervalMs,
    maxPollIntervalMs,
    timeoutMs,
    fields,
    transferSpecification: transfer,
  };
}
