/**
 * The runner's side of the server, link and client processes: fork, talk over IPC, time out, clean up.
 * @module
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ClientJob, ClientReport, Endpoint, FaultPlan, ServerKind, ServerMessage, ServerRequest, ServerStats } from './protocol.js';

const EMULATOR_SCRIPT = fileURLToPath(new URL('./server.js', import.meta.url));
const TRIVIAL_SCRIPT = fileURLToPath(new URL('./trivial-process.js', import.meta.url));
const LINK_SCRIPT = fileURLToPath(new URL('./link-proxy.js', import.meta.url));
const CLIENT_SCRIPT = fileURLToPath(new URL('./client.js', import.meta.url));
const LEAN_CLIENT_SCRIPT = fileURLToPath(new URL('./lean-client.js', import.meta.url));

/** A request without its id, one member of the union at a time. */
type RequestBody = ServerRequest extends infer R ? (R extends ServerRequest ? Omit<R, 'id'> : never) : never;

type Pending = { resolve: (message: ServerMessage & { type: 'reply' }) => void; reject: (error: Error) => void };

/** A running server process: the emulator (`discard` or `disk` storage) or the trivial server. */
export class ServerProcess {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private exited = false;

  private constructor(
    private readonly child: ChildProcess,
    readonly endpoint: Endpoint,
    readonly kind: ServerKind,
  ) {
    child.on('message', (raw) => {
      const message = raw as ServerMessage;
      if (message.type !== 'reply') return;
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      waiter?.resolve(message);
    });
    child.on('exit', (code, signal) => {
      this.exited = true;
      for (const waiter of this.pending.values()) waiter.reject(new Error(`the ${kind} server process exited (${code ?? signal})`));
      this.pending.clear();
    });
  }

  static start(kind: ServerKind): Promise<ServerProcess> {
    const [script, args] = kind === 'trivial' ? [TRIVIAL_SCRIPT, []] : [EMULATOR_SCRIPT, [kind]];
    const child = fork(script, args, { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the ${kind} server process exited before it was ready (${code})`));
      child.once('exit', onExit);
      child.once('message', (raw) => {
        const message = raw as ServerMessage;
        child.off('exit', onExit);
        if (message.type === 'ready') resolve(new ServerProcess(child, message.endpoint, kind));
        else reject(new Error(`the ${kind} server process did not report ready`));
      });
    });
  }

  /** The port the server listens on, for a link in front of it. */
  get port(): number {
    return Number(new URL(this.endpoint.origin).port);
  }

  private call(request: RequestBody): Promise<ServerMessage & { type: 'reply' }> {
    if (this.exited) return Promise.reject(new Error(`the ${this.kind} server process has exited`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ ...request, id } as ServerRequest);
    }).then((reply) => {
      const message = reply as ServerMessage & { type: 'reply' };
      if (message.error !== undefined) throw new Error(`${this.kind} server: ${message.error}`);
      return message;
    });
  }

  async prepare(faults?: FaultPlan): Promise<void> {
    await this.call({ op: 'prepare', ...(faults ? { faults } : {}) });
  }

  async stats(tempUploadIds: string[] | 'new'): Promise<ServerStats> {
    const reply = await this.call({ op: 'stats', tempUploadIds });
    return reply.stats!;
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    await this.call({ op: 'close' }).catch(() => undefined);
    const timer = setTimeout(() => this.child.kill(), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/** The link proxy (`link-proxy.ts`) in a process of its own, in front of a server on loopback. */
export class LinkProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  static start(targetPort: number, rttMs: number, bitsPerSecond: number): Promise<LinkProcess> {
    const child = fork(LINK_SCRIPT, [String(targetPort), String(rttMs), String(bitsPerSecond)], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the link proxy exited before it was ready (${code})`));
      child.once('exit', onExit);
      child.once('message', (raw) => {
        child.off('exit', onExit);
        resolve(new LinkProcess(child, (raw as { port: number }).port));
      });
    });
  }

  /** The server's endpoint as seen through the link: every URL the server hands out then goes through it too. */
  endpointFor(endpoint: Endpoint): Endpoint {
    const origin = `http://127.0.0.1:${this.port}`;
    const api = new URL(endpoint.apiEndpoint);
    return { ...endpoint, origin, apiEndpoint: `${origin}${api.pathname}` };
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    // The proxy exits when its IPC channel closes.
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill(), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Runs one job in a fresh client process; rejects when it crashes or exceeds `timeoutMs`. */
export function runClient(job: ClientJob, options: { timeoutMs: number; execArgv: string[] }): Promise<ClientReport> {
  const script = job.spec.lean === true ? LEAN_CLIENT_SCRIPT : CLIENT_SCRIPT;
  const child = fork(script, [], { execArgv: options.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise<ClientReport>((resolve, reject) => {
    let report: ClientReport | undefined;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out after ${Math.round(options.timeoutMs / 1000)} s`));
    }, options.timeoutMs);
    child.on('message', (message) => {
      report = message as ClientReport;
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (report !== undefined) resolve(report);
      else reject(new Error(`the client process exited without a report (${code ?? signal})`));
    });
    child.send(job);
  });
}
