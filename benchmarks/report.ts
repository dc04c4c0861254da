/**
 * The Markdown report (benchmarks/results/latest.md, also printed) of one run.
 * @module
 */
import { binarySize, fixed, mib } from './format.js';
import type { CaseGroup } from './protocol.js';
import type { CaseResult, Spread } from './results.js';
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
  limit: 'The limit: raw PUT',
  stream: 'createTempUploadStream, unknown size',
  peer: 'The peer: @google-cloud/storage createWriteStream({ uri })',
  chunker: 'stream-chunker in front of the stream',
  scaling: 'Memory scaling (default settings, 16 KiB writes)',
  recovery: 'Recovery cost',
  files: 'Many files: addFiles',
  disk: 'Disk storage (the emulator writes every byte to a file)',
};

function range(s: Spread | undefined, digits = 1, scale = 1): string {
  if (s === undefined) return '–';
  const f = (v: number) => (v / scale).toFixed(digits);
  return s.min === s.max ? f(s.median) : `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
}

function ratio(value: number | undefined): string {
  return value === undefined ? '–' : `${value.toFixed(2)}×`;
}

function caseCell(result: CaseResult): string {
  const flag = result.status === 'ok' ? '' : ` **${result.status}**`;
  return `${result.spec.label} \`${result.spec.id}\`${flag}`;
}

function table(header: string[], rows: string[][]): string {
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
  return lines.join('\n');
}

function throughputTable(results: CaseResult[]): string {
  return table(
    ['case', 'MB/s median (min–max)', '× raw', 'CPU s/GB', '× raw', 'peak RSS MiB', '× raw', 'over idle MiB', 'emulator CPU s/GB', 'data requests'],
    results.map((r) => [
      caseCell(r),
      range(r.mbps),
      ratio(r.vsBaseline?.mbps),
      range(r.cpuSecondsPerGB, 2),
      ratio(r.vsBaseline?.cpu),
      range(r.peakRss, 1, 1024 * 1024),
      ratio(r.vsBaseline?.rss),
      mib(r.rssOverIdle),
      fixed(r.serverCpuSecondsPerGB?.median, 2),
      fixed(r.dataRequests?.median, 0),
    ]),
  );
}

function scalingTable(results: CaseResult[]): string {
  return table(
    ['case', 'size', 'MB/s median (min–max)', 'CPU s/GB', 'peak RSS MiB (min–max)', 'over idle MiB', "stream's peak buffered"],
    results.map((r) => [
      caseCell(r),
      binarySize(r.spec.size),
      range(r.mbps),
      range(r.cpuSecondsPerGB, 2),
      range(r.peakRss, 1, 1024 * 1024),
      mib(r.rssOverIdle),
      r.peakBufferedBytes ? binarySize(r.peakBufferedBytes.max) : '–',
    ]),
  );
}

function recoveryTable(results: CaseResult[], byId: Map<string, CaseResult>, faultFreeOf: (r: CaseResult) => string): string {
  return table(
    ['case', 'MB/s median (min–max)', 'vs fault-free', 'faults', 'retries', 'data requests', 'bytes resent (median)', 'resent per fault'],
    results.map((r) => {
      const free = byId.get(faultFreeOf(r))?.mbps;
      const faults = r.faults?.median;
      return [
        caseCell(r),
        range(r.mbps),
        r.mbps && free ? `${((r.mbps.median / free.median) * 100).toFixed(1)} %` : '–',
        fixed(faults, 0),
        fixed(r.retries?.median, 0),
        fixed(r.dataRequests?.median, 0),
        r.bytesResent ? binarySize(r.bytesResent.median) : '–',
        r.bytesResent && faults ? binarySize(r.bytesResent.median / faults) : '–',
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

export function renderMarkdown(meta: RunMeta, results: CaseResult[], targets: TargetLine[], faultFreeOf: (r: CaseResult) => string): string {
  const byId = new Map(results.map((r) => [r.spec.id, r]));
  const out: string[] = [];
  out.push('# Benchmarks', '');
  out.push(
    `Run ${meta.date} on Node ${meta.node}, ${meta.platform}, ${meta.cpuModel} × ${meta.cpus}, ${binarySize(meta.totalMemory)} RAM; ` +
      `${binarySize(meta.size)} per upload unless said, ${meta.reps} repetition(s), median quoted with (min–max); ${Math.round(meta.seconds)} s in all. ` +
      `Command: \`node build/benchmarks/run.js ${meta.argv.join(' ')}\`.`,
    '',
    '- The emulator runs in its own process (storage `discard` unless said: sizes and running MD5/CRC32C only); every case runs in a fresh ' +
      'client process. Source: a seeded 1 MiB pattern copied into fresh buffers of the write size, the same bytes for every case; the server\'s ' +
      'final size and CRC32C are checked after every run.',
    '- MB/s = 10^6 bytes/s over the whole upload, creating the temp upload and starting the session included. CPU s/GB = user + system ' +
      'seconds of the client process per 10^9 bytes. Peak RSS = the client process\'s maxRSS over its whole life; "over idle" subtracts ' +
      `an idle client process that loaded the same modules and sent nothing (${meta.idleRss === undefined ? 'not measured' : `${mib(meta.idleRss)} MiB`}).`,
    '- × raw: median over the median of the raw PUT with the same write size and storage, measured in the same run. The raw PUT is one undici ' +
      '`request` `PUT` streaming the whole body to a resumable session with `Content-Range: bytes 0-*/*` (the emulator\'s single-request ' +
      'mode, served by the same session handler as every chunk), no checksum.',
    '- The peer uses its default CRC32C validation (a pure-JS CRC32C) unless the case says native.',
    '',
  );
  const groups: CaseGroup[] = ['limit', 'stream', 'peer', 'chunker', 'scaling', 'recovery', 'files', 'disk'];
  for (const group of groups) {
    const members = results.filter((r) => r.spec.group === group);
    if (members.length === 0) continue;
    out.push(`## ${GROUP_TITLES[group]}`, '');
    if (group === 'scaling') out.push(scalingTable(members));
    else if (group === 'recovery') out.push(recoveryTable(members, byId, faultFreeOf));
    else if (group === 'files') out.push(filesTable(members));
    else out.push(throughputTable(members));
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
