/**
 * In-memory state of the emulator: temp uploads, their resumable sessions and stored objects.
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { TableDefinition } from './options.js';
import type { ByteStore, Blob, Digest } from './storage.js';
import type { TempUploadInfo, TempUploadState } from './types.js';

/** Options of the emulator with every default filled in. */
export interface ResolvedEmulatorOptions {
  port: number;
  host: string;
  token: string;
  readOnlyToken: string;
  maxTempUploadsPerRequest: number;
  sessionTtlMs: number;
  now: () => number;
  errorShape: 'flat' | 'nested';
  deleteResponse: 'json' | 'ok';
  tables: Array<string | TableDefinition> | undefined;
  alignUnalignedChunks: boolean;
  storage: 'disk' | 'discard';
  separateUploadOrigin: boolean;
  verbose: boolean;
}

/** Bucket name reported in object resources. */
export const TEMP_UPLOAD_BUCKET = 'redivis-temp-uploads';

/** A resumable session of a temp upload. Only the latest one of a temp upload is alive. */
export interface SessionState {
  uploadId: string;
  /** Emulator clock at initiation, in milliseconds. */
  startedAt: number;
  /** `X-Upload-Content-Length` sent at initiation. */
  declaredTotal?: number;
  /** Total named by an earlier chunk's `Content-Range`. */
  knownTotal?: number;
}

/** The object resource GCS answers when an upload completes. */
export interface ObjectResource {
  kind: 'storage#object';
  name: string;
  bucket: string;
  size: string;
  md5Hash: string;
  crc32c: string;
  generation: string;
  contentType: string;
}

export interface TempUploadRecord {
  id: string;
  name: string;
  table: string;
  declaredSize: number;
  resumable: boolean;
  signature: string;
  state: TempUploadState;
  blob: Blob;
  session?: SessionState;
  object?: { resource: ObjectResource; digest: Digest };
  /** Serializes the requests that touch this temp upload's bytes. */
  lock: Mutex;
}

/** A minimal promise-chain mutex. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  async run<T>(task: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    await previous;
    try {
      return await task();
    } finally {
      release();
    }
  }
}

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

export class EmulatorState {
  readonly records = new Map<string, TempUploadRecord>();
  private lastGeneration = 0;
  /** Origin of upload URLs; set once the servers listen. */
  uploadOrigin = '';

  constructor(
    readonly store: ByteStore,
    readonly options: ResolvedEmulatorOptions,
  ) {}

  createTempUpload(table: string, name: string, declaredSize: number, resumable: boolean): TempUploadRecord {
    const id = randomHex(10);
    const record: TempUploadRecord = {
      id,
      name,
      table,
      declaredSize,
      resumable,
      signature: randomHex(32),
      state: 'created',
      blob: this.store.blob(id),
      lock: new Mutex(),
    };
    this.records.set(id, record);
    return record;
  }

  tempUploadUrl(record: TempUploadRecord): string {
    return `${this.uploadOrigin}/upload/temp/${record.id}?X-Goog-Signature=${record.signature}`;
  }

  sessionUrl(record: TempUploadRecord): string | undefined {
    const session = record.session;
    return session && `${this.uploadOrigin}/upload/sessions/${record.id}?upload_id=${session.uploadId}`;
  }

  /** Starts a new session from byte 0; the previous one, if any, dies. */
  startSession(record: TempUploadRecord, declaredTotal: number | undefined): SessionState {
    const session: SessionState = { uploadId: randomBytes(24).toString('base64url'), startedAt: this.options.now() };
    if (declaredTotal !== undefined) session.declaredTotal = declaredTotal;
    record.session = session;
    record.state = 'in_progress';
    delete record.object;
    return session;
  }

  /** Marks an in-progress session expired when its age passed the TTL; returns the current state. */
  refreshState(record: TempUploadRecord): TempUploadState {
    if (
      record.state === 'in_progress' &&
      record.session !== undefined &&
      this.options.now() - record.session.startedAt > this.options.sessionTtlMs
    ) {
      record.state = 'expired';
    }
    return record.state;
  }

  /** Records the blob's current bytes as the completed object. */
  complete(record: TempUploadRecord): ObjectResource {
    const digest = record.blob.digest();
    this.lastGeneration = Math.max(Date.now(), this.lastGeneration + 1);
    const resource: ObjectResource = {
      kind: 'storage#object',
      name: record.name,
      bucket: TEMP_UPLOAD_BUCKET,
      size: String(digest.size),
      md5Hash: digest.md5,
      crc32c: digest.crc32c,
      generation: String(this.lastGeneration),
      contentType: 'application/octet-stream',
    };
    record.object = { resource, digest };
    record.state = 'complete';
    return resource;
  }

  info(record: TempUploadRecord): TempUploadInfo {
    const state = this.refreshState(record);
    const info: TempUploadInfo = {
      id: record.id,
      name: record.name,
      table: record.table,
      declaredSize: record.declaredSize,
      resumable: record.resumable,
      state,
      persisted: record.blob.size,
    };
    const sessionUrl = this.sessionUrl(record);
    if (sessionUrl !== undefined) info.sessionUrl = sessionUrl;
    if (record.object !== undefined) {
      const { size, md5, crc32c, md5Hex } = record.object.digest;
      info.final = { size, md5, crc32c, md5Hex };
    }
    return info;
  }
}
