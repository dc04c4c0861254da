/**
 * Every error this library throws is a {@link RedivisUploadError} with a stable `code`, so callers can branch on
 * `err.code` without matching message text. Messages never contain the API token or an upload URL's query string.
 * @module
 */

/** The stable codes carried by {@link RedivisUploadError.code}. */
export type RedivisUploadErrorCode =
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_TABLE_REFERENCE'
  | 'ERR_MISSING_TOKEN'
  | 'ERR_API'
  | 'ERR_NETWORK'
  | 'ERR_ABORTED'
  | 'ERR_TIMEOUT'
  | 'ERR_PROTOCOL'
  | 'ERR_UPLOAD_HTTP'
  | 'ERR_SESSION_EXPIRED'
  | 'ERR_SESSION_CANCELLED'
  | 'ERR_DATA_LOSS'
  | 'ERR_SIZE_MISMATCH'
  | 'ERR_INTEGRITY'
  | 'ERR_RETRIES_EXHAUSTED'
  | 'ERR_UPLOAD_FAILED'
  | 'ERR_NAME_CONFLICT'
  | 'ERR_UNSAFE_URL'
  | 'ERR_SPILL'
  | 'ERR_INVALID_ROW'
  | 'ERR_ROWS_IN_DOUBT';

/** Base class of every error thrown by redivis-upload. */
export class RedivisUploadError extends Error {
  /** A stable, machine-readable identifier of the kind of failure. */
  readonly code: RedivisUploadErrorCode;

  constructor(code: RedivisUploadErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }
}

/** An argument or option was not what the function accepts. Nothing was sent. */
export class InvalidArgumentError extends RedivisUploadError {
  /** The argument or option at fault, e.g. `chunkSize` or `tempUploads[3].name`. */
  readonly argument: string;
  /** What was expected, in words. */
  readonly expected: string;
  /** A short description of what was received. */
  readonly received: string;

  constructor(argument: string, expected: string, received: unknown, options?: { cause?: unknown }) {
    const shown = describeValue(received);
    super('ERR_INVALID_ARGUMENT', `Invalid ${argument}: expected ${expected}, received ${shown}`, options);
    this.argument = argument;
    this.expected = expected;
    this.received = shown;
  }
}

/** A table reference could not be parsed or formatted. `part` names the piece that is wrong. */
export class TableReferenceError extends RedivisUploadError {
  /** The reference as given (a string, or a JSON rendering of an object). */
  readonly reference: string;
  /** The part of the reference at fault: `owner`, `dataset`, `workflow`, `version`, `table`, ... */
  readonly part: string;

  constructor(reference: string, part: string, problem: string) {
    super('ERR_TABLE_REFERENCE', `Invalid table reference ${JSON.stringify(reference)}: ${part} ${problem}`);
    this.reference = reference;
    this.part = part;
  }
}

/** A call needed an API token and none was configured. */
export class MissingTokenError extends RedivisUploadError {
  constructor() {
    super(
      'ERR_MISSING_TOKEN',
      'No Redivis API token: pass `apiToken` to RedivisClient or set the REDIVIS_API_TOKEN environment variable',
    );
  }
}

/** Details of an HTTP exchange carried by errors. URLs are redacted (no query string, no credentials). */
export interface RequestDetails {
  /** HTTP method. */
  method: string;
  /** The request's path (API calls) or redacted URL (upload calls). Never contains a query string. */
  path: string;
}

/** The Redivis API answered with an error status. */
export class ApiError extends RedivisUploadError {
  /** HTTP status code. */
  readonly status: number;
  /** Redivis' error code (e.g. `insufficient_scope`) when the body carried one. */
  readonly errorCode: string | undefined;
  /** Redivis' human-readable description of the error, when present. */
  readonly errorDescription: string | undefined;
  /** HTTP method of the failed call, e.g. `POST`. */
  readonly method: string;
  /** API path of the failed call, relative to the endpoint and without its query string. */
  readonly path: string;
  /** `Retry-After` in milliseconds, when the server sent one that could be parsed. */
  readonly retryAfterMs: number | undefined;

