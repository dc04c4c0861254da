import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { runDemo } from '../../src/cli/demo.js';
import { run } from '../../src/cli/run.js';
import { collector } from './helpers.js';

test('the demo says what it injected and what each fault cost: the lost Range header a status query, not a retry', async () => {
  const out = collector();
  const summary = await runDemo({ csvBytes: 40_000_000, chunkSize: 256 * 1024, out });
  assert.equal(summary.ok, true, out.text());
  assert.equal(summary.retries, 3, out.text());
  const text = out.text();
  assert.match(text, /^Emulator running at http:\/\/127\.0\.0\.1:\d+\/api\/v1, injecting 4 faults: a 503 .*; a connection reset .*; a 429 .*; a lost Range header on the 10th chunk\.\n/);
  assert.match(text, /\n {2}a 503 after 1 MB of the 3rd chunk: 1 retry after waiting [\d.]+ s.*, [\d.]+ [KM]?i?B sent again\n/);
  assert.match(text, /\n {2}a 429 with Retry-After: 1 on the 8th chunk: 1 retry after waiting 1\.00 s/);
  assert.match(text, /\n {2}a lost Range header on the 10th chunk: no retry; a status query \(bytes \*\/\*\) confirmed what the server held, 0 B sent again\n/);
  assert.match(text, /\nIn all: 3 retries \([\d.]+ s of waiting\), \d+ status quer(y|ies), .* sent for .* stored \(.* sent again\)\./);
  assert.match(text, /: MATCH\. CRC32C /);
});

test('Ctrl+C during the demo removes the bar and says the demo was cancelled', async () => {
  const stdout = collector(true);
  const stderr = collector();
  const running = run(['demo', '--csv-bytes', '200000000'], { stdin: Readable.from([]), stdout, stderr, env: {} });
  // Once the bar is drawn the upload is under way.
  await new Promise<void>((resolve) => {
    const check = () => {
      if (!stdout.text().includes('uploading')) return;
      stdout.off('data', check);
      resolve();
    };
    stdout.on('data', check);
  });
  process.emit('SIGINT');
  assert.equal(await running, 130);
  assert.equal(stderr.text(), 'redivis-upload: the demo was cancelled by Ctrl+C (SIGINT)\n');
  const shown = stdout.text();
  assert.ok(shown.lastIndexOf('\x1b[?25h') > shown.lastIndexOf('uploading'), 'the cursor is shown again after the last frame of the bar');
});
