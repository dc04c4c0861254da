/**
 * redivis-upload: streaming, resumable uploads into Redivis temp uploads.
 * @module
 */
export * from './errors.js';
export * from './client/index.js';
export {
  CHUNK_ALIGNMENT,
  formatContentRange,
  parseContentRange,
  parseRangeHeader,
  type ContentRange,
} from './upload/content-range.js';
export { type RetryOptions } from './util/retry.js';
export {
  createTempUploadStream,
  TempUploadStream,
  type TempUploadResult,
  type UploadProgress,
  type UploadRetry,
} from './upload/temp-upload-stream.js';
export {
  DEFAULT_CHUNK_SIZE,
  type TempUploadStreamOptions,
  type TempUploadStreamCommonOptions,
  type TempUploadUrlTarget,
  type TempUploadSessionTarget,
  type TempUploadTableTarget,
} from './upload/stream-options.js';
export { type ChecksumOptions } from './upload/checksums.js';
