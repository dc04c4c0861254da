/**
 * The resumable path of {@link uploadFile}: chunks of known total read from the source at the server's persisted
 * offset, a status query after every ambiguous answer, and backoff that starts over whenever the server makes
 * progress.
 * @module
 */
import { DataLossError, ProtocolError } from '../errors.js';
import { redactUrl } from '../util/redact.js';
import type { ResolvedRetryOptions } from '../util/retry.js';
import { Recovery, type RetryNotice } from './recovery.js';
import type { ContentHashes, UploadSource } from './file-source.js';
import { putChunk, queryStatus, startSession, type SessionContext, type SessionStatus, type StoredObject } from './session.js';

/** Everything the resumable loop needs. */
export interface ResumableRun {
  /** The temp upload's URL, where the session is started. */
  url: string;
  /** Context of requests to `url`. */
  urlContext: SessionContext;
  /** Context of requests to a session URL (its headers depend on the session URL's host). */
  sessionContext: (sessionUrl: string) => SessionContext;
  source: UploadSource;
  hashes: ContentHashes;
  chunkSize: number;
  retry: ResolvedRetryOptions;
  signal: AbortSignal | undefined;
  /** Names the upload in errors. */
  label: string;
  /** Called with the session URL as soon as it exists (to cancel it on failure). */
  onSession: (sessionUrl: string) => void;
  onConfirmed: (bytesConfirmed: number) => void;
  /** Called before each retry. */
  onRetry?: ((notice: RetryNotice) => void) | undefined;
}

/** Runs a resumable upload of `run.source` to completion and returns the stored object (not yet verified). */
export async function uploadResumable(run: ResumableRun): Promise<StoredObject> {
  const { source, hashes, chunkSize, signal } = run;
  const total = source.size;
  const backoff = new Recovery({ retry: run.retry, label: run.label, signal, onRetry: run.onRetry });

  const sessionUrl = await backoff.retrying(() => startSession(run.url, run.urlContext, { size: total }));
  run.onSession(sessionUrl);
  const ctx = run.sessionContext(sessionUrl);
  backoff.progressed();

  let confirmed = 0;
  let sentUpTo = 0;
  let reported = 0;
  /** Applies a server-reported offset; bytes beyond what was sent mean the server holds data it never got. */
  const accept = (persisted: number): void => {
    if (persisted > sentUpTo) throw new DataLossError(persisted, 0, sentUpTo);
    if (persisted > confirmed) backoff.progressed();
    // A smaller offset than before is resent from the source, which can reread any byte.
    confirmed = persisted;
    if (persisted > reported) {
      reported = persisted;
      run.onConfirmed(persisted);
    }
  };
  const status = (): Promise<SessionStatus> => backoff.retrying(() => queryStatus(sessionUrl, ctx));

  for (;;) {
    if (confirmed === total) {
      // Nothing left to send (an empty file, or every byte persisted without completing): finalize.
      const finalize = await backoff.retrying(() => queryStatus(sessionUrl, ctx, total, hashes.digest().header));
      if (finalize.complete) return finalize.object;
      if (finalize.persisted === total) {
        throw new ProtocolError(`the server holds all ${total} bytes but does not complete the upload`, { method: 'PUT', path: redactUrl(sessionUrl) }, 308);
      }
      accept(finalize.persisted);
      await backoff.backOff(new ProtocolError(`finalizing reported ${finalize.persisted} of ${total} bytes`), true);
      continue;
    }

    const start = confirmed;
    const length = Math.min(chunkSize, total - start);
    const data = await source.readAt(start, length);
    hashes.feed(start, data);
    const last = start + length === total;
    if (last) await source.checkSize();
    sentUpTo = Math.max(sentUpTo, start + length);

    let answer: SessionStatus;
    try {
      answer = await putChunk(sessionUrl, ctx, {
        start,
        buffers: [data],
        length,
        total,
        hashHeader: last ? hashes.digest().header : undefined,
      });
    } catch (error) {
      await backoff.backOff(error);
      answer = await status();
      if (answer.complete) return answer.object;
      accept(answer.persisted);
      continue;
    }
    if (answer.complete) return answer.object;
    if (answer.persisted > start) {
      accept(answer.persisted);
      continue;
    }
    // A 308 that shows no progress (often: no Range header at all) is confirmed, never assumed.
    answer = await status();
    if (answer.complete) return answer.object;
    const progressed = answer.persisted > start;
    accept(answer.persisted);
    if (!progressed) await backoff.backOff(new ProtocolError(`the server persisted none of bytes ${start}..${start + length - 1}`), true);
  }
}
