import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { chunkSizeOption, delimiterOption } from '../../src/cli/args.js';
import { hoistGlobalFlags } from '../../src/cli/run.js';
import { MINIMUM_NODE_VERSION, unsupportedNodeMessage } from '../../src/util/node-version.js';
import { UPLOAD_TYPES } from '../../src/cli/upload-command.js';
import { UPLOAD_TYPES as EMULATOR_UPLOAD_TYPES } from '../../src/emulator/upload-body.js';
import { formatDuration } from '../../src/cli/format.js';
import { describeError, errorJson, Output, redactSecrets } from '../../src/cli/output.js';
import { progressLine } from '../../src/cli/progress.js';
import { safeUri } from '../../src/cli/urls.js';
import { ApiError, NetworkError, RetriesExhaustedError } from '../../src/errors.js';
import { assertNoSecret, childEnv, CLI, collector, lines, onlyJson, runInProcess, TOKEN } from './helpers.js';

const TABLE = 'demo.survey:next.visits';

const USAGE_CASES: Array<{ args: string[]; expect: RegExp[] }> = [
  { args: ['frobnicate'], expect: [/unknown command "frobnicate"/, /upload, add-files, rows, emulator, demo/] },
  { args: ['upload'], expect: [/upload takes one <path\|->/] },
  { args: ['upload', 'a.csv', 'b.csv', '--table', TABLE], expect: [/received 2/] },
  { args: ['upload', 'a.csv'], expect: [/needs --table/] },
  { args: ['upload', '-', '--table', TABLE], expect: [/needs --name/] },
  { args: ['upload', 'a.csv', '--tabel', TABLE], expect: [/unknown option --tabel for upload; did you mean --table\?/] },
  { args: ['upload', 'a.csv', '--TABLE', TABLE], expect: [/did you mean --table\?/] },
  { args: ['add-files', 'd', '--concurency', '2', '--table', TABLE], expect: [/did you mean --concurrency\?/] },
  { args: ['upload', 'a.csv', '--frobnicate', TABLE], expect: [/unknown option --frobnicate for upload; its options: .*--table/] },
  { args: ['upload', 'a.csv', '--table'], expect: [/^redivis-upload: --table needs a value \[/] },
  { args: ['upload', 'a.csv', '--table', '--name', 'x'], expect: [/--table needs a value, but is followed by the option --name \(write --table=--name/] },
  { args: ['upload', 'a.csv', '--table', TABLE, '--json=yes'], expect: [/--json takes no value, received "yes"/] },
  { args: ['upload', 'a.csv', '--table', TABLE, '--type', 'xyz'], expect: [/invalid --type: expected one of delimited, csv, .*kml, received "xyz"/] },
  { args: ['upload', 'a.csv', '--table', TABLE, '--retries', '-1'], expect: [/--retries/] },
  { args: ['upload', 'a.csv', '--table', TABLE, '--retries', '101'], expect: [/invalid --retries: expected an integer from 0 to 100, received "101"/] },
  { args: ['upload', 'a.csv', '--table', TABLE, '--request-timeout', '0'], expect: [/invalid --request-timeout: expected a number/] },
  { args: ['add-files', 'd', '--table', TABLE, '--request-timeout', 'soon'], expect: [/invalid --request-timeout/] },
  { args: ['emulator', 'extra'], expect: [/emulator takes no arguments, received "extra"/] },
  { args: ['uplaod', 'a.csv'], expect: [/unknown command "uplaod"; did you mean upload\?/] },
  { args: ['--tabel', 'x', 'upload'], expect: [/unknown option --tabel before the command/] },
  { args: ['upload', 'a.csv', '--table', TABLE, '--chunk-size', '0.3'], expect: [/invalid --chunk-size/, /multiple of 0\.25/, /received "0\.3"/] },
  { args: ['upload', 'a.csv', '--table', TABLE, '--chunk-size', '-8'], expect: [/--chunk-size/] },
  { args: ['upload', 'a.csv', '--table', TABLE, '--on-conflict', 'merge'], expect: [/invalid --on-conflict/, /one of error, replace, rename/, /received "merge"/] },
  { args: ['upload', 'a.csv', '--table', TABLE, '--name', ''], expect: [/invalid --name/] },
  { args: ['add-files', '--table', TABLE], expect: [/at least one <path>/] },
  { args: ['add-files', 'dir'], expect: [/needs --table/] },
  { args: ['add-files', '-', '--table', TABLE], expect: [/not standard input/] },
  { args: ['add-files', 'dir', '--table', TABLE, '--concurrency', '0'], expect: [/invalid --concurrency/, /integer from 1 to 256/, /received "0"/] },
  { args: ['add-files', 'dir', '--table', TABLE, '--concurrency', '2.5'], expect: [/invalid --concurrency/, /received "2\.5"/] },
  { args: ['emulator', '--port', '99999'], expect: [/invalid --port/, /0 to 65535/, /received "99999"/] },
  { args: ['emulator', '--fault-rate', '2'], expect: [/invalid --fault-rate/, /0 to 1/, /received "2"/] },
  { args: ['emulator', '--faults', 'nonsense'], expect: [/invalid --faults/] },
  { args: ['demo', '--csv-bytes', 'lots'], expect: [/invalid --csv-bytes/] },
];

for (const { args, expect } of USAGE_CASES) {
  test(`usage error (exit 2): ${args.join(' ') || '(none)'}`, async () => {
    const result = await runInProcess(args, { env: { REDIVIS_API_TOKEN: TOKEN } });
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stdout, '');
    const [first, hint, ...rest] = lines(result.stderr);
    assert.match(first!, /^redivis-upload: .* \[ERR_USAGE\]$/);
    for (const pattern of expect) assert.match(first!, pattern);
    assert.match(hint!, /^Try 'redivis-upload .*--help'\.$/);
    assert.deepEqual(rest, []);
    assertNoSecret(result, TOKEN);
  });
}

test('no command prints the help on stderr and exits 2', async () => {
  const result = await runInProcess([]);
  assert.equal(result.code, 2);
  assert.equal(result.stdout, '');
  assert.match(result.stderr, /^Usage: redivis-upload <command>/);
});

test('a usage error with --json prints one JSON error object on stdout', async () => {
  const result = await runInProcess(['upload', 'a.csv', '--table', TABLE, '--json', '--chunk-size', 'abc']);
  assert.equal(result.code, 2);
  const json = onlyJson(result);
  assert.equal((json.error as { code: string }).code, 'ERR_USAGE');
  assert.match((json.error as { message: string }).message, /--chunk-size.*"abc"/);
});

test('upload - refuses to read data from a terminal', async () => {
  const stdin = Object.assign(Readable.from([]), { isTTY: true });
  const result = await runInProcess(['upload', '-', '--table', TABLE, '--name', 'x.csv'], { stdin });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /standard input, which is a terminal/);
});

