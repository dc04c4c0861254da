/**
 * Reading the body of `POST /tables/:ref/uploads`: JSON, or `multipart/form-data` with a `metadata` part (the JSON,
 * as text) and a `data` part (the content). `null` means absent for every field, as the official clients send
 * every field and the unset ones as `null`.
 * @module
 */
import { extname } from 'node:path';
import type { ApiContext } from './api-routes.js';
import type { Reply } from './errors-body.js';
import { checkSchema } from './row-schema.js';

/** Values of `type`, as Redivis documents them; `csv` and `tsv` are the names older documentation used. */
export const UPLOAD_TYPES: ReadonlySet<string> = new Set([
  'delimited', 'csv', 'tsv', 'ndjson', 'json', 'avro', 'parquet', 'orc', 'xls', 'xlsx', 'dta', 'sav', 'sas7bdat',
  'geojson', 'geojsonl', 'kml', 'shp', 'shp.zip', 'stream',
]);

/** Where Redivis pulls the data of a transfer from. */
export const TRANSFER_SOURCE_TYPES: ReadonlySet<string> = new Set(['gcs', 's3', 'url', 'redivis']);

/** Largest multipart body Redivis documents (100 MB). */
export const MAX_MULTIPART_BYTES = 100_000_000;

const TYPE_BY_EXTENSION: Record<string, string> = {
  '.ndjson': 'ndjson', '.jsonl': 'ndjson', '.json': 'json', '.avro': 'avro', '.parquet': 'parquet', '.orc': 'orc',
  '.xls': 'xls', '.xlsx': 'xlsx', '.dta': 'dta', '.sav': 'sav', '.sas7bdat': 'sas7bdat', '.geojson': 'geojson',
  '.geojsonl': 'geojsonl', '.kml': 'kml', '.shp': 'shp',
};

/**
 * The type Redivis infers from a name: by its extension, after a compression suffix (`.gz`); `.shp.zip` is a
 * zipped shapefile; every other name (`.csv`, `.tsv`, `.txt`, none, ...) is delimited.
 */
export function inferType(name: string): string {
  const lower = name.toLowerCase().replace(/\.gz$/, '');
  if (lower.endsWith('.shp.zip')) return 'shp.zip';
  return TYPE_BY_EXTENSION[extname(lower)] ?? 'delimited';
}

/** A creation request, checked. */
export interface CreateRequest {
  /** The name sent; undefined when absent, null or empty (Redivis then names it after the type). */
  name: string | undefined;
  /** The type sent; undefined means infer it from the name. */
  type: string | undefined;
  tempUploadId: string | undefined;
  transferSpecification: Record<string, unknown> | undefined;
  /** The content of a multipart request. */
  data: Buffer | undefined;
  /** Every other field given (not null), as received. */
  options: Record<string, unknown>;
}

type Check = (value: unknown) => boolean;
const isString: Check = (value) => typeof value === 'string' && value !== '';
const isBoolean: Check = (value) => typeof value === 'boolean';
const isObject: Check = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);
const OPTION_CHECKS: Record<string, [Check, string]> = {
  hasHeaderRow: [isBoolean, 'a boolean'],
  skipBadRecords: [isBoolean, 'a boolean'],
  hasQuotedNewlines: [isBoolean, 'a boolean'],
  allowJaggedRows: [isBoolean, 'a boolean'],
  delimiter: [isString, 'a non-empty string or null'],
  quoteCharacter: [isString, 'a non-empty string or null'],
  escapeCharacter: [isString, 'a non-empty string or null'],
  nullMarkers: [(value) => Array.isArray(value) && value.every((marker) => typeof marker === 'string'), 'an array of strings or null'],
  metadata: [isObject, 'an object or null'],
};

function checkTransfer(value: unknown): Record<string, unknown> | string {
  if (!isObject(value)) return 'transferSpecification must be an object { sourceType, sourcePath, identity? } or null';
  const { sourceType, sourcePath, identity } = value as Record<string, unknown>;
  if (typeof sourceType !== 'string' || !TRANSFER_SOURCE_TYPES.has(sourceType)) {
    return `transferSpecification.sourceType must be one of ${[...TRANSFER_SOURCE_TYPES].join(', ')}`;
  }
  if (!isString(sourcePath)) return 'transferSpecification.sourcePath must be a non-empty string';
  if (identity !== undefined && identity !== null && !isString(identity)) {
    return 'transferSpecification.identity must be a non-empty string or null';
  }
  return value as Record<string, unknown>;
}

