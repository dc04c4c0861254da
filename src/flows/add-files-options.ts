/**
 * Options, progress and result of {@link addFiles}, and their validation.
 * @module
 */
import { availableParallelism } from 'node:os';
import type { RedivisClient } from '../client/redivis-client.js';
import { tableReferencePathSegment, type TableReferenceInput } from '../client/table-reference.js';
import { datasetOfTable } from '../client/tables.js';
import { InvalidArgumentError } from '../errors.js';
import type { UploadRetry } from '../upload/temp-upload-stream.js';
import { excludeRules, type ExcludeRules, type FileInput, type SkippedEntry } from './file-inputs.js';
import type { RawFile } from './raw-files.js';

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
  /** Files whose bytes the upload servers hold and verified, registered or still waiting for their batch. */
  filesUploaded: number;
  /** Files that failed (see {@link AddFilesResult.failed}). */
  filesFailed: number;
  /** Files to add, once directories are expanded (unreadable ones included, skipped ones not); fixed for the whole call. */
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
   * Glob patterns of names to leave out of the files that come from paths (see `DEFAULT_EXCLUDES` for the
   * syntax). A pattern without `/` is matched against every file's and directory's own name at any depth
   * (`*.tmp`, `node_modules`); one with a `/` against the whole name relative to its folder (`raw/2023/*`,
   * `/build`); a trailing `/` matches directories only. Excluded directories are not entered. What is left out
   * is listed in {@link AddFilesResult.skipped}. `{ name, source }` entries are never excluded.
   * @default [] (nothing beyond the default list)
   */
  exclude?: string[];
  /**
   * Whether to leave out version-control folders and operating-system litter as well (`DEFAULT_EXCLUDES`:
   * `.git`, `.hg`, `.svn`, `.bzr`, `.DS_Store`, `._*`, `.Spotlight-V100`, `.Trashes`, `.fseventsd`, `Thumbs.db`,
   * `ehthumbs.db`, `desktop.ini`).
   * @default true
   */
  defaultExcludes?: boolean;
  /**
   * Create the table as a file index table when it does not exist (`POST /datasets/:dataset/tables`), after a
   * `GET` of the table. A table that exists but is not a file index is refused with `InvalidArgumentError`
   * before any byte is sent. Nothing is created when there is no file to add.
   * @default false (a missing table rejects the call with the API's 404 `ApiError`)
   */
  createTable?: boolean;
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
   * Called with each batch of files as soon as Redivis has registered it. They stay registered whatever happens
   * later, so this is how a caller learns what was added before a call that rejects.
   * @default none
   */
  onRegistered?: (files: RawFile[]) => void;
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

/**
 * What {@link addFiles} did, each list in the order of `files`. No file at all (an empty folder, or everything
 * excluded) gives `added` and `failed` both empty, with `skipped` saying what was left out.
 */
export interface AddFilesResult {
  /** The files registered, as Redivis describes them. */
  added: RawFile[];
  /** Files that could not be read, uploaded or registered, with the reason. */
  failed: Array<{
    /** The file's name, as it would have been registered (see {@link FileInput}). */
    name: string;
    /**
     * Why it failed: the upload's or the registration's error, or `InvalidArgumentError` for a file of a folder
     * that could not be read (a dangling symbolic link, a folder without permission); a non-`Error` throw is
     * wrapped in one.
     */
    error: Error;
  }>;
  /** What was left out on purpose: excluded names, special files, links to directories. */
  skipped: SkippedEntry[];
}

/** Validated options. */
export interface AddFilesSettings {
  segment: string;
  concurrency: number;
  resumableThreshold: number;
  batchSize: number;
  batchBytes: number;
  createTable: boolean;
  rules: ExcludeRules;
}

function positiveInteger(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new InvalidArgumentError(name, `an integer >= ${min}`, value);
  }
  return value;
}

function optionalFunction(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function') throw new InvalidArgumentError(name, 'a function', value);
}

/** Checks every option; throws `InvalidArgumentError` or `TableReferenceError` before any request. */
export function validateAddFiles(options: AddFilesOptions): AddFilesSettings {
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError('options', 'an object { client, table, files, ... }', options);
  }
  const { client, signal, createTable = false } = options;
  if (client === null || typeof client !== 'object' || typeof client.request !== 'function' || typeof client.createTempUploads !== 'function') {
    throw new InvalidArgumentError('client', 'a RedivisClient', client);
  }
  const segment = tableReferencePathSegment(options.table);
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new InvalidArgumentError('signal', 'an AbortSignal', signal);
  optionalFunction('onProgress', options.onProgress);
  optionalFunction('onRegistered', options.onRegistered);
  optionalFunction('onRetry', options.onRetry);
  if (typeof createTable !== 'boolean') throw new InvalidArgumentError('createTable', 'a boolean', createTable);
  // A table that could not be created is refused now rather than after the walk.
  if (createTable) datasetOfTable(options.table);
  return {
    segment,
    concurrency: positiveInteger('concurrency', options.concurrency, Math.min(32, availableParallelism() * 4), 1),
    resumableThreshold: positiveInteger('resumableThreshold', options.resumableThreshold, DEFAULT_ADD_FILES_RESUMABLE_THRESHOLD, 0),
    batchSize: positiveInteger('batchSize', options.batchSize, DEFAULT_ADD_FILES_BATCH_SIZE, 1),
    batchBytes: positiveInteger('batchBytes', options.batchBytes, DEFAULT_ADD_FILES_BATCH_BYTES, 1),
    createTable,
    rules: excludeRules(options.exclude, options.defaultExcludes),
  };
}
