/**
 * Reading an upload resource, and waiting for Redivis to finish processing it.
 * @module
 */
import type { RedivisClient } from '../client/redivis-client.js';
import { parseCount } from '../client/int64.js';
import { AbortError, IntegrityError, ProtocolError, TimeoutError, type RequestDetails } from '../errors.js';
import type { TransferSpecification } from './transfer-specification.js';
import { sleep } from '../util/retry.js';

/** A tabular upload as Redivis describes it; a field Redivis did not report is absent. */
export interface TabularUpload {
  /** The upload's name in its table. */
  name: string;
  /** The upload's path relative to the API endpoint, e.g. `/tables/<table>/uploads/<name>`. */
  uri: string;
  /** The upload's id, when reported. */
  id?: string;
  /**
   * Processing state. Redivis documents these four; any other value it may send is passed through as is and
   * treated as still processing.
   */
  status: 'queued' | 'running' | 'completed' | 'failed';
  /** Why processing failed, when `status` is `'failed'`. */
  errorMessage?: string;
  /** The format Redivis reads the data as (given, or inferred from the name). */
  type?: string;
  /** The temp upload that holds the data; absent for a transfer, and for an existing upload that does not say. */
  tempUploadId?: string;
  /** Where Redivis pulled the data from, for a transfer. */
  transferSpecification?: TransferSpecification;
  /** Size of the uploaded content, in bytes. */
  size?: number;
  /** Rows imported. */
  numRows?: number;
  /** Size of the imported rows, in bytes. */
  numBytes?: number;
  /** Rows skipped as unparseable (with `skipBadRecords`). */
  badRecordsCount?: number;
  /** MD5 of the content as Redivis reports it (`uploadToTable` compares it with what it sent). */
  hash?: string;
  /** The whole resource as received. */
  raw: Record<string, unknown>;
}

/** How to wait for processing. */
export interface PollSettings {
  pollIntervalMs: number;
  maxPollIntervalMs: number;
  timeoutMs: number;
  signal: AbortSignal | undefined;
}

/** Reads an upload resource; `fallbackUri` is used when the server sends none. `null` fields count as absent. */
export function parseUpload(body: unknown, request: RequestDetails, status: number, fallbackUri: string, tempUploadId?: string): TabularUpload {
  const fail = (problem: string): never => {
    throw new ProtocolError(`the upload resource ${problem}`, request, status);
  };
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return fail('is not a JSON object');
  const raw = body as Record<string, unknown>;
  const present = (field: string): boolean => raw[field] !== undefined && raw[field] !== null;
  if (typeof raw.name !== 'string' || raw.name === '') fail('has no name');
  if (typeof raw.status !== 'string' || raw.status === '') fail('has no status');
  if (present('uri') && (typeof raw.uri !== 'string' || raw.uri === '')) fail('has an invalid uri');
  const upload: TabularUpload = {
    name: raw.name as string,
    uri: present('uri') ? (raw.uri as string) : fallbackUri,
    status: raw.status as TabularUpload['status'],
    raw,
  };
  // Ids have been numbers in some answers and strings in others; both become strings.
  if (typeof raw.id === 'number' && Number.isSafeInteger(raw.id)) upload.id = String(raw.id);
  for (const field of ['id', 'type', 'errorMessage', 'hash', 'tempUploadId'] as const) {
    if (field === 'id' && upload.id !== undefined) continue;
    if (!present(field)) continue;
    if (typeof raw[field] !== 'string') fail(`has an invalid ${field}`);
    upload[field] = raw[field] as string;
  }
  upload.tempUploadId ??= tempUploadId;
  if (upload.tempUploadId === undefined) delete upload.tempUploadId;
  for (const field of ['size', 'numRows', 'numBytes', 'badRecordsCount'] as const) {
    if (!present(field)) continue;
    const value = parseCount(raw[field]);
    if (value === undefined) fail(`has an invalid ${field} (${JSON.stringify(raw[field])})`);
    upload[field] = value;
  }
  if (present('transferSpecification')) {
    const spec = raw.transferSpecification;
    if (typeof spec !== 'object' || Array.isArray(spec)) fail('has an invalid transferSpecification');
    upload.transferSpecification = spec as TransferSpecification;
  }
  return upload;
}

