import { createHash } from 'node:crypto';
import { crc32c } from '@node-rs/crc32';
import { Agent, request } from 'undici';
import { startEmulator } from '../../src/emulator/index.js';
import type { Emulator, EmulatorOptions } from '../../src/emulator/index.js';

/** 256 KiB. */
export const Q = 262_144;

/** Deterministic pseudo-random bytes (mulberry32), so every failure can be reproduced from `seed`. */
export function seededBytes(seed: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  let state = seed >>> 0;
  let i = 0;
  while (i < length) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const value = (t ^ (t >>> 14)) >>> 0;
    for (let k = 0; k < 4 && i < length; k++, i++) out[i] = (value >>> (8 * k)) & 0xff;
  }
  return out;
}

export function md5Hex(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

export function md5B64(data: Buffer): string {
  return createHash('md5').update(data).digest('base64');
}

export function crc32cB64(data: Buffer): string {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(crc32c(data) >>> 0);
  return bytes.toString('base64');
}

export interface Harness {
  emu: Emulator;
  agent: Agent;
  close(): Promise<void>;
}

/** Starts an emulator and an undici agent; `close` ends both. */
export async function harness(options?: EmulatorOptions): Promise<Harness> {
  const emu = await startEmulator(options);
  const agent = new Agent({ keepAliveTimeout: 1000 });
  return {
    emu,
    agent,
    async close() {
      await emu.close();
      await agent.close();
    },
  };
}

export interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json(): any;
}

/** One HTTP request; never follows redirects (308 is part of the protocol). */
export async function http(
  agent: Agent,
  url: string,
  init: { method: string; headers?: Record<string, string>; body?: Buffer | string | AsyncIterable<Buffer> },
): Promise<Response> {
  const res = await request(url, { dispatcher: agent, method: init.method as 'PUT', headers: init.headers, body: init.body as Buffer });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    headers: res.headers,
    text,
    json: () => JSON.parse(text),
  };
}

export interface CreatedTempUpload {
  kind: string;
  id: string;
  url: string;
  name: string;
  size: string;
  resumable: boolean;
}

/** Creates temp uploads through the API and returns the results. */
export async function createTempUploads(
  h: Harness,
  uploads: Array<{ name: string; size: number | string; resumable?: boolean }>,
  table = 'owner.dataset:next.table',
): Promise<CreatedTempUpload[]> {
  const res = await http(h.agent, `${h.emu.apiEndpoint}/tables/${encodeURIComponent(table)}/tempUploads`, {
    method: 'POST',
    headers: { authorization: `Bearer ${h.emu.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ tempUploads: uploads }),
  });
  if (res.status !== 200) throw new Error(`tempUploads answered ${res.status}: ${res.text}`);
  return res.json().results as CreatedTempUpload[];
}

/** Creates one resumable temp upload and starts its session; returns the temp upload and the session URL. */
export async function startSession(
  h: Harness,
  size: number,
  headers: Record<string, string> = {},
): Promise<{ upload: CreatedTempUpload; session: string }> {
  const [upload] = await createTempUploads(h, [{ name: `r-${Math.random().toString(36).slice(2)}`, size, resumable: true }]);
  const res = await http(h.agent, upload!.url, {
    method: 'POST',
    headers: { 'x-goog-resumable': 'start', 'content-length': '0', ...headers },
  });
  if (res.status !== 201) throw new Error(`initiation answered ${res.status}: ${res.text}`);
  return { upload: upload!, session: String(res.headers.location) };
}

/** PUTs bytes [start, start + data.length) with a Content-Range naming `total` ('*' when undefined). */
export function putChunk(h: Harness, session: string, start: number, data: Buffer, total: number | '*', headers: Record<string, string> = {}): Promise<Response> {
  const range = data.length === 0 ? `bytes */${total}` : `bytes ${start}-${start + data.length - 1}/${total}`;
  return http(h.agent, session, { method: 'PUT', headers: { 'content-range': range, ...headers }, body: data });
}

export function statusQuery(h: Harness, session: string, total: number | '*' = '*'): Promise<Response> {
  return http(h.agent, session, { method: 'PUT', headers: { 'content-range': `bytes */${total}`, 'content-length': '0' } });
}

/** Sends bytes over a fresh TCP connection and resolves with the response's status code (raw framing control). */
export async function rawRequest(url: string, method: string, headers: Record<string, string>, body?: Buffer): Promise<number> {
  const { connect } = await import('node:net');
  const target = new URL(url);
  const socket = connect(Number(target.port), target.hostname);
  const head = [`${method} ${target.pathname}${target.search} HTTP/1.1`, `host: ${target.host}`, 'connection: close']
    .concat(Object.entries(headers).map(([k, v]) => `${k}: ${v}`))
    .join('\r\n');
  socket.write(`${head}\r\n\r\n`);
  if (body) socket.write(body);
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  const match = /^HTTP\/1\.1 (\d{3})/.exec(Buffer.concat(chunks).toString('latin1'));
  if (!match) throw new Error('no HTTP response');
  return Number(match[1]);
}

/**
 * Resolves once `predicate` holds, checking on every turn of the event loop (no timers): for server-side progress
 * that no response reports, such as how many body bytes the emulator has read.
 */
export async function until(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise((resolve) => setImmediate(resolve));
}
