/**
 * Number formatting shared by the runner, the report and the micro-benchmarks.
 * @module
 */
import { GiB, KiB, MiB } from './protocol.js';

/** `16k`, `8m`, `1g`: short binary sizes for case ids. */
export function shortSize(bytes: number): string {
  if (bytes % GiB === 0) return `${bytes / GiB}g`;
  if (bytes % MiB === 0) return `${bytes / MiB}m`;
  if (bytes % KiB === 0) return `${bytes / KiB}k`;
  return `${bytes}b`;
}

/** `16 KiB`, `8 MiB`, `1.5 GiB`. */
export function binarySize(bytes: number): string {
  if (bytes < 0) return `-${binarySize(-bytes)}`;
  const trim = (value: number) => String(Number(value.toFixed(2)));
  if (bytes >= GiB) return `${trim(bytes / GiB)} GiB`;
  if (bytes >= MiB) return `${trim(bytes / MiB)} MiB`;
  if (bytes >= KiB) return `${trim(bytes / KiB)} KiB`;
  return `${bytes} B`;
}

/** Fixed decimals, or `–` when the value is missing. */
export function fixed(value: number | undefined, digits = 1): string {
  return value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits);
}

/** MiB with one decimal. */
export function mib(bytes: number | undefined): string {
  return bytes === undefined ? '–' : (bytes / MiB).toFixed(1);
}

/** Pads or cuts `text` to `width` columns. */
export function pad(text: string, width: number, right = false): string {
  if (text.length >= width) return text;
  return right ? text.padStart(width) : text.padEnd(width);
}
