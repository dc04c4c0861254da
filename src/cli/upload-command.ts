/**
 * `redivis-upload upload <path|-> --table REF`: one tabular upload through `uploadToTable`.
 * @module
 */
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { formatTableReference } from '../client/table-reference.js';
import { TABULAR_UPLOAD_TYPES, uploadToTable, type TabularUpload, type TableUploadResult } from '../flows/upload-to-table.js';
import { transferSpecificationFromUrl, type TransferSpecification } from '../flows/transfer-specification.js';
import { chunkSizeOption, choiceOption, delimiterOption, parse, stringValue, UsageError } from './args.js';
import type { CommandContext } from './context.js';
import { checkPathArguments } from './paths.js';
import { countRetries, runTransfer, TRANSFER_OPTIONS, transferSettings } from './transfer.js';
import { formatBytes, formatRate, formatSeconds } from './format.js';
import { UPLOAD_HELP } from './help.js';
import { ProgressDisplay } from './progress.js';
import { guardedStdin } from './stdin.js';
import { checkTable } from './target.js';
import { safeUri } from './urls.js';

const CONFLICT_MODES = ['error', 'replace', 'rename', 'skip'] as const;

/**
 * The formats `--type` takes: those Redivis documents, less rows streamed through the API (`stream`), which this
 * command does not do. Checked here so a typo fails before anything is read.
 */
export const UPLOAD_TYPES = TABULAR_UPLOAD_TYPES.filter((type) => type !== 'stream');

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    const stats = await stat(path);
    return stats.isFile() ? stats.size : undefined;
  } catch {
    return undefined; // uploadToTable reports the problem with the path
  }
}

function uploadJson(upload: TabularUpload): Record<string, unknown> {
  return {
    name: upload.name,
    uri: safeUri(upload.uri),
    status: upload.status,
    ...(upload.errorMessage === undefined ? {} : { errorMessage: upload.errorMessage }),
    tempUploadId: upload.tempUploadId,
  };
}

