/**
 * Options, events and result of {@link createRowStream}, their defaults and their validation (all of it before
 * any request).
 * @module
 */
import type { RedivisClient } from '../../client/redivis-client.js';
import { tableReferencePathSegment, type TableReferenceInput } from '../../client/table-reference.js';
import { InvalidArgumentError } from '../../errors.js';
import type { UploadRetry } from '../../upload/stream-options.js';
import { resolveRetryOptions, type ResolvedRetryOptions, type RetryOptions } from '../../util/retry.js';
import type { TabularUpload } from '../poll-upload.js';
import type { UploadConflictPolicy } from '../upload-to-table-options.js';
import { compileSchema, type CompiledSchema, type RowVariable } from './row-schema.js';

/**
 * Most rows per request by default. Measured with `benchmarks/rows.ts --sweep` (rows of about 200 B of JSON):
 * on loopback every size from 500 to 5,000 rows ran at 39–51k rows/s; through a modelled 20 ms round trip the
 * rate grew with the batch (6.3k rows/s at 250, 10.5k at 500, 13.9k at 1,000, 19.8k at 2,000, 21.7k at 5,000),
 * since one request is in flight at a time. 2,000 keeps most of a slow link's rate while a batch of such rows
 * stays near 400 KB.
 */
export const DEFAULT_BATCH_ROWS = 2000;
/**
 * Most bytes per request body by default (4 MiB), which bounds batches of wide rows before `batchRows` does.
 * Measured the same way with rows of about 1.2 KB through the 20 ms link: 3.5k rows/s at 0.5 MiB, 4.0k at 2 MiB,
 * 4.2k at 4 MiB, 3.3k at 8 MiB. Redivis documents no limit of its own; this stays well below the 10 MB per
 * request of BigQuery's streaming inserts.
 */
export const DEFAULT_BATCH_BYTES = 4 * 1024 * 1024;
/** How long a partial batch waits for more rows while nothing is in flight, by default. */
export const DEFAULT_FLUSH_INTERVAL_MS = 1000;

/** What {@link createRowStream} does when the table already has an upload of the name. */
export type RowStreamConflictPolicy = UploadConflictPolicy | 'append';

/** Options of {@link createRowStream}. */
export interface RowStreamOptions {
  /** The client that makes every request. */
  client: RedivisClient;
  /** The table to insert into, on an unreleased version (reference it with `:next`). */
  table: TableReferenceInput;
  /** The stream upload's name in the table. */
  name: string;
  /**
   * The variables of the upload, `[{ name, type }]` with Redivis' types (`string`, `integer`, `float`,
   * `boolean`, `date`, `dateTime`, `time`, `geography`). Every row is checked against it before it is held.
   */
  schema: RowVariable[];
  /**
   * What to do when the table already has an upload of this name (checked with `HEAD` before the first request
   * that writes): `'error'` fails with `NameConflictError`; `'replace'` deletes it first; `'rename'` picks the
   * first free `name_1`, `name_2`, ...; `'skip'` sends nothing (rows written are accepted and dropped, the
   * `upload` event and `result` say `skipped: true`); `'append'` adds the rows to it when it is a stream upload
   * (its earlier rows are kept, and only the rows of this stream are counted in `rowsConfirmed`).
   * @default 'error'
   */
  onConflict?: RowStreamConflictPolicy;
  /**
   * Most rows per request.
   * @default 2000 rows ({@link DEFAULT_BATCH_ROWS})
   */
  batchRows?: number;
  /**
   * Most bytes per request body (the JSON `{"rows":[...]}`). A single row larger than this is refused with
   * `InvalidRowError`.
   * @default 4194304 bytes, 4 MiB ({@link DEFAULT_BATCH_BYTES})
   */
  batchBytes?: number;
  /**
   * How long a partial batch waits for more rows while no request is in flight, in milliseconds; a full batch,
   * the end of the stream and a row that does not fit are sent at once. `0` sends whatever is held whenever no
   * request is in flight.
   * @default 1000 ms ({@link DEFAULT_FLUSH_INTERVAL_MS})
   */
  flushIntervalMs?: number;
  /**
   * Rows Node buffers in front of the stream (the Writable's `highWaterMark` in object mode). The stream itself
   * holds at most two batches (one in flight, one filling), so at most `2 × batchRows + highWaterMark` rows are
   * held in all.
   * @default 16 rows
   */
  highWaterMark?: number;
  /**
   * Retry policy for the stream's requests (creating the upload, inserting rows, reading its row count).
   * @default the client's `retry`
   */
  retry?: RetryOptions;
  /**
   * The longest the stream may wait on the server without a batch being confirmed, in milliseconds: requests in
   * flight and the waits between retries count; waiting for rows to be written does not. A request still in
   * flight when it runs out is cut off, and the stream fails with `TimeoutError` (after asking, once, how many
   * rows the upload holds).
   * @default 600000 ms (10 minutes)
   */
  stallTimeoutMs?: number;
  /**
   * Aborts the stream: the request in flight is cut off and the stream fails with `AbortError`. Rows already
   * confirmed stay in the upload.
   * @default none (only `destroy()` stops the stream early)
   */
  signal?: AbortSignal;
}

