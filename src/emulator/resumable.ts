/**
 * Resumable session URLs: chunks, status queries, finalization and cancellation, following GCS' observed
 * behaviour (see the resumable protocol reference).
 * @module
 */
import { CHUNK_ALIGNMENT, formatRangeHeader, parseContentRange, type ContentRange } from '../upload/content-range.js';
import type { BodyReader } from './body.js';
import { jsonReply, textReply, UPLOAD_MESSAGES, type Reply } from './errors-body.js';
import { checkHashHeader } from './hash-header.js';
import type { BlobWriter } from './storage.js';
import type { EmulatorState, SessionState, TempUploadRecord } from './state.js';
import { drainThen, headerInteger, type UploadContext } from './upload-routes.js';

/** The 308 answered while a session is incomplete; no `Range` when nothing is persisted. */
export function resumeIncomplete(persisted: number): Reply {
  const range = formatRangeHeader(persisted);
  return { status: 308, statusMessage: 'Resume Incomplete', headers: range === undefined ? {} : { range }, body: '' };
}

type Lookup = { record: TempUploadRecord; session: SessionState } | { reply: Reply };

/** Finds the live session a session URL names, or the reply for a dead or completed one. */
function lookup(context: UploadContext): Lookup {
  const { record, state } = context;
  const session = record?.session;
  if (record === undefined || session === undefined || context.query.get('upload_id') !== session.uploadId) {
    return { reply: textReply(404, UPLOAD_MESSAGES.noSession) };
  }
  switch (state.refreshState(record)) {
    case 'complete':
      return { reply: jsonReply(200, record.object!.resource) };
    case 'cancelled':
      return { reply: { ...textReply(499, UPLOAD_MESSAGES.cancelled), statusMessage: 'Client Closed Request' } };
    case 'terminated':
      return { reply: textReply(410, UPLOAD_MESSAGES.terminated) };
    case 'expired':
      return { reply: textReply(404, UPLOAD_MESSAGES.noSession) };
    default:
      return { record, session };
  }
}

/** Any request on a session URL. */
export async function handleSessionUrl(context: UploadContext): Promise<Reply | undefined> {
  const run = async (): Promise<Reply | undefined> => {
    const found = lookup(context);
    if ('reply' in found) return drainThen(context.body, found.reply);
    if (context.method === 'DELETE') {
      if (!(await context.body.drain())) return undefined;
      await found.record.blob.reset();
      found.record.state = 'cancelled';
      return { ...textReply(499, UPLOAD_MESSAGES.cancelled), statusMessage: 'Client Closed Request' };
    }
    if (context.method !== 'PUT' && context.method !== 'POST') {
      return drainThen(context.body, textReply(405, `Method ${context.method} is not allowed on a session URL.`, { allow: 'PUT, POST, DELETE' }));
    }
    return sessionPut(context, found.record, found.session);
  };
  return context.record === undefined ? run() : context.record.lock.run(run);
}

/** The total already fixed for the session, by `X-Upload-Content-Length` or an earlier chunk. */
function knownTotal(session: SessionState): number | undefined {
  return session.declaredTotal ?? session.knownTotal;
}

function finalize(state: EmulatorState, record: TempUploadRecord, hashHeader: string | string[] | undefined, writer?: BlobWriter): Reply {
  const digest = writer ? writer.stagedDigest() : record.blob.digest();
  const problem = checkHashHeader(hashHeader, digest);
  if (problem !== undefined) return textReply(400, problem);
  writer?.commitAll();
  return jsonReply(200, state.complete(record));
}

async function sessionPut(context: UploadContext, record: TempUploadRecord, session: SessionState): Promise<Reply | undefined> {
  const { headers, body, state } = context;
  const rawRange = headers['content-range'];
  if (rawRange === undefined) return drainThen(body, textReply(400, 'Content-Range is required on a session request.'));
  const range = parseContentRange(rawRange);
  if (range === undefined) return drainThen(body, textReply(400, `Malformed Content-Range: ${JSON.stringify(rawRange)}.`));
  const contentLength = headerInteger(headers['content-length']);
  if (contentLength === null) return drainThen(body, textReply(400, 'Malformed Content-Length.'));
  const persisted = record.blob.size;
  const known = knownTotal(session);
  const rangeTotal = range.kind === 'open' ? undefined : range.total;
  if (rangeTotal !== undefined && known !== undefined && rangeTotal !== known) {
    return drainThen(body, textReply(400, `Content-Range total ${rangeTotal} disagrees with the upload's total of ${known} bytes.`));
  }

  if (range.kind === 'status') {
    if (contentLength !== undefined && contentLength > 0) {
      return drainThen(body, textReply(400, 'A status query or finalize request (bytes */N) must have an empty body.'));
    }
    if (!(await body.drain())) return undefined;
    if (body.consumed > 0) return textReply(400, 'A status query or finalize request (bytes */N) must have an empty body.');
    if (range.total !== undefined && range.total === persisted) return finalize(state, record, headers['x-goog-hash']);
    return resumeIncomplete(persisted);
  }

  if (range.first > persisted) return drainThen(body, textReply(503, UPLOAD_MESSAGES.offsetBeyond(range.first, persisted)));
  if (range.kind === 'chunk') return chunkPut(context, record, session, range, contentLength, known);
  return openPut(context, record, range.first, known);
}

