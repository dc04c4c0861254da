/**
 * Inserting batches of rows exactly once. `POST <upload.uri>/rows` is not idempotent, and a failed request may
 * have stored its batch (an answer lost, a reset after the body was sent, a 5xx after processing). So a batch is
 * never sent again on the strength of a failure alone: the upload's row count (`numRows` of `GET <upload.uri>`)
 * is read first, and it must show either the rows confirmed so far (the batch is not stored: send it again) or
 * those plus the whole batch (it is stored: go on). Any other count, or none, means the server cannot say, and the
 * stream stops with {@link RowsInDoubtError} rather than guess: nothing is stored twice and nothing is dropped
 * without saying so.
 * @module
 */
import { debuglog } from 'node:util';
import type { RedivisClient } from '../../client/redivis-client.js';
import { attemptRequest } from '../../client/http.js';
import { AbortError, ApiError, NetworkError, ProtocolError, RedivisUploadError, RowsInDoubtError, TimeoutError } from '../../errors.js';
import type { Recovery } from '../../upload/recovery.js';
import { parseUpload, type TabularUpload } from '../poll-upload.js';
import { readUpload } from './stream-upload.js';

const debug = debuglog('redivis-upload');

/** Longest wait for the one count query made after giving up on a batch, ms. */
const LAST_COUNT_TIMEOUT_MS = 10_000;

/** Rows sent in one request. */
export interface RowBatch {
  /** The rows as JSON texts, in order. */
  rows: string[];
  /** Bytes of the rows' JSON, without separators. */
  rowBytes: number;
}

/** What the request body of a batch is. */
function batchBody(batch: RowBatch): string {
  return `{"rows":[${batch.rows.join(',')}]}`;
}

/**
 * Whether a request that failed with `error` may have stored its batch. Only an answer that refuses the request
 * (a 4xx other than 408 and 429) or a failure before anything was sent proves that nothing was stored.
 */
export function mayHaveStored(error: unknown): boolean {
  if (error instanceof ApiError) return error.status >= 500 || error.status === 408 || error.status === 429;
  if (error instanceof NetworkError || error instanceof TimeoutError || error instanceof AbortError || error instanceof ProtocolError) return true;
  return !(error instanceof RedivisUploadError);
}

/** What the count says: the batch is stored, it is not, or nothing can be told (and why). */
type CountReading = 'stored' | 'absent' | { serverRows: number | undefined; reason: string };

export class RowInserter {
  /** Rows this inserter has confirmed. */
  rowsConfirmed = 0;
  /** JSON bytes of those rows. */
  bytesConfirmed = 0;
  /** Requests that stored a batch. */
  batches = 0;
  /** Rows of the batch whose storage is unknown right now; 0 when none is. */
  rowsInDoubt = 0;
  /** The upload as last described by the server. */
  upload: TabularUpload;
  /** Why the count cannot be trusted, once an answer has shown it to disagree with confirmed batches. */
  private distrust: string | undefined;
  private readonly rowsPath: string;

  constructor(
    private readonly client: RedivisClient,
    upload: TabularUpload,
    private readonly uploadPath: string,
    /** Rows the upload held before; undefined when it did not say. */
    private readonly baseRows: number | undefined,
    private readonly recovery: Recovery,
  ) {
    this.upload = upload;
    this.rowsPath = `${uploadPath}/rows`;
  }

  /** Stores `batch` exactly once, or throws leaving {@link rowsConfirmed} exact (else a {@link RowsInDoubtError}). */
  async insert(batch: RowBatch): Promise<void> {
    const body = batchBody(batch);
    for (;;) {
      let failure: unknown;
      try {
        const answer = await this.recovery.timed((signal) => this.post(body, signal));
        this.confirm(batch, answer);
        return;
      } catch (error) {
        failure = error;
      }
      if (!mayHaveStored(failure)) throw failure;
      this.rowsInDoubt = batch.rows.length;
      try {
        await this.recovery.backOff(failure);
      } catch (final) {
        throw await this.giveUp(batch, final);
      }
      let reading: CountReading;
      try {
        reading = await this.recovery.retrying((signal) => this.readCount(signal));
      } catch (error) {
        // Retries of the count exhausted, the deadline, an abort: the same last look as after the last retry.
        throw await this.giveUp(batch, error);
      }
      if (typeof reading === 'object') throw this.doubt(batch, reading);
      if (reading === 'stored') {
        debug('rows: the batch of %d rows after %d was stored although its answer was lost', batch.rows.length, this.rowsConfirmed);
        this.confirm(batch, undefined);
        return;
      }
      this.rowsInDoubt = 0;
    }
  }

