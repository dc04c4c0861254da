/**
 * Whole Redivis flows: a tabular upload from data to processed upload, and many files into a file index table.
 * @module
 */
export {
  uploadToTable,
  type TableUploadProgress,
  type TabularUpload,
  type TabularUploadOptions,
  type UploadToTableOptions,
} from './upload-to-table.js';
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
