/**
 * Counts and sizes in API answers: Redivis sends int64 values as decimal strings (JSON numbers cannot hold every
 * int64), and some answers carry plain numbers.
 * @module
 */

/** A non-negative safe integer from a decimal string or a number; undefined for anything else. */
export function parseCount(value: unknown): number | undefined {
  const parsed = typeof value === 'string' && /^(0|[1-9][0-9]*)$/.test(value) ? Number(value) : value;
  return typeof parsed === 'number' && Number.isSafeInteger(parsed) && parsed >= 0 ? parsed : undefined;
}
