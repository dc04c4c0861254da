/**
 * Options and result of {@link uploadRowsToTable}, and their validation (before any request).
 * @module
 */
import { InvalidArgumentError } from '../../errors.js';
import type { TableUploadResult, UploadToTableOptions } from '../upload-to-table-options.js';
import { compileSchema, type CompiledSchema, type RowVariable } from './row-schema.js';

/** The parsing options of `uploadToTable` that mean nothing for NDJSON, and those this helper sets itself. */
type NotForRows =
  | 'source'
  | 'transferSpecification'
  | 'type'
  | 'name'
  | 'schema'
  | 'delimiter'
  | 'hasHeaderRow'
  | 'hasQuotedNewlines'
  | 'allowJaggedRows'
  | 'quoteCharacter'
  | 'escapeCharacter'
  | 'nullMarkers';

/**
 * Options of {@link uploadRowsToTable}: those of `uploadToTable` (`client`, `table`, `onConflict`, `wait`,
 * `throwOnFail`, `removeOnFail`, `skipBadRecords`, `metadata`, `chunkSize`, `signal`, `onProgress`, `onRetry`,
 * polling), with rows instead of a source.
 */
export interface UploadRowsToTableOptions extends Omit<UploadToTableOptions, NotForRows> {
  /**
   * The rows, plain objects keyed by variable name: an array, any iterable or async iterable (an async
   * generator, a Readable in object mode). They are read once, as the upload consumes them.
   */
  rows: Iterable<unknown> | AsyncIterable<unknown>;
  /** The upload's name in the table, e.g. `events.ndjson`. */
  name: string;
  /**
   * Variables to check every row against before it is sent, as for `createRowStream` (a row that does not fit
   * fails the call with `InvalidRowError` and no upload is created). Redivis reads the types of an NDJSON upload
   * from the data; the schema is not sent.
   * @default none (rows need only be objects JSON can represent)
   */
  schema?: RowVariable[];
}

/** What {@link uploadRowsToTable} resolves with: `uploadToTable`'s result and the rows sent. */
export interface RowsUploadResult extends TableUploadResult {
  /** Rows sent as NDJSON lines (0 when `onConflict: 'skip'` found the upload). */
  rowsSent: number;
}

/** The parts of the options this helper checks itself; `uploadToTable` checks the rest before any request. */
export interface UploadRowsSettings {
  rows: Iterable<unknown> | AsyncIterable<unknown>;
  schema: CompiledSchema | undefined;
}

function isIterable(value: unknown): value is Iterable<unknown> | AsyncIterable<unknown> {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
  const candidate = value as { [Symbol.iterator]?: unknown; [Symbol.asyncIterator]?: unknown };
  return typeof candidate[Symbol.iterator] === 'function' || typeof candidate[Symbol.asyncIterator] === 'function';
}

export function validateUploadRows(options: UploadRowsToTableOptions): UploadRowsSettings {
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError('options', 'an object { client, table, name, rows, ... }', options);
  }
  const { rows } = options;
  if (!isIterable(rows) || typeof rows === 'string') {
    throw new InvalidArgumentError('rows', 'an iterable or async iterable of row objects (an array, a generator, an object-mode Readable)', rows);
  }
  if (typeof options.name !== 'string' || options.name === '') throw new InvalidArgumentError('name', 'a non-empty string', options.name);
  const schema = options.schema === undefined ? undefined : compileSchema(options.schema).compiled;
  return { rows, schema };
}
