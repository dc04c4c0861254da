#!/usr/bin/env node
/**
 * The `redivis-upload` command. Only the Node.js version check is loaded before the version is known to be
 * supported; everything else is imported afterwards.
 * @module
 */
import { unsupportedNodeMessage } from '../util/node-version.js';

const unsupported = unsupportedNodeMessage(process.versions.node);
if (unsupported !== undefined) {
  process.stderr.write(`${unsupported}\n`);
  process.exit(1);
}

const { describeError, redactSecrets } = await import('./output.js');
const { run } = await import('./run.js');

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
  process.stderr.write(token ? redactSecrets(text, [token]) : text);
  process.exit(1);
});

process.exitCode = await run(argv, {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
