/**
 * What every command gets, and how failures are reported.
 * @module
 */
import type { Readable } from 'node:stream';
import { describeError, errorCode, errorJson, errorStacks, Output, type OutStream } from './output.js';

/** The process' streams and environment, passed in so commands can run in-process. */
export interface CliIo {
  stdin: Readable & { isTTY?: boolean };
  stdout: OutStream;
  stderr: OutStream;
  env: NodeJS.ProcessEnv;
}

export interface CommandContext {
  io: CliIo;
  output: Output;
  /** `--debug`: stack traces on failure, and retries logged. */
  debug: boolean;
  /** `--json`: one JSON object on stdout, nothing else there. */
  json: boolean;
}

const HINTS: Record<string, string> = {
  ERR_MISSING_TOKEN: 'set REDIVIS_API_TOKEN, or add --emulator to try without an account',
};

/** Prints `error` (one line on stderr, and the JSON object with `--json`) and returns `exitCode`. */
export function reportFailure(ctx: CommandContext, error: unknown, exitCode: number): number {
  const { output } = ctx;
  const hint = HINTS[errorCode(error)];
  output.err(`redivis-upload: ${describeError(error)}${hint ? ` (${hint})` : ''}`);
  if (ctx.debug) output.err(errorStacks(error));
  if (ctx.json) output.json(errorJson(error));
  return exitCode;
}
