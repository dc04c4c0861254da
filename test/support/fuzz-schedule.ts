/**
 * Seeded fault schedules for fuzzing the upload stream: which requests fail and how, combined with the source's
 * shape (size, write sizes, known or unknown size), the chunk size and the retry budget. The same seed always gives
 * the same schedule, so a failing run is replayed from its seed alone.
 */
import type { Fault } from '../../src/emulator/index.js';
import { CHUNK_ALIGNMENT as Q } from '../../src/upload/content-range.js';
import { prng } from './data.js';

/** The request kinds a scheduled fault can hit. `api` (the tempUploads call) only with the `table` target. */
export type FuzzRequestKind = 'chunk' | 'status' | 'initiate' | 'finalize' | 'api';

/** One fault: the `nth` request of `kind` (and the `times - 1` after it) gets `fault`. */
export interface ScheduledFault {
  kind: FuzzRequestKind;
  nth: number;
  times: number;
  fault: Fault;
}

/** Everything one fuzz run does, derived from `seed`. */
export interface FuzzSchedule {
  seed: number;
  /** `url`: the stream starts a session on a created temp upload's URL; `table`: the stream creates it. */
  target: 'url' | 'table';
  /** Bytes of the source. */
  size: number;
  /** Whether `size` is passed to the stream. */
  knownSize: boolean;
  chunkSize: number;
  /** `maxRequestSize` in chunks; undefined: as large as the data and the link allow. */
  requestChunks: number | undefined;
  /** `memoryLimit` in chunks; undefined: the default. */
  memoryChunks: number | undefined;
  /** Whether the replay buffer may spill to disk (it does only when the measured link makes it pay). */
  spill: boolean;
  /** Whether the stream's requests cross a modelled link (a few ms of round trip), where spilling does pay. */
  link: boolean;
  /** Each write is 1 to `maxWrite` bytes, drawn from `writeSeed`. */
  maxWrite: number;
  writeSeed: number;
  dataSeed: number;
  md5: boolean;
  retry: { retries: number; initialDelayMs: number; maxDelayMs: number; jitter: number };
  requestTimeoutMs: number;
  stallTimeoutMs: number;
  faults: ScheduledFault[];
}

/** Bounds of generated schedules. */
export interface ScheduleLimits {
  /** Largest source, bytes. @default 2 MiB + 1000 */
  maxSize?: number;
  /** Most faults per schedule. @default 4 */
  maxFaults?: number;
  /** Longest injected stall, ms. @default 80 */
  maxStallMs?: number;
}

const STATUSES = [408, 429, 500, 502, 503, 504] as const;
const RETRY_AFTER = [undefined, undefined, '0', '1', 'soon', '-3', '99999', 'Wed, 21 Oct 2015 07:28:00 GMT'];

/** The seed of the `index`-th run of a fuzz campaign started from `masterSeed`: replay it with `--seed` alone. */
export function runSeedAt(masterSeed: number, index: number): number {
  return (masterSeed + index) >>> 0;
}

/** Generates the schedule for `seed`. */
export function generateSchedule(seed: number, limits: ScheduleLimits = {}): FuzzSchedule {
  const random = prng(seed ^ 0x5eed5eed);
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const chance = (p: number) => random() < p;
  const maxSize = limits.maxSize ?? 2 * 1024 * 1024 + 1000;
  const maxFaults = limits.maxFaults ?? 4;
  const maxStallMs = limits.maxStallMs ?? 80;

  const chunkSize = int(1, 4) * Q;
  const size = chooseSize(random, int, pick, maxSize, chunkSize);
  const maxWrite =
    size <= 64 * 1024 && chance(0.3) ? int(1, 64) : pick([512, 4096, 65_536, 100_003, Q, 2 * Q + 7, 3 * 1024 * 1024]);
  const target = chance(0.3) ? 'table' : 'url';
  const retries = chance(0.1) ? 0 : chance(0.1) ? 1 : int(2, 8);
  const shortTimeouts = chance(0.35);

  const faults: ScheduledFault[] = [];
  const count = maxFaults === 0 || chance(0.1) ? 0 : int(1, maxFaults);
  for (let i = 0; i < count; i++) faults.push(chooseFault(random, int, pick, chance, target, chunkSize, maxStallMs));

  const link = chance(0.2);
  return {
    seed,
    target,
    size,
    knownSize: chance(0.4),
    chunkSize,
    requestChunks: chance(0.5) ? undefined : int(1, 4),
    // Over a link, memory small enough that requests larger than it pay off.
    memoryChunks: link || chance(0.5) ? int(1, 4) : undefined,
    spill: chance(0.7),
    link,
    maxWrite,
    writeSeed: int(0, 2 ** 31 - 1),
    dataSeed: int(0, 2 ** 31 - 1),
    md5: chance(0.5),
    retry: { retries, initialDelayMs: 1, maxDelayMs: int(1, 5), jitter: pick([0, 0.2, 0.5]) },
    // Short request timeouts turn injected stalls into timeouts; generous ones let the stall pass.
    requestTimeoutMs: shortTimeouts ? int(40, 150) : 10_000,
    stallTimeoutMs: chance(0.05) ? int(20, 200) : 10_000,
    faults,
  };
}

