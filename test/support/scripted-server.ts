import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScriptedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface ScriptedResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * A loopback server whose every answer comes from `handle`, for behaviour no faithful server shows: over-acks,
 * malformed headers, completions that come too early.
 */
export async function startScriptedServer(handle: (request: ScriptedRequest, index: number) => ScriptedResponse) {
  const requests: ScriptedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      const request = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(parts) };
      requests.push(request);
      const answer = handle(request, requests.length - 1);
      res.writeHead(answer.status, answer.headers ?? {});
      res.end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    requests,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A 308 answer reporting `persisted` bytes (no Range when 0, as the protocol says). */
export function resumeIncomplete(persisted: number): ScriptedResponse {
  return { status: 308, headers: persisted > 0 ? { range: `bytes=0-${persisted - 1}` } : {} };
}

/** Bytes covered by a request's Content-Range (`bytes a-b/...`), or undefined for status queries. */
export function rangeOf(request: ScriptedRequest): { first: number; last: number } | undefined {
  const match = /^bytes (\d+)-(\d+)\//.exec(String(request.headers['content-range'] ?? ''));
  return match ? { first: Number(match[1]), last: Number(match[2]) } : undefined;
}
