#!/usr/bin/env node
/**
 * The `redivis-upload` command.
 * @module
 */
import { describeError } from './output.js';
import { run } from './run.js';

const argv = process.argv.slice(2);

// A reader that went away (`redivis-upload ... | head -1`) must not turn into an uncaught EPIPE with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}

// Even a failure outside the command's own error handling ends as one line (the stack only with --debug), with
// the token removed.
const token = process.env.REDIVIS_API_TOKEN?.trim();
process.on('uncaughtException', (error) => {
  let text = `redivis-upload: internal error: ${describeError(error)}\n`;
  if (argv.includes('--debug') && error instanceof Error && error.stack) text += `${error.stack}\n`;
  process.stderr.write(token ? text.split(token).join('<redacted>') : text);
  process.exit(1);
});

process.exitCode = await run(argv, {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
