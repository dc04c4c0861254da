/**
 * {@link startEmulator}: resolves options, starts the servers and exposes inspection and fault controls.
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { InvalidArgumentError } from '../errors.js';
import { API_PREFIX } from './api-routes.js';
import { FaultEngine } from './faults.js';
import { Dispatcher } from './server.js';
import { EmulatorState, type ResolvedEmulatorOptions, type TempUploadRecord } from './state.js';
import { ByteStore } from './storage.js';
import type { Emulator, EmulatorOptions } from './types.js';
import { rawFileRegistry } from './raw-files-api.js';
import { copyUpload, uploadRegistry } from './uploads-api.js';
import { formatTableReference } from '../client/table-reference.js';

function resolveOptions(options: EmulatorOptions): ResolvedEmulatorOptions {
  const positiveInteger = (name: string, value: number | undefined, fallback: number, min: number): number => {
    if (value === undefined) return fallback;
    if (!Number.isSafeInteger(value) || value < min) throw new InvalidArgumentError(name, `an integer >= ${min}`, value);
    return value;
  };
  const token = options.token ?? randomBytes(24).toString('hex');
  if (typeof token !== 'string' || !/^[\x21-\x7e]+$/.test(token)) {
    throw new InvalidArgumentError('token', 'a non-empty string of visible ASCII characters', token);
  }
  const port = positiveInteger('port', options.port, 0, 0);
  if (port > 65535) throw new InvalidArgumentError('port', 'an integer from 0 to 65535', port);
  const errorShape = options.errorShape ?? 'flat';
  if (errorShape !== 'flat' && errorShape !== 'nested') throw new InvalidArgumentError('errorShape', "'flat' or 'nested'", errorShape);
  const storage = options.storage ?? 'disk';
  if (storage !== 'disk' && storage !== 'discard') throw new InvalidArgumentError('storage', "'disk' or 'discard'", storage);
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') throw new InvalidArgumentError('now', 'a function returning milliseconds', now);
  return {
    port,
    host: options.host ?? '127.0.0.1',
    token,
    readOnlyToken: `ro-${randomBytes(24).toString('hex')}`,
    maxTempUploadsPerRequest: positiveInteger('maxTempUploadsPerRequest', options.maxTempUploadsPerRequest, 1000, 1),
    sessionTtlMs: positiveInteger('sessionTtlMs', options.sessionTtlMs, 86_400_000, 0),
    now,
    errorShape,
    alignUnalignedChunks: options.alignUnalignedChunks ?? true,
    storage,
    separateUploadOrigin: options.separateUploadOrigin ?? false,
    verbose: options.verbose ?? false,
  };
}

/**
 * Starts a local emulator of the Redivis API's upload endpoints (`tempUploads`, `uploads`, `rawFiles`) and of the
 * GCS resumable upload protocol behind the temp upload URLs it hands out. Resolves once the servers listen; call
 * `close()` when done.
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const resolved = resolveOptions(options);
  const failUploads = options.failUploads ?? {};
  if (failUploads === null || typeof failUploads !== 'object' || Object.values(failUploads).some((message) => typeof message !== 'string')) {
    throw new InvalidArgumentError('failUploads', 'an object of upload name -> error message strings', failUploads);
  }
  const faults = new FaultEngine(options.faults, options.randomFaults);
  const store = await ByteStore.create(resolved.storage);
  const state = new EmulatorState(store, resolved);
  const uploads = uploadRegistry(state);
  for (const [name, message] of Object.entries(failUploads)) uploads.failUpload(name, message);
  const dispatcher = new Dispatcher(state, faults);
  const servers: Server[] = [];
  let origin: string;
  let uploadOrigin: string;
  try {
    const main = await dispatcher.listen(resolved.separateUploadOrigin ? 'api' : 'both', resolved.host, resolved.port);
    servers.push(main.server);
    origin = main.origin;
    uploadOrigin = origin;
    if (resolved.separateUploadOrigin) {
      const uploads = await dispatcher.listen('upload', '127.0.0.2', 0);
      servers.push(uploads.server);
      uploadOrigin = uploads.origin;
    }
  } catch (error) {
    await Promise.all(servers.map(closeServer));
    await store.destroy();
    throw error;
  }
  state.uploadOrigin = uploadOrigin;

  const record = (id: string): TempUploadRecord => {
    const found = state.records.get(id);
    if (found === undefined) throw new InvalidArgumentError('tempUploadId', 'the id of a temp upload of this emulator', id);
    return found;
  };
  let closing: Promise<void> | undefined;

  return {
    apiEndpoint: `${origin}${API_PREFIX}`,
    origin,
    uploadOrigin,
    token: resolved.token,
    readOnlyToken: resolved.readOnlyToken,
    randomSeed: faults.seed,
    getTempUpload: (id) => {
      const found = state.records.get(id);
      return found && state.info(found);
    },
    listTempUploads: () => [...state.records.values()].map((found) => state.info(found)),
    readTempUpload: async (id) => record(id).blob.read(),
    createReadStream: (id) => record(id).blob.stream(),
    requestLog: () => dispatcher.log.map((entry) => ({ ...entry })),
    waitForRequest: (predicate) => dispatcher.waitForRequest(predicate),
    clearRequestLog: () => {
      dispatcher.log.length = 0;
    },
    injectFault: (rule) => faults.add(rule),
    clearFaults: () => faults.clear(),
    expireSession: (id) => {
      const found = record(id);
      if (found.session !== undefined && found.state === 'in_progress') found.state = 'expired';
    },
    terminateSession: (id) => {
      const found = record(id);
      if (found.session !== undefined && found.state === 'in_progress') found.state = 'terminated';
    },
    listUploads: () => uploads.list().map(copyUpload),
    getUpload: (table, name) => {
      const found = uploads.get(formatTableReference(table), name);
      return found && copyUpload(found);
    },
    failUpload: (name, errorMessage) => uploads.failUpload(name, errorMessage),
    listRawFiles: () => rawFileRegistry(state).list(),
    close: () =>
      (closing ??= (async () => {
        await Promise.all([...servers.map(closeServer), dispatcher.shutdown()]);
        await store.destroy();
      })()),
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
