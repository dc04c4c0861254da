/**
 * The schema of a stream upload and the check of each row against it, done before a row is held, so that a row
 * Redivis would refuse never reaches a request (Redivis stores a batch all or nothing, so one bad row would sink
 * the good rows sent with it).
 * @module
 */
import { InvalidArgumentError } from '../../errors.js';

/** The variable types a stream upload's schema may name, as Redivis names them. */
export const ROW_VARIABLE_TYPES = ['string', 'integer', 'float', 'boolean', 'date', 'dateTime', 'time', 'geography'] as const;

/** One of {@link ROW_VARIABLE_TYPES}. */
export type RowVariableType = (typeof ROW_VARIABLE_TYPES)[number];

/** One variable of a stream upload's schema. */
export interface RowVariable {
  /** The variable's name, as rows key it (matched exactly; unique regardless of case). */
  name: string;
  /** Its type. */
  type: RowVariableType;
}

/** Why a row does not fit. */
export interface RowProblem {
  /** The variable at fault; undefined when the row as a whole is. */
  field: string | undefined;
  expected: string;
  received: unknown;
}

interface VariableCheck {
  accepts: (value: unknown) => boolean;
  expected: string;
}

/** A schema ready to check rows: variable name to its check. */
export type CompiledSchema = ReadonlyMap<string, VariableCheck>;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const TWO_POW_63 = 2 ** 63;
const INTEGER_TEXT = /^[+-]?\d{1,19}$/;
const FLOAT_TEXT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const DATE_TEXT = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME_TEXT = /^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(?:\.\d{1,6})?)?$/;

function validDate(text: string): boolean {
  const match = DATE_TEXT.exec(text);
  if (match === null) return false;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  if (month < 1 || month > 12 || day < 1) return false;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return day <= daysInMonth;
}

function isInt64(value: unknown): boolean {
  if (typeof value === 'number') return Number.isInteger(value) && value >= -TWO_POW_63 && value < TWO_POW_63;
  if (typeof value === 'bigint') return value >= INT64_MIN && value <= INT64_MAX;
  if (typeof value !== 'string' || !INTEGER_TEXT.test(value)) return false;
  const big = BigInt(value);
  return big >= INT64_MIN && big <= INT64_MAX;
}

/**
 * What each type accepts: its JSON type, or the text forms Redivis' JSON import also reads (integers and floats
 * as decimal strings, booleans as `"true"`/`"false"`); a `bigint` for integers and floats (sent as a decimal
 * string). Dates are `YYYY-MM-DD`, times `HH:MM[:SS[.ffffff]]`, dateTimes a date and a time joined by `T` or a
 * space, without a time zone; geographies WKT or GeoJSON text. Numbers must be finite: JSON has no NaN or
 * Infinity, and `JSON.stringify` would silently send them as null.
 */
const CHECKS: Record<RowVariableType, VariableCheck> = {
  string: { accepts: (value) => typeof value === 'string', expected: 'a string' },
  integer: { accepts: isInt64, expected: 'an integer within int64 (a number, a bigint or a decimal string)' },
  float: {
    accepts: (value) =>
      (typeof value === 'number' && Number.isFinite(value)) || typeof value === 'bigint' || (typeof value === 'string' && FLOAT_TEXT.test(value)),
    expected: 'a finite number (or a decimal string)',
  },
  boolean: { accepts: (value) => typeof value === 'boolean' || value === 'true' || value === 'false', expected: 'a boolean' },
  date: { accepts: (value) => typeof value === 'string' && validDate(value), expected: 'a date "YYYY-MM-DD"' },
  dateTime: {
    accepts: (value) =>
      typeof value === 'string' && value.length >= 16 && (value[10] === 'T' || value[10] === ' ') && validDate(value.slice(0, 10)) && TIME_TEXT.test(value.slice(11)),
    expected: 'a dateTime "YYYY-MM-DDTHH:MM[:SS[.ffffff]]" without a time zone',
  },
  time: { accepts: (value) => typeof value === 'string' && TIME_TEXT.test(value), expected: 'a time "HH:MM[:SS[.ffffff]]"' },
  geography: { accepts: (value) => typeof value === 'string' && value.trim() !== '', expected: 'a geography (WKT or GeoJSON text)' },
};

