/**
 * Micro-benchmarks with mitata: the upload stream's ReplayBuffer (push / release) against stream-chunker and two Buffer.concat
 * strategies, cutting writes into chunks; and the running checksums. Reports GB/s (10^9 bytes/s) from the median
 * iteration, prints a table and writes benchmarks/results/micro.{json,md}.
 *
 * `node build/benchmarks/micro.js [--quick] [--only <regex>] [--out <dir>]`
 * @module
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CRC32C } from '@google-cloud/storage';
import { do_not_optimize, measure } from 'mitata';
import chunker from 'stream-chunker';
import { ReplayBuffer } from '../src/upload/replay-buffer.js';
import { RunningChecksums } from '../src/upload/checksums.js';
import { ROOT } from './args.js';
import { binarySize, pad } from './format.js';
import { KiB, MiB } from './protocol.js';
import { makePattern, slice } from './source.js';

interface MicroResult {
  group: 'chunking' | 'checksums';
  name: string;
  writeSize: number;
  chunkSize?: number;
  /** Bytes processed per iteration. */
  bytes: number;
  /** Writes (or updates) per iteration. */
  writes: number;
  /** Median time per iteration, ns. */
  p50: number;
  min: number;
  max: number;
  gbps: number;
}

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyIndex = args.indexOf('--only');
const only = onlyIndex >= 0 ? new RegExp(args[onlyIndex + 1] ?? '') : undefined;
const outIndex = args.indexOf('--out');
const outDir = outIndex >= 0 ? args[outIndex + 1]! : join(ROOT, 'benchmarks', 'results');
const MEASURE = quick ? { min_cpu_time: 150e6, min_samples: 4 } : { min_samples: 8 };
const BASE_TOTAL = 64 * MiB;

const pattern = makePattern();

/** Distinct buffers of `writeSize` adding up to `total`, made once so allocation stays out of the measurement. */
function writesOf(writeSize: number, total: number): Buffer[] {
  return Array.from({ length: Math.ceil(total / writeSize) }, (_, i) => slice(pattern, i * writeSize, Math.min(writeSize, total - i * writeSize)));
}

/** What a consumer does with a chunk: look at it, as a request body would. */
function consume(views: unknown): void {
  do_not_optimize(views);
}

/** The upload stream's intake: each write copied once into recycled slabs, released a chunk at a time. */
function replayBuffer(writes: Buffer[], chunkSize: number): void {
  const buffer = new ReplayBuffer({ startOffset: 0, memoryLimit: 2 * chunkSize, spill: undefined, checksums: { crc32c: false, md5: false }, onRoom: () => undefined });
  for (const write of writes) {
    buffer.push(write);
    if (buffer.available - buffer.retainedFrom >= chunkSize) buffer.release(buffer.retainedFrom + chunkSize);
  }
  consume(buffer.available);
}

function concatPerWrite(writes: Buffer[], chunkSize: number): void {
  let pending = Buffer.alloc(0);
  for (const write of writes) {
    pending = Buffer.concat([pending, write]);
    while (pending.length >= chunkSize) {
      consume(pending.subarray(0, chunkSize));
      pending = pending.subarray(chunkSize);
    }
  }
  if (pending.length > 0) consume(pending);
}

function concatPerChunk(writes: Buffer[], chunkSize: number): void {
  let list: Buffer[] = [];
  let bytes = 0;
  for (const write of writes) {
    list.push(write);
    bytes += write.length;
    if (bytes >= chunkSize) {
      const joined = Buffer.concat(list, bytes);
      let at = 0;
      for (; at + chunkSize <= joined.length; at += chunkSize) consume(joined.subarray(at, at + chunkSize));
      list = at < joined.length ? [joined.subarray(at)] : [];
      bytes = joined.length - at;
    }
  }
  if (bytes > 0) consume(Buffer.concat(list, bytes));
}

function streamChunker(writes: Buffer[], chunkSize: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const transform = chunker(chunkSize, { flush: true });
    transform.on('data', (chunk: Buffer) => consume(chunk));
    transform.on('end', resolve);
    transform.on('error', reject);
    let i = 0;
    const pump = (): void => {
      while (i < writes.length) {
        if (!transform.write(writes[i++])) {
          transform.once('drain', pump);
          return;
        }
      }
      transform.end();
    };
    pump();
  });
}

