/**
 * `redivis-upload add-files <path...> --table REF`: files into a file index table through `addFiles`.
 * @module
 */
import { formatTableReference } from '../client/table-reference.js';
import { addFiles, type AddFilesResult, type RawFile } from '../flows/add-files.js';
import { integerOption, parse, stringValue, UsageError } from './args.js';
import type { CommandContext } from './context.js';
import { commandMessage } from './explain.js';
import { checkPathArguments } from './paths.js';
import { countRetries, runTransfer, TRANSFER_OPTIONS, transferSettings } from './transfer.js';
import { formatBytes, formatRate, formatSeconds } from './format.js';
import { ADD_FILES_HELP } from './help.js';
import { describeError, errorJson } from './output.js';
import { ProgressDisplay } from './progress.js';
import { checkTable } from './target.js';
import { safeUri } from './urls.js';

function fileJson(file: RawFile): Record<string, unknown> {
  return { id: file.id, name: file.name, size: file.size, md5Hash: file.md5Hash, uri: safeUri(file.uri), url: safeUri(file.url) };
}

function plural(count: number, word: string): string {
  return `${count} ${count === 1 ? word : word.endsWith('y') ? `${word.slice(0, -1)}ies` : `${word}s`}`;
}

/** `.git/ (default exclusion), 3 by --exclude *.tmp`: what was left out, in a few words. */
function skippedSummary(skipped: AddFilesResult['skipped']): string {
  const groups = new Map<string, string[]>();
  for (const entry of skipped) {
    const why =
      entry.reason === 'excluded'
        ? `--exclude ${entry.pattern ?? ''}`.trim()
        : entry.reason === 'default-excluded'
          ? 'skipped by default'
          : entry.reason === 'special-file'
            ? 'not a regular file'
            : 'a link to a folder';
    groups.set(why, [...(groups.get(why) ?? []), entry.name]);
  }
  return [...groups].map(([why, names]) => `${names.length <= 2 ? names.join(', ') : `${names.length} entries`}: ${why}`).join('; ');
}

export async function addFilesCommand(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parse('add-files', args, {
    ...TRANSFER_OPTIONS,
    table: { type: 'string' },
    concurrency: { type: 'string' },
    exclude: { type: 'string', multiple: true },
    'no-default-excludes': { type: 'boolean' },
    'create-table': { type: 'boolean' },
  });
  if (values.help) {
    ctx.io.stdout.write(ADD_FILES_HELP);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('add-files takes at least one <path> (a file or a directory)');
  if (positionals.includes('-')) throw new UsageError('add-files reads files and directories, not standard input (-); use upload - for a stream');
  const table = stringValue(values, 'table');
  if (table === undefined) throw new UsageError('add-files needs --table REF (owner.dataset:next.table)');
  const concurrency = integerOption('concurrency', stringValue(values, 'concurrency'), 1, 256);
  const settings = transferSettings(values);
  const exclude = (Array.isArray(values.exclude) ? values.exclude : []).filter((pattern): pattern is string => typeof pattern === 'string');
  if (exclude.includes('')) throw new UsageError('invalid --exclude: expected a glob pattern such as *.tmp or raw/2023/**, received ""');
  ctx.words = { paths: positionals };
  checkTable(table);
  await checkPathArguments('add-files', positionals, { directories: true });
  const { output } = ctx;

  return runTransfer(ctx, settings, 'adding the files', async (target, signal) => {
    const display = new ProgressDisplay(ctx.io.stderr, { phase: 'adding' });
    output.attachLive(display);
    const onRetry = countRetries(ctx, target, display);
    let result: AddFilesResult;
    try {
      result = await addFiles({
        client: target.client,
        table,
        files: positionals,
        ...(concurrency === undefined ? {} : { concurrency }),
        ...(exclude.length === 0 ? {} : { exclude }),
        ...(values['no-default-excludes'] === true ? { defaultExcludes: false } : {}),
        ...(values['create-table'] === true ? { createTable: true } : {}),
        signal,
        onRetry,
        onProgress: (progress) =>
          display.update({
            bytesConfirmed: progress.bytesConfirmed,
            totalBytes: progress.bytesTotal,
            files: { done: progress.filesDone, uploaded: progress.filesUploaded, failed: progress.filesFailed, total: progress.filesTotal },
          }),
      });
    } finally {
      display.stop();
      output.attachLive(undefined);
    }
    const { added, failed, skipped } = result;
    const inWords = (error: unknown) => commandMessage(error, ctx.words);
    const { retries } = display.state;
    const elapsedMs = display.elapsedMs;
    const bytes = added.reduce((sum, file) => sum + file.size, 0);
    const tableName = formatTableReference(table);
    if (ctx.json) {
      output.json({
        table: tableName,
        added: added.map(fileJson),
        failed: failed.map(({ name, error }) => ({ name, ...errorJson(error, inWords) })),
        bytes,
        elapsedMs: Math.round(elapsedMs),
        retries,
        skipped: skipped.map(({ name, reason, pattern }) => ({ name, reason, ...(pattern === undefined ? {} : { pattern }) })),
        ...(target.emulator ? { emulator: true } : {}),
      });
    } else if (added.length + failed.length > 0) {
      const total = added.length + failed.length;
      const count = failed.length === 0 ? plural(added.length, 'file') : `${added.length} of ${plural(total, 'file')}`;
      output.out(
        `Added ${count} (${formatBytes(bytes)}) to ${tableName}${target.emulator ? ' (embedded emulator)' : ''} in ${formatSeconds(elapsedMs)} ` +
          `(${formatRate(bytes, elapsedMs)}), ${retries} ${retries === 1 ? 'retry' : 'retries'}${failed.length > 0 ? `; ${failed.length} failed` : ''}` +
          `${skipped.length > 0 ? `; ${plural(skipped.length, 'entry')} skipped (${skippedSummary(skipped)})` : ''}.`,
      );
    }
    if (added.length + failed.length === 0) {
      // An empty folder, or one whose every file is excluded, is not a success: nothing reached the table.
      output.err(
        `redivis-upload: found no files to add in ${positionals.map((path) => JSON.stringify(path)).join(', ')}` +
          `${skipped.length > 0 ? ` (${plural(skipped.length, 'entry')} skipped: ${skippedSummary(skipped)})` : ''}; nothing was sent`,
      );
      return 1;
    }
    for (const { name, error } of failed) {
      output.err(`redivis-upload: could not add ${JSON.stringify(name)}: ${describeError(error, inWords)}`);
      if (ctx.debug) output.err(error.stack ?? error.message);
    }
    return failed.length === 0 ? 0 : 1;
  });
}
