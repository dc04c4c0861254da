/**
 * Tabular uploads: `POST /api/v1/tables/:tableReference/uploads` creates one from a completed temp upload, and
 * `GET`/`HEAD`/`DELETE /api/v1/tables/:tableReference/uploads/:uploadName` read or remove it. Processing is
 * simulated without timers: each `GET` moves the status one step, `queued` → `running` → `completed`, or to
 * `failed` when a failure was injected for the upload's name.
 *
 * Choices where Redivis' behaviour is not documented: a name already used by an upload of the table is refused
 * with 400 (Redivis documents no 409); names are matched the way clients put them in paths (`.` read as `_`), case
 * sensitively; `DELETE` answers 200 with an empty body.
 * @module
 */
import { extname } from 'node:path';
import { formatTableReference, parseTableReference } from '../client/table-reference.js';
import { TableReferenceError } from '../errors.js';
import type { ApiContext, ApiRoute } from './api-routes.js';
import type { Reply } from './errors-body.js';
import type { EmulatorState, TempUploadRecord } from './state.js';

/** Processing state of a tabular upload. */
export type UploadStatus = 'queued' | 'running' | 'completed' | 'failed';

/** What the emulator knows about a tabular upload. */
export interface UploadInfo {
  /** Normalized table reference (see `formatTableReference`). */
  table: string;
  /** The upload's name, as sent when it was created. */
  name: string;
  /** The path clients use for it, relative to the API endpoint. */
  uri: string;
  /** The `type` sent, or the one inferred from the name's extension. */
  type: string;
  /** The temp upload that holds the data. */
  tempUploadId: string;
  /** Processing state; each `GET` of the upload moves it one step. */
  status: UploadStatus;
  /** Why processing failed; undefined unless `status` is `'failed'`. */
  errorMessage?: string;
  /** Emulator clock at creation, in milliseconds since the epoch. */
  createdAt: number;
  /** The parsing options sent with the upload (`hasHeaderRow`, `delimiter`, ...), as received. */
  options: Record<string, unknown>;
}

/** Values of `type` the emulator accepts, as Redivis documents them. */
export const UPLOAD_TYPES: ReadonlySet<string> = new Set([
  'delimited', 'csv', 'tsv', 'ndjson', 'avro', 'parquet', 'orc', 'xls', 'xlsx', 'dta', 'sav', 'sas7bdat', 'shp', 'geojson', 'kml', 'stream',
]);

/** How an upload name is matched: the form the official clients put in URL paths. */
export function uploadKey(name: string): string {
  return name.replace(/\./g, '_');
}

/** Uploads of one emulator, and the failures injected for them. */
export class UploadRegistry {
  private readonly uploads = new Map<string, UploadInfo>();
  private readonly failures = new Map<string, string>();

  private static key(table: string, name: string): string {
    return `${table.toLowerCase()}\n${uploadKey(name)}`;
  }

  get(table: string, name: string): UploadInfo | undefined {
    return this.uploads.get(UploadRegistry.key(table, name));
  }

  add(upload: UploadInfo): void {
    this.uploads.set(UploadRegistry.key(upload.table, upload.name), upload);
  }

  delete(table: string, name: string): boolean {
    return this.uploads.delete(UploadRegistry.key(table, name));
  }

  list(): UploadInfo[] {
    return [...this.uploads.values()];
  }

  /** Makes processing of every upload named `name` (in any table) fail with `errorMessage`. */
  failUpload(name: string, errorMessage: string): void {
    this.failures.set(uploadKey(name), errorMessage);
  }

  /** One processing step, as a `GET` observes it. */
  advance(upload: UploadInfo): void {
    if (upload.status === 'queued') {
      upload.status = 'running';
    } else if (upload.status === 'running') {
      const failure = this.failures.get(uploadKey(upload.name));
      if (failure === undefined) {
        upload.status = 'completed';
      } else {
        upload.status = 'failed';
        upload.errorMessage = failure;
      }
    }
  }
}

const registries = new WeakMap<EmulatorState, UploadRegistry>();

/** The upload registry of an emulator's state, created on first use. */
export function uploadRegistry(state: EmulatorState): UploadRegistry {
  let registry = registries.get(state);
  if (registry === undefined) registries.set(state, (registry = new UploadRegistry()));
  return registry;
}

/** Copies an upload for inspection, so callers cannot change the emulator's record. */
export function copyUpload(upload: UploadInfo): UploadInfo {
  return { ...upload, options: structuredClone(upload.options) };
}

/** Whether a validation step answered a reply (an error) rather than the value asked for. */
export function isReply(value: object): value is Reply {
  return typeof (value as { status?: unknown }).status === 'number';
}

/** The table of the request, normalized, or the 400 reply. */
export function requestTable(context: ApiContext): string | Reply {
  try {
    return formatTableReference(parseTableReference(context.params.tableReference!));
  } catch (error) {
    if (error instanceof TableReferenceError) return context.error(400, error.message);
    throw error;
  }
}

/**
 * The completed temp upload `id` of `table`, or a 400 reply explaining why it cannot be used. `at` names the
 * field in messages, e.g. `files[3].tempUploadId`.
 */
export function completedTempUpload(context: ApiContext, table: string, id: unknown, at: string): TempUploadRecord | Reply {
  const { state } = context;
  if (typeof id !== 'string' || id === '') return context.error(400, `${at} must be the id of a temp upload`);
  const record = state.records.get(id);
  if (record === undefined) return context.error(400, `${at} ${JSON.stringify(id)} is not a temp upload`);
  if (record.table.toLowerCase() !== table.toLowerCase()) {
    return context.error(400, `${at} ${JSON.stringify(id)} belongs to table ${record.table}, not ${table}`);
  }
  const current = state.refreshState(record);
  if (current !== 'complete' || record.object === undefined) {
    return context.error(400, `${at} ${JSON.stringify(id)} is not complete (its state is ${current}); upload its content first`);
  }
  return record;
}

