/**
 * The list of cases of one run, and the scripted faults of the recovery cases.
 * @module
 */
import type { FaultRule } from '../src/emulator/index.js';
import { DEFAULT_CHUNK_SIZE } from '../src/upload/stream-options.js';
import type { BenchOptions } from './args.js';
import { binarySize, shortSize } from './format.js';
import { KiB, MiB, type CaseSpec, type FaultPlan } from './protocol.js';

/** Source write sizes: gzip-like small writes and large reads. */
export const WRITE_SIZES = [16 * KiB, MiB];
export const CHUNK_SIZES = [MiB, DEFAULT_CHUNK_SIZE, 32 * MiB];
/** Write size of the cases that use one: scaling, recovery, the stream-chunker baseline. */
export const HEADLINE_WRITE = 16 * KiB;
export const FAULT_EVERY = 64 * MiB;

/** The raw-PUT baseline a case is compared with: same storage, same write size. */
export function baselineIdFor(spec: CaseSpec): string | undefined {
  if (spec.kind === 'files' || spec.kind === 'idle') return undefined;
  return `${spec.storage === 'disk' ? 'disk-' : ''}raw-w${shortSize(spec.writeSize)}`;
}

/** The fault-free case a recovery case is compared with. */
export function faultFreeIdFor(spec: CaseSpec): string {
  return `stream-c${shortSize(spec.chunkSize ?? DEFAULT_CHUNK_SIZE)}-w${shortSize(spec.writeSize)}`;
}

export function buildCases(options: BenchOptions): CaseSpec[] {
  const { size } = options;
  const cases: CaseSpec[] = [];
  const w = (bytes: number) => `w${shortSize(bytes)}`;
  const c = (bytes: number) => `c${shortSize(bytes)}`;

  for (const writeSize of WRITE_SIZES) {
    cases.push({
      id: `raw-${w(writeSize)}`,
      group: 'limit',
      label: `raw PUT, ${binarySize(writeSize)} writes`,
      kind: 'raw',
      storage: 'discard',
      size,
      writeSize,
    });
  }
  for (const writeSize of WRITE_SIZES) {
    for (const chunkSize of CHUNK_SIZES) {
      cases.push({
        id: `stream-${c(chunkSize)}-${w(writeSize)}`,
        group: 'stream',
        label: `stream ${binarySize(chunkSize)} chunks, ${binarySize(writeSize)} writes${chunkSize === DEFAULT_CHUNK_SIZE ? ' (default)' : ''}`,
        kind: 'stream',
        storage: 'discard',
        size,
        writeSize,
        chunkSize,
      });
    }
  }
  for (const writeSize of WRITE_SIZES) {
    for (const chunkSize of [...CHUNK_SIZES, undefined]) {
      cases.push({
        id: `peer-${chunkSize === undefined ? 'single' : c(chunkSize)}-${w(writeSize)}`,
        group: 'peer',
        label: `GCS ${chunkSize === undefined ? 'single request' : `${binarySize(chunkSize)} chunks`}, ${binarySize(writeSize)} writes`,
        kind: 'peer',
        storage: 'discard',
        size,
        writeSize,
        ...(chunkSize === undefined ? {} : { chunkSize }),
        peerCrc: 'default',
      });
    }
    cases.push({
      id: `peer-native-${c(DEFAULT_CHUNK_SIZE)}-${w(writeSize)}`,
      group: 'peer',
      label: `GCS ${binarySize(DEFAULT_CHUNK_SIZE)} chunks + native CRC32C, ${binarySize(writeSize)} writes`,
      kind: 'peer',
      storage: 'discard',
      size,
      writeSize,
      chunkSize: DEFAULT_CHUNK_SIZE,
      peerCrc: 'native',
      note: 'the peer with `crc32cGenerator` backed by @node-rs/crc32 instead of its pure-JS CRC32C: its transport alone',
    });
  }

  // stream-chunker concatenates its whole pending buffer on every write, so its cost per byte grows with
  // chunk/write; the slow combinations get smaller uploads (MB/s does not depend on the size).
  for (const [chunkSize, writeSize, cap] of [
    [MiB, HEADLINE_WRITE, 256 * MiB],
    [DEFAULT_CHUNK_SIZE, MiB, undefined],
    [DEFAULT_CHUNK_SIZE, HEADLINE_WRITE, 128 * MiB],
  ] as const) {
    const capped = cap !== undefined && size > cap;
    cases.push({
      id: `chunker-${c(chunkSize)}-${w(writeSize)}`,
      group: 'chunker',
      label: `stream-chunker + stream ${binarySize(chunkSize)} chunks, ${binarySize(writeSize)} writes`,
      kind: 'chunker',
      storage: 'discard',
      size: capped ? cap : size,
      writeSize,
      chunkSize,
      ...(capped
        ? { note: `${binarySize(cap)} only: stream-chunker re-copies up to a chunk per write, ${chunkSize / writeSize} writes per chunk` }
        : {}),
    });
  }

  const scaling = [size / 4, size, ...(options.skipLarge ? [] : [size * 4])].map((bytes) => Math.floor(bytes / MiB) * MiB);
  for (const bytes of scaling) {
    cases.push({
      id: `scale-${shortSize(bytes)}`,
      group: 'scaling',
      label: `stream defaults, ${binarySize(bytes)}`,
      kind: 'stream',
      storage: 'discard',
      size: bytes,
      writeSize: HEADLINE_WRITE,
      chunkSize: DEFAULT_CHUNK_SIZE,
    });
  }

  const faultPlans: Array<[string, string, FaultPlan]> = [
    ['503-fast', '503 after half a chunk', { kind: 'status', everyBytes: FAULT_EVERY, afterBytes: DEFAULT_CHUNK_SIZE / 2, backoff: 'fast' }],
    ['reset-fast', 'reset after half a chunk', { kind: 'reset', everyBytes: FAULT_EVERY, afterBytes: DEFAULT_CHUNK_SIZE / 2, backoff: 'fast' }],
    ['503-default', '503 after half a chunk', { kind: 'status', everyBytes: FAULT_EVERY, afterBytes: DEFAULT_CHUNK_SIZE / 2, backoff: 'default' }],
  ];
  for (const [suffix, what, faults] of faultPlans) {
    cases.push({
      id: `recovery-${suffix}`,
      group: 'recovery',
      label: `stream, ${what} every ${binarySize(FAULT_EVERY)}${faults.backoff === 'default' ? ', default backoff' : ''}`,
      kind: 'stream',
      storage: 'discard',
      size,
      writeSize: HEADLINE_WRITE,
      chunkSize: DEFAULT_CHUNK_SIZE,
      faults,
      note:
        faults.backoff === 'fast'
          ? 'retry backoff set to a constant 10 ms, so the slowdown is the protocol\'s (status query + resend)'
          : 'the library\'s default backoff (500 ms doubling, ±50 % jitter): the slowdown is mostly waiting',
    });
  }

  const fileCount = options.quick ? 500 : 2000;
  const fileSize = 64 * KiB;
  for (const concurrency of [1, 8, 32]) {
    cases.push({
      id: `files-x${concurrency}`,
      group: 'files',
      label: `addFiles, ${fileCount} × ${binarySize(fileSize)}, concurrency ${concurrency}`,
      kind: 'files',
      storage: 'discard',
      size: fileCount * fileSize,
      writeSize: fileSize,
      files: { count: fileCount, fileSize, concurrency },
    });
  }

  for (const writeSize of WRITE_SIZES) {
    cases.push({
      id: `disk-raw-${w(writeSize)}`,
      group: 'disk',
      label: `raw PUT, ${binarySize(writeSize)} writes, disk storage`,
      kind: 'raw',
      storage: 'disk',
      size,
      writeSize,
    });
    cases.push({
      id: `disk-stream-${c(DEFAULT_CHUNK_SIZE)}-${w(writeSize)}`,
      group: 'disk',
      label: `stream defaults, ${binarySize(writeSize)} writes, disk storage`,
      kind: 'stream',
      storage: 'disk',
      size,
      writeSize,
      chunkSize: DEFAULT_CHUNK_SIZE,
    });
  }
  return cases;
}