const TYPES: ReadonlySet<string> = new Set(ROW_VARIABLE_TYPES);

/** Validates a schema (`InvalidArgumentError` naming the entry at fault) and prepares it for checking rows. */
export function compileSchema(schema: unknown, argument = 'schema'): { variables: RowVariable[]; compiled: CompiledSchema } {
  if (!Array.isArray(schema) || schema.length === 0) {
    throw new InvalidArgumentError(argument, 'a non-empty array of { name, type }', schema);
  }
  const compiled = new Map<string, VariableCheck>();
  const lowerNames = new Set<string>();
  const variables: RowVariable[] = [];
  schema.forEach((variable: unknown, index) => {
    const at = `${argument}[${index}]`;
    if (variable === null || typeof variable !== 'object' || Array.isArray(variable)) {
      throw new InvalidArgumentError(at, 'an object { name, type }', variable);
    }
    const { name, type } = variable as { name?: unknown; type?: unknown };
    if (typeof name !== 'string' || name === '') throw new InvalidArgumentError(`${at}.name`, 'a non-empty string', name);
    if (typeof type !== 'string' || !TYPES.has(type)) throw new InvalidArgumentError(`${at}.type`, `one of ${ROW_VARIABLE_TYPES.join(', ')}`, type);
    if (lowerNames.has(name.toLowerCase())) {
      throw new InvalidArgumentError(`${at}.name`, 'a name no other variable has (names are compared regardless of case)', name);
    }
    lowerNames.add(name.toLowerCase());
    compiled.set(name, CHECKS[type as RowVariableType]);
    variables.push({ name, type: type as RowVariableType });
  });
  return { variables, compiled };
}

function isRowObject(row: unknown): row is Record<string, unknown> {
  if (row === null || typeof row !== 'object' || Array.isArray(row)) return false;
  // Objects JSON would turn into something else (a Date into a string, a Map or a Buffer into {} or an array).
  if (typeof (row as { toJSON?: unknown }).toJSON === 'function') return false;
  return !(row instanceof Map || row instanceof Set || ArrayBuffer.isView(row) || row instanceof ArrayBuffer);
}

function bigintAsText(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/**
 * Checks `row` against `schema` and returns it as JSON text, or the problem. A missing variable, `undefined` or
 * `null` is a null value; a key that is not a variable does not fit. Without a schema any object fits whose
 * values JSON can represent (a top-level NaN or Infinity does not: JSON.stringify would send it as null). The text
 * is taken now, so a row object the caller changes or reuses after writing it cannot change what is sent.
 */
export function serializeRow(row: unknown, schema: CompiledSchema | undefined): string | RowProblem {
  if (!isRowObject(row)) return { field: undefined, expected: 'a plain object keyed by variable name', received: row };
  let hasBigint = false;
  for (const field in row) {
    if (!Object.hasOwn(row, field)) continue;
    const value = row[field];
    if (value === null || value === undefined) continue;
    if (typeof value === 'bigint') hasBigint = true;
    if (schema === undefined) {
      if (typeof value === 'number' && !Number.isFinite(value)) return { field, expected: 'a finite number (JSON has no NaN or Infinity)', received: value };
      continue;
    }
    const check = schema.get(field);
    if (check === undefined) {
      return { field, expected: `one of the schema's variables (${[...schema.keys()].join(', ')})`, received: field };
    }
    if (!check.accepts(value)) return { field, expected: check.expected, received: value };
  }
  try {
    return hasBigint ? JSON.stringify(row, bigintAsText) : JSON.stringify(row);
  } catch (error) {
    return { field: undefined, expected: `an object JSON can represent (${(error as Error).message})`, received: row };
  }
}