  private async post(body: string, signal: AbortSignal): Promise<TabularUpload | undefined> {
    const { client, rowsPath } = this;
    const url = client.apiEndpoint + rowsPath;
    const outcome = await attemptRequest({
      method: 'POST',
      url,
      details: { method: 'POST', path: rowsPath },
      // The rows URL is on the API's own host: uploadHeaders carries the token there, and only there.
      headers: { ...client.uploadHeaders(url), accept: 'application/json', 'content-type': 'application/json' },
      body,
      signal,
      dispatcher: client.dispatcher,
      timeoutMs: client.requestTimeoutMs,
    });
    if (!outcome.ok) throw outcome.error;
    debug('POST %s -> %d', rowsPath, outcome.status);
    try {
      return parseUpload(outcome.body, { method: 'POST', path: rowsPath }, outcome.status, this.upload.uri);
    } catch {
      // A 2xx stored the batch whatever its body says; an answer that is no upload only tells nothing more.
      return undefined;
    }
  }

  private confirm(batch: RowBatch, answer: TabularUpload | undefined): void {
    this.rowsConfirmed += batch.rows.length;
    this.bytesConfirmed += batch.rowBytes;
    this.batches += 1;
    this.rowsInDoubt = 0;
    this.recovery.progressed();
    if (answer === undefined) return;
    this.upload = answer;
    const expected = this.baseRows === undefined ? undefined : this.baseRows + this.rowsConfirmed;
    if (answer.numRows !== undefined && expected !== undefined && answer.numRows !== expected && this.distrust === undefined) {
      this.distrust = `after ${this.rowsConfirmed} rows were confirmed the upload counted ${answer.numRows}, not ${expected}, so its count does not tell which batches it holds`;
      debug('rows: %s', this.distrust);
    }
  }

  /** Reads the upload's count and tells what it says of the batch after the confirmed rows. */
  private async readCount(signal: AbortSignal): Promise<CountReading> {
    const upload = await readUpload(this.client, this.uploadPath, signal);
    if (upload === undefined) return { serverRows: undefined, reason: 'the upload is gone (404)' };
    this.upload = upload;
    const serverRows = upload.numRows;
    if (serverRows === undefined) return { serverRows, reason: 'the upload does not report numRows' };
    if (this.distrust !== undefined) return { serverRows, reason: this.distrust };
    if (this.baseRows === undefined) return { serverRows, reason: 'the upload did not report how many rows it held before this stream' };
    const before = this.baseRows + this.rowsConfirmed;
    if (serverRows === before) return 'absent';
    if (serverRows === before + this.rowsInDoubt) return 'stored';
    return {
      serverRows,
      reason:
        `the upload holds ${serverRows} rows, neither the ${before} confirmed nor those and the whole batch (${before + this.rowsInDoubt}): ` +
        'part of a batch stored, or rows from another writer',
    };
  }

  /**
   * After the last retry: one more count query, outside the stall deadline and the caller's abort but bounded,
   * so that the failure reports exactly what is stored. Returns the error to throw.
   */
  private async giveUp(batch: RowBatch, final: unknown): Promise<unknown> {
    const signal = AbortSignal.timeout(Math.min(LAST_COUNT_TIMEOUT_MS, this.client.requestTimeoutMs));
    let reading: CountReading;
    try {
      reading = await this.readCount(signal);
    } catch {
      reading = { serverRows: undefined, reason: 'its row count could not be read' };
    }
    if (reading === 'stored') {
      this.confirm(batch, undefined);
      return final;
    }
    if (reading === 'absent') {
      this.rowsInDoubt = 0;
      return final;
    }
    // The caller asked to stop: that stays the error, and rowsInDoubt tells what is not known.
    if (final instanceof AbortError) return final;
    return this.doubt(batch, reading, final);
  }

  private doubt(batch: RowBatch, reading: { serverRows: number | undefined; reason: string }, cause?: unknown): RowsInDoubtError {
    return new RowsInDoubtError(
      { rowsConfirmed: this.rowsConfirmed, rowsInDoubt: batch.rows.length, serverRows: reading.serverRows, reason: reading.reason },
      cause === undefined ? undefined : { cause },
    );
  }
}
