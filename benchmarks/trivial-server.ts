/**
 * A server that does as little as possible while answering like GCS and the Redivis temp-uploads endpoint, so a
 * benchmark's ratio to a raw PUT shows the client's cost and not the server's. It stores nothing: it counts the
 * bytes it persists and proves them byte-exact. Given the pattern every benchmark source repeats, it compares each
 * byte with it (a memcmp, about a third of what hashing costs on the cores it shares with the client) and reports
 * the CRC32C of the pattern's prefix, derived in microseconds; from the first byte that differs, and for any
 * upload when no pattern is given, it hashes what it persists, so the CRC32C it reports is always that of the
 * bytes it received.
 *
 * Faults for the recovery cases: marks every `everyBytes` of the object (the first at `everyBytes + phaseBytes`);
 * the data request that reaches a mark persists up to it (a 256 KiB boundary, as GCS keeps), then answers 503 and
 * closes, or is reset. Every byte read is counted once as persisted, as not persisted (past a mark, or past the
 * last whole 256 KiB of a chunk) or as a duplicate (held already), so a client's resends can be told apart from
 * what it had to send again.
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { crc32c } from '@node-rs/crc32';
import { repeatedPatternCrc32c } from './crc32c-combine.js';

const Q = 262_144;

export interface TrivialFaults {
  kind: 'status' | 'reset';
  /** A fault each time this many more bytes have been persisted. */
  everyBytes: number;
  /** The first mark lies this far past `everyBytes`. @default 0 */
  phaseBytes?: number;
}

interface Session {
  id: string;
  name: string;
  persisted: number;
  /** Its bytes so far differ from the pattern (or no pattern is known): `crc` is hashed from the bytes. */
  diverged: boolean;
  /** CRC32C of the persisted bytes, kept only once `diverged`. */
  crc: number;
  final: { size: number; crc32c: string } | undefined;
  /** Fresh bytes after which the next fault fires. */
  nextFaultAt: number;
}

export interface TrivialStats {
  finals: Array<{ id: string; name: string; size: number; crc32c: string } | { id: string; name: string; incomplete: string }>;
  dataRequests: number;
  statusRequests: number;
  dataBytesReceived: number;
  /** Bytes read and dropped: past a fault's mark, past the last whole 256 KiB of a non-final chunk, into a gap. */
  dataBytesUnpersisted: number;
  /** Bytes read that were persisted already (or sent after completion). */
  dataBytesDuplicate: number;
  /** Body bytes read by each data request, in order. */
  requestBytes: number[];
  faultsApplied: number;
}

function crcBase64(value: number): string {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value >>> 0);
  return bytes.toString('base64');
}

const CONTENT_RANGE = /^bytes (?:\*|(\d+)-(\d+|\*))\/(\d+|\*)$/;

export class TrivialServer {
  private readonly server: Server;
  private readonly sessions = new Map<string, Session>();
  private readonly sockets = new Set<Socket>();
  private nextId = 1;
  faults: TrivialFaults | undefined;
  dataRequests = 0;
  statusRequests = 0;
  dataBytesReceived = 0;
  dataBytesUnpersisted = 0;
  dataBytesDuplicate = 0;
  requestBytes: number[] = [];
  faultsApplied = 0;
  readonly token = 'trivial-token';

  private readonly patternCrc: number;

