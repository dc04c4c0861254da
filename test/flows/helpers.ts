import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
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

/** What an API gate's `intercept` sees of a request. */
export interface GateRequest {
  method: string;
  /** Path below the API endpoint, without query string. */
  path: string;
  body: Buffer;
  headers: IncomingHttpHeaders;
}

/** An answer the gate gives itself instead of forwarding. */
export interface GateAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface ApiGate {
  /** Give this to a RedivisClient instead of the emulator's. */
  apiEndpoint: string;
  close(): Promise<void>;
}

/**
 * A loopback server in front of the emulator's API that forwards every request unless `intercept` answers it,
 * for the answers a faithful emulator never gives at that moment (a token that expires mid-run, say); `rewrite`
 * may replace the body of a forwarded answer (return undefined to keep it). Temp upload
 * URLs point at the emulator itself, so uploads bypass the gate.
 */
export async function startApiGate(
  emu: Emulator,
  intercept: (request: GateRequest) => GateAnswer | undefined,
  rewrite?: (request: GateRequest, status: number, body: unknown) => unknown,
): Promise<ApiGate> {
  const target = new URL(emu.apiEndpoint);
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      const url = new URL(req.url!, 'http://gate');
      const path = url.pathname.slice(target.pathname.length);
      const body = Buffer.concat(parts);
      const answer = intercept({ method: req.method!, path, body, headers: req.headers });
      if (answer) {
        const text = answer.body === undefined ? '' : JSON.stringify(answer.body);
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        res.end(req.method === 'HEAD' ? undefined : text);
        return;
      }
      const forward = httpRequest(
        { host: target.hostname, port: target.port, method: req.method, path: `${target.pathname}${path}${url.search}`, headers: { ...req.headers, host: target.host } },
        (upstream) => {
          if (!rewrite) {
            res.writeHead(upstream.statusCode!, upstream.headers);
            upstream.pipe(res);
            return;
          }
          const answer: Buffer[] = [];
          upstream.on('data', (part: Buffer) => answer.push(part));
          upstream.on('end', () => {
            const text = Buffer.concat(answer).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text === '' ? undefined : JSON.parse(text);
            } catch {
              // Not JSON: passed to rewrite as text.
            }
            const replaced = rewrite({ method: req.method!, path, body, headers: req.headers }, upstream.statusCode!, parsed);
            const out = replaced === undefined ? text : JSON.stringify(replaced);
            const { 'content-length': _length, ...headers } = upstream.headers;
            res.writeHead(upstream.statusCode!, headers);
            res.end(req.method === 'HEAD' ? undefined : out);
          });
        },
      );
      forward.on('error', (error) => res.destroy(error));
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    apiEndpoint: `http://127.0.0.1:${port}${target.pathname}`,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A Redivis error body, as the API sends it. */
export function apiErrorBody(status: number, error: string, description: string): Record<string, unknown> {
  return { error, error_description: description, status };
}
