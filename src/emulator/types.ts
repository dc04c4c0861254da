/**
 * Public types of the local emulator of the Redivis temp-uploads API and the GCS resumable protocol.
 * @module
 */

import type { RawFileInfo } from './raw-files-api.js';
import type { UploadInfo } from './uploads-api.js';

/** Options of {@link startEmulator}. */
export interface EmulatorOptions {
  /**
   * TCP port of the API server; 0 picks a free one.
   * @default 0 (a free port, see {@link Emulator.origin})
   */
  port?: number;
  /**
   * Interface the API server listens on.
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * Bearer token that carries the `data.edit` scope.
   * @default a random hex string
   */
  token?: string;
  /**
   * Most temp uploads one `tempUploads` request may create.
   * @default 1000 temp uploads
   */
  maxTempUploadsPerRequest?: number;
  /**
   * Lifetime of a resumable session, in milliseconds, counted from its initiation with {@link now}.
   * @default 86_400_000 ms (24 hours)
   */
  sessionTtlMs?: number;
  /**
   * Clock used for session expiry and request-log times, in milliseconds since the epoch, so tests can move time.
   * @default Date.now
   */
  now?: () => number;
  /**
   * Shape of API error bodies. `'flat'` = `{error: <code>, error_description, status}` (what the current official
   * clients read); `'nested'` = `{error: {message, status}}` (the older documented shape).
   * @default 'flat'
   */
  errorShape?: 'flat' | 'nested';
  /**
   * Commit only the 256 KiB-aligned prefix of an unaligned non-final chunk, as GCS does.
   * @default true
   */
  alignUnalignedChunks?: boolean;
  /**
   * `'disk'` stores bytes in a temporary folder (removed by `close()`); `'discard'` keeps only sizes and running
   * MD5/CRC32C, for benchmarks.
   * @default 'disk'
   */
  storage?: 'disk' | 'discard';
  /**
   * Serve upload URLs (temp upload URLs and session URLs) from a second HTTP server on `127.0.0.2` instead of the
   * API's origin, so clients can be tested against a different upload host.
   * @default false
   */
  separateUploadOrigin?: boolean;
  /**
   * Scripted faults, applied in order; see {@link FaultRule}.
   * @default []
   */
  faults?: FaultRule[];
  /**
   * Seeded random faults on upload-URL requests (never on API calls).
   * @default undefined (no random faults)
   */
  randomFaults?: RandomFaultOptions;
  /**
   * Tabular uploads whose processing fails, by upload name (matched as in URL paths, `.` read as `_`, in any
   * table), with the `errorMessage` they fail with. See also {@link Emulator.failUpload}.
   * @default {} (every upload completes)
   */
  failUploads?: Record<string, string>;
  /**
   * Write one line per request to stderr. Never prints the Authorization header or URL query strings.
   * @default false
   */
  verbose?: boolean;
}

/** Seeded random faults. */
export interface RandomFaultOptions {
  /**
   * Seed of the pseudo-random generator (a 32-bit unsigned integer).
   * @default a random seed, exposed as {@link Emulator.randomSeed}
   */
  seed?: number;
  /** Probability (0 to 1) that an upload-URL request gets a fault. */
  probability: number;
  /**
   * Kinds to pick from. A `status` fault answers 503.
   * @default ['status', 'reset', 'omitRange']
   */
  kinds?: FaultKind[];
}

/** A running emulator. */
export interface Emulator {
  /** Base URL of the API, `http://127.0.0.1:PORT/api/v1`. */
  apiEndpoint: string;
  /** `http://127.0.0.1:PORT`. */
  origin: string;
  /** Origin of upload URLs: {@link origin} unless `separateUploadOrigin` was set. */
  uploadOrigin: string;
  /** A token with the `data.edit` scope. */
  token: string;
  /** A valid token without `data.edit`: `tempUploads` answers 403 `insufficient_scope`. */
  readOnlyToken: string;
  /** Seed actually used by `randomFaults` (generated when not given); undefined without random faults. */
  randomSeed: number | undefined;
  /** The temp upload with this id, or undefined. */
  getTempUpload(id: string): TempUploadInfo | undefined;
  /** Every temp upload, in creation order. */
  listTempUploads(): TempUploadInfo[];
  /** The bytes persisted for a temp upload. Throws in `'discard'` storage mode or for an unknown id. */
  readTempUpload(id: string): Promise<Buffer>;
  /** A stream of the bytes persisted for a temp upload, for big ones. Throws like {@link readTempUpload}. */
  createReadStream(id: string): NodeJS.ReadableStream;
  /** Copies of the request-log entries, oldest first. */
  requestLog(): RequestLogEntry[];
  /**
   * Resolves with (a copy of) the first logged request matching `predicate` once the emulator has finished handling
   * it (answered, reset, or abandoned by the client), including requests that finished before the call. Lets tests
   * wait for server-side effects of requests whose client side ended early.
   */
  waitForRequest(predicate: (entry: RequestLogEntry) => boolean): Promise<RequestLogEntry>;
  /** Empties the request log. */
  clearRequestLog(): void;
  /** Adds a scripted fault after those already queued. */
  injectFault(rule: FaultRule): void;
  /** Removes every scripted fault (random faults stay). */
  clearFaults(): void;
  /** Makes the temp upload's current session answer 404, as an expired one does. */
  expireSession(tempUploadId: string): void;
  /** Makes the temp upload's current session answer 410, as a session terminated by the server does. */
  terminateSession(tempUploadId: string): void;
  /** Every tabular upload not deleted, in creation order (copies). */
  listUploads(): UploadInfo[];
  /** The tabular upload `name` of `table` (any reference form; the name matched as in URL paths), or undefined. */
  getUpload(table: string, name: string): UploadInfo | undefined;
  /**
   * Makes processing of uploads named `name`, in any table, fail with `errorMessage`, including uploads already
   * created that have not finished yet.
   */
  failUpload(name: string, errorMessage: string): void;
  /** Every registered raw file, in registration order (copies). */
  listRawFiles(): RawFileInfo[];
  /** Closes the servers (destroying keep-alive sockets) and removes the temporary folder. */
  close(): Promise<void>;
}

