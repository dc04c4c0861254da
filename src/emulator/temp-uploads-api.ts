/**
 * `POST /api/v1/tables/:tableReference/tempUploads`.
 *
 * A name may be used again in later requests, as the official clients do (they name a temp upload after its file,
 * so every re-run, replace or rename asks for the same name again): each request creates new temp uploads with new
 * ids, and earlier ones of the same name stay as they are. What stays refused is the same name twice in one
 * request, which could not say which temp upload is which.
 * @module
 */
import type { ApiContext, ApiRoute } from './api-routes.js';
import type { Reply } from './errors-body.js';
import type { TempUploadRecord } from './state.js';
import { requestTable, tableKey } from './tables.js';

const DECIMAL = /^(0|[1-9][0-9]*)$/;

function parseSize(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value === 'string' && DECIMAL.test(value)) {
    const size = Number(value);
    return Number.isSafeInteger(size) ? size : undefined;
  }
  return undefined;
}

interface Requested {
  name: string;
  size: number;
  resumable: boolean;
}

async function createTempUploads(context: ApiContext): Promise<Reply> {
  const { state } = context;
  const table = requestTable(context);
  if (typeof table !== 'string') return table;

  const body = await context.readJson();
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return context.error(400, 'The request body must be a JSON object with a tempUploads array');
  }
  const list = (body as { tempUploads?: unknown }).tempUploads;
  if (!Array.isArray(list) || list.length === 0) {
    return context.error(400, 'tempUploads must be a non-empty array');
  }
  const max = state.options.maxTempUploadsPerRequest;
  if (list.length > max) {
    return context.error(400, `tempUploads has ${list.length} entries; at most ${max} may be created per request`);
  }

  const requested: Requested[] = [];
  const namesInRequest = new Set<string>();
  for (const [index, entry] of list.entries()) {
    const at = `tempUploads[${index}]`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      return context.error(400, `${at} must be an object`);
    }
    const { size: rawSize, name, resumable = false } = entry as { size?: unknown; name?: unknown; resumable?: unknown };
    const size = parseSize(rawSize);
    if (size === undefined) return context.error(400, `${at}.size must be a non-negative integer number of bytes`);
    if (typeof name !== 'string' || name === '') return context.error(400, `${at}.name must be a non-empty string`);
    if (typeof resumable !== 'boolean') return context.error(400, `${at}.resumable must be a boolean`);
    if (namesInRequest.has(name)) {
      return context.error(400, `${at}.name ${JSON.stringify(name)} is already used by another temp upload of this request`);
    }
    namesInRequest.add(name);
    requested.push({ name, size, resumable });
  }

  const results = requested.map(({ name, size, resumable }) => {
    const record = state.createTempUpload(table, name, size, resumable);
    return { kind: 'tempUpload', id: record.id, url: state.tempUploadUrl(record), name, size: String(size), resumable };
  });
  return context.json(200, { kind: 'tempUploadList', results });
}

export const tempUploadsRoute: ApiRoute = {
  method: 'POST',
  path: '/tables/:tableReference/tempUploads',
  scope: 'data.edit',
  handle: createTempUploads,
};

/** Whether a validation step answered a reply (an error) rather than the value asked for. */
export function isReply(value: object): value is Reply {
  return typeof (value as { status?: unknown }).status === 'number';
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
  if (tableKey(record.table) !== tableKey(table)) {
    return context.error(400, `${at} ${JSON.stringify(id)} belongs to table ${record.table}, not ${table}`);
  }
  const current = state.refreshState(record);
  if (current !== 'complete' || record.object === undefined) {
    return context.error(400, `${at} ${JSON.stringify(id)} is not complete (its state is ${current}); upload its content first`);
  }
  return record;
}
