/** Human-readable sizes and rates for terminal output (binary units, as `ls -h` and `du -h` use). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`;
}

export function formatRate(bytes: number, elapsedMs: number): string {
  if (elapsedMs <= 0) return '- /s';
  return `${formatBytes((bytes * 1000) / elapsedMs)}/s`;
}
