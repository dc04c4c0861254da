/**
 * The benchmark runner: starts the trivial server, the link proxy in front of it and the emulator, each in a
 * process of its own, writes the files the `uploadFile` cases send, runs every case in a fresh client process, in
 * rounds (repetition 1 of every case, then repetition 2, ...) so slow drifts of the machine spread evenly, then
 * writes benchmarks/results/latest.{json,md} and docs/benchmarks.svg and prints the targets. A run that fails, or
 * whose bytes on the server differ from the source, makes the runner exit with status 1.
 *
 * `node build/benchmarks/run.js --help` lists the options.
 * @module
 */
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { cpus, platform, release, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { crc32c } from '@node-rs/crc32';
import { parseArgs, USAGE, type BenchOptions } from './args.js';
import { buildCases, LINK, selectCases } from './cases.js';
import { renderChart } from './chart.js';
import { binarySize, pad } from './format.js';
import { LinkProcess, runClient, ServerProcess } from './processes.js';
import type { CaseSpec, ClientJob } from './protocol.js';
import { renderMarkdown, type RunMeta } from './report.js';
import { describeRun, recordRun, summarize, verify, type RunRecord } from './results.js';
import { expectedCrc32c, makePattern, slice } from './source.js';
import { evaluateTargets, formatTargets } from './targets.js';

const IDLE: CaseSpec = { id: 'idle', group: 'loopback', label: 'idle client process', kind: 'idle', server: 'trivial', size: 1, writeSize: 1 };

/** Generous: a case slower than 4 MB/s plus a minute has hung. */
function timeoutFor(spec: CaseSpec): number {
  return 60_000 + Math.ceil(spec.size / 4e6) * 1000;
}

function checksumOracle(pattern: Buffer): (offset: number, size: number) => string {
  const cache = new Map<string, string>();
  return (offset, size) => {
    const key = `${offset}:${size}`;
    let value = cache.get(key);
    if (value === undefined) {
      if (offset === 0) value = expectedCrc32c(pattern, size);
      else {
        const bytes = Buffer.alloc(4);
        bytes.writeUInt32BE(crc32c(slice(pattern, offset, size)) >>> 0);
        value = bytes.toString('base64');
      }
      cache.set(key, value);
    }
    return value;
  };
}

/** Writes `size` bytes of the pattern to `path`: the same bytes the stream cases generate. */
async function writePatternFile(path: string, pattern: Buffer, size: number): Promise<void> {
  const handle = await open(path, 'w');
  try {
    const block = Buffer.concat(Array.from({ length: 16 }, () => pattern));
    for (let at = 0; at < size; at += block.length) {
      await handle.write(block, 0, Math.min(block.length, size - at));
    }
  } finally {
    await handle.close();
  }
}

interface Servers {
  trivial: ServerProcess | undefined;
  emulator: ServerProcess | undefined;
  link: LinkProcess | undefined;
}

interface Context {
  options: BenchOptions;
  servers: Servers;
  nonce: string;
  profileDir: string;
  /** The file of each size the `uploadFile` cases send. */
  files: Map<number, string>;
  expectedCrc: (offset: number, size: number) => string;
}

async function runOne(ctx: Context, spec: CaseSpec, rep: number): Promise<RunRecord> {
  const server = spec.server === 'trivial' ? ctx.servers.trivial! : ctx.servers.emulator!;
  await server.prepare(spec.faults);
  const endpoint = spec.link ? ctx.servers.link!.endpointFor(server.endpoint) : server.endpoint;
  const filePath = spec.kind === 'file' ? ctx.files.get(spec.size) : undefined;
  const job: ClientJob = { spec, endpoint, nonce: `${ctx.nonce}-r${rep}`, ...(filePath ? { filePath } : {}) };
  const profile = ctx.options.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${ctx.profileDir}`, `--cpu-prof-name=${spec.id}-rep${rep}.cpuprofile`] : [];
  const execArgv = [...(spec.nodeOptions ?? []), ...profile];
  let report;
  try {
    report = await runClient(job, { timeoutMs: timeoutFor(spec), execArgv });
  } catch (error) {
    return { rep, ok: false, error: (error as Error).message };
  }
  if (!report.ok) return recordRun(spec, rep, report, undefined, undefined);
  const stats = await server.stats(spec.kind === 'files' ? 'new' : report.tempUploadIds);
  return recordRun(spec, rep, report, stats, verify(spec, report, stats, ctx.expectedCrc));
}

async function startServers(cases: CaseSpec[]): Promise<Servers> {
  const trivial = await ServerProcess.start('trivial');
  const emulator = cases.some((spec) => spec.server === 'emulator') ? await ServerProcess.start('discard') : undefined;
  const link = cases.some((spec) => spec.link) ? await LinkProcess.start(trivial.port, LINK.rttMs, LINK.bitsPerSecond) : undefined;
  return { trivial, emulator, link };
}

async function stopServers(servers: Servers): Promise<void> {
  await servers.link?.close();
  await servers.emulator?.close();
  await servers.trivial?.close();
}

async function main(): Promise<void> {
  const parsed = parseArgs(process.argv.slice(2));
  if (parsed === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const options = parsed;
  const cases = selectCases(buildCases(options), options.only);
  if (options.list) {
    for (const spec of cases) console.log(`${pad(spec.id, 16)} ${pad(binarySize(spec.size), 10)} ${spec.label}`);
    return;
  }
  const startedAt = performance.now();
  const pattern = makePattern();
  const profileDir = join(options.outDir, 'profiles');
  await mkdir(options.outDir, { recursive: true });
  if (options.cpuProf) await mkdir(profileDir, { recursive: true });

  console.log(`${cases.length} cases × ${options.reps} repetition(s), ${binarySize(options.size)} per loopback upload.`);
  const fileDir = await mkdtemp(join(tmpdir(), 'redivis-upload-bench-'));
  // An interrupted run must not leave gigabytes behind.
  const onSignal = () => {
    rmSync(fileDir, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const idleRuns: number[] = [];
  const runs = new Map<string, RunRecord[]>();
  const servers = await startServers(cases);
  try {
    const files = new Map<number, string>();
    for (const size of new Set(cases.filter((spec) => spec.kind === 'file').map((spec) => spec.size))) {
      const path = join(fileDir, `source-${size}.bin`);
      await writePatternFile(path, pattern, size);
      files.set(size, path);
    }
    const ctx: Context = { options, servers, nonce: randomBytes(4).toString('hex'), profileDir, files, expectedCrc: checksumOracle(pattern) };
    for (let rep = 1; rep <= options.reps; rep++) {
      const idle = await runClient({ spec: IDLE, endpoint: servers.trivial!.endpoint, nonce: ctx.nonce }, { timeoutMs: 60_000, execArgv: [] });
      idleRuns.push(idle.peakRss);
    }
    console.log(`idle client process: peak RSS ${idleRuns.map(binarySize).join(', ')}`);
    const skipped = new Set<string>();
    for (let rep = 1; rep <= options.reps; rep++) {
      for (const spec of cases) {
        if (skipped.has(spec.id)) continue;
        const record = await runOne(ctx, spec, rep);
        if (record.skipped) skipped.add(spec.id);
        runs.set(spec.id, [...(runs.get(spec.id) ?? []), record]);
        console.log(`[${rep}/${options.reps}] ${pad(spec.id, 16)} ${describeRun(spec, record)}`);
      }
    }
  } finally {
    await stopServers(servers);
    await rm(fileDir, { recursive: true, force: true });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  const idleSorted = [...idleRuns].sort((a, b) => a - b);
  const idleRss = idleSorted.length > 0 ? idleSorted[idleSorted.length >> 1] : undefined;
  const results = summarize(cases, runs, idleRss);
  const targets = evaluateTargets(results);
  const cpu = cpus();
  const meta: RunMeta = {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${platform()} ${release()}`,
    cpuModel: cpu[0]?.model.trim() ?? 'unknown CPU',
    cpus: cpu.length,
    totalMemory: totalmem(),
    argv: process.argv.slice(2),
    size: options.size,
    reps: options.reps,
    idleRss,
    idleRuns,
    seconds: (performance.now() - startedAt) / 1000,
  };
  const markdown = renderMarkdown(meta, results, targets);
  await writeFile(join(options.outDir, 'latest.json'), `${JSON.stringify({ meta, results, targets }, null, 2)}\n`);
  await writeFile(join(options.outDir, 'latest.md'), markdown);
  if (options.chartPath !== undefined) {
    await mkdir(dirname(options.chartPath), { recursive: true });
    await writeFile(options.chartPath, renderChart(meta, results));
  }
  console.log(`\n${markdown}`);
  console.log(`Wrote ${join(options.outDir, 'latest.json')}, latest.md${options.chartPath ? ` and ${options.chartPath}` : ''}.`);
  console.log(`\nTargets:\n${formatTargets(targets)}`);
  const failed = [...runs.values()].flat().filter((run) => !run.ok && !run.skipped);
  if (failed.length > 0) {
    console.error(`\n${failed.length} run(s) failed: ${failed[0]!.error}`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
