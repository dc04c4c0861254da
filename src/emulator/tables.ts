/**
 * The tables of an emulator: which exist (every one, or only those given in the `tables` option and created
 * through the API), their properties, and the check every table route makes before anything else.
 * @module
 */
import { formatTableReference, parseTableReference, type TableReference } from '../client/table-reference.js';
import { InvalidArgumentError, TableReferenceError } from '../errors.js';
import type { ApiContext } from './api-routes.js';
import type { Reply } from './errors-body.js';
import type { TableDefinition } from './options.js';
import type { EmulatorState } from './state.js';

/** What the emulator knows about a table. */
export interface TableInfo {
  /** The table's reference, normalized (see `formatTableReference`), as it was given or created. */
  reference: string;
  /** The table's name, as given at creation (its reference holds the escaped form). */
  name: string;
  /** The reference of the dataset or workflow that holds it, e.g. `owner.dataset:next`. */
  container: string;
  /** Whether it is a file index table (raw files, no tabular uploads). */
  isFileIndex: boolean;
  /** How its uploads combine with the previous version's data. */
  uploadMergeStrategy: 'append' | 'replace';
  /** Its description; null when none was given. */
  description: string | null;
  /** Emulator clock at creation, in milliseconds since the epoch. */
  createdAt: number;
}

/**
 * The identity of a table reference: lower-cased, reference ids dropped, the version made explicit, so that every
 * form Redivis accepts for one table gives one key.
 */
export function tableKey(reference: string | TableReference): string {
  const parsed = typeof reference === 'string' ? parseTableReference(reference) : reference;
  const container = `${parsed.dataset ?? parsed.workflow ?? ''}${parsed.sample ? ':sample' : ''}:${parsed.version ?? 'current'}`;
  return `${parsed.owner}.${container}.${parsed.table}`.toLowerCase();
}

/** Parses `owner.dataset[:id][:sample][:version]`; throws TableReferenceError naming the part at fault. */
export function parseDatasetReference(reference: string): Omit<TableReference, 'table'> {
  if (reference.split('.').length !== 2) {
    throw new TableReferenceError(reference, 'reference', 'a dataset reference must have two dot-separated parts (owner.dataset)');
  }
  const { table: _table, ...dataset } = parseTableReference(`${reference}.x`);
  return dataset;
}

/** A dataset reference in its normalized form. */
export function formatDatasetReference(dataset: Omit<TableReference, 'table'>): string {
  return formatTableReference({ ...dataset, table: 'x' }).slice(0, -2);
}

export class TableRegistry {
  private readonly tables = new Map<string, TableInfo>();

  /** Whether only known tables exist (the `tables` option was given). */
  readonly closed: boolean;

  constructor(definitions: Array<string | TableDefinition> | undefined, now: () => number) {
    this.closed = definitions !== undefined;
    for (const [index, definition] of (definitions ?? []).entries()) {
      const at = `tables[${index}]`;
      const spec = typeof definition === 'string' ? { reference: definition } : definition;
      if (spec === null || typeof spec !== 'object' || typeof spec.reference !== 'string') {
        throw new InvalidArgumentError(at, 'a table reference or { reference, isFileIndex?, uploadMergeStrategy?, description? }', definition);
      }
      let reference: TableReference;
      try {
        reference = parseTableReference(spec.reference);
      } catch (error) {
        throw new InvalidArgumentError(`${at}.reference`, 'a table reference such as owner.dataset:next.table', spec.reference, { cause: error });
      }
      const { isFileIndex = false, uploadMergeStrategy = 'append', description = null } = spec;
      if (typeof isFileIndex !== 'boolean') throw new InvalidArgumentError(`${at}.isFileIndex`, 'a boolean', isFileIndex);
      if (uploadMergeStrategy !== 'append' && uploadMergeStrategy !== 'replace') {
        throw new InvalidArgumentError(`${at}.uploadMergeStrategy`, "'append' or 'replace'", uploadMergeStrategy);
      }
      if (description !== null && typeof description !== 'string') throw new InvalidArgumentError(`${at}.description`, 'a string', description);
      const { table, ...container } = reference;
      this.add({
        reference: formatTableReference(reference),
        name: table,
        container: formatDatasetReference(container),
        isFileIndex,
        uploadMergeStrategy,
        description,
        createdAt: now(),
      });
    }
  }

  /** The known table `reference` names, if any. */
  get(reference: string): TableInfo | undefined {
    return this.tables.get(tableKey(reference));
  }

  /** Whether `reference` exists: every table does unless the registry is closed. */
  exists(reference: string): boolean {
    return !this.closed || this.tables.has(tableKey(reference));
  }

  add(table: TableInfo): void {
    this.tables.set(tableKey(table.reference), table);
  }

  list(): TableInfo[] {
    return [...this.tables.values()];
  }
}

const registries = new WeakMap<EmulatorState, TableRegistry>();

/** The table registry of an emulator's state, created on first use from its `tables` option. */
export function tableRegistry(state: EmulatorState): TableRegistry {
  let registry = registries.get(state);
  if (registry === undefined) registries.set(state, (registry = new TableRegistry(state.options.tables, state.options.now)));
  return registry;
}

/** The table of the request (path parameter `tableReference`), normalized; a 400 when malformed, 404 when absent. */
export function requestTable(context: ApiContext): string | Reply {
  let table: string;
  try {
    table = formatTableReference(parseTableReference(context.params.tableReference!));
  } catch (error) {
    if (error instanceof TableReferenceError) return context.error(400, error.message);
    throw error;
  }
  if (!tableRegistry(context.state).exists(table)) {
    return context.error(404, `Table ${table} was not found, or you do not have access to it`);
  }
  return table;
}
