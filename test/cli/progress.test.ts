import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import { startEmulator } from '../../src/emulator/index.js';
import type { Emulator } from '../../src/emulator/types.js';
import { RateMeter } from '../../src/cli/progress.js';
import { guardedStdin } from '../../src/cli/stdin.js';
import { chunkedSource, md5Hex, randomBytes, runSeed } from '../support/data.js';
import { assertNoSecret, lines, onlyJson, runInProcess, TOKEN } from './helpers.js';

const TABLE = 'demo.survey:next.visits';
const SEED = runSeed();

let emu: Emulator;
before(async () => {
  emu = await startEmulator({ token: TOKEN });
});
after(() => emu.close());

test('on a terminal, stderr shows a live bar with bytes, rate and retries, and stdout the summary', async () => {
  const data = randomBytes(1_100_000, SEED);
  // One refused API call, so the client retries once and the bar counts it.
  emu.injectFault({ match: { kind: 'api' }, fault: { kind: 'status', status: 503 } });
  const result = await runInProcess(['upload', '-', '--table', TABLE, '--name', 'live.csv', '--chunk-size', '0.25', '--debug', '--no-wait'], {
    env: { REDIVIS_API_ENDPOINT: emu.apiEndpoint, REDIVIS_API_TOKEN: TOKEN },
    stdin: chunkedSource(data, [65_536, 100_000, 7]),
    ttyStderr: true,
  });
  assert.equal(result.code, 0, `seed ${SEED}: ${result.stderr}`);
  assert.match(result.stderr, /uploading \| 0 B \| 0 B\/s \| 0:00 \| 0 retries/);
  assert.match(result.stderr, /\| 1\.0 MiB \/ 1\.0 MiB \| [\d.]+ [KM]iB\/s \| .* \| 1 retry/);
  // --debug logs the retry above the bar.
  assert.match(result.stderr, /retry 1 of HEAD \/tables\/.* in \d+ ms: .*HTTP 503/);
  // The cursor is hidden while the bar runs and shown again at the end.
  assert.ok(result.stderr.includes('\x1b[?25l') && result.stderr.includes('\x1b[?25h'));
  assert.equal(lines(result.stdout).length, 1);
  assert.match(result.stdout, /^Uploaded "live\.csv" into demo\.survey:next\.visits: queued, not waiting for processing; 1\.0 MiB sent in .*, 1 retry\.\n$/);
  const stored = emu.listTempUploads().find((upload) => upload.name.startsWith('live.csv'));
  assert.equal(stored?.final?.md5Hex, md5Hex(data), `seed ${SEED}`);
  assertNoSecret(result, TOKEN);
});

test('on a terminal, add-files shows files done out of the total', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'redivis-upload-cli-progress-'));
  try {
    for (const name of ['one.txt', 'two.txt', 'three.txt']) await writeFile(join(dir, name), randomBytes(20_000, SEED + name.length));
    const result = await runInProcess(['add-files', dir, '--table', 'demo.survey:next.documents'], {
      env: { REDIVIS_API_ENDPOINT: emu.apiEndpoint, REDIVIS_API_TOKEN: TOKEN },
      ttyStderr: true,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /adding [█░]{24} \d+% \| [0-3]\/3 files added \| .* \/ 58\.6 KiB \|/);
    assert.match(result.stdout, /^Added 3 files \(58\.6 KiB\) to demo\.survey:next\.documents in /);
    assertNoSecret(result, TOKEN);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the rate follows the last seconds of the transfer', () => {
  let now = 0;
  const meter = new RateMeter(() => now);
  assert.equal(meter.bytesPerSecond, 0);
  now = 1000;
  meter.record(1000);
  assert.equal(meter.bytesPerSecond, 1000);
  // A burst long ago no longer counts once it is out of the window.
  for (let second = 2; second <= 12; second++) {
    now = second * 1000;
    meter.record(1000 + (second - 1) * 100);
  }
  assert.equal(Math.round(meter.bytesPerSecond), 100);
  assert.equal(meter.elapsedMs, 12_000);
});

