/**
 * Sending content of known size (a file read by offset, or a Buffer) into a temp upload that already exists, with
 * the protocol the server chose for it, retries, and checksums verified against the server's. Shared by
 * `uploadFile` and `addFiles`.
 * @module
 */
import type { RedivisClient } from '../client/redivis-client.js';
import type { TempUpload } from '../client/temp-uploads.js';
import { AbortError, DataLossError, IntegrityError, ProtocolError, SizeMismatchError } from '../errors.js';
import { redactUrl } from '../util/redact.js';
import { uploadResumable } from './file-resumable.js';
import { ContentHashes, type FileSource, type UploadSource } from './file-source.js';
import { Recovery, type RetryNotice } from './recovery.js';
import { cancelSession, putSimple, type SessionContext, type StoredObject } from './session.js';
import { debug } from './session-http.js';

/** Longest wait for the best-effort cancellation of an abandoned session, in milliseconds. */
const CANCEL_TIMEOUT_MS = 5_000;

export interface SizedUploadOptions {
  client: RedivisClient;
  signal: AbortSignal | undefined;
  /** Names the content in errors. */
  label: string;
  /** Bytes per chunk of a resumable upload. */
  chunkSize: number;
  /** Called with the bytes the server has confirmed so far, ending with the size. */
  onConfirmed: (bytes: number) => void;
  /** Called before each retry of an upload request. */
  onRetry?: ((notice: RetryNotice) => void) | undefined;
}

/** What the server stored, verified against the local checksums. */
export interface StoredSummary {
  size: number;
  md5: string;
  crc32c: string;
}

/** The failure to report: an abort wins over whatever the aborted request failed with. */
export function abortError(signal: AbortSignal | undefined, error: unknown): unknown {
  return signal?.aborted && !(error instanceof AbortError) ? new AbortError(undefined, { cause: signal.reason }) : error;
}

/**
 * Uploads `source` into `tempUpload`: one PUT (repeated from byte 0 after a retryable failure) when the temp upload
 * is simple, a resumable session otherwise. `buffer` is the content when it is in memory (its checksums then go in
 * `X-Goog-Hash` of a simple PUT too).
 */
export async function uploadSized(tempUpload: TempUpload, source: UploadSource, buffer: Buffer | undefined, options: SizedUploadOptions): Promise<StoredSummary> {
  const { client, signal, label } = options;
  const size = source.size;
  const contextFor = (url: string): SessionContext => ({
    dispatcher: client.dispatcher,
    headers: client.uploadHeaders(url),
    signal,
    requestTimeoutMs: client.requestTimeoutMs,
  });
  let reported = -1;
  const confirm = (bytes: number): void => {
    reported = bytes;
    options.onConfirmed(bytes);
  };

  let hashes = new ContentHashes();
  let stored: StoredObject;
  if (tempUpload.resumable) {
    let sessionUrl: string | undefined;
    try {
      stored = await uploadResumable({
        url: tempUpload.url,
        urlContext: contextFor(tempUpload.url),
        sessionContext: contextFor,
        source,
        hashes,
        chunkSize: options.chunkSize,
        retry: client.retry,
        signal,
        label,
        onSession: (url) => {
          sessionUrl = url;
        },
        onConfirmed: confirm,
        onRetry: options.onRetry,
      });
    } catch (error) {
      const failure = abortError(signal, error);
      if (sessionUrl !== undefined && abandonsSession(failure)) await cancelQuietly(sessionUrl, contextFor(sessionUrl));
      throw failure;
    }
  } else {
    const ctx = contextFor(tempUpload.url);
    const backoff = new Recovery({ retry: client.retry, label, signal, onRetry: options.onRetry });
    if (buffer !== undefined) {
      hashes.feed(0, buffer);
      const header = hashes.digest().header;
      stored = await backoff.retrying(() => putSimple(tempUpload.url, ctx, buffer, size, { hashHeader: header }));
    } else {
      const file = source as FileSource;
      stored = await backoff.retrying(() => {
        // A retried PUT reads the file again from byte 0, so its checksums start over too.
        const attempt = new ContentHashes();
        hashes = attempt;
        return putSimple(tempUpload.url, ctx, () => file.stream((piece) => attempt.feed(attempt.hashedUpTo, piece)), size);
      });
    }
  }
  if (reported !== size) confirm(size);
  return verify(stored, size, hashes);
}

/** Failures after which the session can never be completed by this call, so it is cancelled. */
function abandonsSession(error: unknown): boolean {
  return error instanceof AbortError || error instanceof SizeMismatchError || error instanceof DataLossError || error instanceof ProtocolError;
}

async function cancelQuietly(sessionUrl: string, ctx: SessionContext): Promise<void> {
  try {
    await cancelSession(sessionUrl, {
      ...ctx,
      signal: undefined,
      requestTimeoutMs: Math.min(ctx.requestTimeoutMs ?? CANCEL_TIMEOUT_MS, CANCEL_TIMEOUT_MS),
    });
  } catch (error) {
    debug('cancelling %s failed: %s', redactUrl(sessionUrl), error instanceof Error ? error.message : String(error));
  }
}

/** Compares the server's object with what was sent; returns the values to report. */
function verify(stored: StoredObject, size: number, hashes: ContentHashes): StoredSummary {
  if (stored.size !== size) throw new IntegrityError('size', String(size), String(stored.size));
  if (hashes.hashedUpTo !== size) throw new IntegrityError('size', String(size), `${hashes.hashedUpTo} bytes read`);
  const local = hashes.digest();
  if (stored.crc32c !== undefined && stored.crc32c !== local.crc32c) throw new IntegrityError('crc32c', local.crc32c, stored.crc32c);
  if (stored.md5Hash !== undefined && stored.md5Hash !== local.md5) throw new IntegrityError('md5', local.md5, stored.md5Hash);
  return { size, md5: stored.md5Hash ?? local.md5, crc32c: stored.crc32c ?? local.crc32c };
}
