/**
 * What one run of a case measured, how a run is checked against the server, and how repetitions are summarized.
 * Units: MB/s is 10^6 bytes per second; CPU seconds per GB are per 10^9 bytes; RSS is in bytes.
 * @module
 */
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
  /** Data bytes the server read and did not keep (past a fault's mark). */
  bytesUnpersisted?: number;
  /** Data bytes the server read although it held them already. */
  bytesDuplicate?: number;
  /** Body bytes of each data request. */
  requestBytes?: number[];
  faults?: number;
  retries?: number;
  fullGcs?: number;
  peakBufferedBytes?: number;
  peakSpilledBytes?: number;
  filesPerSecond?: number;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

const SPREAD_FIELDS = [
  'mbps',
  'cpuSecondsPerGB',
  'peakRss',
  'serverCpuSecondsPerGB',
  'dataRequests',
  'bytesResent',
  'bytesUnpersisted',
  'bytesDuplicate',
  'faults',
  'retries',
  'fullGcs',
  'peakBufferedBytes',
  'peakSpilledBytes',
  'filesPerSecond',
] as const;

export type SpreadField = (typeof SPREAD_FIELDS)[number];

export type CaseResult = {
  spec: CaseSpec;
  status: 'ok' | 'partial' | 'failed' | 'skipped';
  /** Why it was skipped, or the first error. */
  reason?: string;
  runs: RunRecord[];
  /** Median over the baseline's median: > 1 is faster, more CPU, more memory. */
  vsBaseline?: { mbps?: number; cpu?: number; rss?: number };
  /** Median peak RSS minus the baseline's median peak RSS. */
  rssOverBaseline?: number;
  /** Median peak RSS minus the idle process's. */
  rssOverIdle?: number;
} & Partial<Record<SpreadField, Spread>>;

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
  for (const field of ['peakBufferedBytes', 'peakSpilledBytes', 'retries', 'fullGcs'] as const) {
    if (report[field] !== undefined) record[field] = report[field];
  }
  if (spec.files) record.filesPerSecond = spec.files.count / report.seconds;
  if (stats) {
    record.serverCpuSecondsPerGB = stats.cpuSeconds / gigabytes;
    record.faults = stats.faultsApplied;
    if (spec.kind !== 'files') {
      record.dataRequests = stats.dataRequests;
      record.statusRequests = stats.statusRequests;
      record.bytesResent = stats.dataBytesReceived - spec.size;
      if (stats.dataBytesUnpersisted !== undefined) record.bytesUnpersisted = stats.dataBytesUnpersisted;
      if (stats.dataBytesDuplicate !== undefined) record.bytesDuplicate = stats.dataBytesDuplicate;
      if (stats.requestBytes !== undefined) record.requestBytes = stats.requestBytes;
    }
  }
  return record;
}

export function spread(values: Array<number | undefined>): Spread | undefined {
  const numbers = values.filter((v): v is number => v !== undefined && Number.isFinite(v)).sort((a, b) => a - b);
  if (numbers.length === 0) return undefined;
  const middle = numbers.length >> 1;
  const median = numbers.length % 2 === 1 ? numbers[middle]! : (numbers[middle - 1]! + numbers[middle]!) / 2;
  return { median, min: numbers[0]!, max: numbers[numbers.length - 1]! };
}

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
  const ratio = (a: Spread | undefined, b: Spread | undefined) => (a && b && b.median > 0 ? a.median / b.median : undefined);
  for (const result of results) {
    const baseline = result.spec.baseline === undefined ? undefined : byId.get(result.spec.baseline);
    if (baseline === undefined) continue;
    const vs: NonNullable<CaseResult['vsBaseline']> = {};
    const mbps = ratio(result.mbps, baseline.mbps);
    const cpu = ratio(result.cpuSecondsPerGB, baseline.cpuSecondsPerGB);
    const rss = ratio(result.peakRss, baseline.peakRss);
    if (mbps !== undefined) vs.mbps = mbps;
    if (cpu !== undefined) vs.cpu = cpu;
    if (rss !== undefined) vs.rss = rss;
    result.vsBaseline = vs;
    if (result.peakRss && baseline.peakRss) result.rssOverBaseline = result.peakRss.median - baseline.peakRss.median;
  }
  return results;
}

/** Request sizes in order, runs of equal sizes folded: `8 MiB, 16 MiB ×30, 4 MiB`. */
export function describeRequests(sizes: number[] | undefined): string {
  if (sizes === undefined || sizes.length === 0) return '–';
  const parts: string[] = [];
  for (let i = 0; i < sizes.length; ) {
    let j = i;
    while (j < sizes.length && sizes[j] === sizes[i]) j++;
    parts.push(`${binarySize(sizes[i]!)}${j - i > 1 ? ` ×${j - i}` : ''}`);
    i = j;
  }
  return parts.length > 8 ? `${parts.slice(0, 7).join(', ')}, … ${parts[parts.length - 1]}` : parts.join(', ');
}

/** The run whose throughput is the median's (the lower middle one for an even count), for per-run details. */
export function medianRun(result: CaseResult): RunRecord | undefined {
  const ok = result.runs.filter((run) => run.ok && run.mbps !== undefined).sort((a, b) => a.mbps! - b.mbps!);
  return ok[(ok.length - 1) >> 1];
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
  if (record.dataRequests !== undefined && spec.kind !== 'raw') parts.push(`${record.dataRequests} requests`);
  if (record.peakSpilledBytes) parts.push(`${binarySize(record.peakSpilledBytes)} spilled`);
  if (spec.faults) {
    parts.push(`${record.faults} faults, ${record.retries} retries, resent ${binarySize(record.bytesResent ?? 0)} of ${binarySize(record.bytesUnpersisted ?? 0)} not persisted`);
  }
  return parts.join(', ');
}
