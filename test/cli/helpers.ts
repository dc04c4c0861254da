import { spawn } from 'node:child_process';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { run } from '../../src/cli/run.js';

/** The compiled CLI next to this compiled test: build/test/cli -> build/src/cli/main.js. */
export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** Token given to the test emulator and to the CLI; it must never appear in any output. */
export const TOKEN = 'tok-cli-Z9x8Y7w6V5u4T3s2';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Only what the child needs: no REDIVIS_* or NODE_DEBUG leaking in from the test's environment. A coverage run's
 * NODE_V8_COVERAGE is passed on so the child's code counts too.
 */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const coverage = process.env.NODE_V8_COVERAGE;
  return { PATH: process.env.PATH ?? '', ...(coverage === undefined ? {} : { NODE_V8_COVERAGE: coverage }), ...extra };
}

export interface SpawnedCli {
  child: ReturnType<typeof spawn>;
  /** Resolves when the child has exited and its output has been read. */
  done: Promise<CliResult>;
}

/** Starts the CLI as a child process; `stdin` is written and closed unless `keepStdinOpen`. */
export function spawnCli(args: string[], options: { env?: NodeJS.ProcessEnv; stdin?: Buffer; keepStdinOpen?: boolean } = {}): SpawnedCli {
  const child = spawn(process.execPath, [CLI, ...args], { env: options.env ?? childEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => err.push(chunk));
  // The child may exit before reading everything (a usage error, say); that is not the test's failure.
  child.stdin!.on('error', () => {});
  if (options.stdin !== undefined) child.stdin!.write(options.stdin);
  if (!options.keepStdinOpen) child.stdin!.end();
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }),
    );
  });
  return { child, done };
}

export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; stdin?: Buffer } = {}): Promise<CliResult> {
  return spawnCli(args, options).done;
}

/** A writable that collects what is written, optionally posing as a terminal. */
export function collector(tty = false): PassThrough & { text(): string; isTTY?: boolean; columns?: number } {
  const stream = new PassThrough() as PassThrough & { text(): string; isTTY?: boolean; columns?: number };
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.text = () => Buffer.concat(chunks).toString('utf8');
  if (tty) {
    stream.isTTY = true;
    stream.columns = 160;
  }
  return stream;
}

/** Runs `run()` in this process with collected output. */
export async function runInProcess(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; stdin?: Readable; ttyStderr?: boolean } = {},
): Promise<CliResult & { code: number }> {
  const stdout = collector();
  const stderr = collector(options.ttyStderr === true);
  const code = await run(args, {
    stdin: options.stdin ?? Readable.from([]),
    stdout,
    stderr,
    env: options.env ?? {},
  });
  return { code, signal: null, stdout: stdout.text(), stderr: stderr.text() };
}

/** Asserts that no output of `result` contains any of `secrets`. */
export function assertNoSecret(result: CliResult, ...secrets: string[]): void {
  for (const secret of secrets) {
    assert.ok(!result.stdout.includes(secret), `a secret appears on stdout: ${result.stdout}`);
    assert.ok(!result.stderr.includes(secret), `a secret appears on stderr: ${result.stderr}`);
  }
}

/** The lines of `text`, without the final empty one. */
export function lines(text: string): string[] {
  return text.split('\n').filter((line, index, all) => line !== '' || index < all.length - 1);
}

/** Parses stdout as exactly one JSON object. */
export function onlyJson(result: CliResult): Record<string, unknown> {
  const text = result.stdout.trim();
  assert.equal(lines(result.stdout).length, 1, `stdout must be one JSON line: ${result.stdout}`);
  const value = JSON.parse(text) as unknown;
  assert.ok(value !== null && typeof value === 'object' && !Array.isArray(value), `not an object: ${text}`);
  return value as Record<string, unknown>;
}
