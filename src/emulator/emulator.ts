/**
 * {@link startEmulator}: resolves options, starts the servers and exposes inspection and fault controls.
 * @module
 */
import type { Server } from 'node:http';
import { formatTableReference } from '../client/table-reference.js';
import { InvalidArgumentError } from '../errors.js';
import { API_PREFIX } from './api-routes.js';
import { FaultEngine } from './faults.js';
import { rawFileRegistry } from './raw-files-api.js';
import { resolveOptions } from './resolve-options.js';
import { Dispatcher } from './server.js';
import { EmulatorState, type TempUploadRecord } from './state.js';
import { ByteStore } from './storage.js';
import { tableRegistry, type TableInfo } from './tables.js';
import type { Emulator, EmulatorOptions } from './types.js';
import { copyUpload, uploadRegistry, type UploadRecord } from './upload-registry.js';

/**
 * Starts a local emulator of the Redivis API's upload endpoints (`tempUploads`, `uploads`, `rows`, `rawFiles`,
 * tables) and of the GCS resumable upload protocol behind the temp upload URLs it hands out. Resolves once the
 * servers listen; call `close()` when done.
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
  let tables;
  try {
    tables = tableRegistry(state);
  } catch (error) {
    await store.destroy();
    throw error;
  }
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
      const uploadServer = await dispatcher.listen('upload', '127.0.0.2', 0);
      servers.push(uploadServer.server);
      uploadOrigin = uploadServer.origin;
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
  const findUpload = (table: string, name: string): UploadRecord | undefined => uploads.get(formatTableReference(table), name);
  const copyTable = (table: TableInfo): TableInfo => ({ ...table });
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
      const found = findUpload(table, name);
      return found && copyUpload(found);
    },
    readUpload: async (table, name) => {
      const found = findUpload(table, name);
      const blob = found && uploads.content(found);
      if (blob === undefined) throw new InvalidArgumentError('name', `the name of an upload of ${table} that has content`, name);
      return blob.read();
    },
    getUploadRows: (table, name) => {
      if (!store.keepsBytes) throw new InvalidArgumentError('storage', "'disk' to keep rows (in 'discard' mode they are only counted)", 'discard');
      const found = findUpload(table, name);
      return found && structuredClone(found.rows);
    },
    failUpload: (name, errorMessage) => uploads.failUpload(name, errorMessage),
    listRawFiles: () => rawFileRegistry(state).list(),
    listTables: () => tables.list().map(copyTable),
    getTable: (reference) => {
      const found = tables.get(formatTableReference(reference));
      return found && copyTable(found);
    },
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
