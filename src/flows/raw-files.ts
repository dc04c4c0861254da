/**
 * `POST /tables/:ref/rawFiles`: registering uploaded temp uploads as the files of a file index table.
 * @module
 */
import type { RedivisClient } from '../client/redivis-client.js';
import { parseCount } from '../client/int64.js';
import { ProtocolError, type RequestDetails } from '../errors.js';

/** A file registered in a file index table. */
export interface RawFile {
  /** The file's id, as Redivis assigns it. */
  id: string;
  /** The file's path relative to the API endpoint. */
  uri: string;
  /** The file's URL. */
  url: string;
  /** The file's name (its path relative to the uploaded directory). */
  name: string;
  /** MD5 of the content, as Redivis reports it. */
  md5Hash: string;
  /** Size in bytes. */
  size: number;
}

/** Checks a `rawFileList` answer: one `rawFile` per registered file, in request order. */
export function parseRawFileList(body: unknown, expected: number, request: RequestDetails, status: number): RawFile[] {
  const fail = (problem: string): never => {
    throw new ProtocolError(`rawFiles response ${problem}`, request, status);
  };
  if (body === null || typeof body !== 'object' || Array.isArray(body)) fail('is not a JSON object');
  const results = (body as { results?: unknown }).results;
  if (!Array.isArray(results)) return fail('has no results array');
  if (results.length !== expected) fail(`has ${results.length} results for ${expected} files`);
  return results.map((result: unknown, index) => {
    const at = `results[${index}]`;
    if (result === null || typeof result !== 'object' || Array.isArray(result)) return fail(`${at} is not an object`);
    const { id, uri, url, name, md5Hash, size } = result as Record<string, unknown>;
    for (const [field, value] of Object.entries({ id, uri, url, name, md5Hash })) {
      if (typeof value !== 'string') fail(`${at}.${field} is not a string`);
    }
    const bytes = parseCount(size);
    if (bytes === undefined) return fail(`${at}.size is not a non-negative integer`);
    return { id, uri, url, name, md5Hash, size: bytes } as RawFile;
  });
}

/** Registers `files` (each a name and the id of its completed temp upload) in the table at `segment`. */
export async function registerRawFiles(
  client: RedivisClient,
  segment: string,
  files: Array<{ name: string; tempUploadId: string }>,
  signal: AbortSignal | undefined,
): Promise<RawFile[]> {
  const path = `/tables/${segment}/rawFiles`;
  const response = await client.request('POST', path, { body: { files }, signal });
  return parseRawFileList(response.body, files.length, { method: 'POST', path }, response.status);
}
