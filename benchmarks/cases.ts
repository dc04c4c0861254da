/**
 * The cases of one run. Each names the case its ratios are taken to (`baseline`: a raw PUT of the same bytes over
 * the same path, measured in the same run) and, for the fault cases, the fault-free run they are compared with.
 * @module
 */
import type { BenchOptions } from './args.js';
import { binarySize, shortSize } from './format.js';
import { KiB, MiB, type CaseSpec, type FaultPlan } from './protocol.js';

/** Source writes of every upload case: a typical stream's piece (a pipe's or gzip's output is 16–64 KiB). */
export const WRITE_SIZE = 64 * KiB;
/** The peer's and stream-chunker's chunk size (the peer's default, and this library's request unit). */
export const PEER_CHUNK = 8 * MiB;
export const FAULT_EVERY = 64 * MiB;
/** Marks at 64 MiB + 4 MiB, 128 MiB + 4 MiB, …: inside requests of any multiple of 8 MiB, never on their ends. */
export const FAULT_PHASE = 4 * MiB;
/** The old-generation size a lean client process starts with in its third case (MB). */
export const LEAN_INITIAL_OLD_SPACE_MB = 64;
/** The modelled link. */
export const LINK = { rttMs: 40, bitsPerSecond: 1e9 };

const linkLabel = `RTT ${LINK.rttMs} ms, ${LINK.bitsPerSecond / 1e9} Gbit/s`;

