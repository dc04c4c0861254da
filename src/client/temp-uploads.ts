/**
 * `POST /tables/:tableReference/tempUploads`: validating what is asked for, splitting it into batches and checking
 * what comes back.
 * @module
 */
import { InvalidArgumentError, ProtocolError, type RequestDetails } from '../errors.js';
import { parseCount } from './int64.js';

/** One temp upload to create. */
export interface TempUploadRequest {
  /** Name of the upload, unique within the table (and within one call). */
  name: string;
  /** Size of the content, in bytes. */
  size: number;
  /**
   * Whether the upload uses the resumable protocol. Redivis suggests it for content over 100 MB.
   * @default not sent, so the server's default applies (`false`)
   */
  resumable?: boolean;
}

/** A created temp upload. */
export interface TempUpload {
  /** Identifier, later passed as `tempUploadId`. */
  id: string;
  /** Where the content is sent (a signed URL: show it only through `redactUrl`). */
  url: string;
  /** Name of the upload, as the API returned it. */
  name: string;
  /** Size in bytes (the API sends it as a string). */
  size: number;
  /** Whether the server made it resumable; uploads branch on this value, not on the request. */
  resumable: boolean;
}

/** Items per request unless `batchSize` says otherwise (the limit the official clients use). */
export const DEFAULT_TEMP_UPLOAD_BATCH_SIZE = 1000;

/** Checks every item, naming the first fault as e.g. `tempUploads[3].size`. */
export function validateTempUploadRequests(items: unknown): asserts items is TempUploadRequest[] {
  if (!Array.isArray(items)) throw new InvalidArgumentError('tempUploads', 'a non-empty array', items);
  if (items.length === 0) throw new InvalidArgumentError('tempUploads', 'a non-empty array', items);
  const firstIndexByName = new Map<string, number>();
  items.forEach((item: unknown, index) => {
    const at = `tempUploads[${index}]`;
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      throw new InvalidArgumentError(at, 'an object { name, size, resumable? }', item);
    }
    const { name, size, resumable } = item as Record<string, unknown>;
    if (typeof name !== 'string' || name === '') {
      throw new InvalidArgumentError(`${at}.name`, 'a non-empty string', name);
    }
    const earlier = firstIndexByName.get(name);
    if (earlier !== undefined) {
      throw new InvalidArgumentError(`${at}.name`, `a name not already used by tempUploads[${earlier}]`, name);
    }
    firstIndexByName.set(name, index);
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw new InvalidArgumentError(`${at}.size`, 'a non-negative safe integer number of bytes', size);
    }
    if (resumable !== undefined && typeof resumable !== 'boolean') {
      throw new InvalidArgumentError(`${at}.resumable`, 'a boolean or undefined', resumable);
    }
  });
}

/** Validates `batchSize`, defaulting to {@link DEFAULT_TEMP_UPLOAD_BATCH_SIZE}. */
export function resolveBatchSize(batchSize: unknown): number {
  if (batchSize === undefined) return DEFAULT_TEMP_UPLOAD_BATCH_SIZE;
  if (typeof batchSize !== 'number' || !Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new InvalidArgumentError('batchSize', 'a positive integer', batchSize);
  }
  return batchSize;
}

/** Splits `items` into consecutive slices of at most `size`. */
export function toBatches<T>(items: readonly T[], size: number): T[][] {
  const batches: T[][] = [];
  for (let start = 0; start < items.length; start += size) batches.push(items.slice(start, start + size));
  return batches;
}

/** The request body for one batch. `resumable` is sent only when the caller set it. */
export function tempUploadsBody(batch: readonly TempUploadRequest[]): { tempUploads: TempUploadRequest[] } {
  return {
    tempUploads: batch.map(({ name, size, resumable }) =>
      resumable === undefined ? { name, size } : { name, size, resumable },
    ),
  };
}

/**
 * Checks a `tempUploadList` response against the batch it answers: one result per item, in order, each with the
 * requested size. Throws {@link ProtocolError} otherwise.
 */
export function parseTempUploadList(
  body: unknown,
  batch: readonly TempUploadRequest[],
  request: RequestDetails,
  status: number,
): TempUpload[] {
  const fail = (problem: string): never => {
    throw new ProtocolError(`tempUploads response ${problem}`, request, status);
  };
  if (body === null || typeof body !== 'object' || Array.isArray(body)) fail('is not a JSON object');
  const results = (body as { results?: unknown }).results;
  if (!Array.isArray(results)) return fail('has no results array');
  if (results.length !== batch.length) {
    fail(`has ${results.length} results for ${batch.length} requested temp uploads`);
  }
  return results.map((result: unknown, index) => {
    const at = `results[${index}]`;
    if (result === null || typeof result !== 'object' || Array.isArray(result)) return fail(`${at} is not an object`);
    const { id, url, name, size, resumable } = result as Record<string, unknown>;
    if (typeof id !== 'string' || id === '') fail(`${at}.id is not a non-empty string`);
    if (typeof url !== 'string' || !isHttpUrl(url)) fail(`${at}.url is not an http(s) URL`);
    if (typeof name !== 'string') fail(`${at}.name is not a string`);
    if (typeof resumable !== 'boolean') fail(`${at}.resumable is not a boolean`);
    const bytes = parseCount(size);
    if (bytes === undefined) return fail(`${at}.size is not a non-negative integer`);
    const requested = batch[index]!;
    if (bytes !== requested.size) fail(`${at}.size is ${bytes} but ${requested.size} bytes were requested`);
    return { id: id as string, url: url as string, name: name as string, size: bytes, resumable: resumable as boolean };
  });
}

function isHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value);
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
}
