/**
 * Upload URLs: the signed temp upload URL (simple `PUT`, or `POST` to start a resumable session) and the routing of
 * session URLs. Errors on upload URLs are plain text, like the GCS XML API's.
 * @module
 */
import type { IncomingHttpHeaders } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { BodyReader } from './body.js';
import { jsonReply, textReply, type Reply } from './errors-body.js';
import { checkHashHeader } from './hash-header.js';
import type { EmulatorState, TempUploadRecord } from './state.js';
import type { RequestKind } from './types.js';

/** Prefix of temp upload URLs. */
export const TEMP_UPLOAD_PREFIX = '/upload/temp/';
/** Prefix of resumable session URLs. */
export const SESSION_PREFIX = '/upload/sessions/';

/** Everything an upload-URL handler gets. */
export interface UploadContext {
  state: EmulatorState;
  method: string;
  headers: IncomingHttpHeaders;
  query: URLSearchParams;
  record: TempUploadRecord | undefined;
  body: BodyReader;
}

/** Which handler serves an upload-URL path, and the request's kind for logs and faults. */
export interface UploadTarget {
  route: 'temp' | 'session' | 'none';
  kind: RequestKind;
  tempUploadId: string | undefined;
}

export function isUploadPath(path: string): boolean {
  return path.startsWith(TEMP_UPLOAD_PREFIX) || path.startsWith(SESSION_PREFIX);
}

function idAfter(prefix: string, path: string): string | undefined {
  const id = path.slice(prefix.length);
  return id !== '' && !id.includes('/') ? id : undefined;
}

/** Classifies an upload-URL request by path, method and `Content-Range`. */
export function classifyUpload(method: string, path: string, contentRange: string | undefined): UploadTarget {
  const tempId = path.startsWith(TEMP_UPLOAD_PREFIX) ? idAfter(TEMP_UPLOAD_PREFIX, path) : undefined;
  if (tempId !== undefined) {
    const kind = method === 'PUT' ? 'simple' : method === 'POST' ? 'initiate' : 'other';
    return { route: 'temp', kind, tempUploadId: tempId };
  }
  const sessionId = path.startsWith(SESSION_PREFIX) ? idAfter(SESSION_PREFIX, path) : undefined;
  if (sessionId !== undefined) {
    let kind: RequestKind = 'other';
    if (method === 'DELETE') kind = 'cancel';
    else if (method === 'PUT' || method === 'POST') {
      const range = contentRange?.trim();
      kind = range === 'bytes */*' ? 'status' : range !== undefined && /^bytes \*\/\d+$/.test(range) ? 'finalize' : 'chunk';
    }
    return { route: 'session', kind, tempUploadId: sessionId };
  }
  return { route: 'none', kind: 'other', tempUploadId: undefined };
}

/** Parses a non-negative decimal header value; `null` when present but malformed. */
export function headerInteger(value: string | string[] | undefined): number | undefined | null {
  if (value === undefined) return undefined;
  if (Array.isArray(value) || !/^\s*(0|[1-9][0-9]*)\s*$/.test(value)) return null;
  const number = Number(value);
  return Number.isSafeInteger(number) ? number : null;
}

function signatureMatches(record: TempUploadRecord, given: string | null): boolean {
  if (given === null) return false;
  const expected = Buffer.from(record.signature);
  const actual = Buffer.from(given);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** Reads and discards the body, then answers `reply`; no reply when the connection failed meanwhile. */
export async function drainThen(body: BodyReader, reply: Reply): Promise<Reply | undefined> {
  return (await body.drain()) ? reply : undefined;
}

/** `PUT` (simple upload) or `POST` (session initiation) on a temp upload URL. */
export async function handleTempUploadUrl(context: UploadContext): Promise<Reply | undefined> {
  const { record, body } = context;
  if (record === undefined) return drainThen(body, textReply(404, 'No such temp upload.'));
  if (!signatureMatches(record, context.query.get('X-Goog-Signature'))) {
    return drainThen(body, textReply(403, 'SignatureDoesNotMatch: the request signature is missing or invalid.'));
  }
  if (context.method === 'PUT') return record.lock.run(() => simpleUpload(context, record));
  if (context.method === 'POST') return record.lock.run(() => initiateSession(context, record));
  return drainThen(body, textReply(405, `Method ${context.method} is not allowed on a temp upload URL.`, { allow: 'PUT, POST' }));
}

async function simpleUpload(context: UploadContext, record: TempUploadRecord): Promise<Reply | undefined> {
  const { state, headers, body } = context;
  if (headers['x-goog-resumable'] !== undefined) {
    return drainThen(body, textReply(400, 'x-goog-resumable is only valid on POST, to start a resumable session.'));
  }
  if (record.resumable) {
    return drainThen(body, textReply(400, 'This temp upload is resumable: start a session with POST and x-goog-resumable: start.'));
  }
  const declared = record.declaredSize;
  const contentLength = headerInteger(headers['content-length']);
  if (contentLength !== undefined && contentLength !== declared) {
    return drainThen(body, textReply(400, `Content-Length ${String(contentLength)} does not match the declared size ${declared}.`));
  }
  const staging = state.store.blob(`${record.id}.staging`);
  const writer = await staging.writer();
  let received = 0;
  try {
    for (let piece = await body.next(); piece !== undefined; piece = await body.next()) {
      const room = declared - received;
      if (room > 0) await writer.write(piece.length > room ? piece.subarray(0, room) : piece);
      received += piece.length;
    }
    if (received !== declared) {
      return textReply(400, `The body has ${received} bytes but the temp upload was declared with ${declared}; nothing was stored.`);
    }
    const hashProblem = checkHashHeader(headers['x-goog-hash'], writer.stagedDigest());
    if (hashProblem !== undefined) return textReply(400, hashProblem);
    writer.commitAll();
  } catch {
    return undefined;
  } finally {
    await writer.close();
  }
  await record.blob.replaceWith(staging);
  delete record.session;
  const resource = state.complete(record);
  return jsonReply(200, resource);
}

async function initiateSession(context: UploadContext, record: TempUploadRecord): Promise<Reply | undefined> {
  const { state, headers, body } = context;
  const resumableHeader = headers['x-goog-resumable'];
  if (resumableHeader !== 'start') {
    return drainThen(body, textReply(400, 'A POST to a temp upload URL must carry the header x-goog-resumable: start.'));
  }
  if (!record.resumable) {
    return drainThen(body, textReply(400, 'This temp upload is not resumable: PUT the whole content to its URL.'));
  }
  if (headers['content-length'] === undefined && headers['transfer-encoding'] === undefined) {
    return drainThen(body, textReply(411, 'Length Required: send Content-Length: 0 when starting a resumable session.'));
  }
  const declaredTotal = headerInteger(headers['x-upload-content-length']);
  if (declaredTotal === null) {
    return drainThen(body, textReply(400, 'x-upload-content-length must be a non-negative integer.'));
  }
  if (!(await body.drain())) return undefined;
  await record.blob.reset();
  state.startSession(record, declaredTotal);
  return { status: 201, headers: { location: state.sessionUrl(record)!, 'content-type': 'text/plain; charset=utf-8' }, body: '' };
}
