/**
 * A hand-written SVG: one horizontal bar per case (median MB/s) with a min–max whisker and its ratio to its
 * reference, grouped by target, with each group's reference (the raw PUT over the same path, or the fault-free
 * stream) drawn as a dashed line across the group.
 * @module
 */
import { LINK } from './cases.js';
import type { CaseGroup, CaseKind } from './protocol.js';
import type { CaseResult } from './results.js';
import type { RunMeta } from './report.js';
import { binarySize } from './format.js';

const KIND_COLORS: Record<CaseKind, string> = {
  raw: '#6b7280',
  stream: '#2563eb',
  file: '#0891b2',
  peer: '#d97706',
  chunker: '#9333ea',
  files: '#16a34a',
  idle: '#6b7280',
};

const GROUP_NAMES: Record<CaseGroup, string> = {
  loopback: 'loopback, 64 KiB writes (dashed: raw PUT)',
  memory: 'memory series',
  link: `RTT ${LINK.rttMs} ms, ${LINK.bitsPerSecond / 1e9} Gbit/s link (dashed: raw PUT over the link)`,
  faults: 'a fault every 64 MiB (dashed: fault-free stream)',
  files: 'addFiles',
};

/** The memory series is about RSS, in the tables; its throughput at other sizes has no reference here. */
const ORDER: CaseGroup[] = ['loopback', 'link', 'faults'];

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A round axis maximum and tick step. */
function axis(max: number): { top: number; step: number } {
  const raw = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!;
  return { top: Math.ceil(max / step) * step, step };
}

export function renderChart(meta: RunMeta, results: CaseResult[]): string {
  const byId = new Map(results.map((r) => [r.spec.id, r]));
  const rows = ORDER.flatMap((group) => results.filter((r) => r.mbps && r.spec.group === group));
  const labelWidth = 380;
  const plotWidth = 460;
  const valueWidth = 150;
  const rowHeight = 18;
  const groupGap = 26;
  const top = 56;
  const width = labelWidth + plotWidth + valueWidth + 20;
  const { top: xMax, step } = axis(Math.max(1, ...rows.map((r) => r.mbps!.max)));
  const x = (value: number) => labelWidth + (value / xMax) * plotWidth;
  const referenceOf = (r: CaseResult) => byId.get(r.spec.faultFree ?? r.spec.baseline ?? '')?.mbps?.median;

  const body: string[] = [];
  let y = top;
  let previous: CaseGroup | undefined;
  let groupTop = y;
  const closeGroup = () => {
    const first = rows.find((r) => r.spec.group === previous && referenceOf(r) !== undefined);
    const reference = first ? referenceOf(first)! : undefined;
    if (reference !== undefined) body.push(`<line x1="${x(reference).toFixed(1)}" x2="${x(reference).toFixed(1)}" y1="${groupTop}" y2="${y}" class="ref"/>`);
  };
  for (const r of rows) {
    if (r.spec.group !== previous) {
      if (previous !== undefined) closeGroup();
      y += previous === undefined ? 8 : groupGap;
      body.push(`<text x="8" y="${y - 5}" class="group">${escapeXml(GROUP_NAMES[r.spec.group])}</text>`);
      previous = r.spec.group;
      groupTop = y;
    }
    const { median, min, max } = r.mbps!;
    const mid = y + rowHeight / 2;
    const label = r.spec.label.length > 64 ? `${r.spec.label.slice(0, 63)}…` : r.spec.label;
    const reference = referenceOf(r);
    const value = `${median.toFixed(0)} MB/s${reference ? ` · ${(median / reference).toFixed(2)}×` : ''}`;
    body.push(
      `<text x="${labelWidth - 8}" y="${mid + 4}" text-anchor="end">${escapeXml(label)}</text>`,
      `<rect x="${labelWidth}" y="${y + 3}" width="${Math.max(0.5, x(median) - labelWidth).toFixed(1)}" height="${rowHeight - 6}" fill="${KIND_COLORS[r.spec.kind]}" opacity="0.85"><title>${escapeXml(`${r.spec.id}: ${median.toFixed(1)} MB/s (${min.toFixed(1)}–${max.toFixed(1)})`)}</title></rect>`,
      `<line x1="${x(min).toFixed(1)}" x2="${x(max).toFixed(1)}" y1="${mid}" y2="${mid}" class="whisker"/>`,
      `<line x1="${x(min).toFixed(1)}" x2="${x(min).toFixed(1)}" y1="${mid - 4}" y2="${mid + 4}" class="whisker"/>`,
      `<line x1="${x(max).toFixed(1)}" x2="${x(max).toFixed(1)}" y1="${mid - 4}" y2="${mid + 4}" class="whisker"/>`,
      `<text x="${labelWidth + plotWidth + 8}" y="${mid + 4}">${escapeXml(value)}</text>`,
    );
    y += rowHeight;
  }
  if (previous !== undefined) closeGroup();
  const bottom = y + 8;

  const grid: string[] = [];
  for (let v = 0; v <= xMax + step / 2; v += step) {
    grid.push(
      `<line x1="${x(v).toFixed(1)}" x2="${x(v).toFixed(1)}" y1="${top - 6}" y2="${bottom}" class="grid"/>`,
      `<text x="${x(v).toFixed(1)}" y="${bottom + 14}" text-anchor="middle" class="tick">${Number(v.toFixed(2))}</text>`,
    );
  }

  const height = bottom + 44;
  const linkSize = byId.get('link-raw')?.spec.size;
  const sizes = `${binarySize(meta.size)} per loopback upload${linkSize ? `, ${binarySize(linkSize)} over the link` : ''}`;
  const subtitle = `${sizes}, median of ${meta.reps} with min–max whiskers; trivial server, CRC32C on; Node ${meta.node}, ${meta.cpuModel} × ${meta.cpus}; ${meta.date.slice(0, 10)}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="11">`,
    '<style>.group{font-weight:600;font-size:12px;fill:#111827}.grid{stroke:#e5e7eb}.ref{stroke:#111827;stroke-dasharray:3 3}.whisker{stroke:#111827;stroke-width:1.2}.tick{fill:#4b5563;font-size:10px}</style>',
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="8" y="20" font-size="15" font-weight="600">redivis-upload: upload throughput, MB/s (10^6 bytes/s), and ratio to the group's reference</text>`,
    `<text x="8" y="36" class="tick">${escapeXml(subtitle)}</text>`,
    ...grid,
    ...body,
    `<text x="${labelWidth + plotWidth / 2}" y="${bottom + 32}" text-anchor="middle" class="tick">MB/s</text>`,
    '</svg>',
    '',
  ].join('\n');
}