  /** @param pattern the bytes every upload repeats from offset 0, if known; without it every byte is hashed */
  constructor(private readonly pattern?: Buffer) {
    this.patternCrc = pattern ? crc32c(pattern) : 0;
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(() => req.socket.destroy());
    });
    this.server.keepAliveTimeout = 60_000;
    this.server.requestTimeout = 0;
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Clears the counters and sets the faults of the next case. */
  prepare(faults: TrivialFaults | undefined): void {
    this.faults = faults;
    this.dataRequests = 0;
    this.statusRequests = 0;
    this.dataBytesReceived = 0;
    this.dataBytesUnpersisted = 0;
    this.dataBytesDuplicate = 0;
    this.requestBytes = [];
    this.faultsApplied = 0;
  }

  stats(ids: string[]): TrivialStats {
    const finals = ids.map((id) => {
      const session = this.sessions.get(id);
      if (session?.final) return { id, name: session.name, ...session.final };
      return { id, name: session?.name ?? '', incomplete: session ? `${session.persisted} bytes persisted` : 'unknown id' };
    });
    for (const id of ids) if (this.sessions.get(id)?.final) this.sessions.delete(id);
    return {
      finals,
      dataRequests: this.dataRequests,
      statusRequests: this.statusRequests,
      dataBytesReceived: this.dataBytesReceived,
      dataBytesUnpersisted: this.dataBytesUnpersisted,
      dataBytesDuplicate: this.dataBytesDuplicate,
      requestBytes: [...this.requestBytes],
      faultsApplied: this.faultsApplied,
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const host = req.headers.host ?? '127.0.0.1';
    const api = /^\/api\/v1\/tables\/[^/]+\/tempUploads$/.exec(url.pathname);
    if (api && req.method === 'POST') return this.createTempUploads(req, res, host);
    const temp = /^\/temp\/(\d+)$/.exec(url.pathname);
    if (temp && req.method === 'POST') {
      await drain(req);
      res.writeHead(201, { location: `http://${host}/session/${temp[1]}`, 'content-length': '0' }).end();
      return;
    }
    const session = /^\/session\/(\d+)$/.exec(url.pathname);
    const record = session ? this.sessions.get(session[1]!) : undefined;
    if (record && req.method === 'PUT') return this.put(req, res, record);
    if (record && req.method === 'DELETE') {
      await drain(req);
      this.sessions.delete(record.id);
      res.writeHead(499, { 'content-length': '0' }).end();
      return;
    }
    await drain(req);
    res.writeHead(404, { 'content-length': '0' }).end();
  }

  private async createTempUploads(req: IncomingMessage, res: ServerResponse, host: string): Promise<void> {
    const body = JSON.parse((await readAll(req)).toString('utf8')) as { tempUploads: Array<{ name: string; size: number; resumable?: boolean }> };
    const results = body.tempUploads.map(({ name, size, resumable }) => {
      const id = String(this.nextId++);
      this.sessions.set(id, { id, name, persisted: 0, diverged: this.pattern === undefined, crc: 0, final: undefined, nextFaultAt: this.faults ? this.faults.everyBytes + (this.faults.phaseBytes ?? 0) : Infinity });
      return { kind: 'tempUpload', id, name, size: String(size), resumable: resumable === true, url: `http://${host}/temp/${id}` };
    });
    const text = JSON.stringify({ kind: 'tempUploadList', results });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
  }

  private async put(req: IncomingMessage, res: ServerResponse, session: Session): Promise<void> {
    const header = String(req.headers['content-range'] ?? '');
    const range = CONTENT_RANGE.exec(header);
    if (!range) {
      await drain(req);
      return reply(res, 400, {}, 'bad Content-Range');
    }
    const total = range[3] === '*' ? undefined : Number(range[3]);
    if (range[1] === undefined) {
      this.statusRequests += 1;
      await drain(req);
      if (session.final === undefined && total === session.persisted) this.finish(session);
      return this.answer(res, session);
    }
    this.dataRequests += 1;
    const first = Number(range[1]);
    const open = range[2] === '*';
    const last = open ? Infinity : Number(range[2]);
    if (session.final !== undefined) {
      this.dataBytesDuplicate += await this.countDrained(req);
      return this.answer(res, session);
    }
    if (first > session.persisted) {
      this.dataBytesUnpersisted += await this.countDrained(req);
      return reply(res, 503, {}, 'offset beyond the persisted size');
    }
    let offset = first;
    // Bytes of a non-final request past the last whole 256 KiB are not kept, as GCS does.
    const final = open || (total !== undefined && last + 1 === total);
    const keepUpTo = final ? last + 1 : first + Math.floor((last + 1 - first) / Q) * Q;
    const faultAt = this.faults ? session.nextFaultAt : Infinity;
    const outcome = await new Promise<'end' | 'fault' | 'error'>((resolve) => {
      req.on('data', (piece: Buffer) => {
        const end = offset + piece.length;
        const held = session.persisted;
        const from = Math.max(offset, held);
        const to = Math.min(end, keepUpTo, faultAt);
        const kept = Math.max(0, to - from);
        this.dataBytesReceived += piece.length;
        this.dataBytesDuplicate += Math.max(0, Math.min(end, held) - offset);
        this.dataBytesUnpersisted += Math.max(0, end - from) - kept;
        if (kept > 0) {
          this.check(session, piece, from - offset, to - offset, from);
          session.persisted = to;
        }
        offset = end;
        if (session.persisted >= faultAt) {
          req.pause();
          req.removeAllListeners('data');
          resolve('fault');
        }
      });
      req.once('end', () => resolve('end'));
      req.once('error', () => resolve('error'));
    });
    this.requestBytes.push(offset - first);
    if (outcome === 'fault') return this.fault(req, res, session);
    if (outcome === 'error') return;
    if (final && session.persisted === offset) this.finish(session);
    return this.answer(res, session);
  }

  /** Reads a body the server will not keep; its length. */
  private async countDrained(req: IncomingMessage): Promise<number> {
    let bytes = 0;
    for await (const piece of req as AsyncIterable<Buffer>) bytes += piece.length;
    this.dataBytesReceived += bytes;
    this.requestBytes.push(bytes);
    return bytes;
  }

  private fault(req: IncomingMessage, res: ServerResponse, session: Session): void {
    this.faultsApplied += 1;
    session.nextFaultAt = session.persisted + this.faults!.everyBytes;
    if (this.faults!.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    // An early answer on a connection that is then closed: the rest of the body is never read.
    res.shouldKeepAlive = false;
    reply(res, 503, { connection: 'close' }, 'injected fault');
    res.once('finish', () => req.socket.destroySoon());
  }

  /** Takes `piece[start, end)`, the object's bytes from `at`, into the session's proof of content. */
  private check(session: Session, piece: Buffer, start: number, end: number, at: number): void {
    if (!session.diverged && this.matchesPattern(piece, start, end, at)) return;
    if (!session.diverged) {
      session.diverged = true;
      session.crc = repeatedPatternCrc32c(this.pattern!, this.patternCrc, at);
    }
    session.crc = crc32c(piece.subarray(start, end), session.crc);
  }

  private matchesPattern(piece: Buffer, start: number, end: number, at: number): boolean {
    const pattern = this.pattern!;
    let from = start;
    let patternAt = at % pattern.length;
    while (from < end) {
      const count = Math.min(end - from, pattern.length - patternAt);
      if (piece.compare(pattern, patternAt, patternAt + count, from, from + count) !== 0) return false;
      from += count;
      patternAt = 0;
    }
    return true;
  }

  private finish(session: Session): void {
    const crc = session.diverged ? session.crc : repeatedPatternCrc32c(this.pattern!, this.patternCrc, session.persisted);
    session.final = { size: session.persisted, crc32c: crcBase64(crc) };
  }

  private answer(res: ServerResponse, session: Session): void {
    if (session.final !== undefined) {
      const text = JSON.stringify({ kind: 'storage#object', size: String(session.final.size), crc32c: session.final.crc32c });
      return reply(res, 200, { 'content-type': 'application/json' }, text);
    }
    const headers: Record<string, string> = session.persisted > 0 ? { range: `bytes=0-${session.persisted - 1}` } : {};
    reply(res, 308, headers, '');
  }
}

function reply(res: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) }).end(body);
}

async function drain(req: IncomingMessage): Promise<void> {
  for await (const _ of req) void _;
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for await (const piece of req as AsyncIterable<Buffer>) pieces.push(piece);
  return Buffer.concat(pieces);
}