function uploadUri(table: string, name: string): string {
  return `/tables/${encodeURIComponent(table)}/uploads/${encodeURIComponent(uploadKey(name))}`;
}

function resource(upload: UploadInfo): Record<string, unknown> {
  const { table: _table, options, errorMessage, ...fields } = upload;
  return { kind: 'upload', ...fields, ...options, ...(errorMessage === undefined ? {} : { errorMessage }) };
}

function inferType(name: string): string {
  const extension = extname(name).slice(1).toLowerCase();
  return UPLOAD_TYPES.has(extension) && extension !== 'stream' ? extension : 'delimited';
}

type Check = (value: unknown) => boolean;
const isString: Check = (value) => typeof value === 'string' && value !== '';
const OPTION_CHECKS: Record<string, [Check, string]> = {
  hasHeaderRow: [(value) => typeof value === 'boolean', 'a boolean'],
  skipBadRecords: [(value) => typeof value === 'boolean', 'a boolean'],
  hasQuotedNewlines: [(value) => typeof value === 'boolean', 'a boolean'],
  allowJaggedRows: [(value) => typeof value === 'boolean', 'a boolean'],
  delimiter: [(value) => value === null || isString(value), 'a non-empty string or null'],
  quoteCharacter: [isString, 'a non-empty string'],
  escapeCharacter: [isString, 'a non-empty string'],
  nullMarkers: [(value) => Array.isArray(value) && value.every((marker) => typeof marker === 'string'), 'an array of strings'],
  schema: [
    (value) => Array.isArray(value) && value.every((column) => column !== null && typeof column === 'object' && isString(column.name) && isString(column.type)),
    'an array of { name, type }',
  ],
  metadata: [(value) => value !== null && typeof value === 'object' && !Array.isArray(value), 'an object'],
  transferSpecification: [(value) => value !== null && typeof value === 'object' && !Array.isArray(value), 'an object'],
};

async function createUpload(context: ApiContext): Promise<Reply> {
  const table = requestTable(context);
  if (typeof table !== 'string') return table;
  const body = await context.readJson();
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return context.error(400, 'The request body must be a JSON object { name, type?, tempUploadId, ... }');
  }
  const fields = body as Record<string, unknown>;
  const { name, type } = fields;
  if (typeof name !== 'string' || name === '') return context.error(400, 'name must be a non-empty string');
  if (type !== undefined && (typeof type !== 'string' || !UPLOAD_TYPES.has(type))) {
    return context.error(400, `type must be one of ${[...UPLOAD_TYPES].join(', ')}`);
  }
  const options: Record<string, unknown> = {};
  for (const [field, [check, expected]] of Object.entries(OPTION_CHECKS)) {
    if (fields[field] === undefined) continue;
    if (!check(fields[field])) return context.error(400, `${field} must be ${expected}`);
    options[field] = fields[field];
  }
  const record = completedTempUpload(context, table, fields.tempUploadId, 'tempUploadId');
  if (isReply(record)) return record;

  const registry = uploadRegistry(context.state);
  const existing = registry.get(table, name);
  if (existing !== undefined) {
    return context.error(400, `An upload named ${JSON.stringify(existing.name)} already exists in table ${table}; delete it first or choose another name`);
  }
  const upload: UploadInfo = {
    table,
    name,
    uri: uploadUri(table, name),
    type: (type as string | undefined) ?? inferType(name),
    tempUploadId: record.id,
    status: 'queued',
    createdAt: context.state.options.now(),
    options,
  };
  registry.add(upload);
  return context.json(200, resource(upload));
}

function findUpload(context: ApiContext): UploadInfo | Reply {
  const table = requestTable(context);
  if (typeof table !== 'string') return table;
  const name = context.params.uploadName!;
  const upload = uploadRegistry(context.state).get(table, name);
  return upload ?? context.error(404, `No upload named ${JSON.stringify(name)} in table ${table}`);
}

function getUpload(context: ApiContext): Reply {
  const found = findUpload(context);
  if (isReply(found)) return found;
  // HEAD reaches this handler too; only a GET observes (and so advances) processing.
  if (context.method === 'GET') uploadRegistry(context.state).advance(found);
  return context.json(200, resource(found));
}

function deleteUpload(context: ApiContext): Reply {
  const found = findUpload(context);
  if (isReply(found)) return found;
  uploadRegistry(context.state).delete(found.table, found.name);
  return { status: 200, body: '' };
}

export const createUploadRoute: ApiRoute = {
  method: 'POST',
  path: '/tables/:tableReference/uploads',
  scope: 'data.edit',
  handle: createUpload,
};

/** `GET` (and, through the router, `HEAD`) of one upload. */
export const getUploadRoute: ApiRoute = {
  method: 'GET',
  path: '/tables/:tableReference/uploads/:uploadName',
  scope: 'data.overview',
  handle: getUpload,
};

export const deleteUploadRoute: ApiRoute = {
  method: 'DELETE',
  path: '/tables/:tableReference/uploads/:uploadName',
  scope: 'data.edit',
  handle: deleteUpload,
};

/** Every route of this module, to append to `API_ROUTES`. */
export const UPLOAD_ROUTES: ApiRoute[] = [createUploadRoute, getUploadRoute, deleteUploadRoute];
