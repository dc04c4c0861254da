/**
 * The schema of a stream upload (`[{ name, type }]`, types as Redivis names them).
 * @module
 */

/** Variable types of Redivis, as a stream upload's schema names them. */
export const VARIABLE_TYPES: ReadonlySet<string> = new Set(['string', 'integer', 'float', 'boolean', 'date', 'dateTime', 'time', 'geography']);

/** One variable of a stream upload's schema. */
export interface SchemaVariable {
  /** The variable's name, as rows key it. */
  name: string;
  /** `string`, `integer`, `float`, `boolean`, `date`, `dateTime`, `time` or `geography`. */
  type: string;
}

/** The schema as given, or a description of what is wrong with it. */
export function checkSchema(value: unknown): SchemaVariable[] | string {
  if (!Array.isArray(value)) return 'schema must be an array of { name, type }';
  const seen = new Set<string>();
  for (const [index, variable] of value.entries()) {
    const at = `schema[${index}]`;
    if (variable === null || typeof variable !== 'object' || Array.isArray(variable)) return `${at} must be an object { name, type }`;
    const { name, type } = variable as { name?: unknown; type?: unknown };
    if (typeof name !== 'string' || name === '') return `${at}.name must be a non-empty string`;
    if (typeof type !== 'string' || !VARIABLE_TYPES.has(type)) return `${at}.type must be one of ${[...VARIABLE_TYPES].join(', ')}`;
    if (seen.has(name.toLowerCase())) return `${at}.name ${JSON.stringify(name)} is already used by another variable`;
    seen.add(name.toLowerCase());
  }
  return value as SchemaVariable[];
}

const INTEGER_TEXT = /^[+-]?\d+$/;
const FLOAT_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?$/;
const INT64_MAX = 2n ** 63n - 1n;

function isDate(text: string): boolean {
  const match = DATE.exec(text);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

function isTime(text: string): boolean {
  const match = TIME.exec(text);
  return match !== null && Number(match[1]) < 24 && Number(match[2]) < 60 && Number(match[3] ?? 0) < 60;
}

function isInteger(value: unknown): boolean {
  if (typeof value === 'number') return Number.isInteger(value);
  if (typeof value !== 'string' || !INTEGER_TEXT.test(value)) return false;
  const big = BigInt(value);
  return big <= INT64_MAX && big >= -INT64_MAX - 1n;
}

/**
 * What each variable type accepts in a row: its JSON type, or the text form BigQuery's JSON import also takes
 * (integers and floats as decimal strings, booleans as `"true"`/`"false"`); dates `YYYY-MM-DD`, dateTimes
 * `YYYY-MM-DD[T ]HH:MM[:SS[.ffffff]]` (no zone), times `HH:MM[:SS[.ffffff]]`; geography as WKT or GeoJSON text.
 */
const ACCEPTS: Record<string, [(value: unknown) => boolean, string]> = {
  string: [(value) => typeof value === 'string', 'a string'],
  integer: [isInteger, 'an integer (a number or a decimal string within int64)'],
  float: [(value) => (typeof value === 'number' && Number.isFinite(value)) || (typeof value === 'string' && FLOAT_TEXT.test(value)), 'a finite number'],
  boolean: [(value) => typeof value === 'boolean' || value === 'true' || value === 'false', 'a boolean'],
  date: [(value) => typeof value === 'string' && isDate(value), 'a date YYYY-MM-DD'],
  dateTime: [
    (value) => typeof value === 'string' && /^\d{4}-\d{2}-\d{2}[T ]/.test(value) && isDate(value.slice(0, 10)) && isTime(value.slice(11)),
    'a dateTime YYYY-MM-DDTHH:MM[:SS[.ffffff]] without a time zone',
  ],
  time: [(value) => typeof value === 'string' && isTime(value), 'a time HH:MM[:SS[.ffffff]]'],
  geography: [(value) => typeof value === 'string' && value.trim() !== '', 'a geography (WKT or GeoJSON text)'],
};

function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * Why row `index` does not fit `schema`, or undefined when it does. A row is an object keyed by variable name; a
 * missing variable or `null` is a null value; a key that is not a variable does not fit. Without a schema any
 * object fits (the variables are taken from the rows).
 */
export function checkRow(row: unknown, index: number, schema: SchemaVariable[] | undefined): string | undefined {
  const at = `rows[${index}]`;
  if (row === null || typeof row !== 'object' || Array.isArray(row)) return `${at} must be an object keyed by variable name (received ${shown(row)})`;
  if (schema === undefined) return undefined;
  for (const [field, value] of Object.entries(row)) {
    const variable = schema.find((candidate) => candidate.name === field);
    if (variable === undefined) return `${at}.${field} is not a variable of the upload's schema (${schema.map((v) => v.name).join(', ')})`;
    if (value === null) continue;
    const [accepts, expected] = ACCEPTS[variable.type]!;
    if (!accepts(value)) return `${at}.${field} must be ${expected} (received ${shown(value)})`;
  }
  return undefined;
}
