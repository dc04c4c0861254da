import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Agent } from 'undici';
import { RedivisClient } from '../../src/client/redivis-client.js';
import { startEmulator, type Emulator, type EmulatorOptions, type RequestLogEntry } from '../../src/emulator/index.js';

export const FAST_RETRY = { initialDelayMs: 1, maxDelayMs: 5 };

export interface FlowHarness {
  emu: Emulator;
  client: RedivisClient;
  dispatcher: Agent;
  dir: string;
  close(): Promise<void>;
}

/** An emulator, a client with tiny retry delays, and a temporary folder; `close` removes all three. */
export async function flowHarness(options?: EmulatorOptions): Promise<FlowHarness> {
  const emu = await startEmulator(options);
  const dispatcher = new Agent({ keepAliveTimeout: 1000 });
  const client = new RedivisClient({ apiEndpoint: emu.apiEndpoint, apiToken: emu.token, dispatcher, retry: FAST_RETRY });
  const dir = await mkdtemp(join(tmpdir(), 'redivis-upload-flows-'));
  return {
    emu,
    client,
    dispatcher,
    dir,
    async close() {
      await dispatcher.close();
      await emu.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function md5Base64(data: Buffer): string {
  return createHash('md5').update(data).digest('base64');
}

/** API requests of the log whose path (below /api/v1) matches. */
export function apiRequests(emu: Emulator, pattern: RegExp, method?: string): RequestLogEntry[] {
  return emu
    .requestLog()
    .filter((entry) => entry.kind === 'api' && pattern.test(entry.path) && (method === undefined || entry.method === method));
}

/**
 * A Readable of `data` in pieces of `pieceSize`, yielding to the event loop between pieces so several sources
 * interleave. `hooks.start` runs at the first read, `hooks.end` when the stream closes.
 */
export function slowSource(data: Buffer, pieceSize: number, hooks: { start?: () => void; end?: () => void } = {}): Readable {
  async function* pieces() {
    hooks.start?.();
    for (let offset = 0; offset < data.length; offset += pieceSize) {
      await nextTurn();
      yield Buffer.from(data.subarray(offset, offset + pieceSize));
    }
  }
  const stream = Readable.from(pieces(), { objectMode: false });
  if (hooks.end) stream.once('close', hooks.end);
  return stream;
}

/** A Readable that yields `good` bytes and then fails with `error`. */
export function failingSource(good: Buffer, error: Error): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(good);
        return;
      }
      this.destroy(error);
    },
  });
}
