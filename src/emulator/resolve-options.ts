/**
 * Checks {@link EmulatorOptions} and fills in their defaults.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';
import type { EmulatorOptions } from './options.js';
import type { ResolvedEmulatorOptions } from './state.js';

function checkToken(name: string, token: unknown): string {
  if (typeof token !== 'string' || !/^[\x21-\x7e]+$/.test(token)) {
    throw new InvalidArgumentError(name, 'a non-empty string of visible ASCII characters', token);
  }
  return token;
}

/** Throws {@link InvalidArgumentError} naming the first option that is wrong. */
export function resolveOptions(options: EmulatorOptions): ResolvedEmulatorOptions {
  const positiveInteger = (name: string, value: number | undefined, fallback: number, min: number): number => {
    if (value === undefined) return fallback;
    if (!Number.isSafeInteger(value) || value < min) throw new InvalidArgumentError(name, `an integer >= ${min}`, value);
    return value;
  };
  const token = checkToken('token', options.token ?? randomBytes(24).toString('hex'));
  const readOnlyToken = checkToken('readOnlyToken', options.readOnlyToken ?? `ro-${randomBytes(24).toString('hex')}`);
  if (readOnlyToken === token) throw new InvalidArgumentError('readOnlyToken', 'a token different from `token`', readOnlyToken);
  const deleteResponse = options.deleteResponse ?? 'json';
  if (deleteResponse !== 'json' && deleteResponse !== 'ok') throw new InvalidArgumentError('deleteResponse', "'json' or 'ok'", deleteResponse);
  const tables = options.tables;
  if (tables !== undefined && !Array.isArray(tables)) throw new InvalidArgumentError('tables', 'an array of table references', tables);
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
    readOnlyToken,
    tables,
    deleteResponse,
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

