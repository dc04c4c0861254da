/**
 * The Redivis API client: table references, authenticated JSON calls with retries, temp uploads and the rule for
 * which upload URLs may receive the token.
 * @module
 */
export {
  RedivisClient,
  type ApiMethod,
  type ApiQuery,
  type ApiRequestOptions,
  type ApiResponse,
  type CreateTempUploadsOptions,
  type RedivisClientEvents,
  type RetryEvent,
} from './redivis-client.js';
export {
  DEFAULT_API_ENDPOINT,
  DEFAULT_REQUEST_TIMEOUT_MS,
  type RedivisClientOptions,
} from './options.js';
export { TablesApi, type CreateTableOptions, type RedivisTable, type TableRequestOptions } from './tables.js';
export { DEFAULT_TEMP_UPLOAD_BATCH_SIZE, type TempUpload, type TempUploadRequest } from './temp-uploads.js';
export { isLoopbackHostname, isSameSite } from './site.js';
export { defaultUserAgent } from './user-agent.js';
export type { ResponseHeaders } from './http.js';
export {
  escapeName,
  formatTableReference,
  normalizeTableReference,
  parseTableReference,
  tableReferencePathSegment,
  type TableReference,
  type TableReferenceInput,
} from './table-reference.js';
