/**
 * Reading Redivis error details out of a response. The API has used two body shapes: the current flat one
 * (`{"error":"insufficient_scope","error_description":"…","status":403}`) and an older nested one
 * (`{"error":{"message":"…","status":403}}`). HEAD responses have no body; their error JSON arrives URL-encoded in
 * the `X-REDIVIS-ERROR-PAYLOAD` header.
 * @module
 */

/** Error details found in a response; both fields are absent when the response carried none. */
export interface ApiErrorDetails {
  /** Machine-readable code, e.g. `insufficient_scope`. */
  errorCode: string | undefined;
  /** Human-readable description. */
  errorDescription: string | undefined;
}

/** Longest description taken from a body that is not JSON, in characters. */
export const MAX_TEXT_DESCRIPTION = 200;

/** Header that carries the error payload of a HEAD response. */
export const ERROR_PAYLOAD_HEADER = 'x-redivis-error-payload';

/** Header that carries free-text warnings. */
export const WARNING_HEADER = 'x-redivis-warning';

/** Extracts error details from a response body in either shape; text that is not JSON becomes the description. */
export function parseErrorBody(text: string): ApiErrorDetails {
  const trimmed = text.trim();
  if (trimmed === '') return { errorCode: undefined, errorDescription: undefined };
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return { errorCode: undefined, errorDescription: textSnippet(trimmed) };
  }
  return detailsFromJson(parsed) ?? { errorCode: undefined, errorDescription: textSnippet(trimmed) };
}

/** Extracts error details from the URL-encoded `X-REDIVIS-ERROR-PAYLOAD` header of a HEAD response. */
export function parseErrorPayloadHeader(header: string | string[] | undefined): ApiErrorDetails {
  const value = firstHeader(header);
  if (value === undefined || value.trim() === '') return { errorCode: undefined, errorDescription: undefined };
  let decoded = value;
  try {
    // Form-style encoding (`+` for space) is accepted as well as percent-encoding.
    decoded = decodeURIComponent(value.replace(/\+/g, '%20'));
  } catch {
    // Malformed percent-encoding: fall back to the raw text rather than failing the whole call.
  }
  return parseErrorBody(decoded);
}

/** Every non-empty warning text in an `X-REDIVIS-WARNING` header value. */
export function warningsFromHeader(header: string | string[] | undefined): string[] {
  if (header === undefined) return [];
  const values = Array.isArray(header) ? header : [header];
  return values.map((value) => value.trim()).filter((value) => value !== '');
}

/** The first value of a header that may repeat. */
export function firstHeader(header: string | string[] | undefined): string | undefined {
  return Array.isArray(header) ? header[0] : header;
}

function detailsFromJson(parsed: unknown): ApiErrorDetails | undefined {
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return typeof parsed === 'string' && parsed.trim() !== ''
      ? { errorCode: undefined, errorDescription: textSnippet(parsed.trim()) }
      : undefined;
  }
  const body = parsed as Record<string, unknown>;
  const error = body.error;
  if (typeof error === 'string') {
    return {
      errorCode: nonEmpty(error),
      errorDescription: nonEmpty(body.error_description) ?? nonEmpty(body.message),
    };
  }
  if (error !== null && typeof error === 'object' && !Array.isArray(error)) {
    const nested = error as Record<string, unknown>;
    return {
      errorCode: nonEmpty(nested.code) ?? nonEmpty(nested.error),
      errorDescription: nonEmpty(nested.message) ?? nonEmpty(nested.error_description),
    };
  }
  const description = nonEmpty(body.error_description) ?? nonEmpty(body.message);
  return description === undefined ? undefined : { errorCode: undefined, errorDescription: description };
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

function textSnippet(text: string): string {
  return text.length > MAX_TEXT_DESCRIPTION ? `${text.slice(0, MAX_TEXT_DESCRIPTION)}…` : text;
}
