/**
 * `POST /api/v1/tables/:tableReference/rawFiles`: registers completed temp uploads as the files of a file index
 * table (a table the emulator knows as another kind answers 400; a table it does not know is taken to be one). A
 * request is all or nothing: every entry is checked (temp upload complete and of the same table, name
 * unused in the table and in the request) before any file is created; the first problem answers 400.
 * @module
 */
import type { ApiContext, ApiRoute } from './api-routes.js';
import type { Reply } from './errors-body.js';
import { randomHex, type EmulatorState, type TempUploadRecord } from './state.js';
import { requestTableInfo } from './tables-api.js';
import { tableKey, tableRegistry } from './tables.js';
import { completedTempUpload, isReply } from './temp-uploads-api.js';

/** What the emulator knows about a registered file. */
export interface RawFileInfo {
  /** The file's id, as the `rawFiles` response gave it. */
  id: string;
  /** Normalized table reference (see `formatTableReference`). */
  table: string;
  /** The name it was registered under (a relative path). */
  name: string;
  /** The temp upload that holds the content. */
  tempUploadId: string;
  /** Size in bytes. */
  size: number;
  /** Base64 MD5 of the content, as the API reports it. */
  md5Hash: string;
  /** Hex MD5 of the content. */
  md5Hex: string;
}

/** Registered files of one emulator. */
export class RawFileRegistry {
  private readonly files: RawFileInfo[] = [];
  private readonly names = new Map<string, Set<string>>();

  has(table: string, name: string): boolean {
    return this.names.get(tableKey(table))?.has(name) ?? false;
  }

  add(file: RawFileInfo): void {
    this.files.push(file);
    const key = tableKey(file.table);
    let names = this.names.get(key);
    if (names === undefined) this.names.set(key, (names = new Set()));
    names.add(file.name);
  }

  list(): RawFileInfo[] {
    return this.files.map((file) => ({ ...file }));
  }
}

/** The API's path prefix; a value import from api-routes.ts would make a cycle, since that module lists this route. */
const API_PATH = '/api/v1';

const registries = new WeakMap<EmulatorState, RawFileRegistry>();

/** The raw file registry of an emulator's state, created on first use. */
export function rawFileRegistry(state: EmulatorState): RawFileRegistry {
  let registry = registries.get(state);
  if (registry === undefined) registries.set(state, (registry = new RawFileRegistry()));
  return registry;
}

async function addRawFiles(context: ApiContext): Promise<Reply> {
  const tableInfo = requestTableInfo(context);
  if (isReply(tableInfo)) return tableInfo;
  const table = tableInfo.reference;
  const body = await context.readJson();
  const list = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as { files?: unknown }).files : undefined;
  if (!Array.isArray(list) || list.length === 0) {
    return context.error(400, 'The request body must be a JSON object with a non-empty files array of { name, tempUploadId }');
  }
  if (!tableInfo.isFileIndex && tableRegistry(context.state).get(table) !== undefined) {
    return context.error(400, `Table ${table} is not a file index table: raw files can only be added to a file index table`);
  }
  const registry = rawFileRegistry(context.state);
  const accepted: Array<{ name: string; record: TempUploadRecord }> = [];
  const namesInRequest = new Set<string>();
  for (const [index, entry] of list.entries()) {
    const at = `files[${index}]`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return context.error(400, `${at} must be an object { name, tempUploadId }`);
    const { name, tempUploadId } = entry as { name?: unknown; tempUploadId?: unknown };
    if (typeof name !== 'string' || name === '') return context.error(400, `${at}.name must be a non-empty string`);
    if (namesInRequest.has(name) || registry.has(table, name)) {
      return context.error(400, `${at}.name ${JSON.stringify(name)} is already used by a file of table ${table}`);
    }
    const record = completedTempUpload(context, table, tempUploadId, `${at}.tempUploadId`);
    if (isReply(record)) return record;
    namesInRequest.add(name);
    accepted.push({ name, record });
  }

  const host = context.headers.host ?? 'localhost';
  const results = accepted.map(({ name, record }) => {
    const { size, md5, md5Hex } = record.object!.digest;
    const id = randomHex(10);
    registry.add({ id, table, name, tempUploadId: record.id, size, md5Hash: md5, md5Hex });
    const uri = `/rawFiles/${id}`;
    // Sizes are int64 strings in Redivis' JSON, as in tempUploads answers.
    return { kind: 'rawFile', id, uri, url: `http://${host}${API_PATH}${uri}`, name, md5Hash: md5, size: String(size) };
  });
  return context.json(201, { kind: 'rawFileList', results });
}

export const rawFilesRoute: ApiRoute = {
  method: 'POST',
  path: '/tables/:tableReference/rawFiles',
  scope: 'data.edit',
  handle: addRawFiles,
};