/** Keeps the cases `only` matches, plus the baselines and fault-free runs they are compared with. */
export function selectCases(all: CaseSpec[], only: RegExp | undefined): CaseSpec[] {
  if (only === undefined) return all;
  const wanted = new Set(all.filter((spec) => only.test(spec.id)).map((spec) => spec.id));
  for (const spec of all.filter((s) => wanted.has(s.id))) {
    const baseline = baselineIdFor(spec);
    if (baseline !== undefined) wanted.add(baseline);
    if (spec.faults) wanted.add(faultFreeIdFor(spec));
  }
  return all.filter((spec) => wanted.has(spec.id));
}

/**
 * One rule per fault, each firing once. A rule's `nth` counts every data request from when it was added, and
 * each fault costs one extra data request (the resend), so the i-th fault goes on request i·k + (i − 1): a fault
 * every k fresh chunks. The last chunk is never faulted.
 */
export function faultRules(spec: CaseSpec): FaultRule[] {
  const plan = spec.faults;
  if (plan === undefined) return [];
  const chunkSize = spec.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const every = Math.max(1, Math.round(plan.everyBytes / chunkSize));
  const chunks = Math.ceil(spec.size / chunkSize);
  const rules: FaultRule[] = [];
  for (let i = 1; i * every < chunks; i++) {
    rules.push({
      match: { kind: 'chunk', nth: i * every + (i - 1) },
      fault: plan.kind === 'status' ? { kind: 'status', status: 503, afterBytes: plan.afterBytes } : { kind: 'reset', afterBytes: plan.afterBytes },
    });
  }
  return rules;
}