export async function uploadCommand(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parse('upload', args, {
    ...TRANSFER_OPTIONS,
    table: { type: 'string' },
    name: { type: 'string' },
    type: { type: 'string' },
    delimiter: { type: 'string' },
    'no-header': { type: 'boolean' },
    'skip-bad-records': { type: 'boolean' },
    'on-conflict': { type: 'string' },
    'no-wait': { type: 'boolean' },
    'chunk-size': { type: 'string' },
    from: { type: 'string' },
    identity: { type: 'string' },
  });
  if (values.help) {
    ctx.io.stdout.write(UPLOAD_HELP);
    return 0;
  }
  const from = stringValue(values, 'from');
  if (from !== undefined && positionals.length > 0) {
    throw new UsageError(`upload --from reads the data where it is, so it takes no <path|->, received ${JSON.stringify(positionals[0])}`);
  }
  if (from === undefined && positionals.length !== 1) {
    throw new UsageError(`upload takes one <path|-> (a file, or - for standard input) or --from URL, received ${positionals.length === 0 ? 'none' : positionals.length}`);
  }
  const identity = stringValue(values, 'identity');
  if (identity !== undefined && from === undefined) throw new UsageError('--identity goes with --from gs://... or s3://...');
  // The address is checked here, before anything is sent; a bad one is a usage mistake.
  let transfer: TransferSpecification | undefined;
  try {
    transfer = from === undefined ? undefined : transferSpecificationFromUrl(from, identity);
  } catch (error) {
    throw new UsageError(`invalid --from: ${(error as Error).message.replace(/^Invalid [\w.]+: /, '')}`);
  }
  const source = positionals[0] ?? '';
  ctx.words = { paths: [source] };
  const table = stringValue(values, 'table');
  if (table === undefined) throw new UsageError('upload needs --table REF (owner.dataset:next.table)');
  const name = stringValue(values, 'name');
  if (name === '') throw new UsageError('invalid --name: expected a non-empty name, received ""');
  const fromStdin = source === '-';
  if (fromStdin && name === undefined) throw new UsageError('upload - (standard input) needs --name, e.g. --name data.csv.gz');
  const type = choiceOption('type', stringValue(values, 'type')?.toLowerCase(), UPLOAD_TYPES);
  const delimiter = delimiterOption(stringValue(values, 'delimiter'));
  const onConflict = choiceOption('on-conflict', stringValue(values, 'on-conflict'), CONFLICT_MODES);
  const chunkSize = chunkSizeOption(stringValue(values, 'chunk-size'));
  const wait = values['no-wait'] !== true;
  const settings = transferSettings(values);
  if (fromStdin && ctx.io.stdin.isTTY === true) {
    throw new UsageError('upload - reads data from standard input, which is a terminal; pipe data into it (… | redivis-upload upload - ...)');
  }
  checkTable(table);
  if (!fromStdin && transfer === undefined) await checkPathArguments('upload', [source], { directories: false });
  const { output } = ctx;

  return runTransfer(ctx, settings, 'the upload', async (target, signal) => {
    const totalBytes = fromStdin || transfer ? undefined : await sizeOf(source);
    const display = new ProgressDisplay(ctx.io.stderr, { phase: 'uploading', totalBytes });
    output.attachLive(display);
    const finishing = wait ? 'processing' : 'creating';
    const onRetry = countRetries(ctx, target, display);
    let upload: TableUploadResult;
    try {
      upload = await uploadToTable({
        client: target.client,
        table,
        ...(transfer ? { transferSpecification: transfer } : { source: fromStdin ? guardedStdin(ctx.io.stdin, signal) : source }),
        ...(name === undefined ? {} : { name }),
        ...(type === undefined ? {} : { type }),
        ...(delimiter === undefined ? {} : { delimiter }),
        ...(values['no-header'] === true ? { hasHeaderRow: false } : {}),
        ...(values['skip-bad-records'] === true ? { skipBadRecords: true } : {}),
        ...(onConflict === undefined ? {} : { onConflict }),
        ...(chunkSize === undefined ? {} : { chunkSize }),
        wait,
        signal,
        onRetry,
        onProgress: (progress) => {
          const done = progress.totalBytes !== undefined && progress.bytesConfirmed >= progress.totalBytes;
          display.update({ bytesConfirmed: progress.bytesConfirmed, totalBytes: progress.totalBytes, ...(done ? { phase: finishing } : {}) });
        },
      });
    } finally {
      display.stop();
      output.attachLive(undefined);
    }
    const { bytesConfirmed, retries } = display.state;
    const { elapsedMs, transferMs } = display;
    const tableName = formatTableReference(table);
    if (ctx.json) {
      output.json({
        table: tableName,
        upload: uploadJson(upload),
        bytes: bytesConfirmed,
        transferMs: Math.round(transferMs),
        elapsedMs: Math.round(elapsedMs),
        retries,
        ...(target.emulator ? { emulator: true } : {}),
      });
      return 0;
    }
    if (upload.skipped) {
      output.out(`Skipped: ${JSON.stringify(upload.name)} already exists in ${tableName} (--on-conflict skip); nothing was sent.`);
      return 0;
    }
    const requested = name ?? (transfer ? upload.name : basename(source));
    const renamed = upload.name !== requested ? ` (renamed: ${JSON.stringify(requested)} exists)` : '';
    const status = upload.status === 'completed' ? 'completed' : `${upload.status}${wait ? '' : ', not waiting for processing'}`;
    output.out(
      `Uploaded ${JSON.stringify(upload.name)}${renamed} into ${tableName}${target.emulator ? ' (embedded emulator)' : ''}: ${status}; ` +
        (transfer
          ? `transferred by Redivis from ${safeUri(from!)}, `
          : `${formatBytes(bytesConfirmed)} sent in ${formatSeconds(transferMs)} (${formatRate(bytesConfirmed, transferMs)}), `) +
        `${formatSeconds(elapsedMs)} in all, ${retries} ${retries === 1 ? 'retry' : 'retries'}.`,
    );
    return 0;
  });
}
