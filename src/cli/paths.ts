/**
 * Checks of `<path>` arguments that are mistakes in how the command was called, made before anything is sent.
 * A path that does not exist is left to the library, which names it.
 * @module
 */
import { stat } from 'node:fs/promises';
import { UsageError } from './args.js';

/**
 * Refuses pipes, devices and sockets (what `<(cmd)` and `/dev/stdin` give: data without a size, readable once) with
 * a pointer to `-`, and directories where a command takes files.
 */
export async function checkPathArguments(command: 'upload' | 'add-files', paths: readonly string[], options: { directories: boolean }): Promise<void> {
  for (const path of paths) {
    const stats = await stat(path).catch(() => undefined);
    if (stats === undefined || stats.isFile()) continue;
    if (stats.isDirectory()) {
      if (options.directories) continue;
      throw new UsageError(`${JSON.stringify(path)} is a directory; upload takes one file (add-files adds the files below a directory)`);
    }
    const kind = stats.isFIFO() ? 'a pipe' : stats.isSocket() ? 'a socket' : 'a device';
    const hint =
      command === 'upload'
        ? `stream it through standard input instead: cmd | redivis-upload upload - --table REF --name NAME`
        : `add-files adds regular files; stream data with: cmd | redivis-upload upload - --table REF --name NAME`;
    throw new UsageError(`${JSON.stringify(path)} is ${kind}, not a file (as <(cmd) gives); ${hint}`);
  }
}