function chooseSize(
  random: () => number,
  int: (min: number, max: number) => number,
  pick: <T>(items: readonly T[]) => T,
  maxSize: number,
  chunkSize: number,
): number {
  const roll = random();
  let size: number;
  if (roll < 0.15) size = pick([0, 1, 2, Q - 1, Q, Q + 1, chunkSize - 1, chunkSize, chunkSize + 1]);
  else if (roll < 0.4) size = int(1, 8) * pick([Q, chunkSize]) + int(-1, 1);
  else size = int(0, maxSize);
  return Math.max(0, Math.min(size, maxSize));
}

function chooseFault(
  random: () => number,
  int: (min: number, max: number) => number,
  pick: <T>(items: readonly T[]) => T,
  chance: (p: number) => boolean,
  target: 'url' | 'table',
  chunkSize: number,
  maxStallMs: number,
): ScheduledFault {
  const roll = random();
  let kind: FuzzRequestKind =
    roll < 0.5 ? 'chunk' : roll < 0.67 ? 'status' : roll < 0.8 ? 'initiate' : roll < 0.94 ? 'finalize' : 'api';
  if (kind === 'api' && target !== 'table') kind = 'chunk';
  const nth = kind === 'chunk' ? int(1, 6) : int(1, 2);
  const times = chance(0.75) ? 1 : chance(0.8) ? int(2, 3) : 50;
  // Bytes after which a body fault acts: within or past the chunk (the emulator clamps to the body).
  const afterBytes = () => (kind === 'chunk' ? int(0, chunkSize + Q) : 0);

  let fault: Fault;
  const faultRoll = random();
  if (kind === 'api') {
    fault =
      faultRoll < 0.5
        ? { kind: 'status', status: pick([429, 500, 503] as const) }
        : faultRoll < 0.85
          ? chance(0.5) ? { kind: 'reset' } : { kind: 'reset', afterBytes: 0 }
          : { kind: 'stall', ms: int(5, maxStallMs) };
  } else if (faultRoll < 0.35) {
    const status = pick(STATUSES);
    const retryAfter = pick(RETRY_AFTER);
    const body = chance(0.5) ? { afterBytes: afterBytes(), ...(chance(0.3) ? { exactBytes: true } : {}) } : chance(0.3) ? { afterProcessing: true } : {};
    fault = { kind: 'status', status, ...(retryAfter === undefined ? {} : { retryAfter }), ...body };
  } else if (faultRoll < 0.65) {
    fault = chance(0.5) ? { kind: 'reset' } : { kind: 'reset', afterBytes: afterBytes(), ...(chance(0.3) ? { exactBytes: true } : {}) };
  } else if (faultRoll < 0.77) {
    fault = { kind: 'stall', ms: int(5, maxStallMs) };
  } else if (faultRoll < 0.91) {
    fault = { kind: 'omitRange' };
  } else {
    fault = { kind: chance(0.5) ? 'expire' : 'terminate' };
  }
  return { kind, nth, times, fault };
}

/** A one-line description of a schedule, for failure reports. */
export function describeSchedule(schedule: FuzzSchedule): string {
  return JSON.stringify(schedule);
}
