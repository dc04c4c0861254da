/**
 * Table references: `owner.(dataset|workflow).table`, where the dataset part may carry a reference id, `:sample`
 * and a version (`v1_0`, `current`, `next`), the workflow part a reference id, and the table part a reference id.
 * @module
 */
import { TableReferenceError } from '../errors.js';

/** A table reference as a structured object. Names are escaped when formatted (see {@link escapeName}). */
export interface TableReference {
  /** Short name of the user or organization that owns the dataset or workflow. */
  owner: string;
  /** Dataset name. Exactly one of `dataset` and `workflow` is set. */
  dataset?: string;
  /** Workflow name. Exactly one of `dataset` and `workflow` is set. */
  workflow?: string;
  /** Persistent reference id of the dataset or workflow, kept valid across renames. */
  referenceId?: string;
  /** Reference the dataset's sample. Datasets only. */
  sample?: boolean;
  /** `current` (the server's default when absent), `next`, or a tag such as `v1_0` or `v1.0`. Datasets only. */
  version?: string;
  /** Table name. */
  table: string;
  /** Persistent reference id of the table. */
  tableReferenceId?: string;
}

/** A table reference given as a string (`owner.dataset:next.table`) or as a structured object. */
export type TableReferenceInput = string | TableReference;

const OWNER = /^[A-Za-z0-9_]+$/;
const ESCAPED_NAME = /^[A-Za-z0-9_]+$/;
const REFERENCE_ID = /^[A-Za-z0-9-]+$/;
const VERSION = /^(?:current|next|v\d+_\d+)$/i;

/**
 * Escapes a dataset, workflow or table name, or a version tag, the way Redivis does: every character that is not
 * an ASCII letter, a digit or `_` becomes `_`. Further normalisation (collapsing, case) is left to the server,
 * which matches names case-insensitively.
 */
export function escapeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_]/g, '_');
}

/** Parses a table reference string, throwing {@link TableReferenceError} that names the part at fault. */
export function parseTableReference(reference: string): TableReference {
  if (typeof reference !== 'string') {
    throw new TableReferenceError(String(reference), 'reference', 'must be a string or an object');
  }
  const parts = reference.split('.');
  if (parts.length !== 3) {
    throw new TableReferenceError(
      reference,
      'reference',
      `must have three dot-separated parts (owner.dataset.table), found ${parts.length}`,
    );
  }
  const [owner, container, table] = parts as [string, string, string];
  if (!OWNER.test(owner)) {
    throw new TableReferenceError(reference, 'owner', owner === '' ? 'is empty' : 'may contain only letters, digits and _');
  }

  const [containerName, ...qualifiers] = container.split(':');
  checkName(reference, 'dataset', containerName!);
  const parsed: TableReference = { owner, dataset: containerName!, table: '' };
  let stage = 0; // 0: reference id allowed, 1: sample allowed, 2: version allowed, 3: nothing more
  for (const qualifier of qualifiers) {
    if (qualifier === '') throw new TableReferenceError(reference, 'dataset', 'has an empty `:` qualifier');
    if (qualifier.toLowerCase() === 'sample' && stage <= 1) {
      parsed.sample = true;
      stage = 2;
    } else if (VERSION.test(qualifier) && stage <= 2) {
      parsed.version = qualifier.toLowerCase();
      stage = 3;
    } else if (REFERENCE_ID.test(qualifier) && stage === 0) {
      parsed.referenceId = qualifier;
      stage = 1;
    } else {
      throw new TableReferenceError(
        reference,
        'dataset',
        `qualifier ${JSON.stringify(qualifier)} is not a reference id, "sample" or a version (v1_0, current, next) in that order`,
      );
    }
  }

  const [tableName, tableId, ...extra] = table.split(':');
  checkName(reference, 'table', tableName!);
  parsed.table = tableName!;
  if (extra.length > 0) throw new TableReferenceError(reference, 'table', 'has more than one `:` qualifier');
  if (tableId !== undefined) {
    if (!REFERENCE_ID.test(tableId)) {
      throw new TableReferenceError(reference, 'table', `reference id ${JSON.stringify(tableId)} may contain only letters, digits and -`);
    }
    parsed.tableReferenceId = tableId;
  }
  return parsed;
}

/** Formats a structured reference as a string, escaping names. Validates it the way the parser would. */
export function formatTableReference(reference: TableReferenceInput): string {
  if (typeof reference === 'string') return formatTableReference(parseTableReference(reference));
  if (reference === null || typeof reference !== 'object') {
    throw new TableReferenceError(String(reference), 'reference', 'must be a string or an object');
  }
  const shown = JSON.stringify(reference);
  if (typeof reference.owner !== 'string' || !OWNER.test(reference.owner)) {
    throw new TableReferenceError(shown, 'owner', 'must be a non-empty string of letters, digits and _');
  }
  const hasDataset = reference.dataset !== undefined;
  const hasWorkflow = reference.workflow !== undefined;
  if (hasDataset === hasWorkflow) {
    throw new TableReferenceError(shown, hasDataset ? 'workflow' : 'dataset', 'exactly one of dataset and workflow must be given');
  }
  const containerPart = hasDataset ? 'dataset' : 'workflow';
  const containerName = (hasDataset ? reference.dataset : reference.workflow) as unknown;
  if (typeof containerName !== 'string' || containerName === '') {
    throw new TableReferenceError(shown, containerPart, 'must be a non-empty string');
  }
  if (typeof reference.table !== 'string' || reference.table === '') {
    throw new TableReferenceError(shown, 'table', 'must be a non-empty string');
  }
  if (hasWorkflow && (reference.sample || reference.version !== undefined)) {
    throw new TableReferenceError(shown, 'workflow', 'cannot take a sample or a version; those belong to datasets');
  }

  let container = escapeName(containerName);
  if (reference.referenceId !== undefined) container += `:${checkId(shown, containerPart, reference.referenceId)}`;
  if (reference.sample) container += ':sample';
  if (reference.version !== undefined) {
    const version = typeof reference.version === 'string' ? escapeName(reference.version).toLowerCase() : '';
    if (!VERSION.test(version)) {
      throw new TableReferenceError(shown, 'version', 'must be current, next or a tag such as v1_0 or v1.0');
    }
    container += `:${version}`;
  }
  let table = escapeName(reference.table);
  if (reference.tableReferenceId !== undefined) table += `:${checkId(shown, 'table', reference.tableReferenceId)}`;
  return `${reference.owner}.${container}.${table}`;
}

/** Normalises either form to the canonical string, validating it first. */
export function normalizeTableReference(reference: TableReferenceInput): string {
  return formatTableReference(reference);
}

/** The reference as one URL path segment (`:` percent-encoded), as the official clients send it. */
export function tableReferencePathSegment(reference: TableReferenceInput): string {
  return encodeURIComponent(normalizeTableReference(reference));
}

function checkName(reference: string, part: string, name: string): void {
  if (name === '') throw new TableReferenceError(reference, part, 'name is empty');
  if (!ESCAPED_NAME.test(name)) {
    throw new TableReferenceError(
      reference,
      part,
      `name ${JSON.stringify(name)} must be escaped: only letters, digits and _ (use escapeName or a structured reference)`,
    );
  }
}

function checkId(shown: string, part: string, id: unknown): string {
  if (typeof id !== 'string' || !REFERENCE_ID.test(id)) {
    throw new TableReferenceError(shown, part, 'reference id may contain only letters, digits and -');
  }
  return id;
}
