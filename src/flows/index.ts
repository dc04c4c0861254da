/**
 * Whole Redivis flows: a tabular upload from data (or a server-side transfer) to processed upload, rows into a
 * stream upload, and many files into a file index table.
 * @module
 */
export {
  uploadToTable,
  TABULAR_UPLOAD_TYPES,
  type TableUploadProgress,
  type TableUploadResult,
  type TabularUpload,
  type TabularUploadOptions,
  type TabularUploadType,
  type UploadConflictPolicy,
  type UploadToTableOptions,
} from './upload-to-table.js';
export {
  transferSpecificationFromUrl,
  validateTransferSpecification,
  type TransferSourceType,
  type TransferSpecification,
} from './transfer-specification.js';
export {
  addFiles,
  isWholeCallFailure,
  DEFAULT_EXCLUDES,
  DEFAULT_ADD_FILES_BATCH_BYTES,
  DEFAULT_ADD_FILES_BATCH_SIZE,
  DEFAULT_ADD_FILES_RESUMABLE_THRESHOLD,
  type AddFilesOptions,
  type AddFilesProgress,
  type AddFilesResult,
  type FileInput,
  type RawFile,
  type SkippedEntry,
} from './add-files.js';
export {
  createRowStream,
  RowStream,
  type RowStreamEventName,
  type RowStreamListener,
} from './rows/row-stream.js';
export {
  DEFAULT_BATCH_BYTES,
  DEFAULT_BATCH_ROWS,
  DEFAULT_FLUSH_INTERVAL_MS,
  type RowProgress,
  type RowStreamConflictPolicy,
  type RowStreamEvents,
  type RowStreamOptions,
  type RowStreamResult,
} from './rows/row-stream-options.js';
export { ROW_VARIABLE_TYPES, type RowVariable, type RowVariableType } from './rows/row-schema.js';
export { uploadRowsToTable, type RowsUploadResult, type UploadRowsToTableOptions } from './rows/upload-rows.js';
