/**
 * Public types of the local emulator of the Redivis temp-uploads API and the GCS resumable protocol.
 * @module
 */

import type { FaultRule, RequestKind } from './fault-types.js';
import type { RawFileInfo } from './raw-files-api.js';
import type { TableInfo } from './tables.js';
import type { UploadInfo } from './upload-registry.js';

export type { EmulatorOptions, RandomFaultOptions, TableDefinition } from './options.js';
export type { Fault, FaultKind, FaultMatch, FaultRule, RequestKind } from './fault-types.js';

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
  /** A valid token without `data.edit`: every write answers 403 `insufficient_scope` (see `readOnlyToken`). */
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
   * The content of the upload `name` of `table`: the bytes of its temp upload or of its multipart `data` part.
   * Throws `InvalidArgumentError` for an unknown upload or one without content (a transfer, a stream), and in
   * `'discard'` storage mode.
   */
  readUpload(table: string, name: string): Promise<Buffer>;
  /**
   * The rows stored by `POST <upload.uri>/rows` into the stream upload `name` of `table`, in the order they were
   * stored (copies); undefined when there is no such upload. An upload of another type has none (`[]`). Throws
   * `InvalidArgumentError` in `'discard'` storage mode, where rows are counted but not kept.
   */
  getUploadRows(table: string, name: string): Array<Record<string, unknown>> | undefined;
  /** The tables the emulator knows (given in `tables` or created through the API), in creation order (copies). */
  listTables(): TableInfo[];
  /**
   * The table `reference` names, when it was given in `tables` or created through the API (copy). Without the
   * `tables` option other tables exist too, with default properties, but are not listed.
   */
  getTable(reference: string): TableInfo | undefined;
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
