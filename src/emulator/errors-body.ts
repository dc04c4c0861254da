/**
 * Response shapes: Redivis JSON errors for the API, plain text for upload URLs (as the GCS XML API answers).
 * @module
 */

/** A response to send, or to drop when a fault resets the connection. */
export interface Reply {
  /** HTTP status code. */
  status: number;
  /**
   * Response headers, by name.
   * @default none
   */
  headers?: Record<string, string>;
  /**
   * Response body; a string is sent as UTF-8.
   * @default empty
   */
  body?: string | Buffer;
  /**
   * Reason phrase of the status line.
   * @default Node's standard phrase for {@link status}
   */
  statusMessage?: string;
}

/** Redivis error codes the emulator uses. */
export type ApiErrorCode =
  | 'invalid_request'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'not_found'
  | 'method_not_allowed'
  | 'request_timeout'
  | 'too_many_requests'
  | 'internal_error'
  | 'bad_gateway'
  | 'service_unavailable'
  | 'gateway_timeout';

const CODE_BY_STATUS: Record<number, ApiErrorCode> = {
  400: 'invalid_request',
  401: 'invalid_token',
  403: 'insufficient_scope',
  404: 'not_found',
  405: 'method_not_allowed',
  408: 'request_timeout',
  429: 'too_many_requests',
  500: 'internal_error',
  502: 'bad_gateway',
  503: 'service_unavailable',
  504: 'gateway_timeout',
};

/** The usual code for an HTTP status. */
export function apiErrorCodeFor(status: number): ApiErrorCode {
  return CODE_BY_STATUS[status] ?? 'internal_error';
}

/** An API error reply in the configured body shape. */
export function apiErrorReply(
  shape: 'flat' | 'nested',
  status: number,
  code: ApiErrorCode,
  description: string,
  extra?: { scope?: string; headers?: Record<string, string> },
): Reply {
  const body =
    shape === 'flat'
      ? { error: code, error_description: description, status, ...(extra?.scope ? { scope: extra.scope } : {}) }
      : { error: { message: description, status } };
  return jsonReply(status, body, extra?.headers);
}

/** A JSON reply; `headers` are added to the JSON content type. */
export function jsonReply(status: number, body: unknown, headers?: Record<string, string>): Reply {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(body) };
}

/** A plain-text reply, as upload URLs answer errors. */
export function textReply(status: number, message: string, headers?: Record<string, string>): Reply {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8', ...headers }, body: message };
}

/** GCS' wording for the protocol errors clients may look for. */
export const UPLOAD_MESSAGES = {
  shortChunk: (received: number) =>
    'Invalid request. The number of bytes uploaded is required to be equal or greater than 262144, except for the ' +
    "final request (it's recommended to be the exact multiple of 262144). The received request contained " +
    `${received} bytes, which does not meet this requirement.`,
  offsetBeyond: (offset: number, persisted: number) =>
    `Invalid request. According to the Content-Range header, the upload offset is ${offset} byte(s), which exceeds ` +
    `already uploaded size of ${persisted} byte(s).`,
  noSession: 'No such upload session: it is unknown, expired or was replaced by a newer one.',
  terminated: 'The upload session was terminated by the server; start a new upload.',
  cancelled: 'The upload session was cancelled.',
} as const;
