/**
 * redivis-upload: streaming, resumable uploads into Redivis temp uploads.
 * @module
 */
import './util/node-guard.js';
export * from './errors.js';
export * from './client/index.js';
export {
  CHUNK_ALIGNMENT,
  formatContentRange,
  parseContentRange,
  parseRangeHeader,
  type ContentRange,
} from './upload/content-range.js';
export { type RetryOptions, type ResolvedRetryOptions } from './util/retry.js';
export {
  createTempUploadStream,
  TempUploadStream,
  type TempUploadResult,
  type UploadProgress,
  type UploadRetry,
  type TempUploadStreamEvents,
  type TempUploadStreamEventName,
  type TempUploadStreamListener,
} from './upload/temp-upload-stream.js';
export {
  DEFAULT_CHUNK_SIZE,
  DEFAULT_MEMORY_LIMIT,
  DEFAULT_SPILL_BYTES,
  DEFAULT_STALL_TIMEOUT_MS,
  type SpillOptions,
  type TempUploadStreamOptions,
  type TempUploadStreamCommonOptions,
  type TempUploadUrlTarget,
  type TempUploadSessionTarget,
  type TempUploadTableTarget,
} from './upload/stream-options.js';
export { type ChecksumOptions } from './upload/checksums.js';
export {
  uploadFile,
  DEFAULT_RESUMABLE_THRESHOLD,
  DEFAULT_FILE_CHUNK_SIZE,
  type UploadFileOptions,
  type UploadFileProgress,
  type UploadedTempUpload,
} from './upload/file-upload.js';
export {
  startSession,
  putChunk,
  queryStatus,
  cancelSession,
  putSimple,
  type SessionContext,
  type SessionStatus,
  type StoredObject,
  type ChunkToSend,
} from './upload/session.js';
export { isRetryableError, isRetryableStatus } from './util/failures.js';
/** @deprecated the same classifier as {@link isRetryableError}, which API calls share. */
export { isRetryableError as isRetryableUploadError } from './util/failures.js';
export * from './flows/index.js';
