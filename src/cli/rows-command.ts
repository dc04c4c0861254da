/**
 * `redivis-upload rows --table REF --name NAME --schema FILE`: NDJSON rows from standard input into a stream
 * upload through `createRowStream`, each row visible in the table as soon as its batch is confirmed.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { formatTableReference } from '../client/table-reference.js';
import { InvalidArgumentError, InvalidRowError } from '../errors.js';
import { compileSchema, type RowVariable } from '../flows/rows/row-schema.js';
import { createRowStream } from '../flows/rows/row-stream.js';
import type { RowStreamConflictPolicy } from '../flows/rows/row-stream-options.js';
import { choiceOption, integerOption, parse, stringValue, UsageError } from './args.js';
import type { CommandContext } from './context.js';
import { formatSeconds } from './format.js';
import { ProgressDisplay } from './progress.js';
import { guardedStdin } from './stdin.js';
import { checkTable } from './target.js';
import { countRetries, runTransfer, TRANSFER_OPTIONS, transferSettings } from './transfer.js';
import { safeUri } from './urls.js';

const CONFLICT_MODES = ['error', 'replace', 'rename', 'skip', 'append'] as const satisfies readonly RowStreamConflictPolicy[];

export const ROWS_HELP = `Usage: redivis-upload rows --table REF --name NAME --schema FILE [options] < rows.ndjson

Inserts rows, one JSON object per line of standard input, into a stream upload of the table: every row is
checked against the schema, sent in batches, and stored exactly once through failures. Rows are visible in the
upload as soon as their batch is confirmed. For a bulk load that may as well arrive at once, an NDJSON upload is
faster: redivis-upload upload - --type ndjson --name rows.ndjson --table REF < rows.ndjson

  generate-events | redivis-upload rows --table my_org.events:next.clicks --name clicks --schema clicks.json

Options:
  --table REF             Table to insert into, on the unreleased version: owner.dataset:next.table (required)
  --name NAME             Name of the stream upload in the table (required)
  --schema FILE           JSON file with the variables: [{"name": "id", "type": "integer"}, ...], types string,
                          integer, float, boolean, date, dateTime, time, geography (required)
  --on-conflict MODE      If the table has an upload of that name: error, replace, rename to name_1, ...,
                          skip (send nothing), or append to it (default: error)
  --batch-rows N          Most rows per request, 1 to 100000 (default: 2000)
  --json                  Print exactly one JSON object on stdout: the result, or {"error":{"code","message"}}
  --emulator              Insert into an embedded local emulator instead of Redivis (no account or token needed;
                          the table reference is still checked)
  --debug                 On failure, also print stack traces
  -h, --help              Show this help

Blank lines are skipped. A line that is not JSON, or a row that does not fit the schema, stops the command with
status 1: the rows before it are stored, nothing from it on is sent, and the message names its line.
Output: on a terminal, a progress bar on stderr (rows confirmed, rate, retries); otherwise one summary line on
stdout. Ctrl+C stops sending (rows confirmed stay in the upload) and exits with status 130.

Environment: REDIVIS_API_TOKEN (never printed), REDIVIS_API_ENDPOINT (default: https://redivis.com/api/v1).
Exit status: 0 success, 1 failure, 2 usage error, 130 interrupted by Ctrl+C (SIGINT), 143 terminated (SIGTERM).
`;

/** A line of standard input that is no row: the CLI's own error, with the library's code for a bad row. */
class InputLineError extends Error {
  readonly code = 'ERR_INVALID_ROW';
}

