/**
 * Where a command sends its requests: Redivis (token and endpoint from the environment only) or an embedded
 * emulator started for the duration of the command.
 * @module
 */
import { RedivisClient } from '../client/redivis-client.js';
import { resolveClientOptions } from '../client/options.js';
import { parseTableReference } from '../client/table-reference.js';
import { startEmulator } from '../emulator/index.js';
import type { Emulator } from '../emulator/types.js';
import { MissingTokenError } from '../errors.js';
import type { Output } from './output.js';

export interface Target {
  client: RedivisClient;
  /** Where the requests go, for messages. */
  description: string;
  /** The API's host (with its port, if any), for retry messages. */
  apiHost: string;
  /** The embedded emulator, with `--emulator`. */
  emulator: Emulator | undefined;
  close(): Promise<void>;
}

/** How the client retries and times out (`--retries`, `--request-timeout`). */
export interface TargetOptions {
  /** Retries after a failed request. @default the client's (8) */
  retries?: number;
  /** Per-request timeout in milliseconds. @default the client's (60 s) */
  requestTimeoutMs?: number;
}

/**
 * Parses the table reference so a malformed one fails before anything is read or started
 * (`TableReferenceError`, exit code 1), with or without `--emulator`.
 */
export function checkTable(reference: string): string {
  parseTableReference(reference);
  return reference;
}

function clientOptions(options: TargetOptions) {
  return {
    ...(options.retries === undefined ? {} : { retry: { retries: options.retries } }),
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
  };
}

/**
 * Opens the target. Without `--emulator` the token comes from `REDIVIS_API_TOKEN` only (there is deliberately no
 * flag: command lines end up in shell histories and process lists) and is registered with `output` as a secret.
 */
export async function openTarget(options: TargetOptions & { emulator: boolean }, env: NodeJS.ProcessEnv, output: Output): Promise<Target> {
  if (options.emulator) {
    const emulator = await startEmulator();
    output.addSecret(emulator.token);
    const client = new RedivisClient({ apiEndpoint: emulator.apiEndpoint, apiToken: emulator.token, ...clientOptions(options) });
    return {
      client,
      description: `the embedded emulator at ${emulator.apiEndpoint}`,
      apiHost: new URL(emulator.apiEndpoint).host,
      emulator,
      close: () => emulator.close(),
    };
  }
  output.addSecret(env.REDIVIS_API_TOKEN);
  // Only the two variables this command documents, from the environment it was given.
  const resolved = resolveClientOptions({}, { REDIVIS_API_TOKEN: env.REDIVIS_API_TOKEN, REDIVIS_API_ENDPOINT: env.REDIVIS_API_ENDPOINT });
  if (resolved.apiToken === undefined) throw new MissingTokenError();
  const client = new RedivisClient({ apiToken: resolved.apiToken, apiEndpoint: resolved.apiEndpoint, ...clientOptions(options) });
  return { client, description: resolved.apiEndpoint, apiHost: new URL(resolved.apiEndpoint).host, emulator: undefined, close: async () => {} };
}
