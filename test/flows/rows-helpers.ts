/** Helpers of the row stream tests: rows, a schema, and a scriptable loopback server in front of the emulator's API. */
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import type { Emulator, RequestLogEntry } from '../../src/emulator/index.js';
import type { RowVariable } from '../../src/flows/rows/row-schema.js';
import type { RowStream } from '../../src/flows/rows/row-stream.js';
import { prng } from '../support/data.js';

export const TABLE = 'owner.dataset:next.events';

export const SCHEMA: RowVariable[] = [
  { name: 'id', type: 'integer' },
  { name: 'label', type: 'string' },
  { name: 'score', type: 'float' },
  { name: 'ok', type: 'boolean' },
  { name: 'day', type: 'date' },
  { name: 'at', type: 'dateTime' },
];

/** `count` rows from `seed`, ids from `first`; labels vary in length so batches end at different byte counts. */
export function makeRows(count: number, seed: number, first = 0): Array<Record<string, unknown>> {
  const random = prng(seed);
  return Array.from({ length: count }, (_, i) => {
    const id = first + i;
    const row: Record<string, unknown> = {
      id,
      label: `row ${id} ${'x'.repeat(Math.floor(random() * 40))}`,
      score: Math.round(random() * 1e6) / 100,
      ok: random() < 0.5,
      day: `2024-0${1 + (id % 9)}-${String(1 + (id % 28)).padStart(2, '0')}`,
    };
    if (random() < 0.5) row.at = `2024-02-29T12:${String(id % 60).padStart(2, '0')}:00.5`;
    return row;
  });
}

/** Rows requests of the emulator's log, oldest first. */
export function rowsRequests(emu: Emulator): RequestLogEntry[] {
  return emu.requestLog().filter((entry) => entry.kind === 'rows');
}

/** Writes every row, waiting for `drain` whenever `write()` says so, then ends; resolves when the stream finished. */
export async function writeAll(stream: RowStream, rows: unknown[]): Promise<void> {
  for (const row of rows) {
    if (!stream.write(row)) await once(stream, 'drain');
  }
  stream.end();
  await once(stream, 'finish');
}

/** The stream's failure: resolves with the error it emits (and fails the test when it finishes instead). */
export function failureOf(stream: RowStream): Promise<Error> {
  return new Promise((resolve, reject) => {
    stream.once('error', resolve);
    stream.once('finish', () => reject(new Error('the stream finished instead of failing')));
  });
}

/** A request the gate received, below the API endpoint. */
export interface GateRequest {
  method: string;
  path: string;
  body: Buffer;
  headers: IncomingHttpHeaders;
  /** 1-based count of rows requests, for a rows request; 0 otherwise. */
  rowsIndex: number;
}

/** What the emulator answered to a forwarded request. */
export interface Forwarded {
  status: number;
  body: string;
}

/** The gate's answer: a status and JSON body, `'reset'` (the connection is destroyed), or undefined to forward. */
export type GateDecision = { status: number; body?: unknown } | 'reset' | undefined;

export interface Gate {
  apiEndpoint: string;
  close(): Promise<void>;
}

/**
 * A loopback server in front of the emulator's API. `handle` sees every request with a way to forward it (a body
 * of its own may replace the request's) and decides the answer; it may take its time, to play a slow server.
 */
export async function startGate(
  emu: Emulator,
  handle: (request: GateRequest, forward: (body?: string) => Promise<Forwarded>) => Promise<GateDecision> | GateDecision,
): Promise<Gate> {
  const target = new URL(emu.apiEndpoint);
  let rowsCount = 0;
  const forwardTo = (method: string, path: string, search: string, headers: IncomingHttpHeaders, body: Buffer | string): Promise<Forwarded> =>
    new Promise((resolve, reject) => {
      const { 'content-length': _length, host: _host, ...rest } = headers;
      const outgoing = httpRequest(
        { host: target.hostname, port: target.port, method, path: `${target.pathname}${path}${search}`, headers: { ...rest, host: target.host, 'content-length': Buffer.byteLength(body) } },
        (upstream) => {
          const parts: Buffer[] = [];
          upstream.on('data', (part: Buffer) => parts.push(part));
          upstream.on('end', () => resolve({ status: upstream.statusCode!, body: Buffer.concat(parts).toString('utf8') }));
          upstream.on('error', reject);
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      const url = new URL(req.url!, 'http://gate');
      const path = url.pathname.slice(target.pathname.length);
      const body = Buffer.concat(parts);
      const isRows = req.method === 'POST' && /\/rows$/.test(path);
      const request: GateRequest = { method: req.method!, path, body, headers: req.headers, rowsIndex: isRows ? ++rowsCount : 0 };
      let forwarded: Forwarded | undefined;
      const forward = async (replacement?: string) => (forwarded = await forwardTo(req.method!, path, url.search, req.headers, replacement ?? body));
      void (async () => {
        const decision = await handle(request, forward);
        if (decision === 'reset') return req.socket.destroy();
        const answer = decision === undefined ? (forwarded ?? (await forward())) : decision;
        const text = 'body' in answer ? (typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? {})) : '';
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(req.method === 'HEAD' ? undefined : text);
      })().catch(() => req.socket.destroy());
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

/** The rows of a `{"rows": [...]}` request body. */
export function bodyRows(body: Buffer | string): unknown[] {
  return (JSON.parse(body.toString()) as { rows: unknown[] }).rows;
}
