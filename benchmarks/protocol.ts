/**
 * Messages between the benchmark runner, the server processes (the trivial server, the emulator) and the client
 * processes, and the description of a benchmark case. Everything here crosses a `child_process.fork` IPC channel,
 * so it stays plain JSON.
 * @module
 */

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** The emulator's storage modes, and the trivial server (counts and checksums bytes, stores nothing). */
export type ServerKind = 'discard' | 'disk' | 'trivial';

export type CaseGroup = 'loopback' | 'memory' | 'link' | 'faults' | 'files';

export type CaseKind = 'raw' | 'stream' | 'file' | 'peer' | 'chunker' | 'files' | 'idle';

/** Faults the trivial server injects into one upload. */
export interface FaultPlan {
  /** `status`: persist up to the mark, answer 503 and close; `reset`: persist up to the mark and reset. */
  kind: 'status' | 'reset';
  /** A fault each time this many more bytes have been persisted. */
  everyBytes: number;
  /** Where the first mark lies past `everyBytes`, so marks fall inside requests rather than on their ends. */
  phaseBytes: number;
}

/** One benchmark case: what a client process runs. */
export interface CaseSpec {
  id: string;
  group: CaseGroup;
  label: string;
  kind: CaseKind;
  server: 'trivial' | 'emulator';
  /** Through the link proxy (a modelled round trip and bandwidth) rather than straight to the server. */
  link?: boolean;
  /** Bytes uploaded (for `files`: the sum of the file sizes). */
  size: number;
  /** Size of each write of the source. */
  writeSize: number;
  /** Chunk size of the peer and of stream-chunker; the library's cases run on its defaults. */
  chunkSize?: number;
  /** CRC32C over what the client sends: on for the library's cases unless false; on for a raw PUT only if true. */
  crc32c?: boolean;
  faults?: FaultPlan;
  files?: { count: number; fileSize: number; concurrency: number };
  /** The case whose medians this one's ratios (throughput, CPU, RSS) are taken to. */
  baseline?: string;
  /** The fault-free case a fault case is compared with. */
  faultFree?: string;
  /** Shown under the tables. */
  note?: string;
  /**
   * Runs in a client process that loads only what its case needs, rather than every case's modules: V8 sizes the
   * heap limits of a small process tighter, and that changes how often it collects garbage.
   */
  lean?: boolean;
  /** Node options of the client process, e.g. `--initial-old-space-size=64`. */
  nodeOptions?: string[];
}

/** Where a client finds a server. */
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
  /** The file of `spec.size` bytes an `uploadFile` case sends, written before the client starts. */
  filePath?: string;
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
      /** The stream's own gauges: most bytes held in memory, and on disk, at once. */
      peakBufferedBytes?: number;
      peakSpilledBytes?: number;
      retries?: number;
      /** Full (mark-compact) garbage collections while the case ran. */
      fullGcs?: number;
      filesAdded?: number;
      filesFailed?: number;
      firstFailure?: string;
    }
  | { ok: false; skipped?: boolean; error: string; peakRss: number };

/** runner -> server process */
export type ServerRequest =
  /** Clears the counters; `faults` (trivial server only) apply to the uploads created from now on. */
  | { id: number; op: 'prepare'; faults?: FaultPlan }
  /** `'new'`: every upload created since `prepare`. */
  | { id: number; op: 'stats'; tempUploadIds: string[] | 'new' }
  | { id: number; op: 'close' };

export type FinalState = { id: string; name: string; size: number; crc32c: string } | { id: string; name: string; incomplete: string };

/** What a server saw since `prepare`. */
export interface ServerStats {
  /** CPU of the server process since `prepare`, seconds. */
  cpuSeconds: number;
  /** The uploads asked about: final size and CRC32C when complete, else their state. */
  finals: FinalState[];
  /** Data requests (with a body range). */
  dataRequests: number;
  /** Status queries (`bytes *\/…`). */
  statusRequests: number;
  /** Body bytes read by the data requests. */
  dataBytesReceived: number;
  /** Bytes read that the server did not keep: past a fault's mark, past the last whole 256 KiB of a chunk. */
  dataBytesUnpersisted?: number;
  /** Bytes read that the server held already: sent again although persisted. */
  dataBytesDuplicate?: number;
  /** Body bytes read by each data request, in order. */
  requestBytes?: number[];
  /** Requests that had a fault applied. */
  faultsApplied: number;
}

/** server process -> runner */
export type ServerMessage =
  | { type: 'ready'; endpoint: Endpoint }
  | { type: 'reply'; id: number; stats?: ServerStats; error?: string };
