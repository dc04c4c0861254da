/**
 * {@link addFiles}: many files into a file index table. Temp uploads are created in batches, the bytes go through
 * a bounded pool of parallel uploads, and each batch is registered with `POST /tables/:ref/rawFiles` as soon as
 * its uploads have settled.
 * @module
 */
import type { RedivisClient } from '../client/redivis-client.js';
import { formatTableReference, type TableReferenceInput } from '../client/table-reference.js';
import type { RedivisTable } from '../client/tables.js';
import type { TempUpload } from '../client/temp-uploads.js';
import { AbortError, ApiError, InvalidArgumentError, MissingTokenError, UnsafeUrlError } from '../errors.js';
import {
  validateAddFiles,
  type AddFilesOptions,
  type AddFilesResult,
} from './add-files-options.js';
import { expandFileInputs, type PlannedFile } from './file-inputs.js';
import { TaskPool } from './pool.js';
import { putContent } from './put-content.js';
import { registerRawFiles, type RawFile } from './raw-files.js';
import { uniqueTempUploadName } from './tabular-options.js';

export {
  DEFAULT_ADD_FILES_BATCH_BYTES,
  DEFAULT_ADD_FILES_BATCH_SIZE,
  DEFAULT_ADD_FILES_RESUMABLE_THRESHOLD,
  type AddFilesOptions,
  type AddFilesProgress,
  type AddFilesResult,
} from './add-files-options.js';
export { DEFAULT_EXCLUDES, type FileInput, type SkippedEntry } from './file-inputs.js';
export type { RawFile } from './raw-files.js';

/** Statuses of an API call that say the whole call cannot succeed: the token (401, 403) or the table (404). */
const WHOLE_CALL_STATUSES = new Set([401, 403, 404]);

/**
 * Whether a failure of `tempUploads` or `rawFiles` is about the call rather than the files in the request, so
 * every other batch would fail the same way: authentication, permission, a missing table, no token, or an API
 * endpoint whose certificate fails verification.
 */