/** Payload of the `progress` event. */
export interface RowProgress {
  /** Rows written into the stream and accepted (checked and held, sent or not). */
  rowsWritten: number;
  /** Rows the server has confirmed as stored. */
  rowsConfirmed: number;
  /** Bytes of those rows as JSON. */
  bytesConfirmed: number;
}

/** What a finished row stream reports as `stream.result`. */
export interface RowStreamResult {
  /** The upload as the server last described it (after the last batch; `numRows` counts every row it holds). */
  upload: TabularUpload;
  /** Rows this stream stored. */
  rowsConfirmed: number;
  /** Bytes of those rows as JSON. */
  bytesConfirmed: number;
  /** Requests that stored rows. */
  batches: number;
  /** Whether `onConflict: 'skip'` found an upload of this name, so nothing was sent. */
  skipped: boolean;
}

/** The stream's own events and their payloads. */
export interface RowStreamEvents {
  /** The upload exists: created, found by `'append'`, or found by `'skip'` (then `skipped` is true). */
  upload: [upload: TabularUpload, skipped: boolean];
  /** The server confirmed a batch. */
  progress: [progress: RowProgress];
  /** A request failed and will be tried again after `delayMs` (a batch is resent only once the upload's row count shows it is not stored). */
  retry: [retry: UploadRetry];
}

/** {@link RowStreamOptions} after validation, defaults filled in. */
export interface ResolvedRowStreamOptions {
  client: RedivisClient;
  segment: string;
  name: string;
  variables: RowVariable[];
  schema: CompiledSchema;
  onConflict: RowStreamConflictPolicy;
  batchRows: number;
  batchBytes: number;
  flushIntervalMs: number;
  highWaterMark: number;
  retry: ResolvedRetryOptions;
  stallTimeoutMs: number;
  signal: AbortSignal | undefined;
}

const CONFLICT_POLICIES: ReadonlySet<string> = new Set<RowStreamConflictPolicy>(['error', 'replace', 'rename', 'skip', 'append']);
/** The envelope `{"rows":[]}` around a batch's rows. */
export const BATCH_ENVELOPE_BYTES = Buffer.byteLength('{"rows":[]}');

function count(name: string, value: unknown, fallback: number, min: number, unit: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new InvalidArgumentError(name, `an integer number of ${unit} >= ${min}`, value);
  }
  return value;
}

/** Validates every option before anything is sent, naming the option at fault with what was expected and received. */
export function resolveRowStreamOptions(options: RowStreamOptions): ResolvedRowStreamOptions {
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError('options', 'an object { client, table, name, schema, ... }', options);
  }
  const { client, name, onConflict = 'error', signal } = options;
  if (client === null || typeof client !== 'object' || typeof client.request !== 'function' || typeof client.uploadHeaders !== 'function') {
    throw new InvalidArgumentError('client', 'a RedivisClient', client);
  }
  const segment = tableReferencePathSegment(options.table);
  if (typeof name !== 'string' || name === '') throw new InvalidArgumentError('name', 'a non-empty string', name);
  const { variables, compiled } = compileSchema(options.schema);
  if (typeof onConflict !== 'string' || !CONFLICT_POLICIES.has(onConflict)) {
    throw new InvalidArgumentError('onConflict', "'error', 'replace', 'rename', 'skip' or 'append'", onConflict);
  }
  const batchRows = count('batchRows', options.batchRows, DEFAULT_BATCH_ROWS, 1, 'rows');
  const batchBytes = count('batchBytes', options.batchBytes, DEFAULT_BATCH_BYTES, BATCH_ENVELOPE_BYTES + 2, 'bytes');
  const flushIntervalMs = count('flushIntervalMs', options.flushIntervalMs, DEFAULT_FLUSH_INTERVAL_MS, 0, 'milliseconds');
  const highWaterMark = count('highWaterMark', options.highWaterMark, 16, 1, 'rows');
  const stallTimeoutMs = count('stallTimeoutMs', options.stallTimeoutMs, 600_000, 1, 'milliseconds');
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new InvalidArgumentError('signal', 'an AbortSignal', signal);
  return {
    client,
    segment,
    name,
    variables,
    schema: compiled,
    onConflict: onConflict as RowStreamConflictPolicy,
    batchRows,
    batchBytes,
    flushIntervalMs,
    highWaterMark,
    retry: options.retry !== undefined ? resolveRetryOptions(options.retry) : client.retry,
    stallTimeoutMs,
    signal,
  };
}
