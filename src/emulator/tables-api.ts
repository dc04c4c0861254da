/**
 * Tables: `POST /api/v1/datasets/:datasetReference/tables` creates one (as the official clients' `Table.create()`
 * does), `GET`/`HEAD /api/v1/tables/:tableReference` read one (`Table.get()`, `Table.exists()`).
 *
 * Choices where Redivis' behaviour is not documented: creating a table the emulator already knows is a 400 (in
 * open mode a table never created also exists, and creating it records its properties); a table name may hold any
 * characters, its reference holds the escaped name; the answer is 200 with the table resource.
 * @module
 */
import { escapeName, formatTableReference, parseTableReference } from '../client/table-reference.js';
import { TableReferenceError } from '../errors.js';
import type { ApiContext, ApiRoute } from './api-routes.js';
import type { Reply } from './errors-body.js';
import { formatDatasetReference, parseDatasetReference, requestTable, tableRegistry, type TableInfo } from './tables.js';

/** The table resource as the API answers it. */
export function tableResource(table: TableInfo): Record<string, unknown> {
  const { reference, container } = table;
  const tableName = reference.slice(reference.lastIndexOf('.') + 1);
  return {
    kind: 'table',
    uri: `/tables/${encodeURIComponent(reference)}`,
    name: table.name,
    qualifiedReference: reference,
    scopedReference: tableName,
    isFileIndex: table.isFileIndex,
    uploadMergeStrategy: table.uploadMergeStrategy,
    description: table.description,
    createdAt: table.createdAt,
    container: {
      kind: 'dataset',
      uri: `/datasets/${encodeURIComponent(container)}`,
      qualifiedReference: container,
      scopedReference: container.slice(container.indexOf('.') + 1),
    },
  };
}

/** The table of a request, known or (in open mode) with default properties, or the error reply. */
export function requestTableInfo(context: ApiContext): TableInfo | Reply {
  const table = requestTable(context);
  if (typeof table !== 'string') return table;
  const known = tableRegistry(context.state).get(table);
  if (known !== undefined) return known;
  const { table: name, ...container } = parseTableReference(table);
  return {
    reference: table,
    name,
    container: formatDatasetReference(container),
    isFileIndex: false,
    uploadMergeStrategy: 'append',
    description: null,
    createdAt: context.state.options.now(),
  };
}

async function createTable(context: ApiContext): Promise<Reply> {
  let container: string;
  try {
    container = formatDatasetReference(parseDatasetReference(context.params.datasetReference!));
  } catch (error) {
    if (error instanceof TableReferenceError) return context.error(400, error.message);
    throw error;
  }
  const body = await context.readJson();
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return context.error(400, 'The request body must be a JSON object { name, isFileIndex?, uploadMergeStrategy?, description? }');
  }
  const { name, isFileIndex = null, uploadMergeStrategy = null, description = null } = body as Record<string, unknown>;
  if (typeof name !== 'string' || name.trim() === '') return context.error(400, 'name must be a non-empty string');
  if (isFileIndex !== null && typeof isFileIndex !== 'boolean') return context.error(400, 'isFileIndex must be a boolean');
  if (uploadMergeStrategy !== null && uploadMergeStrategy !== 'append' && uploadMergeStrategy !== 'replace') {
    return context.error(400, 'uploadMergeStrategy must be "append" or "replace"');
  }
  if (description !== null && typeof description !== 'string') return context.error(400, 'description must be a string');

  const reference = formatTableReference(parseTableReference(`${container}.${escapeName(name)}`));
  const registry = tableRegistry(context.state);
  if (registry.get(reference) !== undefined) {
    return context.error(400, `A table named ${JSON.stringify(name)} already exists in ${container}`);
  }
  const table: TableInfo = {
    reference,
    name,
    container,
    isFileIndex: isFileIndex ?? false,
    uploadMergeStrategy: uploadMergeStrategy ?? 'append',
    description,
    createdAt: context.state.options.now(),
  };
  registry.add(table);
  return context.json(200, tableResource(table));
}

function getTable(context: ApiContext): Reply {
  const table = requestTableInfo(context);
  return 'reference' in table ? context.json(200, tableResource(table)) : table;
}

/** `POST /datasets/:datasetReference/tables`. */
export const createTableRoute: ApiRoute = {
  method: 'POST',
  path: '/datasets/:datasetReference/tables',
  scope: 'data.edit',
  handle: createTable,
};

/** `GET` (and, through the router, `HEAD`) of a table. */
export const getTableRoute: ApiRoute = {
  method: 'GET',
  path: '/tables/:tableReference',
  scope: 'data.overview',
  handle: getTable,
};

/** Every route of this module, to append to `API_ROUTES`. */
export const TABLE_ROUTES: ApiRoute[] = [createTableRoute, getTableRoute];