test('an interruption that arrives with the end of standard input fails the source instead of ending it', async () => {
  const controller = new AbortController();
  const source = Readable.from([Buffer.from('partial,row\n')]);
  const guarded = guardedStdin(source, controller.signal);
  // As when Ctrl+C kills the producer of a pipe: its end of data and our SIGINT arrive together.
  source.on('end', () => controller.abort(new Error('interrupted by SIGINT')));
  let ended = false;
  guarded.on('end', () => (ended = true));
  guarded.resume();
  const [error] = (await once(guarded, 'error')) as [Error];
  assert.equal(error.message, 'interrupted by SIGINT');
  assert.equal(ended, false);

  const clean = guardedStdin(Readable.from([Buffer.from('a\n'), Buffer.from('b\n')]), new AbortController().signal);
  const chunks: Buffer[] = [];
  for await (const chunk of clean) chunks.push(chunk as Buffer);
  assert.equal(Buffer.concat(chunks).toString(), 'a\nb\n');
});

test('on a terminal each retry shows its reason; an unreachable endpoint is named with REDIVIS_API_ENDPOINT', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'redivis-upload-cli-unreachable-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'visits.csv');
  await writeFile(path, 'a,b\n1,2\n');
  const endpoint = 'http://127.0.0.1:1/api/v1';
  const started = performance.now();
  const result = await runInProcess(['upload', path, '--table', TABLE, '--retries', '1'], {
    env: { REDIVIS_API_ENDPOINT: endpoint, REDIVIS_API_TOKEN: TOKEN },
    ttyStderr: true,
  });
  assert.equal(result.code, 1);
  assert.ok(performance.now() - started < 30_000, '--retries 1 gives up after one retry');
  assert.match(result.stderr, /retrying in \d+(\.\d)? s: connection refused by 127\.0\.0\.1:1\n/);
  const last = lines(result.stderr).pop()!;
  assert.match(last, /failed after 2 attempts: .*ECONNREFUSED.*\[ERR_RETRIES_EXHAUSTED; caused by ERR_NETWORK; caused by ECONNREFUSED\]/);
  assert.match(last, /\(is REDIVIS_API_ENDPOINT right\? It is http:\/\/127\.0\.0\.1:1\/api\/v1\)$/);
  assertNoSecret(result, TOKEN);

  const plain = await runInProcess(['--retries', '0', 'upload', path, '--table', TABLE], { env: { REDIVIS_API_ENDPOINT: endpoint, REDIVIS_API_TOKEN: TOKEN } });
  assert.equal(plain.code, 1);
  assert.equal(lines(plain.stderr).length, 1, plain.stderr);
  assert.match(plain.stderr, /failed after 1 attempts: .*\(is REDIVIS_API_ENDPOINT right\? It is http:\/\/127\.0\.0\.1:1\/api\/v1\)\n$/);
});

test('a request that gets no answer within --request-timeout is retried with that reason', async (t) => {
  const stalling = await startEmulator({ token: TOKEN, faults: [{ match: { kind: 'api', nth: 1 }, fault: { kind: 'stall', ms: 5_000 } }] });
  t.after(() => stalling.close());
  const result = await runInProcess(['upload', '-', '--table', TABLE, '--name', 'slow.csv', '--request-timeout', '0.3', '--no-wait'], {
    env: { REDIVIS_API_ENDPOINT: stalling.apiEndpoint, REDIVIS_API_TOKEN: TOKEN },
    stdin: Readable.from([Buffer.from('a\n1\n')]),
    ttyStderr: true,
  });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /retrying in [\d.]+ s: no answer from 127\.0\.0\.1:\d+ within 0\.3 s \(--request-timeout\)\n/);
  assert.match(result.stdout, /1 retry\.\n$/);
});