for (const command of ['upload', 'add-files', 'emulator', 'demo']) {
  test(`${command} --help and help ${command} print the command's help and exit 0`, async () => {
    const viaFlag = await runInProcess([command, '--help']);
    assert.equal(viaFlag.code, 0);
    assert.equal(viaFlag.stderr, '');
    assert.match(viaFlag.stdout, new RegExp(`^Usage: redivis-upload ${command}`));
    const viaHelp = await runInProcess(['help', command]);
    assert.equal(viaHelp.code, 0);
    assert.equal(viaHelp.stdout, viaFlag.stdout);
    const short = await runInProcess([command, '-h']);
    assert.equal(short.stdout, viaFlag.stdout);
  });
}

test('--help lists every command and the exit codes; --version prints the version', async () => {
  const help = await runInProcess(['--help']);
  assert.equal(help.code, 0);
  for (const command of ['upload', 'add-files', 'emulator', 'demo']) assert.match(help.stdout, new RegExp(`^  ${command}\\b`, 'm'));
  assert.match(help.stdout, /130 interrupted/);
  const version = await runInProcess(['--version']);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^\d+\.\d+\.\d+/);
});

test('a malformed table reference fails with exit 1 and one line, with or without --emulator', async () => {
  for (const extra of [[], ['--emulator']]) {
    const result = await runInProcess(['upload', 'a.csv', '--table', 'not a table', '--debug', ...extra], { env: { REDIVIS_API_TOKEN: TOKEN } });
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    const [first] = lines(result.stderr);
    assert.match(first!, /^redivis-upload: Invalid table reference "not a table": .* \[ERR_TABLE_REFERENCE\]$/);
    // --debug adds the stack below the one line.
    assert.match(result.stderr, /TableReferenceError: Invalid table reference/);
    assertNoSecret(result, TOKEN);
  }
  const quiet = await runInProcess(['add-files', 'dir', '--table', 'a.b'], { env: { REDIVIS_API_TOKEN: TOKEN } });
  assert.equal(quiet.code, 1);
  assert.equal(lines(quiet.stderr).length, 1, quiet.stderr);
  assert.match(quiet.stderr, /\[ERR_TABLE_REFERENCE\]/);
});

