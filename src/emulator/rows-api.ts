/**
 * `POST /api/v1/tables/:tableReference/uploads/:uploadName/rows {"rows": [...]}`: inserts rows into a stream upload
 * (the official clients' `insert_rows`). A request is all or nothing: every row is checked against the upload's
 * schema before any is stored, and the first that does not fit answers 400 naming its index and variable. The
 * rows are visible at once: `numRows` of `GET <upload.uri>` counts them, and the answer is the upload resource as
 * that `GET` would give it.
 * @module
 */
import type { ApiContext, ApiRoute } from './api-routes.js';
import type { Reply } from './errors-body.js';
import { checkRow, type SchemaVariable } from './row-schema.js';
import { isReply } from './temp-uploads-api.js';
import { findUpload, uploadResource } from './uploads-api.js';

async function insertRows(context: ApiContext): Promise<Reply> {
  const upload = findUpload(context);
  if (isReply(upload)) return upload;
  const body = await context.readJson();
  if (upload.type !== 'stream') {
    return context.error(400, `Upload ${JSON.stringify(upload.name)} is of type ${upload.type}: rows can only be inserted into a stream upload`);
  }
  const rows = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as { rows?: unknown }).rows : undefined;
  if (!Array.isArray(rows) || rows.length === 0) {
    return context.error(400, 'The request body must be a JSON object with a non-empty rows array of objects keyed by variable name');
  }
  const schema = upload.options.schema as SchemaVariable[] | undefined;
  for (const [index, row] of rows.entries()) {
    const problem = checkRow(row, index, schema);
    if (problem !== undefined) return context.error(400, problem);
  }
  // In 'discard' storage, rows are counted and measured but not kept, so benchmarks run in flat memory.
  const keep = context.state.store.keepsBytes;
  for (const row of rows as Array<Record<string, unknown>>) {
    if (keep) upload.rows.push(row);
    upload.numBytes = (upload.numBytes ?? 0) + Buffer.byteLength(JSON.stringify(row));
  }
  upload.numRows = (upload.numRows ?? 0) + rows.length;
  return context.json(200, uploadResource(upload));
}

export const rowsRoute: ApiRoute = {
  method: 'POST',
  path: '/tables/:tableReference/uploads/:uploadName/rows',
  scope: 'data.edit',
  handle: insertRows,
};