/** The 16 bytes of an MD5 given as hex or base64, or undefined when it is neither. */
function md5Bytes(hash: string): Buffer | undefined {
  if (/^[0-9a-f]{32}$/i.test(hash)) return Buffer.from(hash, 'hex');
  if (!/^[A-Za-z0-9+/]{22}(==)?$/.test(hash)) return undefined;
  return Buffer.from(hash, 'base64');
}

/**
 * Compares the MD5 Redivis reports (`hash`, hex or base64) with `sentMd5` (base64, computed over the bytes sent);
 * `IntegrityError` when they differ, `ProtocolError` when `hash` is no MD5. Nothing to compare is no error.
 */
export function verifyUploadHash(upload: TabularUpload, sentMd5: string | undefined): void {
  if (upload.hash === undefined || sentMd5 === undefined) return;
  const reported = md5Bytes(upload.hash);
  if (reported === undefined) throw new ProtocolError(`the upload ${JSON.stringify(upload.name)} reports a hash that is no MD5 (${JSON.stringify(upload.hash)})`);
  if (reported.toString('base64') !== sentMd5) throw new IntegrityError('md5', sentMd5, upload.hash);
}

/**
 * The path to request for `uri`, relative to the client's endpoint. Redivis answers relative URIs; an absolute one
 * is accepted only below the client's own endpoint, so the token never goes elsewhere.
 */
export function uploadApiPath(client: RedivisClient, uri: string): string {
  let path = uri;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) {
    const target = new URL(uri);
    const base = new URL(client.apiEndpoint);
    const basePath = base.pathname.replace(/\/$/, '');
    if (target.origin !== base.origin || !target.pathname.startsWith(`${basePath}/`) || target.search !== '') {
      throw new ProtocolError(`the upload's uri is outside the API endpoint (${target.origin}${target.pathname})`);
    }
    path = target.pathname.slice(basePath.length);
  }
  if (!path.startsWith('/') || path.startsWith('//') || /[?#]/.test(path)) {
    throw new ProtocolError(`the upload's uri ${JSON.stringify(uri)} is not a path below the API endpoint`);
  }
  return path;
}

/** Whether processing is over, completed or failed. */
export function isSettled(upload: TabularUpload): boolean {
  return upload.status === 'completed' || upload.status === 'failed';
}

/**
 * Polls `GET <upload.uri>` until processing is over (completed or failed) and resolves with the last resource.
 * The delay starts at `pollIntervalMs` and doubles up to `maxPollIntervalMs`; past `timeoutMs` it throws
 * {@link TimeoutError}, and an abort throws {@link AbortError}.
 */
export async function pollUpload(client: RedivisClient, upload: TabularUpload, settings: PollSettings): Promise<TabularUpload> {
  const { signal, timeoutMs } = settings;
  const path = uploadApiPath(client, upload.uri);
  const deadline = performance.now() + timeoutMs;
  let delayMs = settings.pollIntervalMs;
  let current = upload;
  while (!isSettled(current)) {
    const remaining = deadline - performance.now();
    if (remaining <= 0) throw new TimeoutError(`Processing of the upload ${JSON.stringify(upload.name)}`, timeoutMs);
    await sleep(Math.min(delayMs, Math.ceil(remaining)), signal);
    delayMs = Math.min(delayMs * 2, settings.maxPollIntervalMs);
    if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
    const response = await client.request('GET', path, { signal });
    current = parseUpload(response.body, { method: 'GET', path }, response.status, upload.uri, upload.tempUploadId);
  }
  return current;
}
