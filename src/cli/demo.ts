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
import { startEmulator, type FaultRule, type RequestLogEntry } from '../emulator/index.js';
import { createTempUploadStream, type UploadProgress, type UploadRetry } from '../upload/temp-upload-stream.js';
import { formatBytes, formatRate } from './format.js';
import type { OutStream } from './output.js';
import { ProgressDisplay } from './progress.js';

export interface DemoOptions {
  /** Bytes of CSV to generate before compression. @default 300_000_000 */
  csvBytes?: number;
  /** Where to write human-readable lines. @default process.stdout */
  out?: NodeJS.WritableStream;
  /** Bytes per chunk of the upload. @default the stream's (8 MiB) */
  chunkSize?: number;
  /** Stops the demo (the upload is cancelled). @default none */
  signal?: AbortSignal;
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

/** A fault the demo injects, and how it says it. */
interface DemoFault {
  rule: FaultRule;
  what: string;
}

const DEMO_FAULTS: DemoFault[] = [
  { rule: { match: { kind: 'chunk', nth: 3 }, fault: { kind: 'status', status: 503, afterBytes: 1_000_000 } }, what: 'a 503 after 1 MB of the 3rd chunk' },
  { rule: { match: { kind: 'chunk', nth: 6 }, fault: { kind: 'reset', afterBytes: 3_000_000 } }, what: 'a connection reset after 3 MB of the 6th chunk' },
  { rule: { match: { kind: 'chunk', nth: 8 }, fault: { kind: 'status', status: 429, retryAfter: '1' } }, what: 'a 429 with Retry-After: 1 on the 8th chunk' },
  { rule: { match: { kind: 'chunk', nth: 10 }, fault: { kind: 'omitRange' } }, what: 'a lost Range header on the 10th chunk' },
];

/** First byte of a `Content-Range: bytes a-b/…` header, or undefined. */
function rangeStart(contentRange: string | undefined): number | undefined {
  const match = /^bytes (\d+)-\d+\//.exec(contentRange ?? '');
  return match ? Number(match[1]) : undefined;
}

/**
 * What each injected fault cost, read from the emulator's request log: the retry it caused (and the wait), the bytes
 * sent again, or, for a lost `Range`, the status query that confirmed what the server held instead of a retry.
 */
export function faultCosts(log: RequestLogEntry[], retries: UploadRetry[], faults: DemoFault[] = DEMO_FAULTS): string[] {
  const lines: string[] = [];
  let retryIndex = 0;
  const fired = log.filter((entry) => entry.fault !== undefined);
  faults.forEach((fault, i) => {
    const entry = fired[i];
    if (entry === undefined) {
      lines.push(`  ${fault.what}: not reached (the upload had fewer requests)`);
      return;
    }
    const at = log.indexOf(entry);
    const later = log.slice(at + 1);
    const nextData = later.find((next) => (next.kind === 'chunk' || next.kind === 'finalize') && rangeStart(next.contentRange) !== undefined);
    const queried = later.slice(0, nextData === undefined ? undefined : later.indexOf(nextData)).some((next) => next.kind === 'status');
    const start = rangeStart(entry.contentRange) ?? 0;
    const resent = nextData === undefined ? 0 : Math.max(0, start + entry.bytesReceived - rangeStart(nextData.contentRange)!);
    if (fault.rule.fault.kind === 'omitRange') {
      lines.push(`  ${fault.what}: no retry; a status query (bytes */*) confirmed what the server held, ${formatBytes(resent)} sent again`);
      return;
    }
    const retry = retries[retryIndex++];
    const waited = retry === undefined ? '' : ` after waiting ${(retry.delayMs / 1000).toFixed(2)} s`;
    lines.push(`  ${fault.what}: 1 retry${waited}${queried ? ', a status query' : ''}, ${formatBytes(resent)} sent again`);
  });
  return lines;
}

/** Runs the demo and resolves with its summary. */
export async function runDemo(options: DemoOptions = {}): Promise<{ ok: boolean; size: number; retries: number; report: string[] }> {
  const out = options.out ?? process.stdout;
  const csvBytes = options.csvBytes ?? 300_000_000;
  const report: string[] = [];
  const say = (line: string) => {
    report.push(line);
    out.write(`${line}\n`);
  };
  const emulator = await startEmulator({ faults: DEMO_FAULTS.map((fault) => fault.rule) });
  try {
    say(`Emulator running at ${emulator.apiEndpoint}, injecting ${DEMO_FAULTS.length} faults: ${DEMO_FAULTS.map((fault) => fault.what).join('; ')}.`);
    say(`Generating ${formatBytes(csvBytes)} of CSV on the fly | gzip | createTempUploadStream ...`);
    const client = new RedivisClient({
      apiEndpoint: emulator.apiEndpoint,
      apiToken: emulator.token,
      retry: { initialDelayMs: 50, maxDelayMs: 1_000 },
    });
    const upload = createTempUploadStream({
      client,
      table: 'demo.health_survey:next.visits',
      name: 'visits.csv.gz',
      ...(options.chunkSize === undefined ? {} : { chunkSize: options.chunkSize }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
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
    const retries: UploadRetry[] = [];
    upload.on('retry', (retry: UploadRetry) => {
      retries.push(retry);
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
      out.write(`  ${formatBytes(progress.bytesConfirmed)} confirmed by the server, ${formatRate(progress.bytesConfirmed, now - started)}\n`);
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
    const log = emulator.requestLog().filter((entry) => entry.tempUploadId === result.tempUploadId);
    const sent = log.filter((entry) => entry.kind === 'chunk' || entry.kind === 'finalize').reduce((sum, entry) => sum + entry.bytesReceived, 0);
    const statusQueries = log.filter((entry) => entry.kind === 'status').length;
    say(`Uploaded ${formatBytes(result.size)} of gzip (from ${formatBytes(csvBytes)} of CSV) in ${seconds.toFixed(1)} s, ${formatRate(result.size, seconds * 1000)} after compression.`);
    say('What each injected fault cost:');
    for (const line of faultCosts(log, retries)) say(line);
    const waited = retries.reduce((sum, retry) => sum + retry.delayMs, 0);
    say(
      `In all: ${retries.length} ${retries.length === 1 ? 'retry' : 'retries'} (${(waited / 1000).toFixed(2)} s of waiting), ${statusQueries} status ` +
        `${statusQueries === 1 ? 'query' : 'queries'}, ${formatBytes(sent)} sent for ${formatBytes(result.size)} stored (${formatBytes(Math.max(0, sent - result.size))} sent again). Temp upload id: ${result.tempUploadId}.`,
    );
    say(`MD5 sent ${localMd5}, stored ${stored.final?.md5Hex}: ${ok ? 'MATCH' : 'MISMATCH'}. CRC32C ${result.crc32c}.`);
    return { ok, size: result.size, retries: retries.length, report };
  } finally {
    await emulator.close();
  }
}