/**
 * A client that drops the connection mid-body keeps what GCS would: the 256 KiB-aligned prefix of what arrived
 * (every byte, when alignment is off).
 */
function commitInterrupted(state: EmulatorState, writer: BlobWriter): void {
  if (state.options.alignUnalignedChunks) writer.commitAligned();
  else writer.commitAll();
}

/** Streams the body into `writer`, skipping bytes before the persisted end and bytes at or past `stopAt`. */
async function stream(body: BodyReader, writer: BlobWriter, first: number, stopAt: number): Promise<number> {
  let position = first;
  for (let piece = await body.next(); piece !== undefined; piece = await body.next()) {
    const start = Math.max(position, writer.offset);
    const end = Math.min(position + piece.length, stopAt);
    if (end > start) await writer.write(piece.subarray(start - position, end - position));
    position += piece.length;
  }
  return position - first;
}

async function chunkPut(
  context: UploadContext,
  record: TempUploadRecord,
  session: SessionState,
  range: Extract<ContentRange, { kind: 'chunk' }>,
  contentLength: number | undefined,
  known: number | undefined,
): Promise<Reply | undefined> {
  const { body, state } = context;
  const length = range.last - range.first + 1;
  const end = range.last + 1;
  if (contentLength !== undefined && contentLength !== length) {
    return drainThen(body, textReply(400, `Content-Length ${contentLength} does not match the ${length} bytes named by Content-Range.`));
  }
  if (known !== undefined && end > known) {
    return drainThen(body, textReply(400, `The chunk ends at byte ${end}, past the upload's total of ${known} bytes.`));
  }
  const isFinal = range.total !== undefined && end === range.total;
  if (!isFinal && length < CHUNK_ALIGNMENT) return drainThen(body, textReply(400, UPLOAD_MESSAGES.shortChunk(length)));
  const persisted = record.blob.size;
  const align = state.options.alignUnalignedChunks;
  const target = isFinal || !align ? end : Math.max(persisted, Math.floor(end / CHUNK_ALIGNMENT) * CHUNK_ALIGNMENT);

  const writer = await record.blob.writer();
  try {
    let received: number;
    try {
      received = await stream(body, writer, range.first, target);
    } catch {
      commitInterrupted(state, writer);
      return undefined;
    }
    if (received !== length) {
      return textReply(400, `The body has ${received} bytes but Content-Range names ${length}.`);
    }
    if (range.total !== undefined) session.knownTotal = range.total;
    if (isFinal) return finalize(state, record, context.headers['x-goog-hash'], writer);
    writer.commitAll();
    return resumeIncomplete(record.blob.size);
  } finally {
    await writer.close();
  }
}

async function openPut(context: UploadContext, record: TempUploadRecord, first: number, known: number | undefined): Promise<Reply | undefined> {
  const { body, state } = context;
  const writer = await record.blob.writer();
  try {
    let received: number;
    try {
      received = await stream(body, writer, first, known ?? Infinity);
    } catch {
      commitInterrupted(state, writer);
      return undefined;
    }
    const size = first + received;
    if (known !== undefined && size !== known) {
      return textReply(400, `The upload ended at byte ${size} but its total is ${known} bytes; nothing was committed.`);
    }
    return finalize(state, record, context.headers['x-goog-hash'], writer);
  } finally {
    await writer.close();
  }
}

/**
 * A fault that persists the first `afterBytes` bytes of a data request, never finalizing. A part of a chunk is
 * kept as GCS keeps an interrupted one, to the last 256 KiB boundary, unless `exact` (or alignment is off); a
 * whole chunk is kept as its own request would have kept it. Other requests just have that many body bytes read.
 */
export async function persistPartial(context: UploadContext, exact: boolean): Promise<void> {
  const record = context.record;
  const run = async (): Promise<void> => {
    const found = lookup(context);
    const range = parseContentRange(context.headers['content-range']);
    if ('reply' in found || range === undefined || range.kind === 'status' || range.first > found.record.blob.size) {
      while ((await context.body.next()) !== undefined);
      return;
    }
    const known = knownTotal(found.session);
    const stopAt = range.kind === 'chunk' ? range.last + 1 : (known ?? Infinity);
    const writer = await found.record.blob.writer();
    try {
      const received = await stream(context.body, writer, range.first, stopAt).catch(() => 0);
      const partial = range.kind === 'chunk' ? received < range.last - range.first + 1 : context.body.stoppedAtLimit;
      const isFinal = range.kind === 'open' || (range.total !== undefined && range.last + 1 === range.total);
      if (exact || !context.state.options.alignUnalignedChunks || (!partial && isFinal)) writer.commitAll();
      else writer.commitAligned();
    } finally {
      await writer.close();
    }
  };
  if (record === undefined) return run();
  return record.lock.run(run);
}
