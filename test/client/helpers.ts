import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { RedivisClient } from '../../src/client/redivis-client.js';
import type { RedivisClientOptions } from '../../src/client/options.js';

export const TOKEN = 'tok_9f8e7d6c5b4a';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, body: string, index: number) => void | Promise<void>;

export interface TestServer {
  origin: string;
  apiEndpoint: string;
  requests: RecordedRequest[];
  /** Resolves when the server has received `count` requests. */
  waitForRequests(count: number): Promise<void>;
  close(): Promise<void>;
}

/** A loopback HTTP server on port 0 whose handler sees every request with its full body. */
export async function startServer(handler: Handler): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const index = requests.length;
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      for (const waiter of waiters.filter((w) => requests.length >= w.count)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
      Promise.resolve(handler(req, res, body, index)).catch((error: unknown) => {
        res.destroy(error as Error);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    apiEndpoint: `${origin}/api/v1`,
    requests,
    waitForRequests(count) {
      if (requests.length >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Sends `body` as JSON with `status` and extra headers. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** A dispatcher that lets idle sockets go at once, so the test process exits. */
export function testAgent(): Agent {
  return new Agent({ keepAliveTimeout: 10, keepAliveMaxTimeout: 10 });
}

/** A client for `server` with tiny, deterministic retry delays (1, 2, 4, 5, 5 ms). */
export function testClient(server: TestServer, dispatcher: Agent, options: RedivisClientOptions = {}): RedivisClient {
  return new RedivisClient({
    apiToken: TOKEN,
    apiEndpoint: server.apiEndpoint,
    dispatcher,
    retry: { retries: 3, initialDelayMs: 1, maxDelayMs: 5, jitter: 0 },
    ...options,
  });
}

/** Runs `fn` with the given environment variables set (undefined: unset), restoring them afterwards. */
export function withEnv<T>(vars: Record<string, string | undefined>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(vars).map((key) => [key, process.env[key]]));
  const apply = (values: Record<string, string | undefined>): void => {
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
  apply(vars);
  try {
    return fn();
  } finally {
    apply(saved);
  }
}