test('without REDIVIS_API_TOKEN the command fails before any request, pointing at the variable and --emulator', async () => {
  const result = await runInProcess(['upload', 'a.csv', '--table', TABLE]);
  assert.equal(result.code, 1);
  assert.equal(result.stdout, '');
  assert.equal(lines(result.stderr).length, 1);
  assert.equal(
    result.stderr,
    'redivis-upload: No Redivis API token: set the REDIVIS_API_TOKEN environment variable [ERR_MISSING_TOKEN] (or add --emulator to try without an account)\n',
  );
  const json = await runInProcess(['add-files', 'dir', '--table', TABLE, '--json'], { env: { REDIVIS_API_TOKEN: '  ' } });
  assert.equal(json.code, 1);
  assert.equal((onlyJson(json).error as { code: string }).code, 'ERR_MISSING_TOKEN');
});

test('an unusable REDIVIS_API_ENDPOINT is named, and the token is not printed even with --debug', async () => {
  const env = { REDIVIS_API_TOKEN: TOKEN, REDIVIS_API_ENDPOINT: 'http://example.com/api/v1' };
  const result = await runInProcess(['upload', 'a.csv', '--table', TABLE, '--debug', '--json'], { env });
  assert.equal(result.code, 1);
  const json = onlyJson(result);
  assert.equal((json.error as { code: string }).code, 'ERR_UNSAFE_URL');
  assert.match(result.stderr, /REDIVIS_API_ENDPOINT/);
  assertNoSecret(result, TOKEN);
});

test('describeError puts the message, code and causes on one line; errorJson carries the code', () => {
  const network = new NetworkError({ method: 'PUT', path: 'https://up.example/x?…' }, Object.assign(new Error('socket hang up\nat line'), { code: 'ECONNRESET' }));
  const error = new RetriesExhaustedError('The upload of data.csv', 6, network);
  const line = describeError(error);
  assert.ok(!line.includes('\n'), line);
  // The wrappers quote their causes' messages, so the causes are shown by their codes.
  assert.equal(
    line,
    'The upload of data.csv failed after 6 attempts: PUT https://up.example/x?… failed: ECONNRESET: socket hang up at line ' +
      '[ERR_RETRIES_EXHAUSTED; caused by ERR_NETWORK; caused by ECONNRESET]',
  );
  const wrapped = describeError(new Error('outer', { cause: new ApiError({ method: 'GET', path: '/x' }, 500, undefined, undefined) }));
  assert.equal(wrapped, 'outer; caused by: GET /x failed with HTTP 500 [ERR_API]');
  assert.deepEqual(errorJson(new ApiError({ method: 'POST', path: '/tables/x/uploads' }, 403, 'insufficient_scope', 'no')), {
    error: { code: 'ERR_API', message: 'POST /tables/x/uploads failed with HTTP 403 (insufficient_scope: no) [ERR_API]' },
  });
  assert.equal(errorJson(new Error('plain')).error.code, 'ERR_UNEXPECTED');
});

test('Output replaces registered secrets in every line and in JSON', () => {
  const stdout = collector();
  const stderr = collector();
  const output = new Output(stdout, stderr);
  output.addSecret(` ${TOKEN} `);
  output.out(`Bearer ${TOKEN}`);
  output.err(`${TOKEN}${TOKEN}`);
  output.json({ token: TOKEN });
  assert.equal(stdout.text(), `Bearer <redacted>\n{"token":"<redacted>"}\n`);
  assert.equal(stderr.text(), '<redacted><redacted>\n');
});

test('URIs are printed without query strings', () => {
  assert.equal(safeUri('https://storage.example/upload/x?upload_id=abc&X-Goog-Signature=s'), 'https://storage.example/upload/x?…');
  assert.equal(safeUri('/tables/a/uploads/b?sig=1'), '/tables/a/uploads/b');
  assert.equal(safeUri('/tables/a/uploads/b'), '/tables/a/uploads/b');
});

test('option values: chunk sizes in MiB and delimiters', () => {
  assert.equal(chunkSizeOption('8'), 8 * 1024 * 1024);
  assert.equal(chunkSizeOption('0.25'), 256 * 1024);
  assert.equal(chunkSizeOption(undefined), undefined);
  for (const bad of ['0', '0.1', '1e3', 'abc', '', '5000']) assert.throws(() => chunkSizeOption(bad), /invalid --chunk-size/, bad);
  assert.equal(delimiterOption('\\t'), '\t');
  assert.equal(delimiterOption('tab'), '\t');
  assert.equal(delimiterOption('|'), '|');
});

