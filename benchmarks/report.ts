/**
 * The Markdown report (benchmarks/results/latest.md, also printed) of one run. Its first table is the one the
 * README's "Performance" section quotes.
 * @module
 */
import { LINK } from './cases.js';
import { binarySize, fixed, mib } from './format.js';
import type { CaseGroup } from './protocol.js';
import { describeRequests, medianRun, type CaseResult, type Spread } from './results.js';
import { formatTargets, type TargetLine } from './targets.js';

export interface RunMeta {
  date: string;
  node: string;
  platform: string;
  cpuModel: string;
  cpus: number;
  totalMemory: number;
  argv: string[];
  size: number;
  reps: number;
  /** Median peak RSS of an idle client process (same modules loaded, nothing sent). */
  idleRss: number | undefined;
  idleRuns: number[];
  seconds: number;
}

const GROUP_TITLES: Record<CaseGroup, string> = {
  loopback: 'Loopback: the client\'s own cost',
  memory: 'Memory: the stream defaults at several sizes',
  link: `A modelled link: RTT ${LINK.rttMs} ms, ${LINK.bitsPerSecond / 1e9} Gbit/s (the link proxy in its own process)`,
  faults: 'Faults: the stream defaults with a fault every 64 MiB, 10 ms constant backoff',
  files: 'Many files: addFiles against the emulator (discard storage)',
};

function range(s: Spread | undefined, digits = 1, scale = 1): string {
  if (s === undefined) return '–';
  const f = (v: number) => (v / scale).toFixed(digits);
  return s.min === s.max ? f(s.median) : `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
}

const ratio = (value: number | undefined) => (value === undefined ? '–' : `${value.toFixed(2)}×`);
const bytes = (s: Spread | undefined) => (s === undefined ? '–' : binarySize(s.max));

function caseCell(result: CaseResult): string {
  const flag = result.status === 'ok' ? '' : ` **${result.status}**`;
  return `${result.spec.label} \`${result.spec.id}\`${flag}`;
}

function table(header: string[], rows: string[][]): string {
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
  return lines.join('\n');
}

function loopbackTable(results: CaseResult[]): string {
  return table(
    ['case', 'size', 'MB/s median (min–max)', '× raw', 'CPU s/GB', '× raw', 'peak RSS MiB', 'over raw MiB', 'server CPU s/GB', 'data requests', 'full GCs'],
    results.map((r) => [
      caseCell(r),
      binarySize(r.spec.size),
      range(r.mbps),
      ratio(r.vsBaseline?.mbps),
      range(r.cpuSecondsPerGB, 2),
      ratio(r.vsBaseline?.cpu),
      range(r.peakRss, 1, 1024 * 1024),
      mib(r.rssOverBaseline),
      fixed(r.serverCpuSecondsPerGB?.median, 2),
      fixed(r.dataRequests?.median, 0),
      fixed(r.fullGcs?.median, 0),
    ]),
  );
}

function memoryTable(results: CaseResult[]): string {
  return table(
    ['case', 'size', 'MB/s median (min–max)', 'CPU s/GB', 'peak RSS MiB (min–max)', 'over raw MiB', 'over idle MiB', 'peak buffered', 'peak spilled'],
    results.map((r) => [
      caseCell(r),
      binarySize(r.spec.size),
      range(r.mbps),
      range(r.cpuSecondsPerGB, 2),
      range(r.peakRss, 1, 1024 * 1024),
      mib(r.rssOverBaseline),
      mib(r.rssOverIdle),
      bytes(r.peakBufferedBytes),
      bytes(r.peakSpilledBytes),
    ]),
  );
}

function linkTable(results: CaseResult[]): string {
  return table(
    ['case', 'MB/s median (min–max)', '× raw', 'CPU s/GB', '× raw', 'peak RSS MiB', 'peak spilled', 'data requests', 'request sizes (median run)'],
    results.map((r) => [
      caseCell(r),
      range(r.mbps),
      ratio(r.vsBaseline?.mbps),
      range(r.cpuSecondsPerGB, 2),
      ratio(r.vsBaseline?.cpu),
      range(r.peakRss, 1, 1024 * 1024),
      r.spec.kind === 'stream' ? bytes(r.peakSpilledBytes) : '–',
      fixed(r.dataRequests?.median, 0),
      describeRequests(medianRun(r)?.requestBytes),
    ]),
  );
}

function faultTable(results: CaseResult[], byId: Map<string, CaseResult>): string {
  return table(
    ['case', 'MB/s median (min–max)', '× fault-free', 'faults', 'retries', 'data requests', 're-sent (received − size)', 'received, not persisted', 'received again although held'],
    results.map((r) => {
      const free = r.spec.faultFree === undefined ? undefined : byId.get(r.spec.faultFree)?.mbps;
      return [
        caseCell(r),
        range(r.mbps),
        r.mbps && free ? ratio(r.mbps.median / free.median) : '–',
        fixed(r.faults?.median, 0),
        fixed(r.retries?.median, 0),
        fixed(r.dataRequests?.median, 0),
        bytes(r.bytesResent),
        bytes(r.bytesUnpersisted),
        bytes(r.bytesDuplicate),
      ];
    }),
  );
}

function filesTable(results: CaseResult[]): string {
  return table(
    ['case', 'files/s median (min–max)', 'MB/s', 'CPU s/GB', 'peak RSS MiB', 'emulator CPU s/GB'],
    results.map((r) => [
      caseCell(r),
      range(r.filesPerSecond, 0),
      fixed(r.mbps?.median),
      fixed(r.cpuSecondsPerGB?.median, 2),
      mib(r.peakRss?.median),
      fixed(r.serverCpuSecondsPerGB?.median, 2),
    ]),
  );
}

