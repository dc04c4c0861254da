/**
 * The benchmark runner: starts the emulator in its own process, runs every case in a fresh client process, in
 * rounds (repetition 1 of every case, then repetition 2, ...) so slow drifts of the machine spread evenly, then
 * writes benchmarks/results/latest.{json,md} and docs/benchmarks.svg and prints the targets.
 *
 * `node build/benchmarks/run.js --help` lists the options.
 * @module
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem, platform, release } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { crc32c } from '@node-rs/crc32';
import { parseArgs, USAGE, type BenchOptions } from './args.js';
import { buildCases, faultFreeIdFor, faultRules, selectCases } from './cases.js';
import { renderChart } from './chart.js';
import { binarySize, pad } from './format.js';
import { runClient, ServerProcess } from './processes.js';
import type { CaseSpec, ClientJob } from './protocol.js';
import { renderMarkdown, type RunMeta } from './report.js';
import { describeRun, recordRun, summarize, verify, type RunRecord } from './results.js';
import { expectedCrc32c, makePattern, slice } from './source.js';
import { evaluateTargets, formatTargets } from './targets.js';

const IDLE: CaseSpec = { id: 'idle', group: 'limit', label: 'idle client process', kind: 'idle', storage: 'discard', size: 1, writeSize: 1 };

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

interface Context {
  options: BenchOptions;
  discard: ServerProcess;
  nonce: string;
  profileDir: string;
  expectedCrc: (offset: number, size: number) => string;
}

async function runOne(ctx: Context, spec: CaseSpec, rep: number): Promise<RunRecord> {
  const server = spec.storage === 'discard' ? ctx.discard : await ServerProcess.start('disk');
  try {
    await server.prepare(faultRules(spec));
    const job: ClientJob = { spec, endpoint: server.endpoint, nonce: `${ctx.nonce}-r${rep}` };
    const execArgv = ctx.options.cpuProf
      ? ['--cpu-prof', `--cpu-prof-dir=${ctx.profileDir}`, `--cpu-prof-name=${spec.id}-rep${rep}.cpuprofile`]
      : [];
    let report;
    try {
      report = await runClient(job, { timeoutMs: timeoutFor(spec), execArgv });
    } catch (error) {
      return { rep, ok: false, error: (error as Error).message };
    }
    if (!report.ok) return recordRun(spec, rep, report, undefined, undefined);
    const stats = await server.stats(spec.kind === 'files' ? 'new' : report.tempUploadIds);
    return recordRun(spec, rep, report, stats, verify(spec, report, stats, ctx.expectedCrc));
  } finally {
    // A fresh disk emulator per run: closing it deletes the bytes, so the disk never fills up.
    if (server !== ctx.discard) await server.close();
  }
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
    for (const spec of cases) console.log(`${pad(spec.id, 26)} ${pad(binarySize(spec.size), 10)} ${spec.label}`);
    return;
  }
  const startedAt = performance.now();
  const pattern = makePattern();
  const profileDir = join(options.outDir, 'profiles');
  await mkdir(options.outDir, { recursive: true });
  if (options.cpuProf) await mkdir(profileDir, { recursive: true });

  console.log(`${cases.length} cases × ${options.reps} repetition(s), ${binarySize(options.size)} per upload.`);
  const discard = await ServerProcess.start('discard');
  const ctx: Context = { options, discard, nonce: randomBytes(4).toString('hex'), profileDir, expectedCrc: checksumOracle(pattern) };
  const idleRuns: number[] = [];
  const runs = new Map<string, RunRecord[]>();
  try {
    for (let rep = 1; rep <= options.reps; rep++) {
      const idle = await runClient({ spec: IDLE, endpoint: discard.endpoint, nonce: ctx.nonce }, { timeoutMs: 60_000, execArgv: [] });
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
        console.log(`[${rep}/${options.reps}] ${pad(spec.id, 26)} ${describeRun(spec, record)}`);
      }
    }
  } finally {
    await discard.close();
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
  const markdown = renderMarkdown(meta, results, targets, (r) => faultFreeIdFor(r.spec));
  await writeFile(join(options.outDir, 'latest.json'), `${JSON.stringify({ meta, results, targets }, null, 2)}\n`);
  await writeFile(join(options.outDir, 'latest.md'), markdown);
  if (options.chartPath !== undefined) {
    await mkdir(dirname(options.chartPath), { recursive: true });
    await writeFile(options.chartPath, renderChart(meta, results));
  }
  console.log(`\n${markdown}`);
  console.log(`Wrote ${join(options.outDir, 'latest.json')}, latest.md${options.chartPath ? ` and ${options.chartPath}` : ''}.`);
  console.log(`\nTargets:\n${formatTargets(targets)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