test('the progress line shows bytes, rate, ETA or elapsed time, retries, and files', () => {
  const known = progressLine({ phase: 'uploading', bytesConfirmed: 5 * 1024 * 1024, totalBytes: 10 * 1024 * 1024, retries: 1 }, 1024 * 1024, 3000);
  assert.match(known, /^uploading [█░]{24} 50% \| 5\.0 MiB \/ 10\.0 MiB \| 1\.0 MiB\/s \| ETA 0:05 \| 1 retry$/);
  const unknown = progressLine({ phase: 'uploading', bytesConfirmed: 3 * 1024, totalBytes: undefined, retries: 2 }, 0, 65_000);
  assert.equal(unknown, 'uploading | 3.0 KiB | 0 B/s | 1:05 | 2 retries');
  const files = progressLine(
    { phase: 'adding', bytesConfirmed: 100, totalBytes: 400, retries: 0, files: { done: 1, failed: 1, total: 4 } },
    50,
    1000,
  );
  assert.match(files, /^adding [█░]{24} 25% \| 1\/4 files added, 1 failed \| 100 B \/ 400 B \| 50 B\/s \| ETA 0:06 \| 0 retries$/);
  const uploading = progressLine(
    { phase: 'adding', bytesConfirmed: 300, totalBytes: undefined, retries: 0, files: { done: 0, uploaded: 3, failed: 0, total: 4 } },
    50,
    1000,
  );
  assert.match(uploading, /^adding [█░]{24} 75% \| 3\/4 files uploaded, 0 added \| 300 B \|/, 'files count as they finish, before their batch is registered');
  assert.equal(formatDuration(3_725_000), '1:02:05');
});

test('a secret is hidden where it stands as itself, and output is otherwise left exactly as it was', () => {
  const stdout = collector();
  const output = new Output(stdout, collector());
  output.addSecret('a');
  output.json({ table: 'demo.a:next.b', token: 'a', list: ['a', 'banana'] });
  output.out('Bearer a; a,a; aa; (a)');
  assert.equal(stdout.text(), '{"table":"demo.<redacted>:next.b","token":"<redacted>","list":["<redacted>","banana"]}\nBearer <redacted>; <redacted>,<redacted>; <redacted><redacted>; (<redacted>)\n');
  assert.equal(redactSecrets('tok-1 tok-12 xtok-1 tok-1.', ['tok-1']), '<redacted> tok-12 xtok-1 <redacted>.');
  assert.equal(redactSecrets('no secret here', ['']), 'no secret here');
});

test('with a one-letter token, --json output stays valid JSON with its keys intact', async () => {
  const result = await runInProcess(['upload', 'data.csv', '--table', 'demo.b:next.c', '--json', '--chunk-size', 'x'], { env: { REDIVIS_API_TOKEN: 'a' } });
  assert.equal(result.code, 2);
  const json = onlyJson(result) as { error: { code: string; message: string } };
  assert.deepEqual(Object.keys(json.error), ['code', 'message']);
  assert.equal(json.error.code, 'ERR_USAGE');
  // Only the article "a", which is the token standing as itself, is hidden; "data", "chunk" or "table" are not touched.
  assert.match(json.error.message, /^invalid --chunk-size: expected <redacted> number of MiB that is <redacted> positive multiple of 0\.25/);
  assert.match(result.stderr, /Try 'redivis-upload upload --help'\./);
});

test('global flags may stand before the command', async () => {
  assert.deepEqual(hoistGlobalFlags(['--debug', '--retries', '2', 'upload', 'x', '--', '--json']), ['upload', '--debug', '--retries', '2', 'x', '--', '--json']);
  assert.deepEqual(hoistGlobalFlags(['--json', '--request-timeout=5', 'add-files']), ['add-files', '--json', '--request-timeout=5']);
  assert.deepEqual(hoistGlobalFlags(['--debug']), ['--debug']);
  const json = await runInProcess(['--json', '--debug', 'upload', 'a.csv', '--table', 'not a table'], { env: { REDIVIS_API_TOKEN: TOKEN } });
  assert.equal(json.code, 1);
  assert.equal((onlyJson(json).error as { code: string }).code, 'ERR_TABLE_REFERENCE');
  assert.match(json.stderr, /TableReferenceError: Invalid table reference/);
  const emulatorJson = await runInProcess(['--json', 'emulator']);
  assert.equal(emulatorJson.code, 2);
  assert.match(emulatorJson.stderr, /unknown option --json for emulator/);
});

