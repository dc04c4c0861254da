/**
 * The body fields of `POST /tables/:ref/uploads` that describe how Redivis parses the data, their validation, and
 * how upload names appear in URL paths.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { extname } from 'node:path';
import { InvalidArgumentError } from '../errors.js';

/**
 * The formats Redivis documents for tabular uploads. `'delimited'` covers csv, tsv and other separators;
 * `'stream'` is for uploads filled row by row.
 */
export const TABULAR_UPLOAD_TYPES = [
  'delimited',
  'csv',
  'tsv',
  'ndjson',
  'json',
  'avro',
  'parquet',
  'orc',
  'xls',
  'xlsx',
  'dta',
  'sav',
  'sas7bdat',
  'shp',
  'shp.zip',
  'geojson',
  'geojsonl',
  'kml',
  'stream',
] as const;

/** One of {@link TABULAR_UPLOAD_TYPES}. */
export type TabularUploadType = (typeof TABULAR_UPLOAD_TYPES)[number];

const TYPES: ReadonlySet<string> = new Set(TABULAR_UPLOAD_TYPES);

/**
 * How Redivis reads a tabular upload: the body fields of `POST /tables/:ref/uploads`. A field not given is sent
 * as `null`, as the official clients do, which leaves Redivis' own default (the defaults below).
 */
export interface TabularUploadOptions {
  /**
   * Format of the data (one of {@link TABULAR_UPLOAD_TYPES}; anything else is refused before any request).
   * `'stream'` is for uploads filled row by row.
   * @default inferred by Redivis from the name's extension (sent as null)
   */
  // `string & {}` keeps editor completion of the known values while a string variable still type-checks.
  type?: TabularUploadType | (string & {});
  /**
   * Field delimiter of delimited files; `null` asks Redivis to detect it.
   * @default null (detected)
   */
  delimiter?: string | null;
  /**
   * Whether the first row of a delimited file holds the column names.
   * @default true
   */
  hasHeaderRow?: boolean;
  /**
   * Skip rows that cannot be parsed instead of failing the upload.
   * @default false
   */
  skipBadRecords?: boolean;
  /**
   * Whether quoted values of a delimited file may contain newlines (slower to import).
   * @default false
   */
  hasQuotedNewlines?: boolean;
  /**
   * Accept rows of a delimited file with missing trailing columns (read as null).
   * @default false
   */
  allowJaggedRows?: boolean;
  /**
   * Quote character of a delimited file.
   * @default '"'
   */
  quoteCharacter?: string;
  /**
   * Escape character inside quoted values of a delimited file.
   * @default '"'
   */
  escapeCharacter?: string;
  /**
   * Values read as null.
   * @default Redivis' defaults (sent as null)
   */
  nullMarkers?: string[];
  /**
   * Column names and types; Redivis uses it only with `type: 'stream'`.
   * @default none (sent as null)
   */
  schema?: Array<{
    /** Column name. */
    name: string;
    /** Type of the column, as Redivis names its variable types. */
    type: string;
  }>;
  /**
   * Metadata of the upload's variables, as Redivis documents it.
   * @default none (sent as null)
   */
  metadata?: Record<string, unknown>;
}

const BOOLEAN_FIELDS = ['hasHeaderRow', 'skipBadRecords', 'hasQuotedNewlines', 'allowJaggedRows'] as const;
const STRING_FIELDS = ['quoteCharacter', 'escapeCharacter'] as const;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Validates the tabular fields of `options` and returns those that were given, ready to send. */
export function tabularBody(options: TabularUploadOptions): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const { type, delimiter, nullMarkers, schema, metadata } = options;
  if (type !== undefined) {
    if (typeof type !== 'string' || !TYPES.has(type)) throw new InvalidArgumentError('type', `one of ${TABULAR_UPLOAD_TYPES.join(', ')}`, type);
    body.type = type;
  }
  if (delimiter !== undefined) {
    if (delimiter !== null && (typeof delimiter !== 'string' || delimiter === '')) {
      throw new InvalidArgumentError('delimiter', 'a non-empty string or null (detect)', delimiter);
    }
    body.delimiter = delimiter;
  }
  for (const field of BOOLEAN_FIELDS) {
    const value = options[field];
    if (value === undefined) continue;
    if (typeof value !== 'boolean') throw new InvalidArgumentError(field, 'a boolean', value);
    body[field] = value;
  }
  for (const field of STRING_FIELDS) {
    const value = options[field];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value === '') throw new InvalidArgumentError(field, 'a non-empty string', value);
    body[field] = value;
  }
  if (nullMarkers !== undefined) {
    if (!Array.isArray(nullMarkers) || nullMarkers.some((marker) => typeof marker !== 'string')) {
      throw new InvalidArgumentError('nullMarkers', 'an array of strings', nullMarkers);
    }
    body.nullMarkers = [...nullMarkers];
  }
  if (schema !== undefined) {
    if (!Array.isArray(schema)) throw new InvalidArgumentError('schema', 'an array of { name, type }', schema);
    schema.forEach((column, index) => {
      if (!isPlainObject(column) || typeof column.name !== 'string' || column.name === '' || typeof column.type !== 'string' || column.type === '') {
        throw new InvalidArgumentError(`schema[${index}]`, 'an object { name, type } of non-empty strings', column);
      }
    });
    body.schema = schema.map(({ name, type: columnType }) => ({ name, type: columnType }));
  }
  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) throw new InvalidArgumentError('metadata', 'a plain object', metadata);
    body.metadata = metadata;
  }
  return body;
}

/** Every field of `POST /tables/:ref/uploads` besides `name`, in the order the official client sends them. */
const UPLOAD_BODY_FIELDS = [
  'type',
  'schema',
  'metadata',
  'hasHeaderRow',
  'skipBadRecords',
  'hasQuotedNewlines',
  'allowJaggedRows',
  'quoteCharacter',
  'escapeCharacter',
  'nullMarkers',
  'delimiter',
  'tempUploadId',
  'transferSpecification',
] as const;

/**
 * The body of `POST /tables/:ref/uploads` as the API documents it and the official client sends it: every field
 * present, those not given as `null` (Redivis' default; `type: null` infers the type from the name).
 */
export function uploadRequestBody(name: string, given: Record<string, unknown>): Record<string, unknown> {
  const body: Record<string, unknown> = { name };
  for (const field of UPLOAD_BODY_FIELDS) body[field] = given[field] ?? null;
  return body;
}

/**
 * An upload name as one URL path segment, the way the official clients write it: every `.` becomes `_`, then the
 * result is percent-encoded.
 */
export function uploadNamePathSegment(name: string): string {
  return encodeURIComponent(name.replace(/\./g, '_'));
}

/** The `n`-th alternative of `name` for a client-side rename: `data.csv` → `data_1.csv`, `README` → `README_1`. */
export function renamedUploadName(name: string, n: number): string {
  const extension = extname(name);
  return extension === '' ? `${name}_${n}` : `${name.slice(0, -extension.length)}_${n}${extension}`;
}

/**
 * A temp upload name derived from `name` that no earlier temp upload of the table can have used: the API refuses
 * a name already taken, which a replacement, a retry or a second call would otherwise hit.
 */
export function uniqueTempUploadName(name: string): string {
  return `${name}.${randomBytes(6).toString('hex')}`;
}