export function buildCases(options: BenchOptions): CaseSpec[] {
  const { size } = options;
  const base = { server: 'trivial', writeSize: WRITE_SIZE } as const;
  const cases: CaseSpec[] = [];
  const w = binarySize(WRITE_SIZE);

  // 1. Loopback: the client's own cost.
  cases.push(
    { ...base, id: 'raw', group: 'loopback', kind: 'raw', size, label: `raw PUT, ${w} writes` },
    { ...base, id: 'stream', group: 'loopback', kind: 'stream', size, baseline: 'raw', label: `stream defaults, ${w} writes` },
    // What the checksum alone costs, on either side: the raw PUT doing CRC32C, the stream not doing it.
    { ...base, id: 'raw-crc', group: 'loopback', kind: 'raw', size, crc32c: true, baseline: 'raw', label: `raw PUT + CRC32C of its body, ${w} writes` },
    { ...base, id: 'stream-nocrc', group: 'loopback', kind: 'stream', size, crc32c: false, baseline: 'raw', label: `stream, CRC32C off, ${w} writes` },
    {
      ...base,
      id: 'file',
      group: 'loopback',
      kind: 'file',
      size,
      baseline: 'raw',
      label: 'uploadFile defaults',
      note: 'a file of the same bytes, written (and so in the page cache) before the client process starts',
    },
    { ...base, id: 'peer', group: 'loopback', kind: 'peer', size, chunkSize: PEER_CHUNK, baseline: 'raw', label: `@google-cloud/storage, ${binarySize(PEER_CHUNK)} chunks, ${w} writes` },
  );
  // The same pair in a process that loads nothing else: a small heap is collected far more often by some V8 versions.
  cases.push(
    { ...base, id: 'raw-lean', group: 'loopback', kind: 'raw', size, lean: true, baseline: 'raw', label: 'raw PUT, lean process' },
    { ...base, id: 'stream-lean', group: 'loopback', kind: 'stream', size, lean: true, baseline: 'raw-lean', label: 'stream defaults, lean process' },
    {
      ...base,
      id: 'stream-lean-heap',
      group: 'loopback',
      kind: 'stream',
      size,
      lean: true,
      nodeOptions: [`--initial-old-space-size=${LEAN_INITIAL_OLD_SPACE_MB}`],
      baseline: 'raw-lean',
      label: `stream defaults, lean process, ${LEAN_INITIAL_OLD_SPACE_MB} MB initial old space`,
    },
  );
  // stream-chunker concatenates its pending bytes on every write (64 KiB of 8 MiB: 128 copies per chunk): slow, so
  // a smaller upload (MB/s does not depend on the size).
  const chunkerSize = Math.min(size, options.quick ? 32 * MiB : 128 * MiB);
  cases.push({
    ...base,
    id: 'chunker',
    group: 'loopback',
    kind: 'chunker',
    size: chunkerSize,
    chunkSize: PEER_CHUNK,
    baseline: 'raw',
    label: `stream-chunker (${binarySize(PEER_CHUNK)}) in front of the stream, ${w} writes`,
    ...(chunkerSize < size ? { note: `${binarySize(chunkerSize)} only: stream-chunker re-copies up to a chunk per write` } : {}),
  });

  // 2. Memory: the stream defaults at a quarter, once and four times the size (the middle one is `stream`).
  for (const bytes of [size / 4, ...(options.skipLarge ? [] : [size * 4])].map((b) => Math.floor(b / MiB) * MiB)) {
    cases.push({ ...base, id: `stream-${shortSize(bytes)}`, group: 'memory', kind: 'stream', size: bytes, baseline: 'raw', label: `stream defaults, ${binarySize(bytes)}` });
  }

  // 3. A modelled link: half the size, but at least 128 MiB, so the stream has room to measure and grow its requests.
  const linkSize = Math.max(128 * MiB, Math.floor(size / 2 / MiB) * MiB);
  const onLink = { ...base, group: 'link', link: true, size: linkSize } as const;
  cases.push(
    { ...onLink, id: 'link-raw', kind: 'raw', label: `raw PUT, ${linkLabel}` },
    { ...onLink, id: 'link-stream', kind: 'stream', baseline: 'link-raw', label: `stream defaults, ${linkLabel}` },
    { ...onLink, id: 'link-file', kind: 'file', baseline: 'link-raw', label: `uploadFile defaults, ${linkLabel}` },
    { ...onLink, id: 'link-peer', kind: 'peer', chunkSize: PEER_CHUNK, baseline: 'link-raw', label: `@google-cloud/storage, ${binarySize(PEER_CHUNK)} chunks, ${linkLabel}` },
  );

  // 4. Faults, with a 10 ms constant backoff so the cost shown is the protocol's (status query, resend).
  const faults: Array<[string, string, FaultPlan['kind']]> = [
    ['fault-503', '503 and close', 'status'],
    ['fault-reset', 'connection reset', 'reset'],
  ];
  for (const [id, what, kind] of faults) {
    cases.push({
      ...base,
      id,
      group: 'faults',
      kind: 'stream',
      size,
      baseline: 'raw',
      faultFree: 'stream',
      faults: { kind, everyBytes: FAULT_EVERY, phaseBytes: FAULT_PHASE },
      label: `stream defaults, ${what} every ${binarySize(FAULT_EVERY)}`,
    });
  }

  // 5. Many small files through addFiles, against the emulator (discard storage).
  const fileCount = options.quick ? 500 : 2000;
  const fileSize = 64 * KiB;
  for (const concurrency of [1, 8, 32]) {
    cases.push({
      id: `files-x${concurrency}`,
      group: 'files',
      label: `addFiles, ${fileCount} × ${binarySize(fileSize)}, concurrency ${concurrency}`,
      kind: 'files',
      server: 'emulator',
      size: fileCount * fileSize,
      writeSize: fileSize,
      files: { count: fileCount, fileSize, concurrency },
    });
  }
  return cases;
}

/** Keeps the cases `only` matches, plus the baselines and other runs they are compared with. */
export function selectCases(all: CaseSpec[], only: RegExp | undefined): CaseSpec[] {
  if (only === undefined) return all;
  const wanted = new Set(all.filter((spec) => only.test(spec.id)).map((spec) => spec.id));
  for (const spec of all.filter((s) => wanted.has(s.id))) {
    if (spec.baseline !== undefined) wanted.add(spec.baseline);
    if (spec.faultFree !== undefined) wanted.add(spec.faultFree);
    // The memory series is read with its middle point, the loopback stream.
    if (spec.group === 'memory') wanted.add('stream');
  }
  return all.filter((spec) => wanted.has(spec.id));
}
