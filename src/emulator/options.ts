/**
 * Options of {@link startEmulator}.
 * @module
 */
import type { FaultKind, FaultRule } from './fault-types.js';

/** Options of {@link startEmulator}. */
export interface EmulatorOptions {
  /**
   * TCP port of the API server; 0 picks a free one.
   * @default 0 (a free port, see {@link Emulator.origin})
   */
  port?: number;
  /**
   * Interface the API server listens on.
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * Bearer token that carries the `data.edit` scope.
   * @default a random hex string
   */
  token?: string;
  /**
   * Bearer token that reads but cannot write: every route that needs `data.edit` (creating temp uploads, uploads,
   * tables, rows and raw files, deleting uploads) answers it 403 `insufficient_scope`. Must differ from `token`.
   * @default `ro-` and a random hex string
   */
  readOnlyToken?: string;
  /**
   * The tables that exist, as references (`owner.dataset:next.table`) or {@link TableDefinition}s. Given, every
   * other table answers 404 on every route until `POST /datasets/:ref/tables` creates it. Tables are matched as
   * Redivis matches references: case-insensitively, with reference ids optional, the version part of the identity
   * (absent = `current`).
   * @default undefined (every table exists; tables created through the API keep the properties they were given)
   */
  tables?: Array<string | TableDefinition>;
  /**
   * Most temp uploads one `tempUploads` request may create.
   * @default 1000 temp uploads
   */
  maxTempUploadsPerRequest?: number;
  /**
   * Lifetime of a resumable session, in milliseconds, counted from its initiation with {@link now}.
   * @default 86_400_000 ms (24 hours)
   */
  sessionTtlMs?: number;
  /**
   * Clock used for session expiry and request-log times, in milliseconds since the epoch, so tests can move time.
   * @default Date.now
   */
  now?: () => number;
  /**
   * Shape of API error bodies. `'flat'` = `{error: <code>, error_description, status}` (what the current official
   * clients read); `'nested'` = `{error: {message, status}}` (the older documented shape).
   * @default 'flat'
   */
  errorShape?: 'flat' | 'nested';
  /**
   * Body of a successful `DELETE` of an upload: `'json'` = the deleted upload's resource; `'ok'` = the text `OK`
   * (`text/plain`). The official Python client accepts both and nothing else (an empty body makes it raise).
   * @default 'json'
   */
  deleteResponse?: 'json' | 'ok';
  /**
   * Commit only the 256 KiB-aligned prefix of an unaligned non-final chunk, and of the part of a chunk a fault
   * persists, as GCS does. `false` commits every byte received.
   * @default true
   */
  alignUnalignedChunks?: boolean;
  /**
   * `'disk'` stores bytes in a temporary folder (removed by `close()`); `'discard'` keeps only sizes and running
   * MD5/CRC32C, for benchmarks (byte uploads then report no `numRows`; stream rows are counted, not kept).
   * @default 'disk'
   */
  storage?: 'disk' | 'discard';
  /**
   * Serve upload URLs (temp upload URLs and session URLs) from a second HTTP server on `127.0.0.2` instead of the
   * API's origin, so clients can be tested against a different upload host.
   * @default false
   */
  separateUploadOrigin?: boolean;
  /**
   * Scripted faults; see {@link FaultRule} for which one applies when several match.
   * @default []
   */
  faults?: FaultRule[];
  /**
   * Seeded random faults on upload-URL requests and `rows` requests (never on other API calls).
   * @default undefined (no random faults)
   */
  randomFaults?: RandomFaultOptions;
  /**
   * Tabular uploads whose import fails, by upload name (matched as in URL paths, `.` read as `_`, in any table),
   * with the `errorMessage` they fail with. See also {@link Emulator.failUpload}.
   * @default {} (every upload completes)
   */
  failUploads?: Record<string, string>;
  /**
   * Write one line per request to stderr. Never prints the Authorization header or URL query strings.
   * @default false
   */
  verbose?: boolean;
}

/** A table that exists from the start, with its properties (see {@link EmulatorOptions.tables}). */
export interface TableDefinition {
  /** The table's reference, e.g. `owner.dataset:next.table`. */
  reference: string;
  /**
   * Whether it is a file index table: only those accept `rawFiles`, and they accept no tabular uploads.
   * @default false
   */
  isFileIndex?: boolean;
  /**
   * How the table's uploads combine with the previous version's data.
   * @default 'append'
   */
  uploadMergeStrategy?: 'append' | 'replace';
  /**
   * The table's description.
   * @default null (none)
   */
  description?: string;
}

/** Seeded random faults. */
export interface RandomFaultOptions {
  /**
   * Seed of the pseudo-random generator (a 32-bit unsigned integer).
   * @default a random seed, exposed as {@link Emulator.randomSeed}
   */
  seed?: number;
  /** Probability (0 to 1) that a request gets a fault. */
  probability: number;
  /**
   * Kinds to pick from. A `status` fault answers 503. On `rows` requests status and reset faults act before or
   * after processing (half the time each), and kinds that only concern sessions (`expire`, `terminate`,
   * `omitRange`) do nothing.
   * @default ['status', 'reset', 'omitRange']
   */
  kinds?: FaultKind[];
}
