/**
 * Server-side transfers: uploads whose data Redivis pulls itself from a bucket, a URL or another table, so nothing
 * passes through the client. Validation of the `transferSpecification` field of `POST /tables/:ref/uploads`, and
 * a helper that reads one from a `gs://`, `s3://` or `https://` address.
 * @module
 */
import { parseTableReference } from '../client/table-reference.js';
import { InvalidArgumentError, TableReferenceError } from '../errors.js';
import { redactUrl } from '../util/redact.js';

/** Where Redivis pulls the data of a transfer from. */
export type TransferSourceType = 'gcs' | 's3' | 'url' | 'redivis';

/** A transfer: Redivis reads the data from the source itself. */
export interface TransferSpecification {
  /** The kind of source: a Google Cloud Storage object, an Amazon S3 object, a URL, or a Redivis table. */
  sourceType: TransferSourceType;
  /**
   * The source: `bucket/path/to/object` for `gcs` and `s3` (without `gs://` or `s3://`), an http(s) URL for `url`,
   * a table reference (`owner.dataset.table`) for `redivis`.
   */
  sourcePath: string;
  /**
   * The identity Redivis reads the source as (the email of a Google or AWS identity linked to your Redivis
   * account), for `gcs` and `s3` sources that are not public.
   * @default none (not sent)
   */
  identity?: string;
}

const SOURCE_TYPES: ReadonlySet<string> = new Set<TransferSourceType>(['gcs', 's3', 'url', 'redivis']);

function isHttpUrl(value: string): boolean {
  try {
    const { protocol, hostname } = new URL(value);
    return (protocol === 'https:' || protocol === 'http:') && hostname !== '';
  } catch {
    return false;
  }
}

/** Checks `sourcePath` for its `sourceType`; the message shows a URL without its query string, which may be a credential. */
function checkSourcePath(sourceType: TransferSourceType, sourcePath: unknown): string {
  const at = 'transferSpecification.sourcePath';
  if (typeof sourcePath !== 'string' || sourcePath.trim() === '') throw new InvalidArgumentError(at, 'a non-empty string', sourcePath);
  if (sourceType === 'url') {
    if (!isHttpUrl(sourcePath)) throw new InvalidArgumentError(at, 'an http or https URL', /^[a-z][a-z0-9+.-]*:\/\//i.test(sourcePath) ? redactUrl(sourcePath) : sourcePath);
    return sourcePath;
  }
  if (sourceType === 'redivis') {
    try {
      parseTableReference(sourcePath);
    } catch (cause) {
      if (!(cause instanceof TableReferenceError)) throw cause;
      throw new InvalidArgumentError(at, 'a table reference such as owner.dataset.table', sourcePath, { cause });
    }
    return sourcePath;
  }
  const scheme = sourceType === 'gcs' ? 'gs://' : 's3://';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(sourcePath)) {
    throw new InvalidArgumentError(at, `bucket/path without a scheme (transferSpecificationFromUrl reads ${scheme} addresses)`, redactUrl(sourcePath));
  }
  const slash = sourcePath.indexOf('/');
  if (slash <= 0 || slash === sourcePath.length - 1) throw new InvalidArgumentError(at, 'bucket/path/to/object', sourcePath);
  return sourcePath;
}

/** Validates a transfer specification and returns a copy with only its known fields. */
export function validateTransferSpecification(value: unknown): TransferSpecification {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidArgumentError('transferSpecification', 'an object { sourceType, sourcePath, identity? }', value);
  }
  const { sourceType, sourcePath, identity } = value as Record<string, unknown>;
  if (typeof sourceType !== 'string' || !SOURCE_TYPES.has(sourceType)) {
    throw new InvalidArgumentError('transferSpecification.sourceType', "'gcs', 's3', 'url' or 'redivis'", sourceType);
  }
  const type = sourceType as TransferSourceType;
  const path = checkSourcePath(type, sourcePath);
  if (identity !== undefined && (typeof identity !== 'string' || identity.trim() === '')) {
    throw new InvalidArgumentError('transferSpecification.identity', 'a non-empty string', identity);
  }
  return { sourceType: type, sourcePath: path, ...(identity === undefined ? {} : { identity }) };
}

/**
 * A transfer specification from an address: `gs://bucket/path` (gcs), `s3://bucket/path` (s3) or an `http(s)://`
 * URL (url). Throws `InvalidArgumentError` for anything else; a Redivis table is given as
 * `{ sourceType: 'redivis', sourcePath: 'owner.dataset.table' }`.
 */
export function transferSpecificationFromUrl(address: string, identity?: string): TransferSpecification {
  if (typeof address !== 'string') throw new InvalidArgumentError('address', 'a gs://, s3:// or http(s):// address', address);
  const match = /^(gs|s3):\/\/(.*)$/i.exec(address);
  const spec: Record<string, unknown> = match
    ? { sourceType: match[1]!.toLowerCase() === 'gs' ? 'gcs' : 's3', sourcePath: match[2] }
    : { sourceType: 'url', sourcePath: address };
  if (!match && !isHttpUrl(address)) {
    throw new InvalidArgumentError('address', 'a gs://, s3:// or http(s):// address', /^[a-z][a-z0-9+.-]*:\/\//i.test(address) ? redactUrl(address) : address);
  }
  if (identity !== undefined) spec.identity = identity;
  return validateTransferSpecification(spec);
}

/** The name an upload of this transfer gets when none is given: the source's last path segment, if it has one. */
export function transferDefaultName(spec: TransferSpecification): string | undefined {
  if (spec.sourceType === 'redivis') return undefined;
  let path = spec.sourcePath;
  if (spec.sourceType === 'url') {
    try {
      path = decodeURIComponent(new URL(path).pathname);
    } catch {
      return undefined;
    }
  }
  const last = path.split('/').pop();
  return last === undefined || last === '' ? undefined : last;
}
