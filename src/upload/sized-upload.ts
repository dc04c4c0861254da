/**
 * Sending content of known size (a file read by offset, or a Buffer) into a temp upload that already exists, with
 * the protocol the server chose for it: one `PUT` for a simple temp upload, the session driver for a resumable one.
 * Shared by `uploadFile`, `uploadToTable` and `addFiles`. Since the content can be read again from its start, a
 * session that expires or is terminated meanwhile is replaced by a new temp upload (when the caller can make one).
 * @module
 */
import type { RedivisClient } from '../client/redivis-client.js';
import type { TempUpload } from '../client/temp-uploads.js';
import { AbortError, IntegrityError, SessionExpiredError } from '../errors.js';
import { redactUrl } from '../util/redact.js';
import { compareChecksums } from './completion.js';
import { BufferSource, FileSource } from './file-source.js';
import { Recovery, type RetryNotice } from './recovery.js';
import { SessionDriver } from './session-driver.js';
import { putSimple, type SessionContext } from './session.js';
import { debug } from './session-http.js';

/** New temp uploads made, at most, after the session of the first one expired or was terminated. */
export const MAX_RENEWALS = 2;

export interface SizedUploadOptions {
  client: RedivisClient;
  signal: AbortSignal | undefined;
  /** Names the content in errors. */
  label: string;
  /** The unit and smallest size of a resumable request, bytes. */
  chunkSize: number;
  /** The most bytes per resumable request; undefined: the whole rest, once the link is measured. */
  maxRequestSize?: number | undefined;
  /** Longest wait on the server without progress, ms. */
  stallTimeoutMs?: number | undefined;
  /** Called with the bytes the server has confirmed so far, ending with the size. */
  onConfirmed: (bytes: number) => void;
  /** Called before each retry of an upload request, and before sending to a renewed temp upload. */
  onRetry?: ((notice: RetryNotice) => void) | undefined;
  /**
   * Makes a new temp upload like the first one, for when its session expires or is terminated; without it such a
   * failure is final.
   */
  renew?: (() => Promise<TempUpload>) | undefined;
}

/** What the server stored, verified against the local checksums. */
export interface StoredSummary {
  size: number;
  md5: string;
  crc32c: string;
  /** The temp upload that holds the content: the first one, or the one that replaced it. */
  tempUpload: TempUpload;
}

/** The failure to report: an abort wins over whatever the aborted request failed with. */
export function abortError(signal: AbortSignal | undefined, error: unknown): unknown {
  return signal?.aborted && !(error instanceof AbortError) ? new AbortError(undefined, { cause: signal.reason }) : error;
}

/**
 * Uploads `source` into `tempUpload` and verifies what the server stored (size, CRC32C, MD5 where it reports them;
 * every value is also computed locally).
 */
export async function uploadSized(tempUpload: TempUpload, source: FileSource | BufferSource, options: SizedUploadOptions): Promise<StoredSummary> {
  let current = tempUpload;
  for (let renewal = 0; ; renewal++) {
    try {
      const stored = await uploadOnce(current, source, options);
      return { ...stored, tempUpload: current };
    } catch (error) {
      const failure = abortError(options.signal, error);
      if (!(failure instanceof SessionExpiredError) || options.renew === undefined || renewal >= MAX_RENEWALS) throw failure;
      debug('%s: %s; sending again to a new temp upload', options.label, failure.message);
      options.onRetry?.({ attempt: renewal + 1, delayMs: 0, error: failure });
      current = await options.renew();
    }
  }
}

async function uploadOnce(tempUpload: TempUpload, source: FileSource | BufferSource, options: SizedUploadOptions): Promise<Omit<StoredSummary, 'tempUpload'>> {
  const { client, signal, label } = options;
  const contextFor = (url: string): SessionContext => ({
    dispatcher: client.dispatcher,
    headers: client.uploadHeaders(url),
    requestTimeoutMs: client.requestTimeoutMs,
  });
  const size = source.size;
  if (tempUpload.resumable) {
    const driver = new SessionDriver({
      target: { kind: 'start', url: tempUpload.url },
      source,
      declaredSize: size,
      sizing: { chunkSize: options.chunkSize, maxRequestSize: options.maxRequestSize, sized: true, memoryLimit: 0, spillLimit: 0 },
      context: contextFor,
      retry: client.retry,
      stallTimeoutMs: options.stallTimeoutMs ?? Number.POSITIVE_INFINITY,
      signal: signal ?? new AbortController().signal,
      label,
      onConfirmed: options.onConfirmed,
      ...(options.onRetry ? { onRetry: options.onRetry } : {}),
    });
    const outcome = await driver.run();
    const local = source.digest()!;
    return { size, md5: outcome.md5 ?? local.md5!, crc32c: outcome.crc32c ?? local.crc32c! };
  }

  const ctx = { ...contextFor(tempUpload.url), ...(signal ? { signal } : {}) };
  const recovery = new Recovery({ retry: client.retry, label, signal, ...(options.onRetry ? { onRetry: options.onRetry } : {}) });
  const stored =
    source instanceof BufferSource
      ? await recovery.retrying((attemptSignal) => putSimple(tempUpload.url, { ...ctx, signal: attemptSignal }, source.data, size, { hashHeader: source.digestAll().header }))
      : // A retried PUT reads the file again from byte 0, and its checksums start over with it.
        await recovery.retrying((attemptSignal) => putSimple(tempUpload.url, { ...ctx, signal: attemptSignal }, () => source.stream(), size));
  debug('%s: simple PUT to %s stored %s bytes', label, redactUrl(tempUpload.url), stored.size ?? 'an unreported number of');
  const local = source.digest();
  if (stored.size !== undefined && stored.size !== size) throw new IntegrityError('size', String(size), String(stored.size));
  compareChecksums(stored, local);
  options.onConfirmed(size);
  return { size, md5: stored.md5Hash ?? local!.md5!, crc32c: stored.crc32c ?? local!.crc32c! };
}
