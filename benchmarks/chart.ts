/**
 * A hand-written SVG: one horizontal bar per case (median MB/s) with a min–max whisker, grouped and coloured by
 * kind of case, with the raw-PUT medians drawn as reference lines.
 * @module
 */
import type { CaseGroup } from './protocol.js';
import type { CaseResult } from './results.js';
import type { RunMeta } from './report.js';
import { binarySize } from './format.js';

const COLORS: Record<CaseGroup, string> = {
  limit: '#6b7280',
  stream: '#2563eb',
  peer: '#d97706',
  chunker: '#9333ea',
  scaling: '#0891b2',
  recovery: '#dc2626',
  files: '#16a34a',
  disk: '#4b5563',
};

const GROUP_NAMES: Record<CaseGroup, string> = {
  limit: 'raw PUT (the limit)',
  stream: 'createTempUploadStream',
  peer: '@google-cloud/storage',
  chunker: 'stream-chunker + stream',
  scaling: 'memory scaling',
  recovery: 'with faults every 64 MiB',
  files: 'addFiles',
  disk: 'disk storage',
};

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
  const rows = results.filter((r) => r.mbps && r.spec.group !== 'files');
  const labelWidth = 360;
  const plotWidth = 480;
  const valueWidth = 90;
  const rowHeight = 18;
  const groupGap = 22;
  const top = 56;
  const width = labelWidth + plotWidth + valueWidth + 20;
  const { top: xMax, step } = axis(Math.max(1, ...rows.map((r) => r.mbps!.max)));
  const x = (value: number) => labelWidth + (value / xMax) * plotWidth;

  const body: string[] = [];
  let y = top;
  let previous: CaseGroup | undefined;
  for (const r of rows) {
    if (r.spec.group !== previous) {
      y += previous === undefined ? 8 : groupGap;
      body.push(`<text x="8" y="${y - 4}" class="group" fill="${COLORS[r.spec.group]}">${escapeXml(GROUP_NAMES[r.spec.group])}</text>`);
      previous = r.spec.group;
    }
    const { median, min, max } = r.mbps!;
    const mid = y + rowHeight / 2;
    const label = r.spec.label.length > 62 ? `${r.spec.label.slice(0, 61)}…` : r.spec.label;
    body.push(
      `<text x="${labelWidth - 8}" y="${mid + 4}" text-anchor="end">${escapeXml(label)}</text>`,
      `<rect x="${labelWidth}" y="${y + 3}" width="${Math.max(0.5, x(median) - labelWidth).toFixed(1)}" height="${rowHeight - 6}" fill="${COLORS[r.spec.group]}" opacity="0.85"><title>${escapeXml(`${r.spec.id}: ${median.toFixed(1)} MB/s (${min.toFixed(1)}–${max.toFixed(1)})`)}</title></rect>`,
      `<line x1="${x(min).toFixed(1)}" x2="${x(max).toFixed(1)}" y1="${mid}" y2="${mid}" class="whisker"/>`,
      `<line x1="${x(min).toFixed(1)}" x2="${x(min).toFixed(1)}" y1="${mid - 4}" y2="${mid + 4}" class="whisker"/>`,
      `<line x1="${x(max).toFixed(1)}" x2="${x(max).toFixed(1)}" y1="${mid - 4}" y2="${mid + 4}" class="whisker"/>`,
      `<text x="${labelWidth + plotWidth + 8}" y="${mid + 4}">${median.toFixed(0)} MB/s</text>`,
    );
    y += rowHeight;
  }
  const bottom = y + 8;

  const grid: string[] = [];
  for (let v = 0; v <= xMax + step / 2; v += step) {
    grid.push(
      `<line x1="${x(v).toFixed(1)}" x2="${x(v).toFixed(1)}" y1="${top - 6}" y2="${bottom}" class="grid"/>`,
      `<text x="${x(v).toFixed(1)}" y="${bottom + 14}" text-anchor="middle" class="tick">${Number(v.toFixed(2))}</text>`,
    );
  }
  const raw = results.find((r) => r.spec.id === 'raw-w16k')?.mbps;
  if (raw) {
    grid.push(
      `<line x1="${x(raw.median).toFixed(1)}" x2="${x(raw.median).toFixed(1)}" y1="${top - 6}" y2="${bottom}" class="ref"/>`,
      `<text x="${x(raw.median).toFixed(1)}" y="${top - 10}" text-anchor="middle" class="tick">raw PUT, 16 KiB writes</text>`,
    );
  }

  const height = bottom + 44;
  const subtitle = `${binarySize(meta.size)} per upload, median of ${meta.reps} with min–max whiskers; Node ${meta.node}, ${meta.cpuModel} × ${meta.cpus}; ${meta.date.slice(0, 10)}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="11">`,
    '<style>.group{font-weight:600;font-size:12px}.grid{stroke:#e5e7eb}.ref{stroke:#111827;stroke-dasharray:3 3}.whisker{stroke:#111827;stroke-width:1.2}.tick{fill:#4b5563;font-size:10px}</style>',
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="8" y="20" font-size="15" font-weight="600">redivis-upload: upload throughput against the local emulator (MB/s, 10^6 bytes/s)</text>`,
    `<text x="8" y="36" class="tick">${escapeXml(subtitle)}</text>`,
    ...grid,
    ...body,
    `<text x="${labelWidth + plotWidth / 2}" y="${bottom + 32}" text-anchor="middle" class="tick">MB/s</text>`,
    '</svg>',
    '',
  ].join('\n');
}
