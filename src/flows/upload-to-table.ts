/**
 * {@link uploadToTable}: the whole tabular upload flow. Content goes into a temp upload (or Redivis pulls it
 * itself, for a transfer), the upload is created from it, and Redivis' processing is waited for.
 * @module
 */
import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { debuglog } from 'node:util';
import type { RedivisClient } from '../client/redivis-client.js';
import { AbortError, ApiError, IntegrityError, InvalidArgumentError, NameConflictError, UploadFailedError } from '../errors.js';
import { uploadFile } from '../upload/file-upload.js';
import { createTempUploadStream } from '../upload/temp-upload-stream.js';
import { isReadable } from './file-inputs.js';
import { closed } from './put-content.js';
import { isSettled, parseUpload, pollUpload, uploadApiPath, verifyUploadHash, type TabularUpload } from './poll-upload.js';
import { renamedUploadName, uniqueTempUploadName, uploadNamePathSegment, uploadRequestBody } from './tabular-options.js';
import {
  validateUploadToTable,
  type TableUploadResult,
  type UploadToTableOptions,
  type UploadToTableSettings,
} from './upload-to-table-options.js';

export type { TabularUpload } from './poll-upload.js';
export { TABULAR_UPLOAD_TYPES, type TabularUploadOptions, type TabularUploadType } from './tabular-options.js';
export type { TableUploadProgress, TableUploadResult, UploadConflictPolicy, UploadToTableOptions } from './upload-to-table-options.js';

const debug = debuglog('redivis-upload');

/** Most alternative names `onConflict: 'rename'` tries before giving up with `NameConflictError`. */
const MAX_RENAMES = 1000;

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
}

/** What the name checks need of the settings, so other flows that create uploads can share them. */
export type UploadNameSettings = Pick<UploadToTableSettings, 'segment' | 'name' | 'onConflict'>;

/** The API path of the upload `name` of the table. */
export function uploadPath(settings: Pick<UploadToTableSettings, 'segment'>, name: string): string {
  return `/tables/${settings.segment}/uploads/${uploadNamePathSegment(name)}`;
}

/** Whether the table has an upload named `name` (`HEAD`; a 404 means no). */
async function uploadExists(client: RedivisClient, settings: Pick<UploadToTableSettings, 'segment'>, name: string, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    await client.request('HEAD', uploadPath(settings, name), { signal });
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return false;
    throw error;
  }
}

/** Applies `onConflict`: the name to create the upload under, or `undefined` when an existing upload is kept. */
export async function claimName(client: RedivisClient, settings: UploadNameSettings, signal: AbortSignal | undefined): Promise<string | undefined> {
  const { name, onConflict } = settings;
  if (!(await uploadExists(client, settings, name, signal))) return name;
  if (onConflict === 'skip') return undefined;
  if (onConflict === 'error') throw new NameConflictError(name);
  if (onConflict === 'replace') {
    try {
      await client.request('DELETE', uploadPath(settings, name), { signal });
    } catch (error) {
      // Deleted meanwhile by someone else: the name is free either way.
      if (!(error instanceof ApiError && error.status === 404)) throw error;
    }
    return name;
  }
  for (let n = 1; n <= MAX_RENAMES; n++) {
    const candidate = renamedUploadName(name, n);
    if (!(await uploadExists(client, settings, candidate, signal))) return candidate;
  }
  throw new NameConflictError(name);
}

/** What was sent into a temp upload, measured locally. */
interface SentData {
  tempUploadId: string;
  size: number;
  md5: string;
}

/** Bytes from an object-mode or byte Readable, hashed on the way; anything that is not bytes fails typed. */
function hashingPassThrough(): { stream: Transform; digest: () => { size: number; md5: string } } {
  const md5 = createHash('md5');
  let size = 0;
  const stream = new Transform({
    writableObjectMode: true,
    transform(chunk: unknown, _encoding, done) {
      let bytes: Buffer;
      if (Buffer.isBuffer(chunk)) bytes = chunk;
      else if (typeof chunk === 'string') bytes = Buffer.from(chunk, 'utf8');
      else if (chunk instanceof Uint8Array) bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      else return done(new InvalidArgumentError('source', 'a Readable of bytes (Buffers, Uint8Arrays or strings)', chunk));
      md5.update(bytes);
      size += bytes.length;
      done(null, bytes);
    },
  });
  return { stream, digest: () => ({ size, md5: md5.digest('base64') }) };
}

/** Sends the data into a new temp upload; the MD5 is computed over the bytes as they are sent. */
async function sendData(options: UploadToTableOptions, source: string | Buffer | Readable, name: string): Promise<SentData> {
  const { client, table, chunkSize, signal, onProgress } = options;
  const tempName = uniqueTempUploadName(name);
  if (!isReadable(source)) {
    // uploadFile hashes what it reads and checks the storage's MD5 against it, so final.md5 is the local MD5.
    const uploaded = await uploadFile(source, {
      client,
      table,
      name: tempName,
      chunkSize,
      signal,
      onProgress: onProgress && ((progress) => onProgress({ bytesConfirmed: progress.bytesConfirmed, totalBytes: progress.total })),
      onRetry: options.onRetry,
    });
    return { tempUploadId: uploaded.id, size: uploaded.final.size, md5: uploaded.final.md5 };
  }
  const hashing = hashingPassThrough();
  const stream = createTempUploadStream({ client, table, name: tempName, chunkSize, signal });
  if (onProgress) stream.on('progress', (progress) => onProgress({ bytesConfirmed: progress.bytesConfirmed, totalBytes: progress.totalBytes }));
  if (options.onRetry) stream.on('retry', options.onRetry);
  try {
    await pipeline(source, hashing.stream, stream);
  } catch (error) {
    await closed(stream);
    throwIfAborted(signal);
    throw error;
  }
  return { tempUploadId: stream.result!.tempUploadId!, ...hashing.digest() };
}

