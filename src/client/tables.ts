/**
 * Tables through the client, as `client.tables`: whether one exists (`HEAD /tables/:ref`), what it is
 * (`GET /tables/:ref`), and creating one in a dataset (`POST /datasets/:ref/tables`), a file index table included.
 * @module
 */
import { ApiError, InvalidArgumentError, ProtocolError, type RequestDetails } from '../errors.js';
import { parseCount } from './int64.js';
import type { RedivisClient } from './redivis-client.js';
import { formatTableReference, parseTableReference, tableReferencePathSegment, type TableReference, type TableReferenceInput } from './table-reference.js';

/** A table as Redivis describes it; fields the API did not send are undefined. */
export interface RedivisTable {
  /** The table's name. */
  name: string;
  /** The table's path relative to the API endpoint, when the API sent one. */
  uri: string | undefined;
  /** The reference with persistent ids, e.g. `owner.dataset:abc:next.table:def`, when the API sent one. */
  qualifiedReference: string | undefined;
  /** Whether it is a file index table (for `addFiles`) rather than one of tabular data. */
  isFileIndex: boolean | undefined;
  /** How uploads combine with the table's rows: `'append'` or `'replace'`. */
  uploadMergeStrategy: string | undefined;
  /** The table's description. */
  description: string | undefined;
  /** Rows in the table. */
  numRows: number | undefined;
  /** Size of the table's data, in bytes. */
  numBytes: number | undefined;
  /** The whole resource as received. */
  raw: Record<string, unknown>;
}

/** Options of every `client.tables` call. */
export interface TableRequestOptions {
  /**
   * Aborts the call (`AbortError`).
   * @default none
   */
  signal?: AbortSignal;
}

/** Options of {@link TablesApi.create}. */
export interface CreateTableOptions extends TableRequestOptions {
  /**
   * Create a file index table, the kind `addFiles` adds files to, rather than a table of tabular data.
   * @default false
   */
  isFileIndex?: boolean;
  /**
   * How later uploads combine with the table's rows: `'append'` adds them, `'replace'` replaces them.
   * @default 'append' (as the official clients)
   */
  uploadMergeStrategy?: 'append' | 'replace';
  /**
   * The table's description.
   * @default none (not sent)
   */
  description?: string;
}

/** Where a new table goes: its dataset as one path segment, and its name. */
export function datasetOfTable(table: TableReferenceInput): { datasetSegment: string; name: string } {
  const parsed: TableReference = typeof table === 'string' ? parseTableReference(table) : table;
  const normalized = formatTableReference(parsed);
  if (parsed.workflow !== undefined) {
    throw new InvalidArgumentError('table', 'a table of a dataset (tables of workflows are made by their transforms)', normalized);
  }
  if (parsed.tableReferenceId !== undefined) {
    throw new InvalidArgumentError('table', 'a reference without a table reference id (Redivis assigns it)', normalized);
  }
  const dataset = normalized.slice(0, normalized.lastIndexOf('.'));
  return { datasetSegment: encodeURIComponent(dataset), name: parsed.table };
}

function optionalCount(raw: Record<string, unknown>, field: string, fail: (problem: string) => never): number | undefined {
  const value = raw[field];
  if (value === undefined || value === null) return undefined;
  return parseCount(value) ?? fail(`has an invalid ${field}`);
}

function optionalText(raw: Record<string, unknown>, field: string, fail: (problem: string) => never): string | undefined {
  const value = raw[field];
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' ? value : fail(`has an invalid ${field}`);
}

/** Reads a table resource; `ProtocolError` when it is not one. */
export function parseTable(body: unknown, request: RequestDetails, status: number): RedivisTable {
  const fail = (problem: string): never => {
    throw new ProtocolError(`the table resource ${problem}`, request, status);
  };
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return fail('is not a JSON object');
  const raw = body as Record<string, unknown>;
  if (typeof raw.name !== 'string' || raw.name === '') fail('has no name');
  const isFileIndex = raw.isFileIndex;
  if (isFileIndex !== undefined && isFileIndex !== null && typeof isFileIndex !== 'boolean') fail('has an invalid isFileIndex');
  return {
    name: raw.name as string,
    uri: optionalText(raw, 'uri', fail),
    qualifiedReference: optionalText(raw, 'qualifiedReference', fail),
    isFileIndex: typeof isFileIndex === 'boolean' ? isFileIndex : undefined,
    uploadMergeStrategy: optionalText(raw, 'uploadMergeStrategy', fail),
    description: optionalText(raw, 'description', fail),
    numRows: optionalCount(raw, 'numRows', fail),
    numBytes: optionalCount(raw, 'numBytes', fail),
    raw,
  };
}

function checkCallOptions(options: unknown): TableRequestOptions {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options', 'an object or undefined', options);
  const { signal } = options as TableRequestOptions;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new InvalidArgumentError('signal', 'an AbortSignal', signal);
  return options as TableRequestOptions;
}

/**
 * The table calls of a {@link RedivisClient}, reached as `client.tables`. Every call validates its arguments before
 * any request (`TableReferenceError`, `InvalidArgumentError`) and fails as {@link RedivisClient.request} does.
 */
export class TablesApi {
  readonly #client: RedivisClient;

  constructor(client: RedivisClient) {
    this.#client = client;
  }

  /** Whether `table` exists and is visible to the token: `HEAD /tables/:ref`, where 404 means no. */
  async exists(table: TableReferenceInput, options?: TableRequestOptions): Promise<boolean> {
    const segment = tableReferencePathSegment(table);
    const { signal } = checkCallOptions(options);
    try {
      await this.#client.request('HEAD', `/tables/${segment}`, { signal });
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return false;
      throw error;
    }
  }

  /** The table: `GET /tables/:ref`. A table that does not exist is the API's 404 `ApiError`. */
  async get(table: TableReferenceInput, options?: TableRequestOptions): Promise<RedivisTable> {
    const segment = tableReferencePathSegment(table);
    const { signal } = checkCallOptions(options);
    const path = `/tables/${segment}`;
    const response = await this.#client.request('GET', path, { signal });
    return parseTable(response.body, { method: 'GET', path }, response.status);
  }

  /**
   * Creates `table` in its dataset: `POST /datasets/:dataset/tables` with `{ name, isFileIndex,
   * uploadMergeStrategy, description? }`, the name being the reference's table part. The dataset must be on an
   * unreleased version (reference it with `:next`); a table of that name that exists already is the API's error.
   */
  async create(table: TableReferenceInput, options?: CreateTableOptions): Promise<RedivisTable> {
    const { datasetSegment, name } = datasetOfTable(table);
    const { signal } = checkCallOptions(options);
    const { isFileIndex = false, uploadMergeStrategy = 'append', description } = options ?? {};
    if (typeof isFileIndex !== 'boolean') throw new InvalidArgumentError('isFileIndex', 'a boolean', isFileIndex);
    if (uploadMergeStrategy !== 'append' && uploadMergeStrategy !== 'replace') {
      throw new InvalidArgumentError('uploadMergeStrategy', "'append' or 'replace'", uploadMergeStrategy);
    }
    if (description !== undefined && typeof description !== 'string') throw new InvalidArgumentError('description', 'a string', description);
    const path = `/datasets/${datasetSegment}/tables`;
    const body = { name, isFileIndex, uploadMergeStrategy, ...(description === undefined ? {} : { description }) };
    const response = await this.#client.request('POST', path, { body, signal });
    return parseTable(response.body, { method: 'POST', path }, response.status);
  }
}