  constructor(
    request: RequestDetails,
    status: number,
    errorCode: string | undefined,
    errorDescription: string | undefined,
    options?: { cause?: unknown; retryAfterMs?: number | undefined },
  ) {
    const detail = [errorCode, errorDescription].filter(Boolean).join(': ');
    super('ERR_API', `${request.method} ${request.path} failed with HTTP ${status}${detail ? ` (${detail})` : ''}`, options);
    this.status = status;
    this.errorCode = errorCode;
    this.errorDescription = errorDescription;
    this.method = request.method;
    this.path = request.path;
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** The connection failed, timed out or was reset before a complete response arrived. */
export class NetworkError extends RedivisUploadError {
  /** HTTP method of the failed request. */
  readonly method: string;
  /** API path (without query string) or redacted upload URL of the failed request. */
  readonly path: string;

  constructor(request: RequestDetails, cause: unknown) {
    const reason = cause instanceof Error ? `${(cause as NodeJS.ErrnoException).code ?? cause.name}: ${cause.message}` : String(cause);
    super('ERR_NETWORK', `${request.method} ${request.path} failed: ${reason}`, { cause });
    this.method = request.method;
    this.path = request.path;
  }
}

/** The operation was aborted through its `AbortSignal` or by destroying the stream. */
export class AbortError extends RedivisUploadError {
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super('ERR_ABORTED', message, options);
  }
}

/** An overall deadline passed before the operation could finish. */
export class TimeoutError extends RedivisUploadError {
  /** The deadline that passed, in milliseconds. */
  readonly timeoutMs: number;

  constructor(what: string, timeoutMs: number, options?: { cause?: unknown }) {
    super('ERR_TIMEOUT', `${what} did not finish within ${timeoutMs} ms`, options);
    this.timeoutMs = timeoutMs;
  }
}

/** The upload server answered something the resumable protocol does not allow (a malformed header, say). */
export class ProtocolError extends RedivisUploadError {
  /** HTTP method of the request whose answer was at fault; undefined when no single request is to blame. */
  readonly method: string | undefined;
  /** API path or redacted upload URL of that request; undefined when no single request is to blame. */
  readonly path: string | undefined;
  /** HTTP status of the response at fault, when there was one. */
  readonly status: number | undefined;

  constructor(message: string, request?: RequestDetails, status?: number, options?: { cause?: unknown }) {
    super('ERR_PROTOCOL', request ? `${request.method} ${request.path}: ${message}` : message, options);
    this.method = request?.method;
    this.path = request?.path;
    this.status = status;
  }
}

/** An upload URL answered an HTTP status that is neither success nor part of the protocol. */
export class UploadHttpError extends RedivisUploadError {
  /** HTTP status code of the answer. */
  readonly status: number;
  /** HTTP method of the request, e.g. `PUT`. */
  readonly method: string;
  /** The upload URL, redacted (no query string). */
  readonly path: string;
  /** `Retry-After` in milliseconds, when the server sent one that could be parsed. */
  readonly retryAfterMs: number | undefined;
  /** The start of the response body (at most 512 characters), for diagnosis. */
  readonly responseBody: string;

  constructor(request: RequestDetails, status: number, responseBody: string, retryAfterMs?: number) {
    const snippet = responseBody.trim().slice(0, 200);
    super('ERR_UPLOAD_HTTP', `${request.method} ${request.path} answered HTTP ${status}${snippet ? `: ${snippet}` : ''}`);
    this.status = status;
    this.method = request.method;
    this.path = request.path;
    this.retryAfterMs = retryAfterMs;
    this.responseBody = responseBody.slice(0, 512);
  }
}

/** The resumable session no longer exists (404: expired or unknown; 410: terminated by the server). */
export class SessionExpiredError extends RedivisUploadError {
  /** HTTP status code of the answer: 404 (expired or unknown) or 410 (terminated by the server). */
  readonly status: number;
  /** The session URL, redacted (no query string). */
  readonly path: string;

  constructor(path: string, status: number) {
    super(
      'ERR_SESSION_EXPIRED',
      `The upload session ${path} is gone (HTTP ${status}${status === 410 ? ', terminated by the server' : ', expired or unknown'}); start a new temp upload`,
    );
    this.status = status;
    this.path = path;
  }
}

/** The resumable session was cancelled (HTTP 499) by an earlier `DELETE`. */
export class SessionCancelledError extends RedivisUploadError {
  /** The session URL, redacted (no query string). */
  readonly path: string;