/** The headline table: every target's cases, each section with the reference its ratios are taken to. */
export function summaryTable(results: CaseResult[]): string {
  const byId = new Map(results.map((r) => [r.spec.id, r]));
  const rows: string[][] = [];
  const section = (title: string, ids: string[], versus: (r: CaseResult) => { mbps?: number; cpu?: number }) => {
    const members = ids.map((id) => byId.get(id)).filter((r): r is CaseResult => r?.mbps !== undefined);
    if (members.length === 0) return;
    rows.push([`**${title}**`, '', '', '', '', '']);
    for (const r of members) {
      const vs = versus(r);
      const label = r.spec.size === members[0]!.spec.size ? r.spec.label : `${r.spec.label}, ${binarySize(r.spec.size)}`;
      rows.push([label, fixed(r.mbps?.median), ratio(vs.mbps), fixed(r.cpuSecondsPerGB?.median, 2), ratio(vs.cpu), mib(r.peakRss?.median)]);
    }
  };
  const loopback = byId.get('raw');
  const size = loopback ? binarySize(loopback.spec.size) : '';
  section(`Loopback, ${size}, 64 KiB writes (× raw PUT)`, ['raw', 'stream', 'raw-crc', 'stream-nocrc', 'file', 'peer', 'chunker'], (r) => r.vsBaseline ?? {});
  section('Loopback in a lean process (× raw PUT in one)', ['raw-lean', 'stream-lean', 'stream-lean-heap'], (r) => (r.spec.id === 'raw-lean' ? {} : (r.vsBaseline ?? {})));
  const link = byId.get('link-raw');
  section(`RTT ${LINK.rttMs} ms, ${LINK.bitsPerSecond / 1e9} Gbit/s, ${link ? binarySize(link.spec.size) : ''} (× raw PUT over the link)`, ['link-raw', 'link-stream', 'link-file', 'link-peer'], (r) => r.vsBaseline ?? {});
  section('A fault every 64 MiB, loopback (× fault-free stream)', ['fault-503', 'fault-reset'], (r) => {
    const free = r.spec.faultFree === undefined ? undefined : byId.get(r.spec.faultFree);
    return free?.mbps && free.cpuSecondsPerGB && r.mbps && r.cpuSecondsPerGB
      ? { mbps: r.mbps.median / free.mbps.median, cpu: r.cpuSecondsPerGB.median / free.cpuSecondsPerGB.median }
      : {};
  });
  return table(['', 'MB/s', '×', 'CPU s/GB', '×', 'peak RSS MiB'], rows);
}

export function renderMarkdown(meta: RunMeta, results: CaseResult[], targets: TargetLine[]): string {
  const byId = new Map(results.map((r) => [r.spec.id, r]));
  const out: string[] = [];
  out.push('# Benchmarks', '');
  out.push(
    `Run ${meta.date} on Node ${meta.node}, ${meta.platform}, ${meta.cpuModel} × ${meta.cpus}, ${binarySize(meta.totalMemory)} RAM; ` +
      `${binarySize(meta.size)} per upload unless said, ${meta.reps} repetition(s), median quoted with (min–max); ${Math.round(meta.seconds)} s in all. ` +
      `Command: \`node build/benchmarks/run.js ${meta.argv.join(' ')}\`.`,
    '',
    '- The upload cases go to the trivial server (`trivial-server.ts`, in its own process: it counts bytes, compares what it persists ' +
      'with the source pattern, reports its CRC32C and answers like GCS and the temp-uploads endpoint), the link cases through the link proxy (`link-proxy.ts`, in a process ' +
      'of its own), the many-files cases to the emulator. Every run of every case is a fresh client process. Source: a seeded 1 MiB pattern ' +
      'copied into fresh 64 KiB buffers, the same bytes for every case; the server\'s final size and CRC32C are checked after every run.',
    '- MB/s = 10^6 bytes/s over the whole upload, creating the temp upload and starting the session included. CPU s/GB = user + system ' +
      'seconds of the client process per 10^9 bytes. Peak RSS = the client process\'s maxRSS over its whole life; "over idle" subtracts ' +
      `an idle client process that loaded the same modules and sent nothing (${meta.idleRss === undefined ? 'not measured' : `${mib(meta.idleRss)} MiB`}).`,
    '- × raw: median over the median of the raw PUT over the same path in the same run: one undici `PUT` streaming the whole body to a ' +
      'resumable session with `Content-Range: bytes 0-*/*`, no checksum.',
    '',
    '## Summary',
    '',
    summaryTable(results),
    '',
  );
  const groups: CaseGroup[] = ['loopback', 'memory', 'link', 'faults', 'files'];
  for (const group of groups) {
    let members = results.filter((r) => r.spec.group === group);
    if (group === 'memory') members = [...members, ...results.filter((r) => r.spec.id === 'stream')].sort((a, b) => a.spec.size - b.spec.size);
    if (members.length === 0 || (group === 'memory' && members.length === 1)) continue;
    out.push(`## ${GROUP_TITLES[group]}`, '');
    if (group === 'memory') out.push(memoryTable(members));
    else if (group === 'link') out.push(linkTable(members));
    else if (group === 'faults') out.push(faultTable(members, byId));
    else if (group === 'files') out.push(filesTable(members));
    else out.push(loopbackTable(members));
    const notes = members.filter((r) => r.spec.note || r.reason);
    if (notes.length > 0) {
      out.push('');
      for (const r of notes) {
        if (r.spec.note) out.push(`- \`${r.spec.id}\`: ${r.spec.note}`);
        if (r.reason) out.push(`- \`${r.spec.id}\` ${r.status}: ${r.reason}`);
      }
    }
    out.push('');
  }
  out.push('## Targets', '', '```', formatTargets(targets), '```', '');
  return out.join('\n');
}
