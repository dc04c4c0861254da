import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { startEmulator } from '../../src/emulator/index.js';
import type { Emulator } from '../../src/emulator/types.js';
import { md5Hex, randomBytes, runSeed } from '../support/data.js';
import { assertNoSecret, childEnv, lines, onlyJson, runCli, spawnCli, TOKEN } from './helpers.js';

const TABLE = 'demo.survey:next.visits';
const SEED = runSeed();
const WRONG_TOKEN = 'tok-wrong-Q1w2E3r4T5y6';

// Every test uses its own names, tables or emulator, so they run side by side to keep the file fast.
describe('redivis-upload as a child process', { concurrency: true }, () => {
  let emu: Emulator;
  let dir: string;
  before(async () => {
    emu = await startEmulator({ token: TOKEN });
    dir = await mkdtemp(join(tmpdir(), 'redivis-upload-cli-'));
  });
  after(async () => {
    await emu.close();
    await rm(dir, { recursive: true, force: true });
  });

  const env = () => childEnv({ REDIVIS_API_ENDPOINT: emu.apiEndpoint, REDIVIS_API_TOKEN: TOKEN });

  test('--help of every command, from the installed entry point, exits 0 on stdout only', async () => {
    const commands = [[], ['upload'], ['add-files'], ['rows'], ['emulator'], ['demo']];
    const results = await Promise.all(commands.map((command) => runCli([...command, '--help'], { env: env() })));
    results.forEach((result, i) => {
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, '');
      assert.match(result.stdout, new RegExp(`^Usage: redivis-upload ${commands[i]![0] ?? '<command>'}`));
      assertNoSecret(result, TOKEN);
    });
  });

  test('upload - streams standard input of unknown length; the stored bytes have the same MD5', async () => {
    const data = randomBytes(1_300_001, SEED);
    const result = await runCli(['upload', '-', '--table', TABLE, '--name', 'dump.csv.gz', '--chunk-size', '0.25', '--json'], {
      env: env(),
      stdin: data,
    });
    assert.equal(result.code, 0, `seed ${SEED}: ${result.stderr}`);
    assert.equal(result.stderr, '');
    const json = onlyJson(result);
    const upload = json.upload as { name: string; status: string; tempUploadId: string; uri: string };
    assert.equal(upload.name, 'dump.csv.gz');
    assert.equal(upload.status, 'completed');
    assert.equal(json.table, TABLE);
    assert.equal(json.bytes, data.length);
    const stored = emu.getTempUpload(upload.tempUploadId);
    assert.equal(stored?.final?.md5Hex, md5Hex(data), `seed ${SEED}`);
    assert.equal(emu.getUpload(TABLE, 'dump.csv.gz')?.status, 'completed');
    // It went through the resumable protocol.
    assert.ok(emu.requestLog().filter((entry) => entry.kind === 'chunk' && entry.tempUploadId === upload.tempUploadId).length >= 1);
    assertNoSecret(result, TOKEN);
  });

  test('without --json and off a terminal, a file upload prints one summary line and nothing else', async () => {
    const data = randomBytes(70_000, SEED + 1);
    const path = join(dir, 'visits.csv');
    await writeFile(path, data);
    const result = await runCli(['upload', path, '--table', TABLE, '--type', 'csv', '--no-header', '--delimiter', '\\t', '--no-wait'], { env: env() });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    assert.equal(lines(result.stdout).length, 1, result.stdout);
    assert.match(
      result.stdout,
      /^Uploaded "visits\.csv" into demo\.survey:next\.visits: queued, not waiting for processing; 68\.4 KiB sent in \d+\.\d s \(.*\/s\), \d+\.\d s in all, 0 retries\.\n$/,
    );
    const stored = emu.listTempUploads().find((upload) => upload.name.startsWith('visits.csv'));
    assert.equal(stored?.final?.md5Hex, md5Hex(data), `seed ${SEED}`);
    // The parsing flags reached the API as the upload's options.
    const upload = emu.getUpload(TABLE, 'visits.csv');
    assert.equal(upload?.type, 'csv');
    assert.equal(upload?.options.hasHeaderRow, false);
    assert.equal(upload?.options.delimiter, '\t');
    assertNoSecret(result, TOKEN);
  });

  test('--emulator uploads into an embedded emulator, ignoring REDIVIS_API_ENDPOINT and never printing a token', async () => {
    const path = join(dir, 'embedded.csv');
    await writeFile(path, 'a,b\n1,2\n');
    const result = await runCli(['upload', path, '--table', TABLE, '--emulator', '--json', '--no-wait'], {
      env: childEnv({ REDIVIS_API_TOKEN: TOKEN, REDIVIS_API_ENDPOINT: 'https://unreachable.invalid/api/v1' }),
    });
    assert.equal(result.code, 0, result.stderr);
    const json = onlyJson(result);
    assert.equal(json.emulator, true);
    assert.equal((json.upload as { name: string }).name, 'embedded.csv');
    assert.equal(json.bytes, 8);
    assertNoSecret(result, TOKEN);
  });

  test('an upload that Redivis fails to process exits 1 with one line carrying the code and the reason', async () => {
    const reason = 'Row 3 has 4 columns, expected 2';
    const paths = [join(dir, 'broken.csv'), join(dir, 'broken-json.csv')];
    for (const path of paths) {
      emu.failUpload(basename(path), reason);
      await writeFile(path, 'a,b\n1,2\n3,4,5,6\n');
    }
    const [plain, json] = await Promise.all([
      runCli(['upload', paths[0]!, '--table', TABLE], { env: env() }),
      runCli(['upload', paths[1]!, '--table', TABLE, '--json'], { env: env() }),
    ]);
    assert.equal(plain.code, 1);
    assert.equal(plain.stdout, '');
    assert.equal(lines(plain.stderr).length, 1, plain.stderr);
    assert.equal(plain.stderr, `redivis-upload: The upload failed on Redivis: ${reason} [ERR_UPLOAD_FAILED]\n`);
    assert.equal(json.code, 1);
    assert.deepEqual(onlyJson(json), { error: { code: 'ERR_UPLOAD_FAILED', message: `The upload failed on Redivis: ${reason} [ERR_UPLOAD_FAILED]` } });
    assertNoSecret(plain, TOKEN);
    assertNoSecret(json, TOKEN);
  });

  test('a name conflict fails with exit 1; --on-conflict rename picks the next free name', async () => {
    const path = join(dir, 'twice.csv');
    await writeFile(path, 'x\n1\n');
    assert.equal((await runCli(['upload', path, '--table', TABLE, '--no-wait'], { env: env() })).code, 0);
    const conflict = await runCli(['upload', path, '--table', TABLE, '--no-wait'], { env: env() });
    assert.equal(conflict.code, 1);
    assert.equal(
      conflict.stderr,
      'redivis-upload: An upload named "twice.csv" already exists in this table; add --on-conflict replace or --on-conflict rename [ERR_NAME_CONFLICT]\n',
    );
    const renamed = await runCli(['upload', path, '--table', TABLE, '--on-conflict', 'rename', '--no-wait'], { env: env() });
    assert.equal(renamed.code, 0, renamed.stderr);
    assert.match(renamed.stdout, /^Uploaded "twice_1\.csv" \(renamed: "twice\.csv" exists\)/);
  });

  test('a token the API refuses fails with exit 1 and one line; the token is printed nowhere, even with --debug', async () => {
    const path = join(dir, 'refused.csv');
    await writeFile(path, 'a\n1\n');
    const wrongEnv = childEnv({ REDIVIS_API_ENDPOINT: emu.apiEndpoint, REDIVIS_API_TOKEN: WRONG_TOKEN });
    const plain = await runCli(['upload', path, '--table', TABLE], { env: wrongEnv });
    assert.equal(plain.code, 1);
    assert.equal(lines(plain.stderr).length, 1, plain.stderr);
    assert.match(plain.stderr, /HTTP 401 \(invalid_token: .*\) \[ERR_API\]/);
    const debug = await runCli(['upload', path, '--table', TABLE, '--debug', '--json'], { env: wrongEnv });
    assert.equal(debug.code, 1);
    assert.equal((onlyJson(debug).error as { code: string }).code, 'ERR_API');
    assert.match(debug.stderr, /ApiError: .* at /s);
    assertNoSecret(plain, WRONG_TOKEN, TOKEN);
    assertNoSecret(debug, WRONG_TOKEN, TOKEN);
  });

  test('a usage error exits 2 without touching the network', async (t) => {
    const local = await startEmulator({ token: TOKEN });
    t.after(() => local.close());
    const localEnv = childEnv({ REDIVIS_API_ENDPOINT: local.apiEndpoint, REDIVIS_API_TOKEN: TOKEN });
    const result = await runCli(['upload', '-', '--table', TABLE, '--chunk-size', '3'], { env: localEnv, stdin: Buffer.from('a\n') });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^redivis-upload: .*\[ERR_USAGE\]\nTry 'redivis-upload upload --help'\.\n$/);
    assert.deepEqual(local.requestLog(), []);
    assertNoSecret(result, TOKEN);
  });

  test('add-files adds a directory tree; adding names that exist fails those files with exit 1, listing them', async () => {
    const root = join(dir, 'files');
    await mkdir(join(root, 'sub'), { recursive: true });
    const contents = { 'a.csv': randomBytes(3_000, SEED + 2), 'sub/b.bin': randomBytes(5_001, SEED + 3) };
    for (const [name, data] of Object.entries(contents)) await writeFile(join(root, name), data);
    const fileTable = 'demo.survey:next.documents';

    const added = await runCli(['add-files', root, '--table', fileTable, '--json', '--concurrency', '2'], { env: env() });
    assert.equal(added.code, 0, added.stderr);
    assert.equal(added.stderr, '');
    const json = onlyJson(added);
    const files = json.added as Array<{ name: string; size: number; md5Hash: string }>;
    assert.deepEqual(
      files.map(({ name, size, md5Hash }) => ({ name, size, md5Hash })),
      Object.entries(contents).map(([name, data]) => ({ name, size: data.length, md5Hash: createHash('md5').update(data).digest('base64') })),
      `seed ${SEED}`,
    );
    assert.deepEqual(json.failed, []);
    const registered = emu.listRawFiles().filter((file) => file.table === fileTable);
    assert.deepEqual(
      registered.map((file) => [file.name, file.md5Hex]),
      Object.entries(contents).map(([name, data]) => [name, md5Hex(data)]),
      `seed ${SEED}`,
    );

    const extra = join(dir, 'c.txt');
    await writeFile(extra, 'new\n');
    const again = await runCli(['add-files', root, extra, '--table', fileTable], { env: env() });
    assert.equal(again.code, 1);
    assert.match(again.stdout, /^Added 0 of 3 files \(0 B\) to demo\.survey:next\.documents in .*; 3 failed\.\n$/);
    const failures = lines(again.stderr);
    assert.equal(failures.length, 3, again.stderr);
    ['a.csv', 'sub/b.bin', 'c.txt'].forEach((name, i) => assert.match(failures[i]!, new RegExp(`^redivis-upload: could not add "${name}": .*\\[ERR_API\\]$`)));
    assertNoSecret(added, TOKEN);
    assertNoSecret(again, TOKEN);
  });

  test('Ctrl+C (SIGINT) during an upload from standard input cancels the session and exits 130', async (t) => {
    const local = await startEmulator({ token: TOKEN });
    t.after(() => local.close());
    const data = randomBytes(600_000, SEED + 4);
    const spawned = spawnCli(['upload', '-', '--table', TABLE, '--name', 'endless.csv', '--chunk-size', '0.25', '--json'], {
      env: childEnv({ REDIVIS_API_ENDPOINT: local.apiEndpoint, REDIVIS_API_TOKEN: TOKEN }),
      stdin: data,
      keepStdinOpen: true,
    });
    t.after(() => spawned.child.kill('SIGKILL'));
    const chunk = await local.waitForRequest((entry) => entry.kind === 'chunk' && entry.status === 308);
    spawned.child.kill('SIGINT');
    const result = await spawned.done;
    assert.equal(result.code, 130, result.stderr);
    assert.equal((onlyJson(result).error as { code: string }).code, 'ERR_ABORTED');
    assert.match(result.stderr, /^redivis-upload: .*SIGINT.*\n$/);
    await local.waitForRequest((entry) => entry.kind === 'cancel' && entry.tempUploadId === chunk.tempUploadId);
    assert.equal(local.getTempUpload(chunk.tempUploadId!)?.state, 'cancelled');
    assert.deepEqual(local.listTempUploads().filter((upload) => upload.state === 'complete'), []);
    assertNoSecret(result, TOKEN);
  });

  test('the emulator command serves uploads until Ctrl+C; its endpoint and token work for upload', async (t) => {
    const emulatorToken = 'tok-emulator-command-A1b2C3';
    const server = spawnCli(['emulator', '--port', '0', '--token', emulatorToken], { keepStdinOpen: true });
    t.after(() => server.child.kill('SIGKILL'));
    const banner = await new Promise<string>((resolve, reject) => {
      let text = '';
      server.child.stdout!.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
        if (text.includes('Press Ctrl+C to stop.')) resolve(text);
      });
      server.child.on('exit', () => reject(new Error(`the emulator exited early: ${text}`)));
    });
    const endpoint = /REDIVIS_API_ENDPOINT=(\S+)/.exec(banner)?.[1];
    assert.ok(endpoint, banner);
    assert.match(banner, new RegExp(`REDIVIS_API_TOKEN=${emulatorToken}`));
    const data = randomBytes(10_000, SEED + 5);
    const result = await runCli(['upload', '-', '--table', TABLE, '--name', 'served.csv', '--json', '--no-wait'], {
      env: childEnv({ REDIVIS_API_ENDPOINT: endpoint, REDIVIS_API_TOKEN: emulatorToken }),
      stdin: data,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(onlyJson(result).bytes, data.length);
    assertNoSecret(result, emulatorToken);
    server.child.kill('SIGINT');
    const stopped = await server.done;
    assert.equal(stopped.code, 0, stopped.stderr);
  });

  test('the emulator command rehearses failures: known tables only, a read-only token, an import that fails', async (t) => {
    const server = spawnCli(
      ['emulator', '--table', 'demo.survey:next.visits', '--file-index-table', 'demo.survey:next.scans', '--read-only-token', 'tok-reader-1a2b', '--fail-upload', 'bad.csv=Expected 4 columns, found 5'],
      { keepStdinOpen: true },
    );
    t.after(() => server.child.kill('SIGKILL'));
    const banner = await new Promise<string>((resolve, reject) => {
      let text = '';
      server.child.stdout!.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
        if (text.includes('Press Ctrl+C to stop.')) resolve(text);
      });
      server.child.on('exit', () => reject(new Error(`the emulator exited early: ${text}`)));
    });
    const endpoint = /REDIVIS_API_ENDPOINT=(\S+)/.exec(banner)![1]!;
    const token = /REDIVIS_API_TOKEN=(\S+)/.exec(banner)![1]!;
    assert.match(banner, /read-only token \(every write answers 403\): tok-reader-1a2b\n/);
    assert.match(banner, /tables \(every other one answers 404\): demo\.survey:next\.visits, demo\.survey:next\.scans \(file index\)\n/);
    const as = (value: string) => childEnv({ REDIVIS_API_ENDPOINT: endpoint, REDIVIS_API_TOKEN: value });
    const scans = join(dir, 'scans');
    await mkdir(scans, { recursive: true });
    await writeFile(join(scans, 'scan-1.png'), randomBytes(2_000, SEED + 30));
    const [readOnly, unknown, failing, files] = await Promise.all([
      runCli(['upload', '-', '--table', 'demo.survey:next.visits', '--name', 'ro.csv', '--json'], { env: as('tok-reader-1a2b'), stdin: Buffer.from('a\n1\n') }),
      runCli(['upload', '-', '--table', 'demo.survey:next.other', '--name', 'x.csv', '--json'], { env: as(token), stdin: Buffer.from('a\n1\n') }),
      runCli(['upload', '-', '--table', 'demo.survey:next.visits', '--name', 'bad.csv', '--json'], { env: as(token), stdin: Buffer.from('a,b\n1,2,3\n') }),
      runCli(['add-files', scans, '--table', 'demo.survey:next.scans', '--json'], { env: as(token) }),
    ]);
    assert.match(JSON.stringify(onlyJson(readOnly)), /"code":"ERR_API".*HTTP 403 \(insufficient_scope/);
    assert.match(readOnly.stderr, /\(the token needs the data\.edit scope and edit access to the dataset\)\n$/);
    assert.match(JSON.stringify(onlyJson(unknown)), /"code":"ERR_API".*HTTP 404/);
    assert.match(unknown.stderr, /\(check --table: owner, dataset and table must exist, on the :next version\)\n$/);
    assert.deepEqual(onlyJson(failing), { error: { code: 'ERR_UPLOAD_FAILED', message: 'The upload failed on Redivis: Expected 4 columns, found 5 [ERR_UPLOAD_FAILED]' } });
    assert.equal(files.code, 0, files.stderr);
    server.child.kill('SIGINT');
    assert.equal((await server.done).code, 0);
  });
});
