/**
 * Servers for the hardening tests: a recording HTTP(S) server on any loopback address, and a faithful resumable
 * session whose answers a test can override, for the misbehaviour no faithful server shows.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { crc32c } from '@node-rs/crc32';
import { crc32cToBase64 } from '../../src/upload/checksums.js';

/**
 * A self-signed certificate for 127.0.0.1, 127.0.0.2 and localhost (valid 2000 to 2999), made for these tests
 * only: nothing trusts it unless a test passes it as `ca`.
 */
export const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBYjCCAQegAwIBAgIUM2CcWobF6GlotztHb+tvoWEcqL8wCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTAwMDEwMTAwMDAwMFoYDzI5OTkxMjMx
MDAwMDAwWjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAATu5CZp4TCmnlBfLZGv4yKyX8cnhNLc05odmzfk8Ycuy4Hj4ppZJQPu
Q60SGfo6iKLEI/VDv0gKMM5X+Fxl9H7dozUwMzAgBgNVHREEGTAXhwR/AAABhwR/
AAACgglsb2NhbGhvc3QwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBG
AiEAq2/Z5O5aDS79dSy6X7tdSu8Y0YLY0Dtu6bUad/rwrcECIQCrMd6HKo7B33qx
QErUHlU6jX316igKKbGtyIr1nCwaTw==
-----END CERTIFICATE-----
`;
export const TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgCqRY2ySaBQhaM2oC
LcY4BQQd2IJOeAgbubmSD8EgsYqhRANCAATu5CZp4TCmnlBfLZGv4yKyX8cnhNLc
05odmzfk8Ycuy4Hj4ppZJQPuQ60SGfo6iKLEI/VDv0gKMM5X+Fxl9H7d
-----END PRIVATE KEY-----
`;

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export interface Answer {
  status: number;
  headers?: Record<string, string | string[]>;
  body?: string;
}

export interface TestServer {
  origin: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** A server on `host` (default 127.0.0.1) answering every request with `handle`; over TLS with `tls`. */
export async function startServer(
  handle: (request: RecordedRequest, index: number, origin: string) => Answer,
  options: { host?: string; tls?: boolean } = {},
): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  let origin = '';
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      const request = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(parts) };
      requests.push(request);
      const answer = handle(request, requests.length - 1, origin);
      res.writeHead(answer.status, answer.headers ?? {});
      res.end(answer.body ?? '');
    });
  };
  const server: Server = options.tls ? createHttpsServer({ cert: TEST_CERT, key: TEST_KEY }, listener) : createHttpServer(listener);
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  origin = `${options.tls ? 'https' : 'http'}://${host}:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    requests,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Returns an answer to replace the faithful one, or undefined to let the session answer. */
export type Override = (request: RecordedRequest, persisted: number, index: number) => Answer | undefined;

/**
 * A faithful resumable session (start with POST, chunks, status queries, finalize, DELETE = 499) that keeps the
 * bytes it receives, except where `override` answers first. `sessionOrigin` puts the session URL elsewhere.
 */
export async function startSessionServer(override: Override = () => undefined, options: { host?: string; tls?: boolean; sessionOrigin?: string } = {}) {
  let persisted = 0;
  const stored: Buffer[] = [];
  const server = await startServer((request, index, origin) => {
    const answer = override(request, persisted, index);
    if (answer) return answer;
    if (request.method === 'POST' && !request.url.startsWith('/session')) {
      return { status: 201, headers: { location: `${options.sessionOrigin ?? origin}/session?upload_id=secret-session-id` } };
    }
    if (request.method === 'DELETE') return { status: 499 };
    const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(request.headers['content-range']));
    if (match && Number(match[1]) === persisted) {
      stored.push(request.body);
      persisted += request.body.length;
    }
    const total = /\/(\d+)$/.exec(String(request.headers['content-range']))?.[1];
    if (total !== undefined && Number(total) === persisted) {
      const data = Buffer.concat(stored);
      return { status: 200, body: JSON.stringify({ size: String(data.length), crc32c: crc32cToBase64(crc32c(data)) }) };
    }
    return { status: 308, headers: persisted > 0 ? { range: `bytes=0-${persisted - 1}` } : {} };
  }, options);
  return { ...server, stored: () => Buffer.concat(stored) };
}
