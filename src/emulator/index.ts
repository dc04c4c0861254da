/**
 * A local emulator of the Redivis temp-uploads API and of the GCS resumable upload protocol, with disk or
 * discard storage, inspection, a request log and fault injection.
 * @module
 */
export { startEmulator } from './emulator.js';
export { parseFaultSpec } from './fault-spec.js';
export { API_ROUTES, type ApiContext, type ApiRoute } from './api-routes.js';
export type { ApiErrorCode, Reply } from './errors-body.js';
export type {
  Emulator,
  EmulatorOptions,
  Fault,
  FaultKind,
  FaultMatch,
  FaultRule,
  RandomFaultOptions,
  RequestKind,
  RequestLogEntry,
  TempUploadInfo,
  TempUploadState,
} from './types.js';
export type { UploadInfo, UploadStatus } from './uploads-api.js';
export type { RawFileInfo } from './raw-files-api.js';
