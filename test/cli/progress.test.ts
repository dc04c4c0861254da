import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { startEmulator } from '../../src/emulator/index.js';
import type { Emulator } from '../../src/emulator/types.js';
import { RateMeter } from '../../src/cli/progress.js';
import { guardedStdin } from '../../src/cli/stdin.js';
import { chunkedSource, md5Hex, randomBytes, runSeed } from '../support/data.js';
import { assertNoSecret, lines, runInProcess, TOKEN } from './helpers.js';

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
    assert.match(result.stderr, /adding [█░]{24} \d+% \| [0-3]\/3 files \| .* \/ 58\.6 KiB \|/);
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
