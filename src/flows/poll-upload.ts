/**
 * Reading an upload resource, and waiting for Redivis to finish processing it.
 * @module
 */
import type { RedivisClient } from '../client/redivis-client.js';
import { AbortError, ProtocolError, TimeoutError, UploadFailedError, type RequestDetails } from '../errors.js';
import { sleep } from '../util/retry.js';

/** A tabular upload as Redivis describes it. */
export interface TabularUpload {
  /** The upload's name in its table. */
  name: string;
  /** The upload's path relative to the API endpoint, e.g. `/tables/<table>/uploads/<name>`. */
  uri: string;
  /**
   * Processing state. Redivis documents these four; any other value it may send is passed through as is and
   * treated as still processing.
   */
  status: 'queued' | 'running' | 'completed' | 'failed';
  /** Why processing failed, when `status` is `'failed'`. */
  errorMessage?: string;
  /** The temp upload that holds the data. */
  tempUploadId: string;
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

/** Reads an upload resource; `fallbackUri` is used when the server sends none. */
export function parseUpload(body: unknown, request: RequestDetails, status: number, fallbackUri: string, tempUploadId: string): TabularUpload {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ProtocolError('the upload resource is not a JSON object', request, status);
  }
  const raw = body as Record<string, unknown>;
  if (typeof raw.name !== 'string' || raw.name === '') throw new ProtocolError('the upload resource has no name', request, status);
  if (typeof raw.status !== 'string' || raw.status === '') throw new ProtocolError('the upload resource has no status', request, status);
  if (raw.uri !== undefined && (typeof raw.uri !== 'string' || raw.uri === '')) {
    throw new ProtocolError('the upload resource has an invalid uri', request, status);
  }
  const upload: TabularUpload = {
    name: raw.name,
    uri: (raw.uri as string | undefined) ?? fallbackUri,
    status: raw.status as TabularUpload['status'],
    tempUploadId: typeof raw.tempUploadId === 'string' && raw.tempUploadId !== '' ? raw.tempUploadId : tempUploadId,
    raw,
  };
  if (typeof raw.errorMessage === 'string') upload.errorMessage = raw.errorMessage;
  return upload;
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

/** Throws {@link UploadFailedError} for a failed upload; tells whether processing is over. */
export function isSettled(upload: TabularUpload): boolean {
  if (upload.status === 'failed') throw new UploadFailedError(upload.errorMessage ?? 'Redivis gave no error message', upload.uri);
  return upload.status === 'completed';
}

/**
 * Polls `GET <upload.uri>` until processing completes (resolves) or fails ({@link UploadFailedError}). The delay
 * starts at `pollIntervalMs` and doubles up to `maxPollIntervalMs`; past `timeoutMs` it throws
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