test('Ctrl+C on a terminal ends the bar, says the upload is being cancelled, and exits 130 saying it was', async (t) => {
  const data = randomBytes(300_000, SEED + 9);
  // Standard input that never ends: the upload is under way when the interruption comes.
  const stdin = new PassThrough();
  t.after(() => stdin.destroy());
  stdin.write(data);
  const ours = (id: string | undefined) => id !== undefined && emu.getTempUpload(id)?.name.startsWith('interrupted.csv') === true;
  const waiting = emu.waitForRequest((entry) => entry.kind === 'chunk' && entry.status === 308 && ours(entry.tempUploadId));
  const running = runInProcess(['upload', '-', '--table', TABLE, '--name', 'interrupted.csv', '--chunk-size', '0.25'], {
    env: { REDIVIS_API_ENDPOINT: emu.apiEndpoint, REDIVIS_API_TOKEN: TOKEN },
    stdin,
    ttyStderr: true,
  });
  const chunk = await waiting;
  process.emit('SIGINT');
  const result = await running;
  assert.equal(result.code, 130, result.stderr);
  const cancelling = result.stderr.search(/redivis-upload: Ctrl\+C \(SIGINT\): cancelling the upload( at [\d.]+ [KM]iB)?\.\.\. \(press Ctrl\+C again to exit at once\)\n/);
  assert.ok(cancelling > 0, result.stderr);
  // The bar was removed (cursor shown, line cleared) before the line, and is not drawn again after it.
  const before = result.stderr.slice(0, cancelling);
  assert.ok(before.lastIndexOf('\x1b[?25h') > before.lastIndexOf('uploading'), JSON.stringify(before.slice(-200)));
  assert.ok(before.endsWith('\x1b[2K'), JSON.stringify(before.slice(-40)));
  const after = result.stderr.slice(cancelling);
  assert.doesNotMatch(after, /uploading/);
  assert.match(after, /\nredivis-upload: The upload was cancelled by Ctrl\+C \(SIGINT\) \[ERR_ABORTED\]\n$/);
  assert.equal(result.stdout, '');
  await emu.waitForRequest((entry) => entry.kind === 'cancel' && entry.tempUploadId === chunk.tempUploadId);
  assert.equal(emu.getTempUpload(chunk.tempUploadId!)?.state, 'cancelled');
});

