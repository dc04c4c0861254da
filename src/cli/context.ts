/**
 * What every command gets, and how failures are reported.
 * @module
 */
import type { Readable } from 'node:stream';
import { commandMessage, nextStep, type CommandWords } from './explain.js';
import { describeError, errorJson, errorStacks, Output, type OutStream } from './output.js';

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
  /** What the command was given, set by the command once parsed, so messages can name it. */
  words: CommandWords;
  /** Set when a failure came from an interruption: the failure is then reported as a cancellation. */
  interrupted?: string;
}

/** Prints `error` (one line on stderr, and the JSON object with `--json`) and returns `exitCode`. */
export function reportFailure(ctx: CommandContext, error: unknown, exitCode: number): number {
  const { output } = ctx;
  const rewrite = (current: unknown) => commandMessage(current, ctx.words);
  const endpoint = ctx.io.env.REDIVIS_API_ENDPOINT?.trim() || undefined;
  const hint = ctx.interrupted === undefined ? nextStep(error, endpoint) : undefined;
  const described = describeError(error, rewrite);
  output.err(`redivis-upload: ${ctx.interrupted ?? ''}${described}${hint ? ` (${hint})` : ''}`);
  if (ctx.debug) output.err(errorStacks(error));
  if (ctx.json) output.json(errorJson(error, rewrite));
  return exitCode;
}