/** Deletes a failed upload; tells whether it is gone. A failure to delete is logged, not thrown over the first. */
async function removeUpload(client: RedivisClient, upload: TabularUpload, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    await client.request('DELETE', uploadApiPath(client, upload.uri), { signal });
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return true;
    debug('removing the failed upload %s failed: %s', upload.uri, error instanceof Error ? error.message : String(error));
    return false;
  }
}

/** Waits for processing when asked, checks the hash, and applies `throwOnFail` and `removeOnFail`. */
async function settle(
  client: RedivisClient,
  created: TabularUpload,
  settings: UploadToTableSettings,
  extra: Omit<TableUploadResult, keyof TabularUpload>,
  signal: AbortSignal | undefined,
): Promise<TableUploadResult> {
  const sentMd5 = extra.sent?.md5;
  let upload = created;
  try {
    verifyUploadHash(upload, sentMd5);
    if (settings.wait && !isSettled(upload)) {
      upload = await pollUpload(client, upload, {
        pollIntervalMs: settings.pollIntervalMs,
        maxPollIntervalMs: settings.maxPollIntervalMs,
        timeoutMs: settings.timeoutMs,
        signal,
      });
      verifyUploadHash(upload, sentMd5);
    }
  } catch (error) {
    // A mismatched hash means the upload holds other bytes than were sent: as good as failed.
    if (settings.removeOnFail && !extra.skipped && error instanceof IntegrityError) await removeUpload(client, upload, signal);
    throw error;
  }
  const result: TableUploadResult = { ...upload, ...extra };
  if (upload.status !== 'failed') return result;
  if (settings.removeOnFail && !extra.skipped) result.removed = await removeUpload(client, upload, signal);
  if (settings.throwOnFail) throw new UploadFailedError(upload.errorMessage ?? 'Redivis gave no error message', upload.uri);
  return result;
}

/**
 * Uploads tabular data into `options.table` and, unless `wait` is false, waits until Redivis has processed it.
 *
 * Steps: the options are validated before any request (`InvalidArgumentError`, `TableReferenceError`); the name
 * is checked with `HEAD /tables/:table/uploads/:name` and `onConflict` applied (`NameConflictError`; with
 * `'skip'` the existing upload is read with `GET` and nothing is sent); the data goes into a new temp upload (a
 * path or a Buffer through `uploadFile`, resumable from 32 MiB; a Readable through a resumable
 * `createTempUploadStream`), its MD5 computed locally on the way; `POST /tables/:table/uploads` creates the upload
 * with every documented field (those not given as `null`); then `GET <uri>` is polled with a doubling delay until
 * the status is `completed` or `failed`, or `timeoutMs` passes (`TimeoutError`). A failed import rejects with
 * `UploadFailedError` carrying Redivis' `errorMessage`, unless `throwOnFail` is false; `removeOnFail` deletes it
 * first. When Redivis reports the upload's `hash`, it is compared with the MD5 of what was sent
 * (`IntegrityError` on a mismatch).
 *
 * With `transferSpecification` instead of `source`, no temp upload is made and no byte passes through the client:
 * the upload is created with the transfer and Redivis pulls the data itself. The signal aborts any step with
 * `AbortError`. Temp uploads are named `<name>.<random hex>`, so a replacement or a second attempt never collides
 * with an earlier temp upload of the table.
 */
export async function uploadToTable(options: UploadToTableOptions): Promise<TableUploadResult> {
  const settings = await validateUploadToTable(options);
  const { client, signal } = options;
  throwIfAborted(signal);
  const name = await claimName(client, settings, signal);
  if (name === undefined) {
    const path = uploadPath(settings, settings.name);
    const response = await client.request('GET', path, { signal });
    const existing = parseUpload(response.body, { method: 'GET', path }, response.status, path);
    return settle(client, existing, settings, { skipped: true }, signal);
  }

  let sent: SentData | undefined;
  if (settings.transferSpecification === undefined) sent = await sendData(options, options.source!, name);
  throwIfAborted(signal);

  const path = `/tables/${settings.segment}/uploads`;
  const body = uploadRequestBody(name, {
    ...settings.fields,
    tempUploadId: sent?.tempUploadId,
    transferSpecification: settings.transferSpecification,
  });
  const response = await client.request('POST', path, { body, signal });
  const created = parseUpload(response.body, { method: 'POST', path }, response.status, uploadPath(settings, name), sent?.tempUploadId);
  const extra = sent === undefined ? { skipped: false } : { skipped: false, sent: { size: sent.size, md5: sent.md5 } };
  return settle(client, created, settings, extra, signal);
}