test('add-files: --exclude and the default skips leave files out, an empty folder fails, a refused token stops with one line', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'redivis-upload-cli-skips-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const tree = join(dir, 'tree');
  await mkdir(join(tree, '.git'), { recursive: true });
  await mkdir(join(tree, 'raw'), { recursive: true });
  const keep = randomBytes(1_000, SEED + 20);
  await writeFile(join(tree, 'keep.csv'), keep);
  await writeFile(join(tree, 'scratch.tmp'), 'x');
  await writeFile(join(tree, 'raw', 'old.csv'), 'y');
  await writeFile(join(tree, '.git', 'HEAD'), 'ref: x');
  await writeFile(join(tree, '.DS_Store'), 'z');
  const env = { REDIVIS_API_ENDPOINT: emu.apiEndpoint, REDIVIS_API_TOKEN: TOKEN };
  const fileTable = 'demo.survey:next.skips';

  const added = await runInProcess(['add-files', tree, '--table', fileTable, '--exclude', '*.tmp', '--exclude', 'raw/**', '--json'], { env });
  assert.equal(added.code, 0, added.stderr);
  const json = onlyJson(added) as { added: Array<{ name: string; md5Hash: string }>; skipped: Array<{ name: string; reason: string; pattern?: string }> };
  assert.deepEqual(json.added.map((file) => file.name), ['keep.csv']);
  assert.equal(emu.listRawFiles().find((file) => file.table === fileTable && file.name === 'keep.csv')?.md5Hex, md5Hex(keep), `seed ${SEED}`);
  const reasons = Object.fromEntries(json.skipped.map((entry) => [entry.name, entry.reason]));
  assert.equal(reasons['.git/'], 'default-excluded');
  assert.equal(reasons['.DS_Store'], 'default-excluded');
  assert.equal(reasons['scratch.tmp'], 'excluded');

  const plain = await runInProcess(['add-files', tree, '--table', 'demo.survey:next.skips2', '--exclude', '*.tmp'], { env });
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(plain.stdout, /^Added 2 files \(1001 B\) .*; 3 entries skipped \(\.DS_Store, \.git\/: skipped by default; scratch\.tmp: --exclude \*\.tmp\)\.\n$/);

  const empty = join(dir, 'empty');
  await mkdir(join(empty, '.git'), { recursive: true });
  const none = await runInProcess(['add-files', empty, '--table', fileTable], { env });
  assert.equal(none.code, 1);
  assert.equal(none.stdout, '');
  assert.match(none.stderr, /^redivis-upload: found no files to add in ".*empty" \(1 entry skipped: \.git\/: skipped by default\); nothing was sent\n$/);

  const many = join(dir, 'many');
  await mkdir(many);
  for (let i = 0; i < 30; i++) await writeFile(join(many, `f${i}.txt`), String(i));
  const refused = await runInProcess(['add-files', many, '--table', fileTable], { env: { ...env, REDIVIS_API_TOKEN: 'tok-refused-9z8y7x' } });
  assert.equal(refused.code, 1);
  assert.equal(lines(refused.stderr).length, 1, refused.stderr);
  assert.match(refused.stderr, /HTTP 401 .*\[ERR_API\] \(check REDIVIS_API_TOKEN: the API refused it\)\n$/);
  assertNoSecret(refused, 'tok-refused-9z8y7x');
});

test('upload --from lets Redivis pull the data; --on-conflict skip sends nothing for a name that exists; a bad address is a usage error', async () => {
  const env = { REDIVIS_API_ENDPOINT: emu.apiEndpoint, REDIVIS_API_TOKEN: TOKEN };
  const pulled = await runInProcess(['upload', '--from', 'gs://research-bucket/exports/visits.csv', '--table', TABLE, '--identity', 'me@example.com'], { env });
  assert.equal(pulled.code, 0, pulled.stderr);
  assert.match(pulled.stdout, /^Uploaded "visits\.csv" into demo\.survey:next\.visits: completed; transferred by Redivis from gs:\/\/research-bucket\/exports\/visits\.csv, /);
  assert.deepEqual(emu.getUpload(TABLE, 'visits.csv')?.options.transferSpecification, { sourceType: 'gcs', sourcePath: 'research-bucket/exports/visits.csv', identity: 'me@example.com' });
  const before = emu.requestLog().length;
  const skipped = await runInProcess(['upload', '-', '--table', TABLE, '--name', 'visits.csv', '--on-conflict', 'skip'], { env, stdin: Readable.from([Buffer.from('a\n')]) });
  assert.equal(skipped.code, 0, skipped.stderr);
  assert.equal(skipped.stdout, 'Skipped: "visits.csv" already exists in demo.survey:next.visits (--on-conflict skip); nothing was sent.\n');
  assert.equal(emu.requestLog().slice(before).filter((entry) => entry.kind !== 'api').length, 0);
  for (const [args, pattern] of [
    [['upload', '--from', 'ftp://x/y', '--table', TABLE], /^redivis-upload: invalid --from: expected a gs:\/\/, s3:\/\/ or http\(s\):\/\/ address/],
    [['upload', 'a.csv', '--from', 'gs://b/p', '--table', TABLE], /takes no <path\|->, received "a\.csv"/],
    [['upload', 'a.csv', '--identity', 'me@example.com', '--table', TABLE], /--identity goes with --from/],
  ] as const) {
    const refused = await runInProcess([...args], { env });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, pattern);
  }
});
