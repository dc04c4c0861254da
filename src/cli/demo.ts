/**
 * The quick-start demo: an embedded emulator with injected faults, a CSV generated on the fly, gzip, and the
 * upload stream; it ends by proving the stored bytes hash-equal what was sent.
 * @module
 */
import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { RedivisClient } from '../client/redivis-client.js';
import { startEmulator } from '../emulator/index.js';
import { createTempUploadStream, type UploadProgress, type UploadRetry } from '../upload/temp-upload-stream.js';
import { formatBytes, formatRate } from './format.js';
import type { OutStream } from './output.js';
import { ProgressDisplay } from './progress.js';

export interface DemoOptions {
  /** Bytes of CSV to generate before compression. @default 300_000_000 */
  csvBytes?: number;
  /** Where to write human-readable lines. @default process.stdout */
  out?: NodeJS.WritableStream;
}

/** Rows of a plausible research table, generated in batches so the generator is not the bottleneck. */
export function generateCsv(totalBytes: number, seed = 20261125): Readable {
  let produced = 0;
  let row = 0;
  let state = seed >>> 0;
  const random = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  const regions = ['north', 'south', 'east', 'west', 'central'];
  return new Readable({
    highWaterMark: 1 << 20,
    read() {
      if (produced >= totalBytes) {
        this.push(null);
        return;
      }
      let batch = row === 0 ? 'id,visit_date,region,age,weight_kg,systolic_bp,score\n' : '';
      while (batch.length < 256 * 1024) {
        row += 1;
        const day = 1 + (row % 28);
        batch += `${row},2025-${String(1 + (row % 12)).padStart(2, '0')}-${String(day).padStart(2, '0')},${regions[row % 5]},${18 + Math.floor(random() * 70)},${(45 + random() * 60).toFixed(1)},${90 + Math.floor(random() * 70)},${random().toFixed(6)}\n`;
      }
      let chunk = Buffer.from(batch);
      if (produced + chunk.length > totalBytes) chunk = chunk.subarray(0, totalBytes - produced);
      produced += chunk.length;
      this.push(chunk);
    },
  });
}

/** Runs the demo and resolves with its summary. */
export async function runDemo(options: DemoOptions = {}): Promise<{ ok: boolean; size: number; retries: number }> {
  const out = options.out ?? process.stdout;
  const csvBytes = options.csvBytes ?? 300_000_000;
  const say = (line: string) => out.write(`${line}\n`);
  const faults = [
    { match: { kind: 'chunk' as const, nth: 3 }, fault: { kind: 'status' as const, status: 503 as const, afterBytes: 1_000_000 } },
    { match: { kind: 'chunk' as const, nth: 6 }, fault: { kind: 'reset' as const, afterBytes: 3_000_000 } },
    { match: { kind: 'chunk' as const, nth: 8 }, fault: { kind: 'status' as const, status: 429 as const, retryAfter: '1' } },
    { match: { kind: 'chunk' as const, nth: 10 }, fault: { kind: 'omitRange' as const } },
  ];
  const emulator = await startEmulator({ faults });
  try {
    say(`Emulator running at ${emulator.apiEndpoint} with ${faults.length} injected faults (a 503 mid-chunk, a connection reset, a 429, a lost Range header).`);
    say(`Generating ${formatBytes(csvBytes)} of CSV on the fly | gzip | createTempUploadStream ...`);
    const client = new RedivisClient({
      apiEndpoint: emulator.apiEndpoint,
      apiToken: emulator.token,
      retry: { initialDelayMs: 50, maxDelayMs: 1_000 },
    });
    const upload = createTempUploadStream({ client, table: 'demo.health_survey:next.visits', name: 'visits.csv.gz' });
    const localHash = createHash('md5');
    const tee = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        localHash.update(chunk);
        callback(null, chunk);
      },
    });
    const interactive = (out as OutStream).isTTY === true;
    // On a terminal the shared progress bar; elsewhere a line every two seconds.
    const display = new ProgressDisplay(out as OutStream, { phase: 'uploading' });
    let retries = 0;
    upload.on('retry', (retry: UploadRetry) => {
      retries += 1;
      display.retried();
      display.log(`  retry ${retry.attempt} in ${retry.delayMs} ms after: ${retry.error.message}`);
    });
    const started = performance.now();
    let lastPrinted = 0;
    upload.on('progress', (progress: UploadProgress) => {
      display.update({ bytesConfirmed: progress.bytesConfirmed });
      const now = performance.now();
      if (interactive || now - lastPrinted < 2000) return;
      lastPrinted = now;
      say(`  ${formatBytes(progress.bytesConfirmed)} confirmed by the server, ${formatRate(progress.bytesConfirmed, now - started)}`);
    });
    try {
      await pipeline(generateCsv(csvBytes), createGzip(), tee, upload);
    } finally {
      display.stop();
    }
    const seconds = (performance.now() - started) / 1000;
    const result = upload.result!;
    const stored = emulator.getTempUpload(result.tempUploadId!)!;
    const localMd5 = localHash.digest('hex');
    const ok = stored.final?.md5Hex === localMd5 && stored.final.size === result.size;
    say(`Uploaded ${formatBytes(result.size)} of gzip (from ${formatBytes(csvBytes)} of CSV) in ${seconds.toFixed(1)} s, ${formatRate(result.size, seconds * 1000)} after compression.`);
    say(`Retries: ${retries}. Temp upload id: ${result.tempUploadId}.`);
    say(`MD5 sent ${localMd5}, stored ${stored.final?.md5Hex}: ${ok ? 'MATCH' : 'MISMATCH'}. CRC32C ${result.crc32c}.`);
    return { ok, size: result.size, retries };
  } finally {
    await emulator.close();
  }
}
