/**
 * A seeded TCP proxy on loopback that damages connections: it cuts them at random byte offsets in either direction
 * (closing or resetting both sides), stalls forwarding for a while, and trickles bytes in tiny pieces.
 *
 * Upload URLs are absolute to the emulator's origin (the session `Location` too, built from the emulator's own
 * origin, not from the Host header), so rewriting URLs cannot route a whole upload through a proxy. Instead
 * {@link ChaosProxy.connector} gives undici a connector that dials the proxy for every origin: pass
 * `new Agent({ connect: proxy.connector() })` as the dispatcher and every request (API call, temp upload URL, session
 * URL) crosses the proxy with its URL and Host header untouched.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { buildConnector } from 'undici';
import { prng } from './data.js';

/**
 * What the proxy may do. Each direction of each connection is cut into windows (`maxUpstreamCut` bytes up,
 * `maxDownstreamCut` down); the probabilities are per window, so long-lived keep-alive connections keep meeting
 * trouble.
 */
export interface ChaosOptions {
  seed: number;
  target: { host: string; port: number };
  /** Chance that a window ends the connection at a random offset in it. @default 0.3 */
  cutProbability?: number;
  /** Window of client-to-server bytes, bytes. @default 2 MiB */
  maxUpstreamCut?: number;
  /** Window of server-to-client bytes, bytes (answers are small). @default 600 */
  maxDownstreamCut?: number;
  /** Chance that a window pauses once. @default 0.2 */
  stallProbability?: number;
  /** Shortest pause, ms. @default 1 */
  minStallMs?: number;
  /** Longest pause, ms. @default 300 */
  maxStallMs?: number;
  /** Directions that may pause. @default ['up', 'down'] */
  stallDirections?: Array<'up' | 'down'>;
  /** Most pauses over the proxy's life. @default Infinity */
  maxStalls?: number;
  /** Pause at the first byte of a window rather than at a random offset in it (short answers are then sure to pause). @default false */
  stallAtWindowStart?: boolean;
  /** Chance that a window trickles a stretch of its bytes. @default 0.2 */
  trickleProbability?: number;
  /** Longest trickled stretch, bytes. @default 4096 */
  maxTrickleBytes?: number;
}

/** What the proxy did so far. */
export interface ChaosStats {
  connections: number;
  cuts: number;
  resets: number;
  stalls: number;
  trickles: number;
  bytesUp: number;
  bytesDown: number;
}

export interface ChaosProxy {
  host: string;
  port: number;
  stats: ChaosStats;
  /** An undici connector that sends every connection, whatever its origin, to this proxy. */
  connector(): buildConnector.connector;
  close(): Promise<void>;
}

/** Events planned for one window of a direction's bytes, at absolute offsets. */
interface WindowPlan {
  end: number;
  cutAt: number | undefined;
  /** Reset (RST) rather than close when cutting. */
  reset: boolean;
  stallAt: number | undefined;
  stallMs: number;
  trickleFrom: number | undefined;
  trickleTo: number;
}

export async function startChaosProxy(options: ChaosOptions): Promise<ChaosProxy> {
  const random = prng(options.seed);
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const chance = (p: number) => random() < p;
  const cutP = options.cutProbability ?? 0.3;
  const stallP = options.stallProbability ?? 0.2;
  const trickleP = options.trickleProbability ?? 0.2;
  const maxStallMs = options.maxStallMs ?? 300;
  const maxTrickle = options.maxTrickleBytes ?? 4096;
  const stats: ChaosStats = { connections: 0, cuts: 0, resets: 0, stalls: 0, trickles: 0, bytesUp: 0, bytesDown: 0 };
  const sockets = new Set<Socket>();
  const closing = new AbortController();

  const stallDirections = options.stallDirections ?? ['up', 'down'];
  const maxStalls = options.maxStalls ?? Infinity;
  const plan = (start: number, window: number, direction: 'up' | 'down'): WindowPlan => {
    const at = () => start + int(0, window - 1);
    const trickleFrom = chance(trickleP) ? at() : undefined;
    return {
      end: start + window,
      cutAt: chance(cutP) ? at() : undefined,
      reset: chance(0.5),
      stallAt: chance(stallP) && stallDirections.includes(direction) ? (options.stallAtWindowStart ? start : at()) : undefined,
      stallMs: int(options.minStallMs ?? 1, maxStallMs),
      trickleFrom,
      trickleTo: trickleFrom === undefined ? 0 : trickleFrom + int(1, maxTrickle),
    };
  };

  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // Errors end the pumps; the listener keeps them from being thrown.
    socket.on('error', () => {});
  };

  const server: Server = createServer((client) => {
    stats.connections += 1;
    const upstream = connect(options.target.port, options.target.host);
    track(client);
    track(upstream);
    const random2 = prng(int(0, 2 ** 31));
    const cut = (window: WindowPlan) => {
      stats.cuts += 1;
      if (window.reset) {
        stats.resets += 1;
        client.resetAndDestroy();
        upstream.resetAndDestroy();
      } else {
        client.destroy();
        upstream.destroy();
      }
    };
    const pump = async (from: Socket, to: Socket, direction: 'up' | 'down', windowSize: number, count: (n: number) => void) => {
      let offset = 0;
      let window = plan(0, windowSize, direction);
      let stalled = false;
      let trickled = false;
      try {
        for await (const received of from as AsyncIterable<Buffer>) {
          let data = received;
          while (data.length > 0) {
            if (offset >= window.end) {
              window = plan(window.end, windowSize, direction);
              stalled = trickled = false;
            }
            if (offset === window.cutAt) return cut(window);
            if (offset === window.stallAt && !stalled && stats.stalls < maxStalls) {
              stalled = true;
              stats.stalls += 1;
              await delay(window.stallMs, undefined, { signal: closing.signal });
            }
            const inTrickle = window.trickleFrom !== undefined && offset >= window.trickleFrom && offset < window.trickleTo;
            let length = Math.min(data.length, window.end - offset);
            if (inTrickle) {
              if (!trickled) stats.trickles += 1;
              trickled = true;
              length = Math.min(length, 1 + Math.floor(random2() * 64), window.trickleTo - offset);
            }
            // Stop at the next planned event so it happens at its exact offset.
            for (const at of [window.cutAt, stalled ? undefined : window.stallAt, window.trickleFrom]) {
              if (at !== undefined && at > offset) length = Math.min(length, at - offset);
            }
            if (to.destroyed) return;
            const piece = data.subarray(0, length);
            data = data.subarray(length);
            offset += length;
            count(length);
            if (!to.write(piece)) await drained(to);
            if (inTrickle) {
              if (random2() < 0.1) await delay(1, undefined, { signal: closing.signal });
              else await new Promise((resolve) => setImmediate(resolve));
            }
          }
        }
        to.end();
      } catch {
        client.destroy();
        upstream.destroy();
      }
    };
    void pump(client, upstream, 'up', options.maxUpstreamCut ?? 2 * 1024 * 1024, (n) => (stats.bytesUp += n));
    void pump(upstream, client, 'down', options.maxDownstreamCut ?? 600, (n) => (stats.bytesDown += n));
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;

  return {
    host: '127.0.0.1',
    port,
    stats,
    connector() {
      const base = buildConnector({});
      return (connectOptions, callback) => base({ ...connectOptions, hostname: '127.0.0.1', port: String(port) }, callback);
    },
    close: () =>
      new Promise<void>((resolve) => {
        closing.abort();
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/** Resolves when `socket` drains or closes, whichever comes first. */
function drained(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve();
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}
