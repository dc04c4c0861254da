/**
 * A user-space model of a network link between two loopback endpoints: every byte is delayed by half the round
 * trip in each direction and serialised at the link's bandwidth, behind a bottleneck queue of one bandwidth-delay
 * product (a full queue pauses the sender, as a router's full buffer does through TCP). Loopback only.
 *
 * Run as a process of its own (`fork(link-proxy.js)`), so its work never counts against a client's CPU; it reports
 * `{ port }` over IPC once listening. Also usable in-process through {@link startLinkProxy}.
 * @module
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface LinkOptions {
  /** Where connections go, on loopback. */
  targetPort: number;
  /** Round-trip time added, milliseconds. */
  rttMs: number;
  /** Bandwidth of each direction, bits per second. */
  bitsPerSecond: number;
}

interface InTransit {
  data: Buffer;
  deliverAt: number;
}

/** One direction of a connection. */
class Lane {
  private readonly queue: InTransit[] = [];
  private queuedBytes = 0;
  private lastDeparture = 0;
  private timer: NodeJS.Timeout | undefined;
  private ended = false;

  get hasEnded(): boolean {
    return this.ended;
  }
  private readonly limit: number;

  constructor(
    private readonly from: Socket,
    private readonly to: Socket,
    private readonly oneWayMs: number,
    private readonly bytesPerMs: number,
  ) {
    // One bandwidth-delay product of queue, at least 256 KiB.
    this.limit = Math.max(262_144, Math.round(bytesPerMs * oneWayMs * 2));
    from.on('data', (data: Buffer) => this.accept(data));
    from.on('end', () => {
      this.ended = true;
      this.flush();
    });
  }

  private accept(data: Buffer): void {
    const now = performance.now();
    const departure = Math.max(now, this.lastDeparture) + data.length / this.bytesPerMs;
    this.lastDeparture = departure;
    this.queue.push({ data, deliverAt: departure + this.oneWayMs });
    this.queuedBytes += data.length;
    if (this.queuedBytes >= this.limit) this.from.pause();
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== undefined || this.queue.length === 0) return;
    const wait = Math.max(0, this.queue[0]!.deliverAt - performance.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, wait);
  }

  private flush(): void {
    const now = performance.now();
    while (this.queue.length > 0 && this.queue[0]!.deliverAt <= now + 0.5) {
      const item = this.queue.shift()!;
      this.queuedBytes -= item.data.length;
      if (!this.to.destroyed) this.to.write(item.data);
    }
    if (this.queuedBytes < this.limit && this.from.isPaused()) this.from.resume();
    if (this.queue.length === 0 && this.ended && !this.to.destroyed) this.to.end();
    this.schedule();
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
  }
}

export interface LinkProxy {
  port: number;
  close(): Promise<void>;
}

export async function startLinkProxy(options: LinkOptions): Promise<LinkProxy> {
  const sockets = new Set<Socket>();
  const oneWayMs = options.rttMs / 2;
  const bytesPerMs = options.bitsPerSecond / 8 / 1000;
  const server: Server = createServer((client) => {
    const upstream = connect({ host: '127.0.0.1', port: options.targetPort });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    sockets.add(client);
    sockets.add(upstream);
    const toUpstream = new Lane(client, upstream, oneWayMs, bytesPerMs);
    const toClient = new Lane(upstream, client, oneWayMs, bytesPerMs);
    const teardown = () => {
      toUpstream.stop();
      toClient.stop();
      client.destroy();
      upstream.destroy();
    };
    // A reset cuts both sides at once; a graceful close lets the other direction's bytes in transit arrive first.
    client.on('error', teardown);
    upstream.on('error', teardown);
    const closed = (socket: Socket, inbound: Lane, outbound: Lane, other: Socket) => () => {
      sockets.delete(socket);
      inbound.stop();
      if (!outbound.hasEnded) other.destroy();
    };
    client.on('close', closed(client, toClient, toUpstream, upstream));
    upstream.on('close', closed(upstream, toUpstream, toClient, client));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

if (process.send !== undefined && process.argv[1]?.endsWith('link-proxy.js')) {
  const [targetPort, rttMs, bitsPerSecond] = process.argv.slice(2).map(Number);
  const proxy = await startLinkProxy({ targetPort: targetPort!, rttMs: rttMs!, bitsPerSecond: bitsPerSecond! });
  process.send({ port: proxy.port });
  process.on('disconnect', () => void proxy.close().finally(() => process.exit(0)));
}
