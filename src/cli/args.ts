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

/** Options every command accepts. */
const COMMON_OPTIONS: OptionSpec = { help: { type: 'boolean', short: 'h' }, debug: { type: 'boolean' } };

/** Edit distance between two option names, a swap of neighbours counting as one edit (`tabel`, `table`). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i]!;
      row[j] = Math.min(d[i - 1]![j]! + 1, row[j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The option a mistyped `name` most likely meant: a close spelling, or the only option it abbreviates. */
export function suggestOption(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  const exact = known.find((option) => option === lower);
  if (exact !== undefined) return exact;
  const prefixed = known.filter((option) => option.startsWith(lower));
  if (prefixed.length === 1) return prefixed[0];
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const option of known) {
    const d = distance(lower, option);
    if (d < bestDistance) [best, bestDistance] = [option, d];
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(best.length / 3)) ? best : undefined;
}

function looksLikeOption(value: string): boolean {
  return /^--?[A-Za-z]/.test(value);
}

/**
 * Strict parsing with `-h/--help` and `--debug` accepted by every command. Mistakes are reported in the command's
 * own words, with a suggestion for a misspelt option: parseArgs' messages speak of positionals and '-- "--x"'.
 */
export function parse(
  command: string,
  args: string[],
  options: OptionSpec,
  { positionals: allowPositionals = true }: { positionals?: boolean } = {},
): { values: ParsedValues; positionals: string[] } {
  const spec = { ...COMMON_OPTIONS, ...options };
  const { tokens } = parseArgs({ args, options: spec, allowPositionals: true, strict: false, tokens: true });
  const longNames = Object.keys(spec);
  for (const token of tokens) {
    if (token.kind === 'positional' && !allowPositionals) {
      throw new UsageError(`${command} takes no arguments, received ${JSON.stringify(token.value)}`);
    }
    if (token.kind !== 'option') continue;
    const option = spec[token.name];
    if (option === undefined) {
      const suggestion = suggestOption(token.name, longNames);
      throw new UsageError(
        `unknown option ${token.rawName} for ${command}${suggestion ? `; did you mean --${suggestion}?` : `; its options: ${longNames.map((name) => `--${name}`).join(', ')}`}`,
      );
    }
    if (option.type === 'boolean' && token.value !== undefined) {
      throw new UsageError(`${token.rawName} takes no value, received ${JSON.stringify(token.value)}`);
    }
    if (option.type === 'string') {
      if (token.value === undefined) throw new UsageError(`--${token.name} needs a value`);
      if (!token.inlineValue && looksLikeOption(token.value)) {
        throw new UsageError(
          `--${token.name} needs a value, but is followed by the option ${token.value} (write --${token.name}=${token.value} if that is the value)`,
        );
      }
    }
  }
  try {
    const parsed = parseArgs({ args, options: spec, allowPositionals, strict: true });
    return { values: parsed.values as ParsedValues, positionals: parsed.positionals };
  } catch (error) {
    // Not reached for the mistakes above; kept so nothing from parseArgs escapes untyped.
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