export function isWholeCallFailure(error: unknown): boolean {
  if (error instanceof ApiError) return WHOLE_CALL_STATUSES.has(error.status);
  return error instanceof MissingTokenError || error instanceof UnsafeUrlError;
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

/**
 * Makes sure `table` is a file index table, creating it when it does not exist. A table created meanwhile by
 * someone else (the creation refused, the table now there) is used as well.
 */
async function ensureFileIndexTable(client: RedivisClient, table: TableReferenceInput, signal: AbortSignal | undefined): Promise<void> {
  const notFound = (error: unknown): boolean => error instanceof ApiError && error.status === 404;
  let existing: RedivisTable | undefined = await client.tables.get(table, { signal }).catch((error: unknown) => {
    if (notFound(error)) return undefined;
    throw error;
  });
  if (existing === undefined) {
    try {
      existing = await client.tables.create(table, { isFileIndex: true, signal });
    } catch (error) {
      if (!(error instanceof ApiError) || error.status >= 500 || WHOLE_CALL_STATUSES.has(error.status)) throw error;
      existing = await client.tables.get(table, { signal }).catch((second: unknown) => {
        throw notFound(second) ? error : second;
      });
    }
  }
  if (existing.isFileIndex === false) {
    throw new InvalidArgumentError('table', 'a file index table (this one holds tabular data)', formatTableReference(table));
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function destroyStreams(files: PlannedFile[]): void {
  // A Readable that was never piped would otherwise stay open.
  for (const { content } of files) if (content.kind === 'stream' && !content.stream.destroyed) content.stream.destroy();
}

/**
 * Adds files to a file index table (`POST /tables/:ref/rawFiles`). Directories are walked recursively (sorted,
 * symbolic links to directories skipped) and each file is named by its path relative to the directory, with `/`
 * separators. Names matching `exclude` or, unless `defaultExcludes` is false, `DEFAULT_EXCLUDES` are left out
 * and listed in `skipped`. Duplicate names, paths that do not exist and bad options are `InvalidArgumentError`s
 * before any request; a file inside a folder that cannot be read (a dangling symbolic link) is one entry of
 * `failed`, and the others go on. With no file to add, nothing is sent. With `createTable`, a missing table is
 * first created as a file index table.
 *
 * Files are taken in batches (`batchSize` files or `batchBytes` bytes): one `tempUploads` request per batch, the
 * uploads through a pool of `concurrency`, then one `rawFiles` request for the batch's files that uploaded. Files
 * from `resumableThreshold` bytes, and every Readable, use resumable uploads; smaller ones one PUT each. A file
 * that fails does not stop the others: it is reported in `failed` with its error, and so is every file of a batch
 * whose `tempUploads` or `rawFiles` request fails for another reason (a refused name, retries exhausted). Temp
 * uploads are named `<name>.<random hex>`, so adding the failed files again never collides with the first
 * attempt's temp uploads.
 *
 * A failure that is about the whole call rather than some files (HTTP 401 or 403 for the token, 404 for the
 * table, no token, an API certificate that fails verification; see {@link isWholeCallFailure}) stops the run:
 * uploads in flight are cancelled and the call rejects with that error as is, once. Batches registered before
 * stay registered (`onRegistered` reports each). An abort cancels the uploads in flight and rejects with
 * `AbortError` once they have stopped.
 */
export async function addFiles(options: AddFilesOptions): Promise<AddFilesResult> {
  const settings = validateAddFiles(options);
  const { client, table, signal, onProgress } = options;
  const throwIfAborted = (): void => {
    if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
  };
  throwIfAborted();
  const plan = await expandFileInputs(options.files, settings.rules);
  throwIfAborted();
  const planned = plan.files;
  if (settings.createTable && planned.length > 0) {
    await ensureFileIndexTable(client, table, signal);
    throwIfAborted();
  }

  const added: Array<{ index: number; file: RawFile }> = [];
  const failed: Array<{ index: number; name: string; error: Error }> = plan.unreadable.map(({ index, name, error }) => ({ index, name, error }));
  const confirmed = new Map<number, number>();
  let bytesConfirmed = 0;
  const bytesTotal = planned.some((file) => file.size === undefined) ? undefined : planned.reduce((sum, file) => sum + file.size!, 0);
  const filesTotal = planned.length + plan.unreadable.length;
  let filesUploaded = 0;
  const report = (): void => onProgress?.({ filesDone: added.length, filesUploaded, filesFailed: failed.length, filesTotal, bytesConfirmed, bytesTotal });
  const fail = (file: PlannedFile, error: unknown): void => {
    failed.push({ index: file.index, name: file.name, error: asError(error) });
    destroyStreams([file]);
  };
  const onConfirmed = (file: PlannedFile, bytes: number): void => {
    const before = confirmed.get(file.index) ?? 0;
    if (bytes <= before) return;
    confirmed.set(file.index, bytes);
    bytesConfirmed += bytes - before;
    report();
  };

  // A whole-call failure aborts everything still running through this signal, the caller's abort too.
  const stop = new AbortController();
  const runSignal = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
  let wholeCallFailure: Error | undefined;
  const stopRun = (error: Error): void => {
    wholeCallFailure ??= error;
    stop.abort(error);
  };

  const pool = new TaskPool(settings.concurrency);
  const registrations: Array<Promise<void>> = [];

  const register = async (batch: PlannedFile[], uploads: Array<Promise<string | undefined>>): Promise<void> => {
    const outcomes = await Promise.all(uploads);
    // A file whose session expired went to a new temp upload: it is registered under that one.
    const ready = batch.flatMap((file, i) => (outcomes[i] !== undefined ? [{ file, tempUploadId: outcomes[i]! }] : []));
    if (ready.length === 0 || runSignal.aborted) return;
    try {
      const files = ready.map(({ file, tempUploadId }) => ({ name: file.name, tempUploadId }));
      const registered = await registerRawFiles(client, settings.segment, files, runSignal);
      ready.forEach(({ file }, i) => added.push({ index: file.index, file: registered[i]! }));
      options.onRegistered?.(registered);
    } catch (error) {
      if (isWholeCallFailure(error)) return stopRun(asError(error));
      if (runSignal.aborted) return;
      for (const { file } of ready) fail(file, error);
    }
    report();
  };

  if (plan.unreadable.length > 0) report();
  for (const batch of toBatches(planned, settings.batchSize, settings.batchBytes)) {
    if (runSignal.aborted) break;
    let tempUploads: TempUpload[];
    try {
      const requests = batch.map((file) => ({
        name: uniqueTempUploadName(file.name),
        size: file.size ?? 0,
        resumable: file.content.kind === 'stream' || file.size! >= settings.resumableThreshold,
      }));
      tempUploads = await client.createTempUploads(table, requests, { signal: runSignal, batchSize: batch.length });
    } catch (error) {
      if (isWholeCallFailure(error)) stopRun(asError(error));
      if (runSignal.aborted) break;
      for (const file of batch) fail(file, error);
      report();
      continue;
    }
    const uploads: Array<Promise<string | undefined>> = [];
    for (const [i, file] of batch.entries()) {
      if (runSignal.aborted) break;
      const tempUpload = tempUploads[i]!;
      const renew = async (): Promise<TempUpload> => {
        const [renewed] = await client.createTempUploads(
          table,
          [{ name: uniqueTempUploadName(file.name), size: tempUpload.size, resumable: tempUpload.resumable }],
          { signal: runSignal },
        );
        return renewed!;
      };
      const { done } = await pool.submit(() =>
        putContent(tempUpload, file.content, file.size, {
          client,
          signal: runSignal,
          label: `Uploading ${JSON.stringify(file.name)}`,
          onConfirmed: (bytes) => onConfirmed(file, bytes),
          onRetry: options.onRetry,
          renew,
        }),
      );
      uploads.push(
        done.then(
          (stored) => {
            filesUploaded += 1;
            report();
            return stored.tempUploadId;
          },
          (error: unknown) => {
            fail(file, error);
            report();
            return undefined;
          },
        ),
      );
    }
    registrations.push(register(batch, uploads));
  }

  await Promise.all(registrations);
  await pool.idle();
  if (runSignal.aborted) {
    destroyStreams(planned);
    throwIfAborted();
    throw wholeCallFailure!;
  }
  added.sort((a, b) => a.index - b.index);
  failed.sort((a, b) => a.index - b.index);
  return { added: added.map(({ file }) => file), failed: failed.map(({ name, error }) => ({ name, error })), skipped: plan.skipped };
}
