/**
 * The tabular uploads of an emulator: their records, how names are matched and freed, the failures injected for
 * them, and their simulated import. Import runs without timers: each `GET` of an upload moves it one step,
 * `queued` → `running` → `completed` (or `failed` when a failure was injected for its name). Stream uploads are
 * `completed` from the start: rows are stored as they arrive and nothing ever closes the upload.
 * @module
 */
import { extname } from 'node:path';
import { countDelimitedRows, countNdjsonRows } from './row-count.js';
import type { EmulatorState } from './state.js';
import type { Blob } from './storage.js';
import { tableKey } from './tables.js';

/** Import state of a tabular upload. */
export type UploadStatus = 'queued' | 'running' | 'completed' | 'failed';

/** Where an upload's data comes from. */
export type UploadSource = 'tempUpload' | 'multipart' | 'transfer' | 'stream';

/** What the emulator knows about a tabular upload. */
export interface UploadInfo {
  /** The upload's id, as the API reports it. */
  id: number;
  /** Normalized table reference (see `formatTableReference`). */
  table: string;
  /** The upload's name: as sent, the default `untitled_upload.<type>`, or the free name it got on a conflict. */
  name: string;
  /** The path clients use for it, relative to the API endpoint. */
  uri: string;
  /** The `type` sent, or the one inferred from the name. */
  type: string;
  /** Where its data comes from: a temp upload, the `data` part of a multipart request, a transfer, or rows. */
  source: UploadSource;
  /** The temp upload that holds the data; undefined unless `source` is `'tempUpload'`. */
  tempUploadId?: string;
  /** Import state; each `GET` of the upload moves it one step. */
  status: UploadStatus;
  /** Why the import failed; undefined unless `status` is `'failed'`. */
  errorMessage?: string;
  /** Hex MD5 of the content; null without content (a transfer, a stream). */
  hash: string | null;
  /** Size of the content in bytes; null without content. */
  size: number | null;
  /**
   * Rows imported: counted for delimited and ndjson content once completed, the rows stored for a stream; null
   * otherwise (other types, transfers, `'discard'` storage, content that cannot be read).
   */
  numRows: number | null;
  /** Bytes of the imported data: the content's size once completed, the JSON size of a stream's rows; else null. */
  numBytes: number | null;
  /** Records skipped as bad: 0 once completed, null before. */
  badRecordsCount: number | null;
  /** Emulator clock at creation, in milliseconds since the epoch. */
  createdAt: number;
  /**
   * The other fields the upload was created with, as received, without those sent as `null` (`hasHeaderRow`,
   * `delimiter`, `schema`, `metadata`, `transferSpecification`, ...).
   */
  options: Record<string, unknown>;
}

/** An upload with what only the emulator holds. */
export interface UploadRecord extends UploadInfo {
  /** The content of a multipart upload. */
  blob?: Blob;
  /** The rows of a stream upload, in arrival order. */
  rows: Array<Record<string, unknown>>;
}

/** How an upload name is matched: the form the official clients put in URL paths. */
export function uploadKey(name: string): string {
  return name.replace(/\./g, '_');
}

/** Uploads of one emulator, and the failures injected for them. */
export class UploadRegistry {
  private readonly uploads = new Map<string, UploadRecord>();
  private readonly failures = new Map<string, string>();
  private lastId = 0;

  constructor(private readonly state: EmulatorState) {}

  private static key(table: string, name: string): string {
    return `${tableKey(table)}\n${uploadKey(name)}`;
  }

  nextId(): number {
    return ++this.lastId;
  }

  get(table: string, name: string): UploadRecord | undefined {
    return this.uploads.get(UploadRegistry.key(table, name));
  }

  /** `name` when no upload of `table` uses it, else the first free `stem_1.ext`, `stem_2.ext`, ... */
  freeName(table: string, name: string): string {
    if (this.get(table, name) === undefined) return name;
    const extension = extname(name);
    const stem = name.slice(0, name.length - extension.length);
    for (let n = 1; ; n++) {
      const candidate = `${stem}_${n}${extension}`;
      if (this.get(table, candidate) === undefined) return candidate;
    }
  }

  add(upload: UploadRecord): void {
    this.uploads.set(UploadRegistry.key(upload.table, upload.name), upload);
  }

  delete(upload: UploadRecord): void {
    this.uploads.delete(UploadRegistry.key(upload.table, upload.name));
  }

  list(): UploadRecord[] {
    return [...this.uploads.values()];
  }

  /** Makes the import of every upload named `name` (in any table) fail with `errorMessage`. */
  failUpload(name: string, errorMessage: string): void {
    this.failures.set(uploadKey(name), errorMessage);
  }

  /** The content of an upload, when it has some the emulator keeps. */
  content(upload: UploadRecord): Blob | undefined {
    if (upload.blob !== undefined) return upload.blob;
    return upload.tempUploadId === undefined ? undefined : this.state.records.get(upload.tempUploadId)?.blob;
  }

  /** One import step, as a `GET` observes it. */
  async advance(upload: UploadRecord): Promise<void> {
    if (upload.status === 'queued') {
      upload.status = 'running';
      return;
    }
    if (upload.status !== 'running') return;
    const failure = this.failures.get(uploadKey(upload.name));
    if (failure !== undefined) {
      upload.status = 'failed';
      upload.errorMessage = failure;
      return;
    }
    upload.numRows = (await this.countRows(upload)) ?? null;
    upload.numBytes = upload.size;
    upload.badRecordsCount = 0;
    upload.status = 'completed';
  }

  private async countRows(upload: UploadRecord): Promise<number | undefined> {
    const delimited = upload.type === 'delimited' || upload.type === 'csv' || upload.type === 'tsv';
    if (!delimited && upload.type !== 'ndjson') return undefined;
    const blob = this.content(upload);
    if (blob === undefined || !this.state.store.keepsBytes) return undefined;
    const source = blob.stream() as AsyncIterable<Buffer>;
    if (!delimited) return countNdjsonRows(source);
    const { hasHeaderRow = true, hasQuotedNewlines = false, quoteCharacter = '"' } = upload.options;
    return countDelimitedRows(source, {
      hasHeaderRow: hasHeaderRow === true,
      hasQuotedNewlines: hasQuotedNewlines === true,
      quoteCharacter: typeof quoteCharacter === 'string' && quoteCharacter !== '' ? quoteCharacter : '"',
    });
  }
}

const registries = new WeakMap<EmulatorState, UploadRegistry>();

/** The upload registry of an emulator's state, created on first use. */
export function uploadRegistry(state: EmulatorState): UploadRegistry {
  let registry = registries.get(state);
  if (registry === undefined) registries.set(state, (registry = new UploadRegistry(state)));
  return registry;
}

/** Copies an upload for inspection, so callers cannot change the emulator's record. */
export function copyUpload(upload: UploadRecord): UploadInfo {
  const { blob: _blob, rows: _rows, ...info } = upload;
  return { ...info, options: structuredClone(info.options) };
}