/** Checks the fields of a creation request (after the body was read). */
export function checkFields(context: ApiContext, fields: Record<string, unknown>, data: Buffer | undefined): CreateRequest | Reply {
  const present = (field: string): unknown => (fields[field] === null ? undefined : fields[field]);
  const name = present('name');
  if (name !== undefined && typeof name !== 'string') return context.error(400, 'name must be a string or null');
  const type = present('type');
  if (type !== undefined && (typeof type !== 'string' || !UPLOAD_TYPES.has(type))) {
    return context.error(400, `type must be null (inferred from the name) or one of ${[...UPLOAD_TYPES].join(', ')}`);
  }
  // The documentation still calls the id field by its older name.
  const tempUploadId = present('tempUploadId') ?? present('resumableUploadId');
  if (tempUploadId !== undefined && !isString(tempUploadId)) return context.error(400, 'tempUploadId must be the id of a temp upload or null');
  const options: Record<string, unknown> = {};
  for (const [field, [check, expected]] of Object.entries(OPTION_CHECKS)) {
    const value = present(field);
    if (value === undefined) continue;
    if (!check(value)) return context.error(400, `${field} must be ${expected}`);
    options[field] = value;
  }
  const schema = present('schema');
  if (schema !== undefined) {
    const checked = checkSchema(schema);
    if (typeof checked === 'string') return context.error(400, checked);
    options.schema = checked;
  }
  let transferSpecification: Record<string, unknown> | undefined;
  const transfer = present('transferSpecification');
  if (transfer !== undefined) {
    const checked = checkTransfer(transfer);
    if (typeof checked === 'string') return context.error(400, checked);
    transferSpecification = checked;
    options.transferSpecification = checked;
  }

  const sources = [tempUploadId !== undefined, data !== undefined, transferSpecification !== undefined].filter(Boolean).length;
  if (type === 'stream' && sources > 0) {
    return context.error(400, 'A stream upload is filled with rows (POST <upload.uri>/rows): send no tempUploadId, data or transferSpecification');
  }
  if (type !== 'stream' && sources === 0) {
    return context.error(400, 'The upload has no content: send a tempUploadId, a multipart data part, or a transferSpecification (or type "stream")');
  }
  if (sources > 1) return context.error(400, 'Send only one of tempUploadId, a multipart data part and transferSpecification');
  return {
    name: name === '' ? undefined : (name as string | undefined),
    type: type as string | undefined,
    tempUploadId: tempUploadId as string | undefined,
    transferSpecification,
    data,
    options,
  };
}

async function readMultipart(context: ApiContext, contentType: string): Promise<{ fields: unknown; data: Buffer } | Reply> {
  const declared = Number(context.headers['content-length'] ?? 0);
  if (declared > MAX_MULTIPART_BYTES) {
    return context.error(400, `The multipart body has ${declared} bytes; at most ${MAX_MULTIPART_BYTES} are accepted (use a temp upload)`);
  }
  const body = await context.readBody();
  let form: FormData;
  try {
    form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
  } catch {
    return context.error(400, 'The multipart/form-data body is malformed (boundary, part headers or ending)');
  }
  const part = async (name: string): Promise<Buffer | undefined> => {
    const value = form.get(name);
    if (value === null) return undefined;
    return typeof value === 'string' ? Buffer.from(value) : Buffer.from(await value.arrayBuffer());
  };
  const metadata = await part('metadata');
  const data = await part('data');
  if (metadata === undefined || data === undefined) {
    return context.error(400, 'A multipart upload needs a part named "metadata" (the JSON fields) and a part named "data" (the content)');
  }
  try {
    return { fields: JSON.parse(metadata.toString('utf8')) as unknown, data };
  } catch {
    return context.error(400, 'The "metadata" part must be JSON');
  }
}

/** Reads and checks a creation request, JSON or multipart. */
export async function readCreateRequest(context: ApiContext): Promise<CreateRequest | Reply> {
  const contentType = String(context.headers['content-type'] ?? '');
  let fields: unknown;
  let data: Buffer | undefined;
  if (/^multipart\/form-data\s*;/i.test(contentType)) {
    const read = await readMultipart(context, contentType);
    if ('status' in read) return read;
    ({ fields, data } = read);
  } else {
    fields = await context.readJson();
  }
  if (!isObject(fields)) {
    return context.error(400, 'The request body must be a JSON object { name, type, tempUploadId, ... } or multipart/form-data with metadata and data parts');
  }
  return checkFields(context, fields as Record<string, unknown>, data);
}
