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
