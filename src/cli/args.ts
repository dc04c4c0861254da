/**
 * Argument parsing on `node:util` parseArgs, and validation of option values as usage errors (exit code 2).
 * @module
 */
import { parseArgs } from 'node:util';

/** A mistake in how the command was called: exit code 2. */
export class UsageError extends Error {
  /** The CLI's own code for usage mistakes, shown like the library's error codes. */
  readonly code = 'ERR_USAGE';
}

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;
export type ParsedValues = Record<string, string | boolean | Array<string | boolean> | undefined>;

/**
 * Strict parsing with `-h/--help` and `--debug` accepted by every command. parseArgs' own messages already name
 * the option at fault (`Unknown option '--tabel'`, `Option '--table <value>' argument missing`).
 */
export function parse(args: string[], options: OptionSpec): { values: ParsedValues; positionals: string[] } {
  try {
    const parsed = parseArgs({
      args,
      options: { help: { type: 'boolean', short: 'h' }, debug: { type: 'boolean' }, ...options },
      allowPositionals: true,
      strict: true,
    });
    return { values: parsed.values as ParsedValues, positionals: parsed.positionals };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** The flags before a `--` terminator, where a global flag such as `--json` may appear. */
export function flagsOf(argv: string[]): string[] {
  const end = argv.indexOf('--');
  return end === -1 ? argv : argv.slice(0, end);
}

export function stringValue(values: ParsedValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

function invalid(flag: string, expected: string, received: string): UsageError {
  return new UsageError(`invalid --${flag}: expected ${expected}, received ${JSON.stringify(received)}`);
}

/** An integer option within [min, max], or undefined when absent. */
export function integerOption(flag: string, value: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    throw invalid(flag, `an integer from ${min} to ${max}`, value);
  }
  return parsed;
}

/** A decimal number within [min, max], or undefined when absent. */
export function numberOption(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!/^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(value) || !(parsed >= min && parsed <= max)) {
    throw invalid(flag, `a number from ${min} to ${max}`, value);
  }
  return parsed;
}

const MIB = 1024 * 1024;
const QUARTER_MIB = 256 * 1024;

/** `--chunk-size` in MiB, returned in bytes: a positive multiple of 0.25 MiB, as resumable chunks must be. */
export function chunkSizeOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const mib = Number(value);
  const bytes = mib * MIB;
  const limit = 4096;
  if (!/^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(value) || !(mib > 0 && mib <= limit) || !Number.isInteger(bytes / QUARTER_MIB)) {
    throw invalid('chunk-size', `a number of MiB that is a positive multiple of 0.25, at most ${limit}`, value);
  }
  return bytes;
}

/** One of `choices`, or undefined when absent. */
export function choiceOption<T extends string>(flag: string, value: string | undefined, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) throw invalid(flag, `one of ${choices.join(', ')}`, value);
  return value as T;
}

/** A delimiter as typed on a command line: `\t` or `tab` mean a tab character. */
export function delimiterOption(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value === '\\t' || value.toLowerCase() === 'tab') return '\t';
  if (value === '') throw invalid('delimiter', 'a non-empty string (\\t for a tab)', value);
  return value;
}
