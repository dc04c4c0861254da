/**
 * Sending a file, a Buffer or a Readable into a temp upload that already exists (created in a batch), with the
 * same protocol choice, retries and checksums as `uploadFile`.
 * @module
 */
import { open, type FileHandle } from 'node:fs/promises';
import { addAbortSignal, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { RedivisClient } from '../client/redivis-client.js';
import type { TempUpload } from '../client/temp-uploads.js';
import { AbortError, InvalidArgumentError, ProtocolError, SizeMismatchError } from '../errors.js';
import { BufferSource, FileSource } from '../upload/file-source.js';
import { DEFAULT_FILE_CHUNK_SIZE } from '../upload/file-upload.js';
import { abortError, uploadSized } from '../upload/sized-upload.js';
import { createTempUploadStream, type UploadRetry } from '../upload/temp-upload-stream.js';
import type { FileContent } from './file-inputs.js';

export interface PutContentOptions {
  client: RedivisClient;
  signal: AbortSignal | undefined;
  /** Names the file in errors. */
  label: string;
  /** Called with the bytes the server has confirmed so far. */
  onConfirmed: (bytes: number) => void;
  /** Called before each retry of an upload request. */
  onRetry?: ((retry: UploadRetry) => void) | undefined;
}

/** What the server stored, verified against the local checksums where the content was seen whole. */
export interface StoredSummary {
  size: number;
  md5: string | undefined;
  crc32c: string | undefined;
}

/**
 * Resolves once `stream` has closed. pipeline() rejects at the first error, while the upload stream may still be
 * cancelling its session; waiting lets the caller see a settled state.
 */
export function closed(stream: Writable): Promise<void> {
  return new Promise((resolve) => (stream.closed ? resolve() : stream.once('close', () => resolve())));
}

/** Reads a whole stream into memory; used only when the server refuses a resumable upload for a stream. */
async function collect(stream: Readable, signal: AbortSignal | undefined): Promise<Buffer> {
  if (signal) addAbortSignal(signal, stream);
  const pieces: Buffer[] = [];
  try {
    for await (const piece of stream) pieces.push(Buffer.isBuffer(piece) ? piece : Buffer.from(piece as Uint8Array));
  } catch (error) {
    throw abortError(signal, error);
  }
  return Buffer.concat(pieces);
}

/**
 * Uploads `content` into `tempUpload`, following the protocol the server chose (`tempUpload.resumable`), and
 * resolves with what was stored. A Readable goes through a resumable upload stream. Should the server have made
 * its temp upload non-resumable, a Readable of known size is read into memory first (a single PUT could not be
 * resent otherwise) and one of unknown size fails with `ProtocolError`.
 */
export async function putContent(tempUpload: TempUpload, content: FileContent, expectedSize: number | undefined, options: PutContentOptions): Promise<StoredSummary> {
  const { client, signal } = options;
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
  if (content.kind === 'stream') {
    if (!tempUpload.resumable) {
      // A single PUT needs the exact length up front, and the temp upload was declared with it.
      if (expectedSize === undefined) {
        content.stream.destroy();
        throw new ProtocolError(`${options.label}: the server made the temp upload of a stream of unknown length non-resumable`);
      }
      const data = await collect(content.stream, signal);
      if (data.length !== expectedSize) throw new SizeMismatchError(`${options.label}: the stream`, expectedSize, data.length);
      return uploadSized(tempUpload, new BufferSource(data), { ...options, chunkSize: DEFAULT_FILE_CHUNK_SIZE });
    }
    const stream = createTempUploadStream({ url: tempUpload.url, client, size: expectedSize, signal, checksums: { crc32c: true, md5: true } });
    stream.on('progress', (progress) => options.onConfirmed(progress.bytesConfirmed));
    if (options.onRetry) stream.on('retry', options.onRetry);
    try {
      await pipeline(content.stream, stream);
    } catch (error) {
      await closed(stream);
      throw abortError(signal, error);
    }
    const { size, md5, crc32c } = stream.result!;
    return { size, md5, crc32c };
  }
  if (content.kind === 'buffer') return uploadSized(tempUpload, new BufferSource(content.data), { ...options, chunkSize: DEFAULT_FILE_CHUNK_SIZE });

  let handle: FileHandle;
  try {
    handle = await open(content.path, 'r');
  } catch (cause) {
    // Removed or made unreadable since it was listed: this file fails, typed, and the others go on.
    const code = (cause as NodeJS.ErrnoException | null)?.code;
    throw new InvalidArgumentError(content.path, 'a readable regular file', code ?? String(cause), { cause });
  }
  try {
    const { size } = await handle.stat();
    if (size !== tempUpload.size) throw new SizeMismatchError(`The file ${JSON.stringify(content.path)} changed size since it was listed`, tempUpload.size, size);
    return await uploadSized(tempUpload, new FileSource(handle, size, JSON.stringify(content.path)), { ...options, chunkSize: DEFAULT_FILE_CHUNK_SIZE });
  } finally {
    await handle.close();
  }
}
