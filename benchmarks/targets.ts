/**
 * The performance targets, evaluated on a run's summaries. A report, not an assertion: a missed target is printed
 * as MISS and the run still succeeds. INFO lines are comparisons without a target.
 * @module
 */
import { CHUNK_SIZES, faultFreeIdFor, WRITE_SIZES } from './cases.js';
import { binarySize, shortSize } from './format.js';
import { MiB } from './protocol.js';
import type { CaseResult } from './results.js';
import { DEFAULT_CHUNK_SIZE } from '../src/upload/stream-options.js';

export interface TargetLine {
  verdict: 'PASS' | 'MISS' | 'INFO' | 'N/A';
  target: string;
  detail: string;
}

/** Peak RSS over the idle process must stay within this plus two chunks. */
const RSS_ALLOWANCE = 64 * MiB;
/** The scaling series counts as flat when its peak RSS varies by no more than this. */
const FLAT_TOLERANCE = 32 * MiB;

const pct = (ratio: number) => `${(ratio * 100).toFixed(1)} %`;

export function evaluateTargets(results: CaseResult[]): TargetLine[] {
  const byId = new Map(results.map((result) => [result.spec.id, result]));
  const lines: TargetLine[] = [];
  const get = (id: string) => {
    const result = byId.get(id);
    return result && result.mbps ? result : undefined;
  };
  const line = (pass: boolean | undefined, target: string, detail: string) => {
    lines.push({ verdict: pass === undefined ? 'N/A' : pass ? 'PASS' : 'MISS', target, detail });
  };
  const info = (target: string, detail: string) => lines.push({ verdict: 'INFO', target, detail });
  const d = shortSize(DEFAULT_CHUNK_SIZE);

  for (const prefix of ['', 'disk-']) {
    for (const writeSize of WRITE_SIZES) {
      const w = shortSize(writeSize);
      const where = `${binarySize(writeSize)} writes${prefix ? ', disk storage' : ''}`;
      const stream = get(`${prefix}stream-c${d}-w${w}`);
      const raw = get(`${prefix}raw-w${w}`);
      if (!stream && !raw) continue;
      const ratio = stream && raw ? stream.mbps!.median / raw.mbps!.median : undefined;
      line(ratio === undefined ? undefined : ratio >= 0.9, `default settings ≥ 90 % of raw-PUT throughput (${where})`,
        ratio === undefined ? 'missing data' : `${pct(ratio)} (${stream!.mbps!.median.toFixed(1)} vs ${raw!.mbps!.median.toFixed(1)} MB/s)`);
      const cpu = stream && raw ? stream.cpuSecondsPerGB!.median / raw.cpuSecondsPerGB!.median : undefined;
      line(cpu === undefined ? undefined : cpu <= 1.2, `CPU per GB ≤ 1.2 × raw PUT (${where})`,
        cpu === undefined ? 'missing data' : `${cpu.toFixed(2)} × (${stream!.cpuSecondsPerGB!.median.toFixed(2)} vs ${raw!.cpuSecondsPerGB!.median.toFixed(2)} s/GB)`);
    }
  }

  for (const writeSize of WRITE_SIZES) {
    const w = shortSize(writeSize);
    for (const chunkSize of CHUNK_SIZES) {
      const c = shortSize(chunkSize);
      const stream = get(`stream-c${c}-w${w}`);
      const peer = get(`peer-c${c}-w${w}`);
      if (!stream && !peer) continue;
      const ratio = stream && peer ? stream.mbps!.median / peer.mbps!.median : undefined;
      line(ratio === undefined ? undefined : ratio >= 1.2, `≥ 1.2 × the peer's throughput (${binarySize(chunkSize)} chunks, ${binarySize(writeSize)} writes)`,
        ratio === undefined ? 'missing data' : `${ratio.toFixed(2)} × (${stream!.mbps!.median.toFixed(1)} vs ${peer!.mbps!.median.toFixed(1)} MB/s)`);
    }
    const stream = get(`stream-c${d}-w${w}`);
    for (const [peerId, what] of [
      [`peer-native-c${d}-w${w}`, `the peer with native CRC32C, ${binarySize(DEFAULT_CHUNK_SIZE)} chunks`],
      [`peer-single-w${w}`, `the peer in single-request mode`],
    ] as const) {
      const peer = get(peerId);
      if (stream && peer) {
        info(`stream defaults vs ${what} (${binarySize(writeSize)} writes)`,
          `${(stream.mbps!.median / peer.mbps!.median).toFixed(2)} × (${stream.mbps!.median.toFixed(1)} vs ${peer.mbps!.median.toFixed(1)} MB/s)`);
      }
    }
  }

  for (const result of results) {
    const { spec } = result;
    if (spec.kind !== 'stream' || spec.storage !== 'discard' || spec.faults || result.rssOverIdle === undefined) continue;
    const chunkSize = spec.chunkSize ?? DEFAULT_CHUNK_SIZE;
    const limit = 2 * chunkSize + RSS_ALLOWANCE;
    line(result.rssOverIdle <= limit, `peak RSS ≤ 2 chunks + 64 MiB over idle (${spec.id})`,
      `${binarySize(Math.max(0, result.rssOverIdle))} over idle, limit ${binarySize(limit)}`);
  }

  for (const writeSize of WRITE_SIZES) {
    const stream = byId.get(`stream-c${d}-w${shortSize(writeSize)}`);
    const raw = byId.get(`raw-w${shortSize(writeSize)}`);
    if (stream?.peakRss && raw?.peakRss) {
      info(`peak RSS of the stream defaults over the raw PUT's (${binarySize(writeSize)} writes)`,
        `${binarySize(stream.peakRss.median - raw.peakRss.median)} (${binarySize(stream.peakRss.median)} vs ${binarySize(raw.peakRss.median)}): ` +
          'the raw PUT holds nothing, so this is what the stream itself adds to the source\'s garbage');
    }
  }

  const scaling = results.filter((result) => result.spec.group === 'scaling' && result.peakRss);
  if (scaling.length >= 2) {
    const values = scaling.map((result) => result.peakRss!.median);
    const spreadBytes = Math.max(...values) - Math.min(...values);
    line(spreadBytes <= FLAT_TOLERANCE, `peak RSS flat from ${binarySize(scaling[0]!.spec.size)} to ${binarySize(scaling[scaling.length - 1]!.spec.size)} (within ${binarySize(FLAT_TOLERANCE)})`,
      scaling.map((result) => `${binarySize(result.spec.size)}: ${binarySize(result.peakRss!.median)}`).join(', '));
  }

  for (const result of results) {
    if (!result.spec.faults) continue;
    const faultFree = get(faultFreeIdFor(result.spec));
    // With the default backoff the slowdown is the policy's waiting, not the protocol's cost: reported, not judged.
    const judged = result.spec.faults.backoff === 'fast';
    const report = (pass: boolean | undefined, target: string, detail: string) => (judged ? line(pass, target, detail) : info(target, detail));
    const label = `${result.spec.id}${judged ? '' : ', default backoff'}`;
    const every = binarySize(result.spec.faults.everyBytes);
    if (!result.mbps) {
      report(undefined, `with a fault every ${every}, ≥ 80 % of fault-free throughput (${label})`, result.reason ?? 'missing data');
      continue;
    }
    const ratio = faultFree ? result.mbps.median / faultFree.mbps!.median : undefined;
    report(ratio === undefined ? undefined : ratio >= 0.8, `with a fault every ${every}, ≥ 80 % of fault-free throughput (${label})`,
      ratio === undefined ? 'no fault-free run' : `${pct(ratio)} (${result.mbps.median.toFixed(1)} vs ${faultFree!.mbps!.median.toFixed(1)} MB/s, ${result.faults?.median ?? 0} faults)`);
    const chunkSize = result.spec.chunkSize ?? DEFAULT_CHUNK_SIZE;
    const perRun = result.runs
      .filter((run) => run.ok && run.faults !== undefined && run.faults > 0 && run.bytesResent !== undefined)
      .map((run) => ({ perFault: run.bytesResent! / run.faults!, resent: run.bytesResent!, faults: run.faults! }))
      .sort((a, b) => b.perFault - a.perFault);
    const worst = perRun[0];
    report(worst === undefined ? undefined : worst.perFault <= chunkSize, `bytes resent ≤ the chunk in flight per fault (${label})`,
      worst === undefined
        ? 'no faults applied'
        : `worst run ${binarySize(worst.perFault)} per fault (${binarySize(worst.resent)} over ${worst.faults} faults), chunk ${binarySize(chunkSize)}`);
  }
  return lines;
}

export function formatTargets(lines: TargetLine[]): string {
  return lines.map((l) => `${l.verdict.padEnd(4)}  ${l.target}: ${l.detail}`).join('\n');
}