async function record(result: Omit<MicroResult, 'p50' | 'min' | 'max' | 'gbps'>, fn: () => unknown): Promise<MicroResult | undefined> {
  const label = `${result.group} ${result.name} w${binarySize(result.writeSize)}${result.chunkSize ? ` c${binarySize(result.chunkSize)}` : ''}`;
  if (only && !only.test(label)) return undefined;
  const stats = await measure(fn, MEASURE);
  const out: MicroResult = { ...result, p50: stats.p50, min: stats.min, max: stats.max, gbps: result.bytes / stats.p50 };
  console.log(
    `${pad(result.name, 26)} ${pad(binarySize(result.writeSize), 8, true)} writes ${result.chunkSize ? `${pad(binarySize(result.chunkSize), 8, true)} chunks` : pad('', 15)} ` +
      `${pad(out.gbps.toFixed(2), 9, true)} GB/s ${pad((stats.p50 / result.writes).toFixed(0), 9, true)} ns/write  (${(stats.p50 / 1e6).toFixed(2)} ms per ${binarySize(result.bytes)})`,
  );
  return out;
}

async function main(): Promise<void> {
  const results: MicroResult[] = [];
  const keep = (r: MicroResult | undefined) => r && results.push(r);

  console.log('Cutting writes into chunks (GB/s of input):');
  for (const chunkSize of [256 * KiB, 8 * MiB]) {
    for (const writeSize of [16 * KiB, MiB]) {
      // The concatenating strategies copy about chunk/write times per byte: smaller totals keep them measurable.
      const copies = Math.max(1, chunkSize / writeSize / 16);
      const quadraticTotal = Math.max(chunkSize, Math.floor(BASE_TOTAL / copies / chunkSize) * chunkSize);
      const fast = writesOf(writeSize, BASE_TOTAL);
      const slow = quadraticTotal === BASE_TOTAL ? fast : writesOf(writeSize, quadraticTotal);
      const base = { group: 'chunking' as const, writeSize, chunkSize };
      const many = { bytes: BASE_TOTAL, writes: fast.length };
      const few = { bytes: quadraticTotal, writes: slow.length };
      keep(await record({ ...base, ...many, name: 'ReplayBuffer push/release' }, () => replayBuffer(fast, chunkSize)));
      keep(await record({ ...base, ...many, name: 'Buffer.concat per chunk' }, () => concatPerChunk(fast, chunkSize)));
      keep(await record({ ...base, ...few, name: 'Buffer.concat per write' }, () => concatPerWrite(slow, chunkSize)));
      keep(await record({ ...base, ...few, name: 'stream-chunker' }, () => streamChunker(slow, chunkSize)));
    }
  }

  console.log('\nRunning checksums (GB/s):');
  for (const writeSize of [16 * KiB, MiB]) {
    const writes = writesOf(writeSize, BASE_TOTAL);
    const base = { group: 'checksums' as const, writeSize, bytes: BASE_TOTAL, writes: writes.length };
    const run = (options: { crc32c: boolean; md5: boolean }) => () => {
      const sums = new RunningChecksums(options);
      for (const write of writes) sums.update(write);
      do_not_optimize(sums.digest());
    };
    keep(await record({ ...base, name: 'CRC32C (@node-rs/crc32)' }, run({ crc32c: true, md5: false })));
    keep(await record({ ...base, name: 'MD5 (node:crypto)' }, run({ crc32c: false, md5: true })));
    keep(await record({ ...base, name: 'CRC32C + MD5' }, run({ crc32c: true, md5: true })));
    const peerWrites = writes.slice(0, Math.max(1, (8 * MiB) / writeSize));
    keep(
      await record({ ...base, bytes: 8 * MiB, writes: peerWrites.length, name: "the peer's pure-JS CRC32C" }, () => {
        const crc = new CRC32C();
        for (const write of peerWrites) crc.update(write);
        do_not_optimize(crc.toString());
      }),
    );
  }

  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'micro.json'), `${JSON.stringify({ date: new Date().toISOString(), node: process.version, results }, null, 2)}\n`);
  const rows = results.map(
    (r) =>
      `| ${r.group} | ${r.name} | ${binarySize(r.writeSize)} | ${r.chunkSize ? binarySize(r.chunkSize) : '–'} | ${r.gbps.toFixed(2)} | ` +
      `${(r.p50 / r.writes).toFixed(0)} | ${(r.p50 / 1e6).toFixed(2)} ms / ${binarySize(r.bytes)} |`,
  );
  const markdown = [
    '# Micro-benchmarks',
    '',
    `Run ${new Date().toISOString()} on Node ${process.version} with mitata; GB/s = 10^9 bytes/s from the median iteration. ` +
      'Writes are distinct pre-made buffers; the consumer only looks at each chunk (as a request body would). ' +
      'The ReplayBuffer copies each write once into recycled slabs: its GB/s is that copy plus its bookkeeping per write.',
    '',
    '| group | what | write | chunk | GB/s | ns per write | median iteration |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
  await writeFile(join(outDir, 'micro.md'), markdown);
  console.log(`\nWrote ${join(outDir, 'micro.json')} and micro.md.`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
