/**
 * Whole Redivis flows: a tabular upload from data (or a server-side transfer) to processed upload, and many files
 * into a file index table.
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