/** Lifecycle of a temp upload and its resumable session. */
export type TempUploadState = 'created' | 'in_progress' | 'complete' | 'cancelled' | 'expired' | 'terminated';

/** What the emulator knows about a temp upload. */
export interface TempUploadInfo {
  /** The temp upload's id, as the `tempUploads` response gave it. */
  id: string;
  /** The name it was created with. */
  name: string;
  /** Normalized table reference (see `formatTableReference`). */
  table: string;
  /** Size declared when the temp upload was created, in bytes. */
  declaredSize: number;
  /** Whether it was created for the resumable protocol (`false`: one simple PUT to its URL). */
  resumable: boolean;
  /** Where it is in its lifecycle; an in-progress session past its TTL reads as `'expired'`. */
  state: TempUploadState;
  /** Bytes persisted so far (of the current session for resumable uploads). */
  persisted: number;
  /** URL of the current resumable session; undefined until one was started. */
  sessionUrl?: string;
  /** The stored object; undefined until the upload is complete (and again once a new session restarts it). */
  final?: {
    /** Size of the stored object, in bytes. */
    size: number;
    /** Base64 MD5. */
    md5: string;
    /** Base64 CRC32C, big-endian. */
    crc32c: string;
    /** Hex MD5 (lower case), handy to compare with `crypto.createHash('md5')`. */
    md5Hex: string;
  };
}

/** Which part of the protocol a request belongs to. */
export type RequestKind = 'api' | 'simple' | 'initiate' | 'chunk' | 'status' | 'finalize' | 'cancel' | 'other';

/** One request the emulator received. */
export interface RequestLogEntry {
  /** When the request arrived, by the emulator's clock, in milliseconds since the epoch. */
  time: number;
  /** HTTP method, as received. */
  method: string;
  /** Request path without the query string. */
  path: string;
  /** Which part of the protocol the request belongs to. */
  kind: RequestKind;
  /** The temp upload an upload-URL request targets; undefined for API calls and for unknown ids. */
  tempUploadId?: string;
  /** The request's `Content-Range` header; undefined when not sent. */
  contentRange?: string;
  /** The request's `Content-Length` header, when sent. */
  contentLength?: number;
  /** Body bytes read from the connection. */
  bytesReceived: number;
  /** Status answered; 0 when no response was sent (connection reset by a fault or by the client). */
  status: number;
  /** The fault applied, e.g. `503`, `reset:1048576`, `stall:2000`, `omitRange`; undefined when none was. */
  fault?: string;
  /** Whether an Authorization header was present (its value is never recorded). */
  authorization: boolean;
}

/** The kinds of fault the emulator can inject. */
export type FaultKind = 'status' | 'reset' | 'stall' | 'expire' | 'terminate' | 'omitRange';

/** What a fault does. */
export type Fault =
  /**
   * Answer `status` (with `Retry-After` when given). With `afterBytes` K the first K bytes of a data chunk are
   * persisted first (exactly K, clamped to the chunk, even when unaligned); without it nothing is persisted.
   */
  | {
      /** Selects this variant. */
      kind: 'status';
      /** HTTP status to answer. */
      status: 408 | 429 | 500 | 502 | 503 | 504;
      /** Value of the `Retry-After` header (seconds or an HTTP date); undefined sends none. */
      retryAfter?: string;
      /** Bytes of a data chunk persisted before answering (K above); undefined persists nothing. */
      afterBytes?: number;
    }
  /**
   * Destroy the socket without a response. With `afterBytes` K: after reading (and, for a data chunk, persisting
   * exactly) K body bytes. Without it: after processing the request fully (a lost response).
   */
  | {
      /** Selects this variant. */
      kind: 'reset';
      /** Body bytes read before the reset; undefined resets after the request was fully processed. */
      afterBytes?: number;
    }
  /** Wait `ms` milliseconds before handling the request. */
  | {
      /** Selects this variant. */
      kind: 'stall';
      /** Delay before handling, in milliseconds. */
      ms: number;
    }
  /** Expire the session (404) at this request, then handle it. */
  | {
      /** Selects this variant. */
      kind: 'expire';
    }
  /** Terminate the session (410) at this request, then handle it. */
  | {
      /** Selects this variant. */
      kind: 'terminate';
    }
  /** Answer a 308 without its `Range` header. */
  | {
      /** Selects this variant. */
      kind: 'omitRange';
    };

/** Which requests a fault applies to. */
export interface FaultMatch {
  /**
   * Request kind(s). Without it, every upload-URL request matches (API calls only match when `'api'` is listed).
   * @default every upload-URL kind (not `'api'`)
   */
  kind?: RequestKind | RequestKind[];
  /**
   * Only requests for this temp upload.
   * @default any temp upload
   */
  tempUploadId?: string;
  /**
   * 1-based index among the requests this rule matches, counted from when the rule was added.
   * @default the next matching request
   */
  nth?: number;
}

/** A scripted fault. */
export interface FaultRule {
  /**
   * Which requests the rule applies to.
   * @default the next upload-URL request of any kind
   */
  match?: FaultMatch;
  /** What happens to a matching request. */
  fault: Fault;
  /**
   * How many times the rule fires (on consecutive matching requests from the `nth`). `Infinity` = always.
   * @default 1 (fires once)
   */
  times?: number;
}
