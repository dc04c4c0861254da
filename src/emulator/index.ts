/**
 * A local emulator of the Redivis upload API (temp uploads, tabular and stream uploads, rows, raw files, tables) and
 * of the GCS resumable upload protocol, with disk or discard storage, inspection, a request log and fault injection.
 * @module
 */
import '../util/node-guard.js';
export { startEmulator } from './emulator.js';
export { parseFaultSpec } from './fault-spec.js';
export { API_ROUTES, type ApiContext, type ApiRoute } from './api-routes.js';
export type { ApiErrorCode, Reply } from './errors-body.js';
export type { EmulatorOptions, RandomFaultOptions, TableDefinition } from './options.js';
export type { Fault, FaultKind, FaultMatch, FaultRule, RequestKind } from './fault-types.js';
export type { Emulator, RequestLogEntry, TempUploadInfo, TempUploadState } from './types.js';
export type { UploadInfo, UploadSource, UploadStatus } from './upload-registry.js';
export type { TableInfo } from './tables.js';
export type { RawFileInfo } from './raw-files-api.js';
export type { SchemaVariable } from './row-schema.js';
