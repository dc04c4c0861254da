/**
 * Rows per second into the emulator, both ways side by side: `createRowStream` (batches of `POST .../rows`, each
 * row visible at once) and `uploadRowsToTable` (rows as NDJSON through one resumable temp upload, then one
 * `ndjson` upload). Three row shapes: small (3 variables, ~50 B of JSON), medium (12, ~300 B) and wide (60,
 * ~2 KB). The emulator runs in its own process (`server.ts`, storage `discard`), the client here; rows are made
 * fresh for every write, as an ETL transform would.
 *
 * `node build/benchmarks/rows.js [--reps N] [--scale F] [--sweep [--rtt MS]]`: `--scale` multiplies the row counts
 * (0.2 for a smoke run); `--sweep` measures the row stream alone by batch size instead (what the defaults were
 * chosen from), with `--rtt` through a modelled link of that round trip and 100 Mbit/s (`link-proxy.ts`, in a
 * process of its own).
 * @module
 */
import { parseArgs } from 'node:util';
import { Agent } from 'undici';
import { RedivisClient } from '../src/client/redivis-client.js';
import { createRowStream } from '../src/flows/rows/row-stream.js';
import type { RowStreamOptions } from '../src/flows/rows/row-stream-options.js';
import type { RowVariable } from '../src/flows/rows/row-schema.js';
import { uploadRowsToTable } from '../src/flows/rows/upload-rows.js';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ServerProcess } from './processes.js';

const TABLE = 'bench.rows:next.events';

interface Shape {
  name: string;
  schema: RowVariable[];
  /** Rows per run at scale 1. */
  rows: number;
  make(index: number): Record<string, unknown>;
}

const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliett'];

function word(index: number, salt: number): string {
  return WORDS[(index * 7 + salt * 3) % WORDS.length]!;
}

function shape(name: string, variables: number, rows: number, textLength: number): Shape {
  const schema: RowVariable[] = [{ name: 'id', type: 'integer' }];
  for (let v = 1; v < variables; v++) {
    const type = (['string', 'float', 'integer', 'boolean', 'dateTime'] as const)[v % 5]!;
    schema.push({ name: `v${v}`, type });
  }
  return {
    name,
    schema,
    rows,
    make(index) {
      const row: Record<string, unknown> = { id: index };
      for (let v = 1; v < variables; v++) {
        switch (schema[v]!.type) {
          case 'string':
            row[`v${v}`] = `${word(index, v)} ${index % 1000} `.repeat(Math.max(1, Math.round(textLength / 12))).slice(0, textLength);
            break;
          case 'float':
            row[`v${v}`] = (index % 10_000) / 7 + v;
            break;
          case 'integer':
            row[`v${v}`] = index * v;
            break;
          case 'boolean':
            row[`v${v}`] = (index + v) % 2 === 0;
            break;
          default:
            row[`v${v}`] = `2024-0${1 + (index % 9)}-1${index % 10}T12:${10 + (v % 50)}:00`;
        }
      }
      return row;
    },
  };
}

const SHAPES: Shape[] = [shape('small', 3, 400_000, 12), shape('medium', 12, 150_000, 24), shape('wide', 60, 25_000, 40)];

async function* rowsOf(target: Shape, count: number): AsyncGenerator<Record<string, unknown>> {
  for (let i = 0; i < count; i++) yield target.make(i);
}

interface Measurement {
  rowsPerSecond: number;
  megabytesPerSecond: number;
  cpuSecondsPerMillionRows: number;
  requests: number;
}

let nonce = 0;

