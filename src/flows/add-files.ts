/**
 * {@link addFiles}: many files into a file index table. Temp uploads are created in batches, the bytes go through
 * a bounded pool of parallel uploads, and each batch is registered with `POST /tables/:ref/rawFiles` as soon as
 * its uploads have settled.
 * @module
 */
import type { UploadRetry } from '../upload/temp-upload-stream.js';
import { availableParallelism } from 'node:os';
import type { RedivisClient } from '../client/redivis-client.js';
import { tableReferencePathSegment, type TableReferenceInput } from '../client/table-reference.js';
import type { TempUpload } from '../client/temp-uploads.js';
import { AbortError, InvalidArgumentError } from '../errors.js';
import { expandFileInputs, type FileInput, type PlannedFile } from './file-inputs.js';
import { TaskPool } from './pool.js';
import { putContent } from './put-content.js';
import { registerRawFiles, type RawFile } from './raw-files.js';
import { uniqueTempUploadName } from './tabular-options.js';

export type { FileInput } from './file-inputs.js';
export type { RawFile } from './raw-files.js';

/** Size from which {@link addFiles} asks for resumable temp uploads, in bytes (as the official clients). */
export const DEFAULT_ADD_FILES_RESUMABLE_THRESHOLD = 50_000_000;
/** Most files per batch of temp uploads and per `rawFiles` request (as the official clients). */
export const DEFAULT_ADD_FILES_BATCH_SIZE = 1000;
/** Bytes after which a batch is closed early, so registration keeps pace with large files (as the official clients). */
export const DEFAULT_ADD_FILES_BATCH_BYTES = 100_000_000;

/** Progress of {@link addFiles}. */
export interface AddFilesProgress {
  /** Files uploaded and registered. */
  filesDone: number;
  /** Files that failed (see {@link AddFilesResult.failed}). */
  filesFailed: number;
  /** Files to add, once directories are expanded; fixed for the whole call. */
  filesTotal: number;
  /** Bytes the upload servers have confirmed, over every file (including any that later failed). */
  bytesConfirmed: number;
  /** Sum of the sizes; undefined when a Readable of unknown length is among the files. */
  bytesTotal: number | undefined;
}

/** Options of {@link addFiles}. */
export interface AddFilesOptions {
  /** The client that makes every request. */
  client: RedivisClient;
  /** A file index table on an unreleased version (reference it with `:next`). */
  table: TableReferenceInput;
  /** Files and directories to add; every resulting name must be distinct. */
  files: FileInput[];
  /**
   * Most uploads in flight at once (a count of files).
   * @default Math.min(32, os.availableParallelism() * 4) uploads
   */
  concurrency?: number;
  /**
   * Aborts the call: uploads in flight are cancelled and it rejects with `AbortError`.
   * @default none (the call runs until every file has been added or has failed)
   */
  signal?: AbortSignal;
  /**
   * Called as bytes are confirmed and as files finish or fail.
   * @default none (no progress reports)
   */
  onProgress?: (progress: AddFilesProgress) => void;
  /**
   * Called before each retry of an upload request (API calls report theirs through the client's `retry` event).
   * @default none
   */
  onRetry?: (retry: UploadRetry) => void;
  /**
   * Files at or above this size, in bytes, use resumable temp uploads. Readables always do.
   * @default 50_000_000 bytes (50 MB, as the official clients)
   */
  resumableThreshold?: number;
  /**
   * Most files per batch: one `tempUploads` request and one `rawFiles` request each. Lower it if the server
   * refuses large requests.
   * @default 1000 files
   */
  batchSize?: number;
  /**
   * A batch is closed once its files reach this many bytes (a Readable of unknown length counts as 0).
   * @default 100_000_000 bytes (100 MB)
   */
  batchBytes?: number;
}

/** What {@link addFiles} did, each list in the order of `files`. */
export interface AddFilesResult {
  /** The files registered, as Redivis describes them. */
  added: RawFile[];
  /** Files that could not be uploaded or registered, with the reason. */
  failed: Array<{
    /** The file's name, as it would have been registered (see {@link FileInput}). */
    name: string;
    /** Why it failed: the upload's or the registration's error (a non-`Error` throw is wrapped in one). */
    error: Error;
  }>;
}

interface Settings {
  segment: string;
  concurrency: number;
  resumableThreshold: number;
  batchSize: number;
  batchBytes: number;
}

function positiveInteger(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new InvalidArgumentError(name, `an integer >= ${min}`, value);
  }
  return value;
}

function validate(options: AddFilesOptions): Settings {
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError('options', 'an object { client, table, files, ... }', options);
  }
  const { client, signal, onProgress } = options;
  if (client === null || typeof client !== 'object' || typeof client.request !== 'function' || typeof client.createTempUploads !== 'function') {
    throw new InvalidArgumentError('client', 'a RedivisClient', client);
  }
  const segment = tableReferencePathSegment(options.table);
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new InvalidArgumentError('signal', 'an AbortSignal', signal);
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new InvalidArgumentError('onProgress', 'a function', onProgress);
  if (options.onRetry !== undefined && typeof options.onRetry !== 'function') throw new InvalidArgumentError('onRetry', 'a function', options.onRetry);
  return {
    segment,
    concurrency: positiveInteger('concurrency', options.concurrency, Math.min(32, availableParallelism() * 4), 1),
    resumableThreshold: positiveInteger('resumableThreshold', options.resumableThreshold, DEFAULT_ADD_FILES_RESUMABLE_THRESHOLD, 0),
    batchSize: positiveInteger('batchSize', options.batchSize, DEFAULT_ADD_FILES_BATCH_SIZE, 1),
    batchBytes: positiveInteger('batchBytes', options.batchBytes, DEFAULT_ADD_FILES_BATCH_BYTES, 1),
  };
}

