/**
 * Opening the stream upload a row stream writes into: the name checked and `onConflict` applied as
 * `uploadToTable` does, then `POST /tables/:table/uploads` with `type: "stream"` and the schema. The create is
 * sent without the client's own retries: an answer lost after the upload was created would otherwise create a
 * second one under the next free name, so before each new attempt the name is looked up and an upload found there
 * is taken as the one created.
 * @module
 */
import { debuglog } from 'node:util';
import type { RedivisClient } from '../../client/redivis-client.js';
import { ApiError, NameConflictError } from '../../errors.js';
import type { Recovery } from '../../upload/recovery.js';
import { parseUpload, uploadApiPath, type TabularUpload } from '../poll-upload.js';
import { uploadRequestBody } from '../tabular-options.js';
import { claimName, uploadPath } from '../upload-to-table.js';
import type { ResolvedRowStreamOptions } from './row-stream-options.js';

const debug = debuglog('redivis-upload');

/** The upload rows go into. */
export interface OpenedUpload {
  upload: TabularUpload;
  /** Its API path, relative to the endpoint. */
  path: string;
  /** Rows it held before this stream wrote any; undefined when it does not say (then no count can be reconciled). */
  baseRows: number | undefined;
  /** Whether `onConflict: 'skip'` found it: nothing is to be sent. */
  skipped: boolean;
}

/** `GET` of the upload at `path`, one attempt; undefined when there is none (404). */
export async function readUpload(client: RedivisClient, path: string, signal: AbortSignal): Promise<TabularUpload | undefined> {
  try {
    const response = await client.request('GET', path, { signal, retry: false });
    return parseUpload(response.body, { method: 'GET', path }, response.status, path);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return undefined;
    throw error;
  }
}

function opened(client: RedivisClient, upload: TabularUpload, baseRows: number | undefined, skipped: boolean): OpenedUpload {
  return { upload, path: uploadApiPath(client, upload.uri), baseRows, skipped };
}

/** An upload found under the name: rows can be added to it only when it is a stream upload. */
function appendable(client: RedivisClient, upload: TabularUpload, name: string): OpenedUpload {
  if (upload.type !== undefined && upload.type !== 'stream') throw new NameConflictError(name);
  return opened(client, upload, upload.numRows, false);
}

async function create(options: ResolvedRowStreamOptions, recovery: Recovery, name: string): Promise<OpenedUpload> {
  const { client, segment, variables } = options;
  const path = `/tables/${segment}/uploads`;
  const ownPath = uploadPath({ segment }, name);
  const body = uploadRequestBody(name, { type: 'stream', schema: variables });
  for (;;) {
    let failure: unknown;
    try {
      const response = await recovery.timed((timed) => client.request('POST', path, { body, signal: timed, retry: false }));
      const upload = parseUpload(response.body, { method: 'POST', path }, response.status, ownPath);
      // A new upload holds no rows, whether or not the answer says so.
      return opened(client, upload, upload.numRows ?? 0, false);
    } catch (error) {
      failure = error;
    }
    if (failure instanceof ApiError && failure.status < 500 && failure.status !== 408 && failure.status !== 429) throw failure;
    await recovery.backOff(failure);
    const existing = await recovery.retrying((timed) => readUpload(client, ownPath, timed));
    if (existing !== undefined) {
      debug('the upload %s exists after a create whose answer was lost: writing into it', JSON.stringify(name));
      if ((existing.numRows ?? 0) !== 0) throw new NameConflictError(name);
      return appendable(client, existing, name);
    }
  }
}

/** Finds or creates the stream upload as `onConflict` says. */
export async function openStreamUpload(options: ResolvedRowStreamOptions, recovery: Recovery, signal: AbortSignal): Promise<OpenedUpload> {
  const { client, segment, name, onConflict } = options;
  const ownPath = uploadPath({ segment }, name);
  if (onConflict === 'append') {
    const existing = await recovery.retrying((timed) => readUpload(client, ownPath, timed));
    if (existing !== undefined) return appendable(client, existing, name);
    return create(options, recovery, name);
  }
  const claimed = await claimName(client, { segment, name, onConflict }, signal);
  if (claimed === undefined) {
    const existing = await recovery.retrying((timed) => readUpload(client, ownPath, timed));
    // Deleted between the check and the read: nothing to skip any more, so the rows go into a new upload.
    if (existing === undefined) return create(options, recovery, name);
    return opened(client, existing, existing.numRows, true);
  }
  return create(options, recovery, claimed);
}