  constructor(path: string) {
    super('ERR_SESSION_CANCELLED', `The upload session ${path} was cancelled`);
    this.path = path;
  }
}

/**
 * The server reports a persisted offset that the client cannot continue from without skipping or duplicating
 * bytes: beyond what was sent, or before what the replay buffer still holds. Nothing is finalized.
 */
export class DataLossError extends RedivisUploadError {
  /** Bytes the server says it has persisted. */
  readonly serverOffset: number;
  /** First byte the client can still resend. */
  readonly retainedFrom: number;
  /** Bytes the client has sent so far (one past the last byte sent). */
  readonly sentUpTo: number;

  constructor(serverOffset: number, retainedFrom: number, sentUpTo: number) {
    const why =
      serverOffset > sentUpTo
        ? `beyond the ${sentUpTo} bytes sent`
        : `before byte ${retainedFrom}, the oldest byte the replay buffer still holds`;
    super('ERR_DATA_LOSS', `The server reports ${serverOffset} bytes persisted, ${why}; refusing to continue`);
    this.serverOffset = serverOffset;
    this.retainedFrom = retainedFrom;
    this.sentUpTo = sentUpTo;
  }
}

/** The data's length disagrees with a declared size. Nothing was finalized. */
export class SizeMismatchError extends RedivisUploadError {
  /** The declared size, in bytes. */
  readonly expected: number;
  /**
   * The bytes actually seen, in bytes. For data that runs long this is where the excess was noticed, so the real
   * length may be larger still.
   */
  readonly actual: number;

  constructor(what: string, expected: number, actual: number) {
    super('ERR_SIZE_MISMATCH', `${what}: expected ${expected} bytes, got ${actual}${actual > expected ? ' or more' : ''}`);
    this.expected = expected;
    this.actual = actual;
  }
}

/** The server's final size or checksum differs from what the client computed over the bytes it sent. */
export class IntegrityError extends RedivisUploadError {
  /** Which property disagrees: `size`, `crc32c` or `md5`. */
  readonly field: 'size' | 'crc32c' | 'md5';
  /** The client's value: a decimal byte count for `size`, base64 for `crc32c` (big-endian) and `md5`. */
  readonly expected: string;
  /**
   * The server's value, in the same form as {@link expected}; for `size` it may instead say how many bytes were read
   * from a source that changed while it was read.
   */
  readonly actual: string;

  constructor(field: 'size' | 'crc32c' | 'md5', expected: string, actual: string) {
    super('ERR_INTEGRITY', `The uploaded ${field} does not match: client computed ${expected}, server reports ${actual}`);
    this.field = field;
    this.expected = expected;
    this.actual = actual;
  }
}

/** Retryable failures continued past the retry budget. `cause` is the last failure. */
export class RetriesExhaustedError extends RedivisUploadError {
  /**
   * Attempts made, the first one included. For uploads the count starts again whenever the server's persisted
   * offset advances, so it covers only the attempts since the last progress.
   */
  readonly attempts: number;

  constructor(what: string, attempts: number, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super('ERR_RETRIES_EXHAUSTED', `${what} failed after ${attempts} attempts: ${reason}`, { cause });
    this.attempts = attempts;
  }
}

/** A tabular upload was processed by Redivis and failed; `errorMessage` is the server's explanation. */
export class UploadFailedError extends RedivisUploadError {
  /** The server's explanation of the failure, as Redivis reported it. */
  readonly errorMessage: string;
  /** The failed upload's `uri` as the API gave it; undefined when it is not known. */
  readonly uploadUri: string | undefined;

  constructor(errorMessage: string, uploadUri?: string) {
    super('ERR_UPLOAD_FAILED', `The upload failed on Redivis: ${errorMessage}`);
    this.errorMessage = errorMessage;
    this.uploadUri = uploadUri;
  }
}

/** An upload with the same name already exists and neither replacing nor renaming was asked for. */
export class NameConflictError extends RedivisUploadError {
  /** The upload name that is already taken in the table. */
  readonly uploadName: string;

