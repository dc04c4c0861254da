/**
 * HTTP servers of the emulator: request logging, fault application, and dispatch to the API or upload handlers.
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { API_PREFIX, apiContext, checkAuthorization, findApiRoute } from './api-routes.js';
import { BodyReader } from './body.js';
import { apiErrorCodeFor, apiErrorReply, textReply, type Reply } from './errors-body.js';
import { describeFault, type FaultEngine } from './faults.js';
import { handleSessionUrl, persistPartial } from './resumable.js';
import type { EmulatorState } from './state.js';
import type { Fault, RequestKind } from './fault-types.js';
import type { RequestLogEntry } from './types.js';
import { classifyUpload, handleTempUploadUrl, headerInteger, isUploadPath, type UploadContext, type UploadTarget } from './upload-routes.js';

/** Which routes a server answers. */
export type ServerRole = 'api' | 'upload' | 'both';

/** Shared by the one or two HTTP servers of an emulator. */
export class Dispatcher {
  readonly log: RequestLogEntry[] = [];
  private readonly finished = new WeakSet<RequestLogEntry>();
  private waiters: Array<{ predicate: (entry: RequestLogEntry) => boolean; resolve: (entry: RequestLogEntry) => void }> = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly stalls = new AbortController();

  constructor(
    readonly state: EmulatorState,
    readonly faults: FaultEngine,
  ) {}