async function measure(
  client: RedivisClient,
  path: 'stream' | 'ndjson',
  target: Shape,
  count: number,
  extra: Partial<RowStreamOptions> = {},
): Promise<Measurement> {
  const name = `${target.name}-${path}-${process.pid}-${++nonce}`;
  const cpuBefore = process.cpuUsage();
  const startedAt = performance.now();
  let bytes: number;
  let requests: number;
  if (path === 'stream') {
    const stream = createRowStream({ client, table: TABLE, name, schema: target.schema, ...extra });
    const { pipeline } = await import('node:stream/promises');
    const { Readable } = await import('node:stream');
    await pipeline(Readable.from(rowsOf(target, count)), stream);
    const result = stream.result!;
    if (result.rowsConfirmed !== count || result.upload.numRows !== count) {
      throw new Error(`${name}: ${result.rowsConfirmed} rows confirmed and ${result.upload.numRows} counted, expected ${count}`);
    }
    bytes = result.bytesConfirmed;
    requests = result.batches;
  } else {
    const result = await uploadRowsToTable({ client, table: TABLE, name: `${name}.ndjson`, rows: rowsOf(target, count), schema: target.schema, pollIntervalMs: 1, maxPollIntervalMs: 1 });
    // uploadToTable has compared the emulator's MD5 with the MD5 of what was sent.
    if (result.rowsSent !== count || result.status !== 'completed') throw new Error(`${name}: ${result.rowsSent} rows sent, ${result.status}`);
    bytes = result.sent!.size;
    requests = 0;
  }
  const seconds = (performance.now() - startedAt) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  process.stderr.write(`  ${target.name} ${path}: ${count} rows in ${seconds.toFixed(2)} s\n`);
  return {
    rowsPerSecond: count / seconds,
    megabytesPerSecond: bytes / 1e6 / seconds,
    cpuSecondsPerMillionRows: ((cpu.user + cpu.system) / 1e6 / count) * 1e6,
    requests,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const thousands = (value: number) => Math.round(value).toLocaleString('en-US');

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { reps: { type: 'string' }, scale: { type: 'string' }, sweep: { type: 'boolean' }, rtt: { type: 'string' } } });
  const reps = Number(values.reps ?? 3);
  const scale = Number(values.scale ?? 1);
  const server = await ServerProcess.start('discard');
  const link = values.rtt === undefined ? undefined : await startLink(new URL(server.endpoint.apiEndpoint), Number(values.rtt));
  const apiEndpoint = link === undefined ? server.endpoint.apiEndpoint : link.apiEndpoint;
  const dispatcher = new Agent({ keepAliveTimeout: 10_000 });
  const client = new RedivisClient({ apiEndpoint, apiToken: server.endpoint.token, dispatcher });
  try {
    if (values.sweep) {
      const target = SHAPES[1]!;
      const count = Math.round(target.rows * scale);
      const where = values.rtt === undefined ? 'loopback' : `${values.rtt} ms round trip, 100 Mbit/s`;
      console.log(`| batchRows | rows/s (${target.name} rows, ${count} per run, median of ${reps}, ${where}) | requests |`);
      console.log('|---|---|---|');
      for (const batchRows of [250, 500, 1000, 2000, 5000, 10_000]) {
        const runs: Measurement[] = [];
        for (let rep = 0; rep < reps; rep++) runs.push(await measure(client, 'stream', target, count, { batchRows, batchBytes: 64 * 1024 * 1024 }));
        console.log(`| ${batchRows} | ${thousands(median(runs.map((run) => run.rowsPerSecond)))} | ${runs[0]!.requests} |`);
      }
      const wide = SHAPES[2]!;
      const wideCount = Math.round(wide.rows * scale);
      console.log(`\n| batchBytes | rows/s (${wide.name} rows, ${wideCount} per run, median of ${reps}, ${where}) | requests |`);
      console.log('|---|---|---|');
      for (const mib of [0.5, 1, 2, 4, 8]) {
        const runs: Measurement[] = [];
        for (let rep = 0; rep < reps; rep++) runs.push(await measure(client, 'stream', wide, wideCount, { batchRows: 1_000_000, batchBytes: mib * 1024 * 1024 }));
        console.log(`| ${mib} MiB | ${thousands(median(runs.map((run) => run.rowsPerSecond)))} | ${runs[0]!.requests} |`);
      }
      return;
    }
    console.log(`| rows | JSON per row | createRowStream rows/s | MB/s | CPU s per M rows | uploadRowsToTable rows/s | MB/s | CPU s per M rows |`);
    console.log('|---|---|---|---|---|---|---|---|');
    for (const target of SHAPES) {
      const count = Math.round(target.rows * scale);
      const stream: Measurement[] = [];
      const ndjson: Measurement[] = [];
      // Alternating the two paths spreads a drift of the machine over both.
      for (let rep = 0; rep < reps; rep++) {
        stream.push(await measure(client, 'stream', target, count));
        ndjson.push(await measure(client, 'ndjson', target, count));
      }
      const perRow = Math.round(Buffer.byteLength(JSON.stringify(target.make(12345))));
      const cells = (runs: Measurement[]) => [
        thousands(median(runs.map((run) => run.rowsPerSecond))),
        median(runs.map((run) => run.megabytesPerSecond)).toFixed(1),
        median(runs.map((run) => run.cpuSecondsPerMillionRows)).toFixed(1),
      ];
      console.log(`| ${target.name} (${target.schema.length} variables, ${thousands(count)} rows) | ${perRow} B | ${cells(stream).join(' | ')} | ${cells(ndjson).join(' | ')} |`);
    }
  } finally {
    await dispatcher.close();
    link?.process.kill();
    await server.close();
  }
}

/** The link model in a process of its own, in front of the emulator's API. */
async function startLink(api: URL, rttMs: number): Promise<{ apiEndpoint: string; process: ReturnType<typeof fork> }> {
  const script = fileURLToPath(new URL('./link-proxy.js', import.meta.url));
  const child = fork(script, [api.port, String(rttMs), String(100e6)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { port } = await new Promise<{ port: number }>((resolve) => child.once('message', (message) => resolve(message as { port: number })));
  return { apiEndpoint: `http://127.0.0.1:${port}${api.pathname}`, process: child };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
