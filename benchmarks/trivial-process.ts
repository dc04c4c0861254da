/**
 * The trivial server in a process of its own, so its CPU never counts against a client. Started by the runner with
 * `fork(trivial-process.js)`; answers `prepare` (clear the counters, set the faults of the next uploads), `stats`
 * and `close` over IPC, like the emulator's process (`server.ts`).
 * @module
 */
import type { ServerMessage, ServerRequest } from './protocol.js';
import { makePattern } from './source.js';
import { TrivialServer } from './trivial-server.js';

function send(message: ServerMessage, then: () => void = () => undefined): void {
  process.send!(message, then);
}

function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

const server = new TrivialServer(makePattern());
const origin = await server.listen();
let cpuAtPrepare = cpuSeconds();
let closing = false;

process.on('message', (raw) => {
  const request = raw as ServerRequest;
  try {
    switch (request.op) {
      case 'prepare':
        server.prepare(request.faults);
        cpuAtPrepare = cpuSeconds();
        send({ type: 'reply', id: request.id });
        break;
      case 'stats': {
        const ids = request.tempUploadIds === 'new' ? [] : request.tempUploadIds;
        send({ type: 'reply', id: request.id, stats: { ...server.stats(ids), cpuSeconds: cpuSeconds() - cpuAtPrepare } });
        break;
      }
      case 'close':
        closing = true;
        void server.close().then(() => send({ type: 'reply', id: request.id }, () => process.exit(0)));
        break;
    }
  } catch (error) {
    send({ type: 'reply', id: request.id, error: (error as Error).message });
  }
});
// The runner going away must not leave a server behind.
process.on('disconnect', () => {
  if (!closing) void server.close().finally(() => process.exit(0));
});
send({ type: 'ready', endpoint: { apiEndpoint: `${origin}/api/v1`, origin, token: server.token } });
