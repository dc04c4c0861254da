/**
 * What one run of a case measured, how a run is checked against the emulator, and how repetitions are summarized.
 * Units: MB/s is 10^6 bytes per second; CPU seconds per GB are per 10^9 bytes; RSS is in bytes.
 * @module
 */
import { baselineIdFor } from './cases.js';
import { binarySize } from './format.js';
import type { CaseSpec, ClientReport, ServerStats } from './protocol.js';

export interface RunRecord {
  rep: number;
  ok: boolean;
  skipped?: boolean;
  error?: string;
  seconds?: number;
  mbps?: number;
  cpuSecondsPerGB?: number;
  cpuUserSeconds?: number;
  cpuSystemSeconds?: number;
  peakRss?: number;
  serverCpuSecondsPerGB?: number;
  dataRequests?: number;
  statusRequests?: number;
  /** Data bytes the server read beyond the object's size. */
  bytesResent?: number;
  faults?: number;
  retries?: number;
  peakBufferedBytes?: number;
  filesPerSecond?: number;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export interface CaseResult {
  spec: CaseSpec;
  status: 'ok' | 'partial' | 'failed' | 'skipped';
  /** Why it was skipped, or the first error. */
  reason?: string;
  runs: RunRecord[];
  mbps?: Spread;
  cpuSecondsPerGB?: Spread;
  peakRss?: Spread;
  serverCpuSecondsPerGB?: Spread;
  dataRequests?: Spread;
  bytesResent?: Spread;
  faults?: Spread;
  retries?: Spread;
  peakBufferedBytes?: Spread;
  filesPerSecond?: Spread;
  baseline?: string;
  /** Median over median of the baseline: > 1 is faster, more CPU, more memory. */
  vsBaseline?: { mbps?: number; cpu?: number; rss?: number };
  /** Median peak RSS minus the idle process's. */
  rssOverIdle?: number;
}

/** Checks what the server stored against what the case sent; returns the problem, if any. */
export function verify(spec: CaseSpec, report: Extract<ClientReport, { ok: true }>, stats: ServerStats, expectedCrc: (offset: number, size: number) => string): string | undefined {
  if (spec.kind === 'files') {
    const plan = spec.files!;
    if (report.filesAdded !== plan.count || report.filesFailed !== 0) {
      const first = report.firstFailure ? ` (first: ${report.firstFailure})` : '';
      return `addFiles reported ${report.filesAdded} added and ${report.filesFailed} failed of ${plan.count}${first}`;
    }
    const complete = stats.finals.filter((f) => 'size' in f);
    if (complete.length !== plan.count) return `${complete.length} of ${plan.count} files are complete on the server`;
    for (const final of complete) {
      // Named file-<case>-<nonce>-<index>.bin, to which addFiles may append a suffix of its own.
      const index = Number(/^file-.*-(\d+)\.bin/.exec(final.name)?.[1]);
      if (!Number.isInteger(index)) return `unexpected upload name ${final.name}`;
      if (final.size !== plan.fileSize || final.crc32c !== expectedCrc(index * plan.fileSize, plan.fileSize)) {
        return `${final.name} holds ${final.size} bytes with CRC32C ${final.crc32c}, not the file sent`;
      }
    }
    return undefined;
  }
  if (stats.finals.length !== 1) return `expected one upload on the server, found ${stats.finals.length}`;
  const final = stats.finals[0]!;
  if (!('size' in final)) return `the upload is not complete: ${final.incomplete}`;
  if (final.size !== spec.size) return `the server holds ${final.size} bytes, not ${spec.size}`;
  const expected = expectedCrc(0, spec.size);
  if (final.crc32c !== expected) return `the server's CRC32C is ${final.crc32c}, expected ${expected}`;
  return undefined;
}

/** Turns a client report and the server's view into one run's record. */
export function recordRun(spec: CaseSpec, rep: number, report: ClientReport, stats: ServerStats | undefined, problem: string | undefined): RunRecord {
  if (!report.ok) {
    return { rep, ok: false, ...(report.skipped ? { skipped: true } : {}), error: report.error, peakRss: report.peakRss };
  }
  const gigabytes = spec.size / 1e9;
  const cpu = report.cpuUserSeconds + report.cpuSystemSeconds;
  const record: RunRecord = {
    rep,
    ok: problem === undefined,
    ...(problem === undefined ? {} : { error: `verification failed: ${problem}` }),
    seconds: report.seconds,
    mbps: spec.size / report.seconds / 1e6,
    cpuSecondsPerGB: cpu / gigabytes,
    cpuUserSeconds: report.cpuUserSeconds,
    cpuSystemSeconds: report.cpuSystemSeconds,
    peakRss: report.peakRss,
  };
  if (report.peakBufferedBytes !== undefined) record.peakBufferedBytes = report.peakBufferedBytes;
  if (report.retries !== undefined) record.retries = report.retries;
  if (spec.files) record.filesPerSecond = spec.files.count / report.seconds;
  if (stats) {
    record.serverCpuSecondsPerGB = stats.cpuSeconds / gigabytes;
    record.faults = stats.faultsApplied;
    if (spec.kind !== 'files') {
      record.dataRequests = stats.dataRequests;
      record.statusRequests = stats.statusRequests;
      record.bytesResent = stats.dataBytesReceived - spec.size;
    }
  }
  return record;
}

function spread(values: Array<number | undefined>): Spread | undefined {
  const numbers = values.filter((v): v is number => v !== undefined && Number.isFinite(v)).sort((a, b) => a - b);
  if (numbers.length === 0) return undefined;
  const middle = numbers.length >> 1;
  const median = numbers.length % 2 === 1 ? numbers[middle]! : (numbers[middle - 1]! + numbers[middle]!) / 2;
  return { median, min: numbers[0]!, max: numbers[numbers.length - 1]! };
}

const SPREAD_FIELDS = [
  'mbps',
  'cpuSecondsPerGB',
  'peakRss',
  'serverCpuSecondsPerGB',
  'dataRequests',
  'bytesResent',
  'faults',
  'retries',
  'peakBufferedBytes',
  'filesPerSecond',
] as const;

/** Medians, minima and maxima over the successful runs, then the ratios to the baselines. */
export function summarize(specs: CaseSpec[], runs: Map<string, RunRecord[]>, idleRss: number | undefined): CaseResult[] {
  const results = specs.map((spec): CaseResult => {
    const all = runs.get(spec.id) ?? [];
    const ok = all.filter((run) => run.ok);
    const failed = all.filter((run) => !run.ok);
    const result: CaseResult = {
      spec,
      status: all.length === 0 ? 'failed' : failed.some((run) => run.skipped) ? 'skipped' : failed.length === 0 ? 'ok' : ok.length > 0 ? 'partial' : 'failed',
      runs: all,
    };
    if (all.length === 0) result.reason = 'not run';
    else if (failed.length > 0) result.reason = failed[0]!.error;
    for (const field of SPREAD_FIELDS) {
      const value = spread(ok.map((run) => run[field]));
      if (value !== undefined) result[field] = value;
    }
    if (result.peakRss && idleRss !== undefined) result.rssOverIdle = result.peakRss.median - idleRss;
    return result;
  });
  const byId = new Map(results.map((result) => [result.spec.id, result]));
  for (const result of results) {
    const baselineId = baselineIdFor(result.spec);
    const baseline = baselineId === undefined ? undefined : byId.get(baselineId);
    if (baseline === undefined || baseline === result) continue;
    result.baseline = baselineId;
    const ratio = (a: Spread | undefined, b: Spread | undefined) => (a && b && b.median > 0 ? a.median / b.median : undefined);
    result.vsBaseline = {
      ...optional('mbps', ratio(result.mbps, baseline.mbps)),
      ...optional('cpu', ratio(result.cpuSecondsPerGB, baseline.cpuSecondsPerGB)),
      ...optional('rss', ratio(result.peakRss, baseline.peakRss)),
    };
  }
  return results;
}

function optional<K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, number>);
}

/** One line per finished run, for the console. */
export function describeRun(spec: CaseSpec, record: RunRecord): string {
  if (!record.ok) return `${record.skipped ? 'SKIPPED' : 'FAILED'}: ${record.error}`;
  const parts = [
    `${record.mbps!.toFixed(1)} MB/s`,
    `cpu ${record.cpuSecondsPerGB!.toFixed(2)} s/GB`,
    `rss ${binarySize(record.peakRss ?? 0)}`,
    `server cpu ${record.serverCpuSecondsPerGB?.toFixed(2) ?? '–'} s/GB`,
  ];
  if (record.filesPerSecond !== undefined) parts.unshift(`${record.filesPerSecond.toFixed(0)} files/s`);
  if (spec.faults) parts.push(`${record.faults} faults, ${record.retries} retries, ${binarySize(record.bytesResent ?? 0)} resent`);
  return parts.join(', ');
}
