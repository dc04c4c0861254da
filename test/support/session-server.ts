import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { crc32c } from '@node-rs/crc32';
import { crc32cToBase64 } from '../../src/upload/checksums.js';

/** One request as the session server saw it, its body read whole. */
export interface SeenRequest {
  method: string;
  contentRange: string | undefined;
  headers: IncomingMessage['headers'];
  body: Buffer;
  /** 0 for the first request to the server. */
  index: number;
  /** Bytes the session held when the request arrived. */
  persisted: number;
}

/** Ways to answer a request other than the faithful one. */
export interface Responder {
  /** A plain answer. */
  send(status: number, headers?: Record<string, string>, body?: string): void;
  /** Bytes written to the socket as they are, then the connection is closed: a garbled answer. */
  raw(text: string): void;
  /** Headers at once, then the body one byte every `intervalMs`, for `length` bytes. */
  trickle(status: number, headers: Record<string, string>, length: number, intervalMs: number): void;
  /** The answer the session would give (after storing the body, as a faithful server does). */
  faithful(): void;
  /** Stores the body as the session would, without answering (call `send` or `raw` after it); the bytes now held. */
  store(): number;
}

export interface SessionServerOptions {
  /** Answers a request instead of the faithful session; return false (or nothing) to let the session answer. */
  override?: (request: SeenRequest, respond: Responder) => boolean | void;
  /** Bytes per second read from request bodies; undefined: as fast as they come. */
  readBytesPerSecond?: number;
  /** Leave `md5Hash` and `crc32c` out of the completed object. */
  withoutHashes?: boolean;
  /** Sees every piece of a request body as it arrives. */
  onBodyData?: (bytes: number) => void;
}

/**
 * A faithful resumable session on loopback (start, chunks, status queries, finalize, cancel), with an override
 * for the answers no faithful server gives and a slow body reader. It keeps every byte it persists.
 */
export async function startSessionServer(options: SessionServerOptions = {}) {
  const requests: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  let stored = Buffer.alloc(0);
  let complete = false;
  let timers: NodeJS.Timeout[] = [];

  const object = () => ({
    kind: 'storage#object',
    size: String(stored.length),
    ...(options.withoutHashes ? {} : { crc32c: crc32cToBase64(crc32c(stored)), md5Hash: createHash('md5').update(stored).digest('base64') }),
  });

  /** Stores what a data request carries, as a faithful session does; false when its offset is beyond the end. */
  const store = (request: SeenRequest): boolean => {
    const match = /^bytes (?:(\d+)-(\d+)|\*)\/(\d+|\*)$/.exec(request.contentRange ?? '');
    if (!complete && match?.[1] !== undefined) {
      const first = Number(match[1]);
      if (first > stored.length) return false;
      stored = Buffer.concat([stored, request.body.subarray(stored.length - first)]);
    }
    if (!complete && match?.[3] !== undefined && match[3] !== '*' && Number(match[3]) === stored.length) complete = true;
    return true;
  };

  const answer = (res: ServerResponse): void => {
    if (complete) {
      const text = JSON.stringify(object());
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
      return;
    }
    res.writeHead(308, stored.length > 0 ? { range: `bytes=0-${stored.length - 1}`, 'content-length': '0' } : { 'content-length': '0' }).end();
  };

  const faithful = (request: SeenRequest, res: ServerResponse): void => {
    if (request.method === 'POST') {
      res.writeHead(201, { location: `${origin}/session?upload_id=abc`, 'content-length': '0' }).end();
      return;
    }
    if (request.method === 'DELETE') {
      res.writeHead(499, { 'content-length': '0' }).end();
      return;
    }
    if (!store(request)) {
      res.writeHead(503, { 'content-length': '0' }).end();
      return;
    }
    answer(res);
  };

  const readBody = (req: IncomingMessage): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const parts: Buffer[] = [];
      const rate = options.readBytesPerSecond;
      req.on('data', (part: Buffer) => {
        parts.push(part);
        options.onBodyData?.(part.length);
        if (rate !== undefined) {
          req.pause();
          const timer = setTimeout(() => req.resume(), (part.length / rate) * 1000);
          timers.push(timer);
        }
      });
      req.on('end', () => resolve(Buffer.concat(parts)));
      req.on('error', reject);
    });

  const server: Server = createServer((req, res) => {
    const persisted = stored.length;
    void readBody(req).then(
      (body) => {
        const request: SeenRequest = {
          method: req.method!,
          contentRange: typeof req.headers['content-range'] === 'string' ? req.headers['content-range'] : undefined,
          headers: req.headers,
          body,
          index: requests.length,
          persisted,
        };
        requests.push(request);
        const respond: Responder = {
          send: (status, headers = {}, text = '') => res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(text) }).end(text),
          raw: (text) => {
            req.socket.end(text);
          },
          trickle: (status, headers, length, intervalMs) => {
            res.writeHead(status, { ...headers, 'content-length': String(length) });
            let sent = 0;
            const tick = () => {
              if (res.destroyed || sent >= length) return;
              res.write('x');
              sent += 1;
              if (sent === length) res.end();
              else timers.push(setTimeout(tick, intervalMs));
            };
            tick();
          },
          faithful: () => faithful(request, res),
          store: () => {
            store(request);
            return stored.length;
          },
        };
        if (options.override?.(request, respond) !== true) faithful(request, res);
      },
      () => req.socket.destroy(),
    );
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    requests,
    stored: () => stored,
    isComplete: () => complete,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers = [];
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
