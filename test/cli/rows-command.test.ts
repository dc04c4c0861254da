/** The rows command, run in-process against an emulator: NDJSON from standard input into a stream upload. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { UsageError } from '../../src/cli/args.js';
import type { CommandContext } from '../../src/cli/context.js';
import { Output } from '../../src/cli/output.js';
import { rowsCommand } from '../../src/cli/rows-command.js';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { assertNoSecret, collector, onlyJson } from './helpers.js';

const TABLE = 'me.events:next.clicks';
const SCHEMA = [
  { name: 'id', type: 'integer' },
  { name: 'what', type: 'string' },
];
let emu: Emulator;
let dir: string;
let schemaPath: string;

before(async () => {
  emu = await startEmulator();
  dir = await mkdtemp(join(tmpdir(), 'redivis-upload-rows-cli-'));
  schemaPath = join(dir, 'schema.json');
  await writeFile(schemaPath, JSON.stringify(SCHEMA));
});
after(async () => {
  await emu.close();
  await rm(dir, { recursive: true, force: true });
});

async function rows(args: string[], input: string, options: { json?: boolean; tty?: boolean } = {}) {
  const stdout = collector();
  const stderr = collector();
  const stdin = Readable.from([Buffer.from(input)]) as Readable & { isTTY?: boolean };
  if (options.tty) stdin.isTTY = true;
  const ctx: CommandContext = {
    io: { stdin, stdout, stderr, env: { REDIVIS_API_TOKEN: emu.token, REDIVIS_API_ENDPOINT: emu.apiEndpoint } },
    output: new Output(stdout, stderr),
    debug: false,
    json: options.json === true,
    words: { paths: [] },
  };
  ctx.output.addSecret(emu.token);
  const code = await rowsCommand([...args, ...(options.json ? ['--json'] : [])], ctx);
  return { code, signal: null, stdout: stdout.text(), stderr: stderr.text() };
}

const lines = (values: unknown[]) => values.map((value) => JSON.stringify(value)).join('\n');

test('NDJSON lines become rows, in order; blank lines and CRLF endings are fine', async () => {
  const input = Array.from({ length: 2500 }, (_, id) => ({ id, what: `click ${id}` }));
  const text = `${lines(input.slice(0, 10))}\r\n\n${lines(input.slice(10))}\n`;
  const result = await rows(['--table', TABLE, '--name', 'clicks', '--schema', schemaPath, '--batch-rows', '1000'], text);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(emu.getUploadRows(TABLE, 'clicks'), input);
  assert.match(result.stdout, /^Inserted 2,500 rows into "clicks" of me\.events:next\.clicks in 3 batches, .* rows\/s\), 0 retries\.\n$/);
  assertNoSecret(result, emu.token);
});

test('--json prints one object; --on-conflict append adds to the upload', async () => {
  const result = await rows(['--table', TABLE, '--name', 'clicks', '--schema', schemaPath, '--on-conflict', 'append'], lines([{ id: -1 }]), { json: true });
  assert.equal(result.code, 0, result.stderr);
  const json = onlyJson(result);
  assert.equal(json.rowsConfirmed, 1);
  assert.equal(json.batches, 1);
  assert.equal(json.skipped, false);
  assert.deepEqual(json.upload, { name: 'clicks', uri: `/tables/${encodeURIComponent(TABLE)}/uploads/clicks`, numRows: 2501 });
  assert.deepEqual(emu.getUploadRows(TABLE, 'clicks')?.at(-1), { id: -1 });

  const skipped = await rows(['--table', TABLE, '--name', 'clicks', '--schema', schemaPath, '--on-conflict', 'skip'], lines([{ id: 5 }]));
  assert.equal(skipped.code, 0);
  assert.match(skipped.stdout, /^Skipped: "clicks" of me\.events:next\.clicks exists, so nothing was sent \(1 rows read\)\./);
  const refused = await rows(['--table', TABLE, '--name', 'clicks', '--schema', schemaPath], lines([{ id: 5 }]));
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /already exists.*\[ERR_NAME_CONFLICT\]/);
});

test('a line that is not JSON, or a row that does not fit, stops at its line: the rows before it are stored', async () => {
  const notJson = await rows(['--table', TABLE, '--name', 'broken', '--schema', schemaPath], `${lines([{ id: 1 }, { id: 2 }])}\n\n{"id": 3,\n${lines([{ id: 4 }])}\n`);
  assert.equal(notJson.code, 1);
  assert.match(notJson.stderr, /standard input line 4 is not JSON .*; the 2 rows before it are stored, nothing from it on was sent \[ERR_INVALID_ROW\]/);
  assert.deepEqual(emu.getUploadRows(TABLE, 'broken'), [{ id: 1 }, { id: 2 }]);

  const misfit = await rows(['--table', TABLE, '--name', 'misfit', '--schema', schemaPath], `${lines([{ id: 1 }])}\n\n\n${lines([{ id: 'two' }, { id: 3 }])}\n`, { json: true });
  assert.equal(misfit.code, 1);
  assert.match(misfit.stderr, /standard input line 4: Invalid row 1, variable "id": expected an integer/);
  assert.equal((onlyJson(misfit).error as { code: string }).code, 'ERR_INVALID_ROW');
  assert.deepEqual(emu.getUploadRows(TABLE, 'misfit'), [{ id: 1 }]);
});

test('usage mistakes are refused before anything is read or sent', async () => {
  const badSchema = join(dir, 'bad.json');
  await writeFile(badSchema, '[{"name": "id", "type": "int"}]');
  const notJson = join(dir, 'not.json');
  await writeFile(notJson, 'id:integer');
  const cases: Array<[string[], RegExp, { tty?: boolean }?]> = [
    [['--name', 'x', '--schema', schemaPath], /needs --table/],
    [['--table', TABLE, '--schema', schemaPath], /needs --name/],
    [['--table', TABLE, '--name', 'x'], /needs --schema/],
    [['--table', TABLE, '--name', 'x', '--schema', join(dir, 'missing.json')], /invalid --schema: cannot read .*ENOENT/],
    [['--table', TABLE, '--name', 'x', '--schema', notJson], /invalid --schema: .* is not JSON/],
    [['--table', TABLE, '--name', 'x', '--schema', badSchema], /invalid --schema: Invalid schema\[0\]\.type: expected one of string, integer/],
    [['--table', TABLE, '--name', 'x', '--schema', schemaPath, '--on-conflict', 'merge'], /invalid --on-conflict/],
    [['--table', TABLE, '--name', 'x', '--schema', schemaPath, '--batch-rows', '0'], /invalid --batch-rows/],
    [['--table', TABLE, '--name', 'x', '--schema', schemaPath, 'file.ndjson'], /takes no arguments/],
    [['--table', TABLE, '--name', 'x', '--schema', schemaPath], /standard input, which is a terminal/, { tty: true }],
  ];
  emu.clearRequestLog();
  for (const [args, message, options] of cases) {
    await assert.rejects(rows(args, '', options), (error: unknown) => error instanceof UsageError && message.test(error.message), message.source);
  }
  assert.deepEqual(emu.requestLog(), []);
  const help = await rows(['--help'], '');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: redivis-upload rows --table REF --name NAME --schema FILE/);
});
