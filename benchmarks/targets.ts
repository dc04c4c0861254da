/**
 * The performance targets, evaluated on a run's summaries. A report, not an assertion: a missed target is printed
 * as MISS and the run still succeeds. INFO lines are comparisons without a target; N/A means a case is missing.
 * @module
 */
import { binarySize } from './format.js';
import { MiB } from './protocol.js';
import { describeRequests, medianRun, type CaseResult } from './results.js';

export interface TargetLine {
  verdict: 'PASS' | 'MISS' | 'INFO' | 'N/A';
  target: string;
  detail: string;
}

/** Peak RSS of the stream may exceed the raw PUT's by this much. */
export const RSS_ALLOWANCE = 80 * MiB;
/** The memory series counts as flat when its median peak RSS varies by no more than this. */
export const FLAT_TOLERANCE = 16 * MiB;

const x = (ratio: number) => `${ratio.toFixed(2)}×`;
const mb = (result: CaseResult) => `${result.mbps!.median.toFixed(1)} MB/s`;
const cpu = (result: CaseResult) => `${result.cpuSecondsPerGB!.median.toFixed(2)} s/GB`;
const rss = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

export function evaluateTargets(results: CaseResult[]): TargetLine[] {
  const byId = new Map(results.map((result) => [result.spec.id, result]));
  const lines: TargetLine[] = [];
  const get = (id: string) => {
    const result = byId.get(id);
    return result?.mbps ? result : undefined;
  };
  const judge = (pass: boolean | undefined, target: string, detail: string) =>
    lines.push({ verdict: pass === undefined ? 'N/A' : pass ? 'PASS' : 'MISS', target, detail });
  const info = (target: string, detail: string) => lines.push({ verdict: 'INFO', target, detail });
  const missing = (...ids: string[]) => `missing data (${ids.filter((id) => !get(id)).join(', ')})`;

  /** A throughput ratio to the baseline, judged when `atLeast` is given. */
  const throughput = (id: string, baselineId: string, what: string, atLeast?: number) => {
    // A case not selected (--only) has no line; one selected but without data is N/A.
    if (!byId.has(id)) return;
    const result = get(id);
    const baseline = get(baselineId);
    const target = atLeast === undefined ? `${what} vs ${baselineId}` : `${what} ≥ ${atLeast.toFixed(2)}× ${baselineId} throughput`;
    if (!result || !baseline) return atLeast === undefined ? undefined : judge(undefined, target, missing(id, baselineId));
    const ratio = result.mbps!.median / baseline.mbps!.median;
    const detail = `${x(ratio)} (${mb(result)} vs ${mb(baseline)}); CPU ${x(result.cpuSecondsPerGB!.median / baseline.cpuSecondsPerGB!.median)} (${cpu(result)} vs ${cpu(baseline)})`;
    if (atLeast === undefined) info(target, detail);
    else judge(ratio >= atLeast, target, detail);
  };

  // 1. Loopback.
  throughput('stream', 'raw', 'loopback: stream', 0.9);
  const stream = get('stream');
  const raw = get('raw');
  if (byId.has('stream')) {
    const ratio = stream && raw ? stream.cpuSecondsPerGB!.median / raw.cpuSecondsPerGB!.median : undefined;
    judge(ratio === undefined ? undefined : ratio <= 1.45, 'loopback: stream client CPU ≤ 1.45× raw',
      ratio === undefined ? missing('stream', 'raw') : `${x(ratio)} (${cpu(stream!)} vs ${cpu(raw!)})`);
  }
  throughput('stream', 'raw-crc', 'loopback: stream');
  throughput('stream-nocrc', 'raw', 'loopback: stream with CRC32C off');
  throughput('stream-lean', 'raw-lean', 'loopback, lean process: stream');
  throughput('stream-lean-heap', 'raw-lean', 'loopback, lean process, larger initial heap: stream');
  throughput('file', 'raw', 'loopback: uploadFile');
  throughput('peer', 'raw', 'loopback: @google-cloud/storage');
  throughput('chunker', 'raw', 'loopback: stream-chunker + stream');

  // 2. Memory.
  const series = results
    .filter((result) => (result.spec.group === 'memory' || result.spec.id === 'stream') && result.peakRss)
    .sort((a, b) => a.spec.size - b.spec.size);
  const rawRss = byId.get('raw')?.peakRss?.median;
  for (const result of series) {
    const peak = result.peakRss!.median;
    judge(rawRss === undefined ? undefined : peak <= rawRss + RSS_ALLOWANCE, `memory: peak RSS ≤ raw PUT's + ${rss(RSS_ALLOWANCE)} (stream, ${binarySize(result.spec.size)})`,
      rawRss === undefined
        ? missing('raw')
        : `${peak >= rawRss ? '+' : '−'}${rss(Math.abs(peak - rawRss))} (${rss(peak)} vs ${rss(rawRss)}); stream's peaks: ${binarySize(result.peakBufferedBytes?.max ?? 0)} buffered, ${binarySize(result.peakSpilledBytes?.max ?? 0)} spilled`);
  }
  if (series.length >= 2) {
    const peaks = series.map((result) => result.peakRss!.median);
    const spreadBytes = Math.max(...peaks) - Math.min(...peaks);
    judge(spreadBytes <= FLAT_TOLERANCE, `memory: peak RSS flat from ${binarySize(series[0]!.spec.size)} to ${binarySize(series[series.length - 1]!.spec.size)} (spread ≤ ${rss(FLAT_TOLERANCE)})`,
      `spread ${rss(spreadBytes)}: ${series.map((result) => `${binarySize(result.spec.size)} ${rss(result.peakRss!.median)}`).join(', ')}`);
  }
  // stream-chunker in front counts too: a source that keeps the process busy must not send it to the disk either.
  const loopbackStreams = results.filter((result) => (result.spec.kind === 'stream' || result.spec.kind === 'chunker') && !result.spec.link && result.peakSpilledBytes);
  if (loopbackStreams.length > 0) {
    const worst = loopbackStreams.reduce((a, b) => (b.peakSpilledBytes!.max > a.peakSpilledBytes!.max ? b : a));
    judge(worst.peakSpilledBytes!.max === 0, 'memory: nothing spilled to disk on loopback (every stream case)',
      worst.peakSpilledBytes!.max === 0 ? `0 bytes in ${loopbackStreams.length} cases` : `${binarySize(worst.peakSpilledBytes!.max)} in ${worst.spec.id}`);
  }

  // 3. The modelled link.
  throughput('link-stream', 'link-raw', 'link: stream', 0.9);
  throughput('link-file', 'link-raw', 'link: uploadFile', 0.95);
  throughput('link-peer', 'link-raw', 'link: @google-cloud/storage');
  for (const id of ['link-stream', 'link-file']) {
    const result = get(id);
    if (!result) continue;
    const run = medianRun(result);
    const spilled = result.spec.kind === 'stream' ? `peak spilled ${binarySize(result.peakSpilledBytes?.max ?? 0)}, peak buffered ${binarySize(result.peakBufferedBytes?.max ?? 0)}; ` : '';
    info(`link: requests of ${id}`, `${spilled}${run?.dataRequests ?? '?'} data requests: ${describeRequests(run?.requestBytes)}`);
  }

  // 4. Faults.
  for (const result of results.filter((r) => r.spec.faults)) {
    const { id } = result.spec;
    const freeId = result.spec.faultFree!;
    const free = get(freeId);
    const target = `faults: ${id} ≥ 0.80× ${freeId} throughput`;
    if (!result.mbps || !free) judge(undefined, target, result.reason ?? missing(id, freeId));
    else {
      const ratio = result.mbps.median / free.mbps!.median;
      judge(ratio >= 0.8, target, `${x(ratio)} (${mb(result)} vs ${mb(free)}, ${result.faults?.median ?? 0} faults, ${result.retries?.median ?? 0} retries)`);
    }
    const faulted = result.runs.filter((run) => run.ok && run.bytesResent !== undefined && run.bytesUnpersisted !== undefined);
    if (faulted.length === 0) continue;
    const worst = faulted.reduce((a, b) => (b.bytesResent! - b.bytesUnpersisted! > a.bytesResent! - a.bytesUnpersisted! ? b : a));
    judge(faulted.every((run) => run.bytesResent! <= run.bytesUnpersisted!), `faults: ${id} re-sends only what the server did not persist`,
      `worst run: re-sent ${binarySize(worst.bytesResent!)} (received − size), received but not persisted ${binarySize(worst.bytesUnpersisted!)}, ` +
        `received again although held ${binarySize(worst.bytesDuplicate ?? 0)}, ${worst.faults} faults`);
  }

  // 5. Many files.
  for (const result of results.filter((r) => r.spec.kind === 'files')) {
    info(`files: ${result.spec.id}`, result.filesPerSecond ? `${result.filesPerSecond.median.toFixed(0)} files/s (${result.filesPerSecond.min.toFixed(0)}–${result.filesPerSecond.max.toFixed(0)})` : (result.reason ?? 'missing data'));
  }
  return lines;
}

export function formatTargets(lines: TargetLine[]): string {
  return lines.map((l) => `${l.verdict.padEnd(4)}  ${l.target}: ${l.detail}`).join('\n');
}