  /** Starts an HTTP server for `role` and resolves once it listens. */
  async listen(role: ServerRole, host: string, port: number): Promise<{ server: Server; origin: string }> {
    const server = createServer({ keepAlive: true }, (req, res) => {
      let entry: RequestLogEntry | undefined;
      const task = this.handle(role, req, res, (created) => (entry = created))
        .catch(() => {
          if (entry !== undefined) entry.status = 0;
          if (!res.headersSent) res.destroy();
        })
        .finally(() => {
          if (entry !== undefined) this.finish(entry);
        });
      this.inFlight.add(task);
      void task.finally(() => this.inFlight.delete(task));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address() as AddressInfo;
    return { server, origin: `http://${urlHost(host)}:${address.port}` };
  }

  /** Resolves with the first logged request matching `predicate` once its handling has finished. */
  waitForRequest(predicate: (entry: RequestLogEntry) => boolean): Promise<RequestLogEntry> {
    const done = this.log.find((entry) => this.finished.has(entry) && predicate({ ...entry }));
    if (done !== undefined) return Promise.resolve({ ...done });
    return new Promise((resolve) => this.waiters.push({ predicate, resolve }));
  }

  private finish(entry: RequestLogEntry): void {
    this.finished.add(entry);
    this.verbose(entry);
    const matched = this.waiters.filter((waiter) => waiter.predicate({ ...entry }));
    this.waiters = this.waiters.filter((waiter) => !matched.includes(waiter));
    for (const waiter of matched) waiter.resolve({ ...entry });
  }

  /** Ends stalls and waits for handlers still running (their sockets are destroyed by then). */
  async shutdown(): Promise<void> {
    this.stalls.abort();
    await Promise.allSettled([...this.inFlight]);
  }

  private async handle(
    role: ServerRole,
    req: IncomingMessage,
    res: ServerResponse,
    created: (entry: RequestLogEntry) => void,
  ): Promise<void> {
    const { state } = this;
    // Prefixing the origin keeps a request target such as `//x/y` a path rather than a host.
    const url = new URL(`http://emulator.invalid${(req.url ?? '/').startsWith('/') ? req.url : '/'}`);
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const contentRange = typeof req.headers['content-range'] === 'string' ? req.headers['content-range'] : undefined;
    const contentLength = headerInteger(req.headers['content-length']) ?? undefined;
    const entry: RequestLogEntry = {
      time: state.options.now(),
      method,
      path,
      kind: 'other',
      bytesReceived: 0,
      status: 0,
      authorization: req.headers.authorization !== undefined,
    };
    if (contentRange !== undefined) entry.contentRange = contentRange;
    if (contentLength !== undefined) entry.contentLength = contentLength;
    this.log.push(entry);
    created(entry);

    const isApi = role !== 'upload' && (path === API_PREFIX || path.startsWith(`${API_PREFIX}/`));
    const upload: UploadTarget | undefined =
      role !== 'api' && isUploadPath(path) ? classifyUpload(method, path, contentRange) : undefined;
    const kind: RequestKind = isApi ? (isRowsRequest(method, path) ? 'rows' : 'api') : (upload?.kind ?? 'other');
    entry.kind = kind;
    if (upload?.tempUploadId !== undefined && state.records.has(upload.tempUploadId)) entry.tempUploadId = upload.tempUploadId;

    const fault = this.faults.select({ kind, tempUploadId: entry.tempUploadId, bodyLength: contentLength });
    if (fault !== undefined) entry.fault = describeFault(fault);
    const bodyFault = fault?.kind === 'status' || fault?.kind === 'reset' ? fault : undefined;
    const afterBytes = bodyFault?.afterBytes;
    const body = new BodyReader(req, (total) => (entry.bytesReceived = total), afterBytes);

    if (fault?.kind === 'stall') {
      // A client that gives up during the stall ends it, so its request is settled without waiting it out.
      const stall = new AbortController();
      const end = () => stall.abort();
      this.stalls.signal.addEventListener('abort', end);
      req.socket.once('close', end);
      try {
        await delay(fault.ms, undefined, { signal: stall.signal });
      } catch {
        return this.reset(req, entry);
      } finally {
        this.stalls.signal.removeEventListener('abort', end);
        req.socket.off('close', end);
      }
      if (req.socket.destroyed) return this.reset(req, entry);
    }
    if (fault?.kind === 'expire' || fault?.kind === 'terminate') {
      const record = entry.tempUploadId === undefined ? undefined : state.records.get(entry.tempUploadId);
      if (record?.session !== undefined && record.state === 'in_progress') record.state = fault.kind === 'expire' ? 'expired' : 'terminated';
    }

    if (bodyFault !== undefined && afterBytes !== undefined) {
      if (upload?.route === 'session') await persistPartial(this.uploadContext(req, url, upload, body), bodyFault.exactBytes === true);
      else while ((await body.next().catch(() => undefined)) !== undefined);
      if (bodyFault.kind === 'reset' || !(await body.drain())) return this.reset(req, entry);
      return this.send(req, res, entry, this.faultReply(bodyFault, kind), fault);
    }
    if (fault?.kind === 'status' && fault.afterProcessing !== true) {
      if (!(await body.drain())) return this.reset(req, entry);
      return this.send(req, res, entry, this.faultReply(fault, kind), fault);
    }

    let reply: Reply | undefined;
    if (isApi) reply = await this.api(req, url, path, body);
    else if (upload?.route === 'temp') reply = await handleTempUploadUrl(this.uploadContext(req, url, upload, body));
    else if (upload?.route === 'session') reply = await handleSessionUrl(this.uploadContext(req, url, upload, body));
    else reply = (await body.drain()) ? textReply(404, `Not found: ${method} ${path}`) : undefined;

    if (reply === undefined || fault?.kind === 'reset') return this.reset(req, entry);
    if (fault?.kind === 'status') return this.send(req, res, entry, this.faultReply(fault, kind), fault);
    return this.send(req, res, entry, reply, fault);
  }

  private uploadContext(req: IncomingMessage, url: URL, target: UploadTarget, body: BodyReader): UploadContext {
    const record = target.tempUploadId === undefined ? undefined : this.state.records.get(target.tempUploadId);
    return { state: this.state, method: req.method ?? 'GET', headers: req.headers, query: url.searchParams, record, body };
  }

  private async api(req: IncomingMessage, url: URL, path: string, body: BodyReader): Promise<Reply | undefined> {
    const { state } = this;
    const method = req.method ?? 'GET';
    const found = findApiRoute(state.options.errorShape, method, path);
    let reply: Reply;
    if ('error' in found) {
      reply = found.error;
    } else {
      reply =
        checkAuthorization(state, found.route, req.headers.authorization) ??
        (await found.route.handle(
          apiContext(state, { method, headers: req.headers, query: url.searchParams, params: found.params }, async () => {
            const pieces: Buffer[] = [];
            for (let piece = await body.next(); piece !== undefined; piece = await body.next()) pieces.push(piece);
            return Buffer.concat(pieces);
          }),
        ));
    }
    if (!(await body.drain())) return undefined;
    return reply;
  }

  private faultReply(fault: Extract<Fault, { kind: 'status' | 'reset' }>, kind: RequestKind): Reply {
    const status = fault.kind === 'status' ? fault.status : 503;
    const headers: Record<string, string> = {};
    if (fault.kind === 'status' && fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter;
    if (kind === 'api' || kind === 'rows') {
      return apiErrorReply(this.state.options.errorShape, status, apiErrorCodeFor(status), `Injected fault: HTTP ${status}`, { headers });
    }
    return textReply(status, `Injected fault: HTTP ${status}`, headers);
  }

  private send(req: IncomingMessage, res: ServerResponse, entry: RequestLogEntry, reply: Reply, fault: Fault | undefined): void {
    const headers = { ...reply.headers };
    // HEAD answers carry no body, so the API puts its error JSON in a header (also for injected faults).
    if (req.method === 'HEAD' && reply.status >= 400 && reply.body !== undefined && (entry.kind === 'api' || entry.kind === 'rows')) {
      headers['x-redivis-error-payload'] = encodeURIComponent(String(reply.body));
    }
    let status = reply.status;
    if (status === 308 && fault?.kind === 'omitRange') delete headers.range;
    if (status === 308 && String(req.headers['x-guploader-no-308']).toLowerCase() === 'yes') {
      headers['x-http-status-code-override'] = '308';
      status = 200;
    }
    entry.status = status;
    res.statusCode = status;
    if (reply.statusMessage !== undefined && status === reply.status) res.statusMessage = reply.statusMessage;
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    res.end(reply.body ?? '');
  }

  private reset(req: IncomingMessage, entry: RequestLogEntry): void {
    entry.status = 0;
    req.socket.destroy();
  }

  private verbose(entry: RequestLogEntry): void {
    if (!this.state.options.verbose) return;
    const fault = entry.fault === undefined ? '' : ` fault=${entry.fault}`;
    const range = entry.contentRange === undefined ? '' : ` range="${entry.contentRange}"`;
    process.stderr.write(
      `[emulator] ${entry.method} ${entry.path} ${entry.kind} -> ${entry.status || 'reset'} ${entry.bytesReceived}B${range}${fault}\n`,
    );
  }
}

/** Whether an API request inserts rows into a stream upload (`POST <upload.uri>/rows`). */
function isRowsRequest(method: string, path: string): boolean {
  return method === 'POST' && /^\/tables\/[^/]+\/uploads\/[^/]+\/rows\/?$/.test(path.slice(API_PREFIX.length));
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