test('a pipe or a device as <path> (what <(cmd) gives) is refused before anything is sent, pointing at -', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'redivis-upload-cli-fifo-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  for (const [args, pattern] of [
    [['upload', fifo, '--table', TABLE], /is a pipe, not a file \(as <\(cmd\) gives\); stream it through standard input instead: cmd \| redivis-upload upload - /],
    [['upload', '/dev/null', '--table', TABLE], /"\/dev\/null" is a device, not a file/],
    [['add-files', dir, fifo, '--table', TABLE], /is a pipe, not a file .*add-files adds regular files/],
    [['upload', dir, '--table', TABLE], /is a directory; upload takes one file \(add-files adds the files below a directory\)/],
  ] as const) {
    const result = await runInProcess([...args], { env: { REDIVIS_API_TOKEN: TOKEN, REDIVIS_API_ENDPOINT: 'http://127.0.0.1:1/api/v1' } });
    assert.equal(result.code, 2, result.stderr);
    assert.match(lines(result.stderr)[0]!, pattern);
  }
});

test('the formats --type accepts are those the API documents, less row streaming', () => {
  assert.deepEqual([...UPLOAD_TYPES].sort(), [...EMULATOR_UPLOAD_TYPES].filter((type) => type !== 'stream').sort());
});

test('library argument names become the <path> arguments and flags the user typed', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'redivis-upload-cli-words-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const [one, two] = [join(dir, 'one'), join(dir, 'two')];
  for (const folder of [one, two]) {
    await mkdir(folder);
    await writeFile(join(folder, 'same.csv'), 'x\n');
  }
  const env = { REDIVIS_API_TOKEN: TOKEN, REDIVIS_API_ENDPOINT: 'http://127.0.0.1:1/api/v1' };
  const missing = await runInProcess(['add-files', one, join(dir, 'nope'), '--table', TABLE], { env });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, new RegExp(`^redivis-upload: Invalid <path> "${join(dir, 'nope')}": expected the path of an existing file or directory \\[ERR_INVALID_ARGUMENT\\]; caused by: ENOENT`));
  const duplicate = await runInProcess(['add-files', one, two, '--table', TABLE], { env });
  assert.equal(duplicate.code, 1);
  assert.match(duplicate.stderr, new RegExp(`^redivis-upload: Invalid <path> "${two}": expected files with distinct names \\("same\\.csv" also comes from <path> "${one}"\\) \\[ERR_INVALID_ARGUMENT\\]\n$`));
  const upload = await runInProcess(['upload', join(dir, 'nope.csv'), '--table', TABLE], { env });
  assert.equal(upload.code, 1);
  assert.match(upload.stderr, /^redivis-upload: Invalid <path> ".*nope\.csv": expected the path of a readable regular file \[ERR_INVALID_ARGUMENT\]/);
  for (const result of [missing, duplicate, upload]) assert.doesNotMatch(result.stderr, /files\[|source|onConflict|apiToken/);
});

test('Node.js versions below 20.18.1 are told so', () => {
  for (const version of ['18.20.4', 'v18.0.0', '20.18.0', '20.9.0', '16.20.2']) {
    assert.equal(
      unsupportedNodeMessage(version),
      `redivis-upload needs Node.js 20.18.1 or later; this is Node.js ${version.replace(/^v/, '')}. Install a current Node.js (20 LTS or newer) and try again.`,
    );
  }
  for (const version of ['20.18.1', '20.19.0', '21.0.0', '22.12.0', '24.1.0', process.versions.node]) assert.equal(unsupportedNodeMessage(version), undefined, version);
  assert.equal(MINIMUM_NODE_VERSION, (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { engines: { node: string } }).engines.node.replace('>=', ''));
});

test('the command on an old Node.js says which version it needs, before loading anything that fails there', () => {
  // The version check is simulated: process.versions.node is replaced before the entry point runs.
  const pretend = `data:text/javascript,Object.defineProperty(process.versions, 'node', { value: '18.20.4' })`;
  const child = spawnSync(process.execPath, ['--import', pretend, CLI, 'upload', 'x.csv', '--table', TABLE], { encoding: 'utf8', env: childEnv() });
  assert.equal(child.status, 1);
  assert.equal(child.stdout, '');
  assert.equal(child.stderr, 'redivis-upload needs Node.js 20.18.1 or later; this is Node.js 18.20.4. Install a current Node.js (20 LTS or newer) and try again.\n');
});