async function readSchema(path: string): Promise<RowVariable[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`invalid --schema: cannot read ${JSON.stringify(path)} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`invalid --schema: ${JSON.stringify(path)} is not JSON (${(error as Error).message})`);
  }
  try {
    return compileSchema(schema).variables;
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw new UsageError(`invalid --schema: ${error.message}`);
    throw error;
  }
}

/** Where each row came from, for messages: line numbers shift past every blank line skipped. */
class LineTracker {
  line = 0;
  rows = 0;
  /** Row indices that follow blank lines, one entry per blank line. */
  private readonly blanksBefore: number[] = [];
  failure: InputLineError | undefined;

  blank(): void {
    this.blanksBefore.push(this.rows);
  }

  lineOf(rowIndex: number): number {
    let blanks = 0;
    for (const index of this.blanksBefore) if (index <= rowIndex) blanks += 1;
    return rowIndex + 1 + blanks;
  }
}

/** The rows of NDJSON text; stops (without failing the stream) at the first line that is not JSON. */
async function* ndjsonRows(input: Readable, tracker: LineTracker): AsyncGenerator<unknown> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  for await (const text of lines) {
    tracker.line += 1;
    if (text.trim() === '') {
      tracker.blank();
      continue;
    }
    let row: unknown;
    try {
      row = JSON.parse(text);
    } catch (error) {
      // The rows before it still go in, as with a row that does not fit: the stream ends here, then this is reported.
      tracker.failure = new InputLineError(`standard input line ${tracker.line} is not JSON (${(error as Error).message})`);
      return;
    }
    tracker.rows += 1;
    yield row;
  }
}

export async function rowsCommand(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parse('rows', args, {
    ...TRANSFER_OPTIONS,
    table: { type: 'string' },
    name: { type: 'string' },
    schema: { type: 'string' },
    'on-conflict': { type: 'string' },
    'batch-rows': { type: 'string' },
  });
  if (values.help) {
    ctx.io.stdout.write(ROWS_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`rows reads standard input and takes no arguments, received ${JSON.stringify(positionals[0])}`);
  const table = stringValue(values, 'table');
  if (table === undefined) throw new UsageError('rows needs --table REF (owner.dataset:next.table)');
  const name = stringValue(values, 'name');
  if (name === undefined || name === '') throw new UsageError('rows needs --name NAME, the name of the stream upload');
  const schemaPath = stringValue(values, 'schema');
  if (schemaPath === undefined || schemaPath === '') throw new UsageError('rows needs --schema FILE, a JSON array of {"name", "type"}');
  const onConflict = choiceOption('on-conflict', stringValue(values, 'on-conflict'), CONFLICT_MODES);
  const batchRows = integerOption('batch-rows', stringValue(values, 'batch-rows'), 1, 100_000);
  const settings = transferSettings(values);
  if (ctx.io.stdin.isTTY === true) {
    throw new UsageError('rows reads NDJSON from standard input, which is a terminal; pipe rows into it (… | redivis-upload rows ...)');
  }
  const schema = await readSchema(schemaPath);
  checkTable(table);
  const { output } = ctx;

  return runTransfer(ctx, settings, 'the rows', async (target, signal) => {
    const display = new ProgressDisplay(ctx.io.stderr, { phase: 'inserting rows' });
    output.attachLive(display);
    const tracker = new LineTracker();
    const stream = createRowStream({
      client: target.client,
      table,
      name,
      schema,
      signal,
      ...(onConflict === undefined ? {} : { onConflict }),
      ...(batchRows === undefined ? {} : { batchRows }),
    });
    stream.on('retry', countRetries(ctx, target, display));
    stream.on('progress', (progress) =>
      display.update({ bytesConfirmed: progress.bytesConfirmed, phase: `${progress.rowsConfirmed.toLocaleString('en-US')} rows confirmed` }),
    );
    try {
      await pipeline(Readable.from(ndjsonRows(guardedStdin(ctx.io.stdin, signal), tracker)), stream);
    } catch (error) {
      if (error instanceof InvalidRowError) {
        throw new InputLineError(`standard input line ${tracker.lineOf(error.rowIndex)}: ${error.message}`, { cause: error });
      }
      throw error;
    } finally {
      display.stop();
      output.attachLive(undefined);
    }
    const result = stream.result!;
    if (tracker.failure !== undefined) {
      throw new InputLineError(`${tracker.failure.message}; the ${result.rowsConfirmed} rows before it are stored, nothing from it on was sent`);
    }
    const tableName = formatTableReference(table);
    const { retries } = display.state;
    const elapsedMs = display.elapsedMs;
    if (ctx.json) {
      output.json({
        table: tableName,
        upload: { name: result.upload.name, uri: safeUri(result.upload.uri), numRows: result.upload.numRows },
        rowsRead: stream.rowsWritten,
        rowsConfirmed: result.rowsConfirmed,
        batches: result.batches,
        skipped: result.skipped,
        elapsedMs: Math.round(elapsedMs),
        retries,
        ...(target.emulator ? { emulator: true } : {}),
      });
      return 0;
    }
    const where = `${JSON.stringify(result.upload.name)} of ${tableName}${target.emulator ? ' (embedded emulator)' : ''}`;
    if (result.skipped) {
      output.out(`Skipped: ${where} exists, so nothing was sent (${stream.rowsWritten} rows read).`);
      return 0;
    }
    const rate = elapsedMs > 0 ? Math.round((result.rowsConfirmed * 1000) / elapsedMs).toLocaleString('en-US') : '–';
    output.out(
      `Inserted ${result.rowsConfirmed.toLocaleString('en-US')} rows into ${where} in ${result.batches} ` +
        `${result.batches === 1 ? 'batch' : 'batches'}, ${formatSeconds(elapsedMs)} (${rate} rows/s), ${retries} ${retries === 1 ? 'retry' : 'retries'}.`,
    );
    return 0;
  });
}