/** Consecutive batches of at most `batchSize` files, each closed early once it holds `batchBytes`. */
function toBatches(files: PlannedFile[], batchSize: number, batchBytes: number): PlannedFile[][] {
  const batches: PlannedFile[][] = [];
  let current: PlannedFile[] = [];
  let bytes = 0;
  for (const file of files) {
    current.push(file);
    bytes += file.size ?? 0;
    if (current.length >= batchSize || bytes >= batchBytes) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * Adds files to a file index table (`POST /tables/:ref/rawFiles`). Directories are walked recursively (sorted,
 * symbolic links to directories skipped) and each file is named by its path relative to the directory, with `/`
 * separators; duplicate names and unreadable paths are `InvalidArgumentError`s before any request.
 *
 * Files are taken in batches (`batchSize` files or `batchBytes` bytes): one `tempUploads` request per batch, the
 * uploads through a pool of `concurrency`, then one `rawFiles` request for the batch's files that uploaded. Files
 * from `resumableThreshold` bytes, and every Readable, use resumable uploads; smaller ones one PUT each. A file
 * that fails does not stop the others: it is reported in `failed` with its error, and so is every file of a batch
 * whose `tempUploads` or `rawFiles` request fails. Temp uploads are named `<name>.<random hex>`, so adding the
 * failed files again never collides with the first attempt's temp uploads.
 *
 * An abort cancels the uploads in flight and rejects with `AbortError` once they have stopped; batches registered
 * before the abort stay registered.
 */
export async function addFiles(options: AddFilesOptions): Promise<AddFilesResult> {
  const settings = validate(options);
  const { client, table, signal, onProgress } = options;
  const throwIfAborted = (): void => {
    if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
  };
  throwIfAborted();
  const planned = await expandFileInputs(options.files);
  throwIfAborted();

  const added: Array<{ index: number; file: RawFile }> = [];
  const failed: Array<{ index: number; name: string; error: Error }> = [];
  const confirmed = new Map<number, number>();
  let bytesConfirmed = 0;
  const bytesTotal = planned.some((file) => file.size === undefined) ? undefined : planned.reduce((sum, file) => sum + file.size!, 0);
  const report = (): void =>
    onProgress?.({ filesDone: added.length, filesFailed: failed.length, filesTotal: planned.length, bytesConfirmed, bytesTotal });
  const fail = (file: PlannedFile, error: unknown): void => {
    failed.push({ index: file.index, name: file.name, error: asError(error) });
    // A Readable that was never piped would otherwise stay open.
    if (file.content.kind === 'stream' && !file.content.stream.destroyed) file.content.stream.destroy();
  };
  const onConfirmed = (file: PlannedFile, bytes: number): void => {
    const before = confirmed.get(file.index) ?? 0;
    if (bytes <= before) return;
    confirmed.set(file.index, bytes);
    bytesConfirmed += bytes - before;
    report();
  };

  const pool = new TaskPool(settings.concurrency);
  const registrations: Array<Promise<void>> = [];

  const register = async (batch: PlannedFile[], tempUploads: TempUpload[], uploads: Array<Promise<boolean>>): Promise<void> => {
    const outcomes = await Promise.all(uploads);
    const ready = batch.flatMap((file, i) => (outcomes[i] === true ? [{ file, tempUploadId: tempUploads[i]!.id }] : []));
    if (ready.length === 0) return;
    try {
      throwIfAborted();
      const files = ready.map(({ file, tempUploadId }) => ({ name: file.name, tempUploadId }));
      const registered = await registerRawFiles(client, settings.segment, files, signal);
      ready.forEach(({ file }, i) => added.push({ index: file.index, file: registered[i]! }));
    } catch (error) {
      for (const { file } of ready) fail(file, error);
    }
    report();
  };

  for (const batch of toBatches(planned, settings.batchSize, settings.batchBytes)) {
    if (signal?.aborted) break;
    let tempUploads: TempUpload[];
    try {
      const requests = batch.map((file) => ({
        name: uniqueTempUploadName(file.name),
        size: file.size ?? 0,
        resumable: file.content.kind === 'stream' || file.size! >= settings.resumableThreshold,
      }));
      tempUploads = await client.createTempUploads(table, requests, { signal, batchSize: batch.length });
    } catch (error) {
      if (signal?.aborted) break;
      for (const file of batch) fail(file, error);
      report();
      continue;
    }
    const uploads: Array<Promise<boolean>> = [];
    for (const [i, file] of batch.entries()) {
      const tempUpload = tempUploads[i]!;
      const { done } = await pool.submit(() =>
        putContent(tempUpload, file.content, file.size, {
          client,
          signal,
          label: `Uploading ${JSON.stringify(file.name)}`,
          onConfirmed: (bytes) => onConfirmed(file, bytes),
          onRetry: options.onRetry,
        }),
      );
      uploads.push(
        done.then(
          () => true,
          (error: unknown) => {
            fail(file, error);
            report();
            return false;
          },
        ),
      );
    }
    registrations.push(register(batch, tempUploads, uploads));
  }

  await Promise.all(registrations);
  await pool.idle();
  if (signal?.aborted) {
    for (const { content } of planned) if (content.kind === 'stream' && !content.stream.destroyed) content.stream.destroy();
    throwIfAborted();
  }
  added.sort((a, b) => a.index - b.index);
  failed.sort((a, b) => a.index - b.index);
  return { added: added.map(({ file }) => file), failed: failed.map(({ name, error }) => ({ name, error })) };
}
