/**
 * Tabular uploads: `POST /api/v1/tables/:tableReference/uploads` creates one (from a completed temp upload, the
 * `data` part of a multipart request, a transfer Redivis runs itself, or empty for rows), and `GET`/`HEAD`/`DELETE
 * /api/v1/tables/:tableReference/uploads/:uploadName` read or remove it.
 *
 * Choices where Redivis' behaviour is not documented: a name already used by an upload of the table gets the
 * first free `stem_1.ext`, `stem_2.ext`, ... (the official client's `rename_on_conflict` sends the same name and
 * relies on the server); names are matched the way clients put them in paths (`.` read as `_`), case sensitively;
 * `hash` is the hex MD5 of the content; a successful `DELETE` answers the deleted upload (or `OK`, by option).
 * @module
 */
import type { ApiContext, ApiRoute } from './api-routes.js';
import { textReply, type Reply } from './errors-body.js';
import type { TempUploadRecord } from './state.js';
import { requestTableInfo } from './tables-api.js';
import { requestTable } from './tables.js';
import { completedTempUpload, isReply } from './temp-uploads-api.js';
import { inferType, readCreateRequest } from './upload-body.js';
import { uploadKey, uploadRegistry, type UploadRecord } from './upload-registry.js';

function uploadUri(table: string, name: string): string {
  return `/tables/${encodeURIComponent(table)}/uploads/${encodeURIComponent(uploadKey(name))}`;
}

/** The upload resource as `GET` answers it: every documented field, unset options at Redivis' defaults. */
export function uploadResource(upload: UploadRecord): Record<string, unknown> {
  const option = (field: string, fallback: unknown): unknown => upload.options[field] ?? fallback;
  return {
    kind: 'upload',
    id: upload.id,
    uri: upload.uri,
    name: upload.name,
    status: upload.status,
    type: upload.type,
    hash: upload.hash,
    size: upload.size,
    numRows: upload.numRows,
    numBytes: upload.numBytes,
    badRecordsCount: upload.badRecordsCount,
    errorMessage: upload.errorMessage ?? null,
    hasHeaderRow: option('hasHeaderRow', true),
    skipBadRecords: option('skipBadRecords', false),
    hasQuotedNewlines: option('hasQuotedNewlines', false),
    allowJaggedRows: option('allowJaggedRows', false),
    delimiter: option('delimiter', null),
    quoteCharacter: option('quoteCharacter', '"'),
    escapeCharacter: option('escapeCharacter', '"'),
    nullMarkers: option('nullMarkers', null),
    schema: option('schema', null),
    metadata: option('metadata', null),
    tempUploadId: upload.tempUploadId ?? null,
    transferSpecification: option('transferSpecification', null),
    createdAt: upload.createdAt,
  };
}

async function createUpload(context: ApiContext): Promise<Reply> {
  const table = requestTableInfo(context);
  if (isReply(table)) return table;
  const request = await readCreateRequest(context);
  if (isReply(request)) return request;
  if (table.isFileIndex) {
    return context.error(400, `Table ${table.reference} is a file index table: add files to it with rawFiles, not tabular uploads`);
  }
  let record: TempUploadRecord | undefined;
  if (request.tempUploadId !== undefined) {
    const found = completedTempUpload(context, table.reference, request.tempUploadId, 'tempUploadId');
    if (isReply(found)) return found;
    record = found;
  }
  const { state } = context;
  const registry = uploadRegistry(state);
  const type = request.type ?? inferType(request.name ?? '');
  const name = registry.freeName(table.reference, request.name ?? `untitled_upload.${type}`);
  const id = registry.nextId();
  const stream = type === 'stream';
  const upload: UploadRecord = {
    id,
    table: table.reference,
    name,
    uri: uploadUri(table.reference, name),
    type,
    source: record !== undefined ? 'tempUpload' : request.data !== undefined ? 'multipart' : stream ? 'stream' : 'transfer',
    status: stream ? 'completed' : 'queued',
    hash: null,
    size: null,
    numRows: stream ? 0 : null,
    numBytes: stream ? 0 : null,
    badRecordsCount: stream ? 0 : null,
    createdAt: state.options.now(),
    options: request.options,
    rows: [],
  };
  if (record !== undefined) {
    upload.tempUploadId = record.id;
    upload.hash = record.object!.digest.md5Hex;
    upload.size = record.object!.digest.size;
  }
  if (request.data !== undefined) {
    const blob = state.store.blob(`upload-${id}`);
    const writer = await blob.writer();
    try {
      await writer.write(request.data);
      writer.commitAll();
    } finally {
      await writer.close();
    }
    upload.blob = blob;
    upload.hash = blob.digest().md5Hex;
    upload.size = blob.size;
  }
  registry.add(upload);
  return context.json(200, uploadResource(upload));
}

/** The upload a request's path names, or the 404 (or the table's 400/404). */
export function findUpload(context: ApiContext): UploadRecord | Reply {
  const table = requestTable(context);
  if (typeof table !== 'string') return table;
  const name = context.params.uploadName!;
  const upload = uploadRegistry(context.state).get(table, name);
  return upload ?? context.error(404, `No upload named ${JSON.stringify(name)} in table ${table}`);
}

async function getUpload(context: ApiContext): Promise<Reply> {
  const found = findUpload(context);
  if (isReply(found)) return found;
  // HEAD reaches this handler too; only a GET observes (and so advances) the import.
  if (context.method === 'GET') await uploadRegistry(context.state).advance(found);
  return context.json(200, uploadResource(found));
}

function deleteUpload(context: ApiContext): Reply {
  const found = findUpload(context);
  if (isReply(found)) return found;
  uploadRegistry(context.state).delete(found);
  return context.state.options.deleteResponse === 'ok' ? textReply(200, 'OK') : context.json(200, uploadResource(found));
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
