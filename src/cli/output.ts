/**
 * Everything the CLI writes goes through {@link Output}, which removes known secrets from every line: the API
 * token must not reach a terminal or a log even if some message were to carry it.
 * @module
 */
import { RedivisUploadError } from '../errors.js';

/** Longest cause chain shown; deeper causes are summarised by their count. */
const MAX_CAUSES = 6;

/** The stable code of an error: the library's `code`, a Node system error's code, or `ERR_UNEXPECTED`. */
export function errorCode(error: unknown): string {
  if (error instanceof RedivisUploadError) return error.code;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code !== '' ? code : 'ERR_UNEXPECTED';
}

function singleLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

/**
 * The error and each of its causes as `message [CODE]`, outermost first. A cause whose message the previous one
 * already contains (wrappers often quote their cause) is shown by its code only: `message [CODE; caused by CODE2]`.
 */
export function errorChain(error: unknown, rewrite?: MessageRewrite): string[] {
  const parts: Array<{ message: string; codes: string[] }> = [];
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current !== undefined && current !== null && !seen.has(current)) {
    seen.add(current);
    if (parts.length === MAX_CAUSES) {
      parts.push({ message: '…', codes: [] });
      break;
    }
    const message = singleLine(rewrite?.(current) ?? (current instanceof Error ? current.message || current.name : String(current)));
    const code = current instanceof Error ? errorCode(current) : 'ERR_UNEXPECTED';
    const codes = code === 'ERR_UNEXPECTED' ? [] : [code];
    const previous = parts[parts.length - 1];
    if (previous !== undefined && previous.message.includes(message)) previous.codes.push(...codes);
    else parts.push({ message, codes });
    if (!(current instanceof Error)) break;
    current = current.cause;
  }
  return parts.map(({ message, codes }) => (codes.length === 0 ? message : `${message} [${codes.join('; caused by ')}]`));
}

/** A message to show instead of an error's own, or undefined to keep it. */
export type MessageRewrite = (error: unknown) => string | undefined;

/** One line: the message and code, then the chain of causes. */
export function describeError(error: unknown, rewrite?: MessageRewrite): string {
  return errorChain(error, rewrite).join('; caused by: ');
}

/** The `--json` form of a failure. */
export function errorJson(error: unknown, rewrite?: MessageRewrite): { error: { code: string; message: string } } {
  return { error: { code: errorCode(error), message: describeError(error, rewrite) } };
}

const TOKEN_CHARACTER = /[A-Za-z0-9]/;

/**
 * `text` with every occurrence of each secret that stands as itself replaced by `<redacted>`: one whose neighbours
 * are not letters or digits (or are further occurrences of it). Elsewhere the text is left exactly as it is, so a
 * short secret (`a`) cannot corrupt words or JSON that merely contain it.
 */
export function redactSecrets(text: string, secrets: Iterable<string>): string {
  let result = text;
  for (const secret of secrets) {
    if (secret === '') continue;
    const starts: number[] = [];
    for (let at = result.indexOf(secret); at !== -1; at = result.indexOf(secret, at + secret.length)) starts.push(at);
    let out = '';
    let from = 0;
    starts.forEach((at, i) => {
      const end = at + secret.length;
      const leftOk = at === 0 || starts[i - 1] === at - secret.length || !TOKEN_CHARACTER.test(result[at - 1]!);
      const rightOk = end === result.length || starts[i + 1] === end || !TOKEN_CHARACTER.test(result[end]!);
      if (!leftOk || !rightOk) return;
      out += `${result.slice(from, at)}<redacted>`;
      from = end;
    });
    result = out + result.slice(from);
  }
  return result;
}

/** Every stack of the cause chain, for `--debug`. */
export function errorStacks(error: unknown): string {
  const stacks: string[] = [];
  const seen = new Set<unknown>();
  for (let current = error; current instanceof Error && !seen.has(current); current = current.cause) {
    seen.add(current);
    stacks.push(`${stacks.length === 0 ? '' : 'Caused by: '}${current.stack ?? current.message}`);
  }
  return stacks.join('\n');
}

export type OutStream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

/** A progress display drawn on stderr. */
export interface LiveDisplay {
  /** Whether it is being drawn. */
  readonly live: boolean;
  /** Prints a line above it. */
  log(line: string): void;
  /** Removes it for good, leaving the cursor at the start of a clean line. */
  stop(): void;
  /** How far the work has got, in a few words (`40 % (12.0 MiB of 30.0 MiB)`); undefined when nothing happened yet. */
  position(): string | undefined;
}

/** Redacting writer for stdout and stderr. */
export class Output {
  private readonly secrets = new Set<string>();
  private live: LiveDisplay | undefined;

  constructor(
    readonly stdout: OutStream,
    readonly stderr: OutStream,
  ) {}

  /** Whether stderr is a terminal, where live progress goes. */
  get interactive(): boolean {
    return this.stderr.isTTY === true;
  }

  /** Registers a value that must never be printed. */
  addSecret(secret: string | undefined): void {
    const value = secret?.trim();
    if (value) this.secrets.add(value);
  }

  redact(text: string): string {
    return redactSecrets(text, this.secrets);
  }

  out(line: string): void {
    this.stdout.write(`${this.redact(line)}\n`);
  }

  err(line: string): void {
    if (this.live?.live) this.live.log(this.redact(line));
    else this.stderr.write(`${this.redact(line)}\n`);
  }

  /** Routes stderr lines through a live progress bar on stderr while it is drawn, so they do not garble it. */
  attachLive(display: LiveDisplay | undefined): void {
    this.live = display;
  }

  /** Removes the live display from the terminal for good, and says how far it had got. */
  endLive(): string | undefined {
    const display = this.live;
    if (display === undefined) return undefined;
    this.live = undefined;
    const position = display.position();
    display.stop();
    return position;
  }

  /** Exactly one JSON document on stdout, on one line. */
  json(value: unknown): void {
    this.stdout.write(`${this.redact(JSON.stringify(value))}\n`);
  }
}