  constructor(uploadName: string) {
    super(
      'ERR_NAME_CONFLICT',
      `An upload named ${JSON.stringify(uploadName)} already exists in this table; pass onConflict: 'replace' or 'rename'`,
    );
    this.uploadName = uploadName;
  }
}

/** A URL was refused because it would send data or credentials somewhere unsafe: plain http off loopback, credentials in it, or a certificate that fails verification. Never retried. */
export class UnsafeUrlError extends RedivisUploadError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_UNSAFE_URL', message, options);
  }
}

/**
 * The upload stream could not read back bytes it had spilled to its temp file (the file was removed, or the disk
 * failed). The session is kept: feed the source again to a stream on the same `sessionUrl` to resume.
 */
export class SpillError extends RedivisUploadError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_SPILL', `The replay buffer lost bytes it had spilled to disk: ${message}`, options);
  }
}

/**
 * A row written to a row stream does not fit its schema (or is no object, or cannot be sent as JSON). The rows
 * before it were sent and {@link rowsConfirmed} of them are stored; nothing from this row on was sent.
 */
export class InvalidRowError extends RedivisUploadError {
  /** Index of the row among the rows written to the stream, from 0. */
  readonly rowIndex: number;
  /** The variable at fault; undefined when the row as a whole is (not an object, too large, not serialisable). */
  readonly field: string | undefined;
  /** What was expected, in words. */
  readonly expected: string;
  /** A short description of what was received. */
  readonly received: string;
  /** Rows the server confirmed as stored before the stream stopped: every row before this one, unless sending them failed (then `cause` says why). */
  readonly rowsConfirmed: number;

  constructor(
    details: { rowIndex: number; field: string | undefined; expected: string; received: unknown; rowsConfirmed: number },
    options?: { cause?: unknown },
  ) {
    const shown = describeValue(details.received);
    const where = details.field === undefined ? `row ${details.rowIndex}` : `row ${details.rowIndex}, variable ${JSON.stringify(details.field)}`;
    const cause = options?.cause instanceof Error ? `; sending the rows before it failed: ${options.cause.message}` : '';
    super(
      'ERR_INVALID_ROW',
      `Invalid ${where}: expected ${details.expected}, received ${shown}; ${details.rowsConfirmed} rows are stored, nothing from this row on was sent${cause}`,
      options,
    );
    this.rowIndex = details.rowIndex;
    this.field = details.field;
    this.expected = details.expected;
    this.received = shown;
    this.rowsConfirmed = details.rowsConfirmed;
  }
}

/**
 * Whether some rows sent to a stream upload are stored cannot be known: a request failed in a way that may have
 * stored its batch, and the upload's row count could not be read, or is not consistent with whole batches (another
 * writer, a count that lags, or a server that stored part of a batch). Nothing was resent, so nothing is stored
 * twice; the rows in doubt are the ones to check.
 */
export class RowsInDoubtError extends RedivisUploadError {
  /** Rows the server has confirmed as stored (by this stream; rows the upload held before it are not counted). */
  readonly rowsConfirmed: number;
  /** Rows sent after those whose storage is unknown. */
  readonly rowsInDoubt: number;
  /** The upload's row count as last reported, all writers included; undefined when it could not be read. */
  readonly serverRows: number | undefined;

  constructor(details: { rowsConfirmed: number; rowsInDoubt: number; serverRows: number | undefined; reason: string }, options?: { cause?: unknown }) {
    super(
      'ERR_ROWS_IN_DOUBT',
      `${details.rowsConfirmed} rows are confirmed, but whether the next ${details.rowsInDoubt} are stored is unknown: ${details.reason}`,
      options,
    );
    this.rowsConfirmed = details.rowsConfirmed;
    this.rowsInDoubt = details.rowsInDoubt;
    this.serverRows = details.serverRows;
  }
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return value.length > 80 ? `string of length ${value.length}` : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `${typeof value} ${String(value)}`;
  if (Buffer.isBuffer(value)) return `Buffer of ${value.length} bytes`;
  if (Array.isArray(value)) return `array of length ${value.length}`;
  if (typeof value === 'function') return 'function';
  return typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value;
}
