/**
 * Messages between the benchmark runner, the emulator process and the client processes, and the description of a
 * benchmark case. Everything here crosses a `child_process.fork` IPC channel, so it stays plain JSON.
 * @module
 */
import type { FaultRule } from '../src/emulator/index.js';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

export type Storage = 'discard' | 'disk';

export type CaseGroup = 'limit' | 'stream' | 'peer' | 'chunker' | 'scaling' | 'recovery' | 'files' | 'disk';

/** Faults injected into one upload: one every `everyBytes` of fresh data, none on the last request. */
export interface FaultPlan {
  kind: 'status' | 'reset';
  everyBytes: number;
  /** Bytes of the faulted chunk the server persists before failing. */
  afterBytes: number;
  /** `fast`: 10 ms constant backoff, so the cost of the protocol shows; `default`: the library's retry policy. */
  backoff: 'fast' | 'default';
}

/** One benchmark case: what a client process runs. */
export interface CaseSpec {
  id: string;
  group: CaseGroup;
  label: string;
  kind: 'raw' | 'stream' | 'peer' | 'chunker' | 'files' | 'idle';
  storage: Storage;
  /** Bytes uploaded (for `files`: the sum of the file sizes). */
  size: number;
  /** Size of each write of the source. */
  writeSize: number;
  /** Chunk size; undefined for the peer's single-request mode and for the raw PUT. */
  chunkSize?: number;
  /** The peer's CRC32C: its default pure-JS one, or the native one the library uses. */
  peerCrc?: 'default' | 'native';
  faults?: FaultPlan;
  files?: { count: number; fileSize: number; concurrency: number };
  /** Shown under the tables. */
  note?: string;
}

/** Where a client finds the emulator. */
export interface Endpoint {
  apiEndpoint: string;
  origin: string;
  token: string;
}

/** runner -> client */
export interface ClientJob {
  spec: CaseSpec;
  endpoint: Endpoint;
  /** Distinguishes names across repetitions and runs (names are unique per table). */
  nonce: string;
}

/** client -> runner */
export type ClientReport =
  | {
      ok: true;
      seconds: number;
      cpuUserSeconds: number;
      cpuSystemSeconds: number;
      /** Peak resident set of the client process over its whole life, bytes. */
      peakRss: number;
      /** Temp uploads written, to verify on the server. */
      tempUploadIds: string[];
      /** The stream's own gauge of the most bytes it held at once. */
      peakBufferedBytes?: number;
      retries?: number;
      filesAdded?: number;
      filesFailed?: number;
      firstFailure?: string;
    }
  | { ok: false; skipped?: boolean; error: string; peakRss: number };

/** runner -> emulator process */
export type ServerRequest =
  | { id: number; op: 'prepare'; faults: FaultRule[] }
  /** `'new'`: every upload created since `prepare`. */
  | { id: number; op: 'stats'; tempUploadIds: string[] | 'new' }
  | { id: number; op: 'close' };

/** What the emulator saw of one case. */
export interface ServerStats {
  /** CPU of the emulator process since `prepare`, seconds. */
  cpuSeconds: number;
  /** The uploads asked about: final size and CRC32C when complete, else their state. */
  finals: Array<{ id: string; name: string; size: number; crc32c: string } | { id: string; name: string; incomplete: string }>;
  /** Data requests (`kind: 'chunk'`) for those uploads. */
  dataRequests: number;
  /** Status queries for those uploads. */
  statusRequests: number;
  /** Body bytes read by the data requests. */
  dataBytesReceived: number;
  /** Requests that had a fault applied. */
  faultsApplied: number;
}

/** emulator process -> runner */
export type ServerMessage =
  | { type: 'ready'; endpoint: Endpoint; storage: Storage }
  | { type: 'reply'; id: number; stats?: ServerStats; error?: string };
