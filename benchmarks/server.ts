/**
 * The emulator, in a process of its own so its CPU and memory never count against a client. Started by the runner
 * with `fork(server.js, ['discard' | 'disk'])`; answers `prepare` (clear the log), `stats` (what it saw of some
 * uploads) and `close` over IPC.
 * @module
 */
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import type { ServerMessage, ServerRequest, ServerStats } from './protocol.js';

const storage = process.argv[2] === 'disk' ? 'disk' : 'discard';

function send(message: ServerMessage): void {
  process.send!(message);
}

function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

function collect(emulator: Emulator, asked: string[] | 'new', known: Set<string>, cpuAtPrepare: number): ServerStats {
  const ids = asked === 'new' ? emulator.listTempUploads().map((info) => info.id).filter((id) => !known.has(id)) : asked;
  const wanted = new Set(ids);
  const stats: ServerStats = {
    cpuSeconds: cpuSeconds() - cpuAtPrepare,
    finals: [],
    dataRequests: 0,
    statusRequests: 0,
    dataBytesReceived: 0,
    faultsApplied: 0,
  };
  for (const id of ids) {
    const info = emulator.getTempUpload(id);
    const name = info?.name ?? '';
    if (info?.final) stats.finals.push({ id, name, size: info.final.size, crc32c: info.final.crc32c });
    else stats.finals.push({ id, name, incomplete: info ? `${info.state}, ${info.persisted} bytes persisted` : 'unknown id' });
  }
  for (const entry of emulator.requestLog()) {
    if (entry.fault !== undefined) stats.faultsApplied += 1;
    if (entry.tempUploadId === undefined || !wanted.has(entry.tempUploadId)) continue;
    if (entry.kind === 'chunk') {
      stats.dataRequests += 1;
      stats.dataBytesReceived += entry.bytesReceived;
    } else if (entry.kind === 'status') {
      stats.statusRequests += 1;
    }
  }
  return stats;
}

async function main(): Promise<void> {
  const emulator = await startEmulator({ storage });
  let cpuAtPrepare = cpuSeconds();
  let closing = false;
  let known = new Set<string>();
  process.on('message', (raw) => {
    const request = raw as ServerRequest;
    try {
      switch (request.op) {
        case 'prepare':
          emulator.clearFaults();
          emulator.clearRequestLog();
          known = new Set(emulator.listTempUploads().map((info) => info.id));
          cpuAtPrepare = cpuSeconds();
          send({ type: 'reply', id: request.id });
          break;
        case 'stats':
          send({ type: 'reply', id: request.id, stats: collect(emulator, request.tempUploadIds, known, cpuAtPrepare) });
          break;
        case 'close':
          closing = true;
          void emulator.close().then(() => process.send!({ type: 'reply', id: request.id } satisfies ServerMessage, () => process.exit(0)));
          break;
      }
    } catch (error) {
      send({ type: 'reply', id: request.id, error: (error as Error).message });
    }
  });
  // The runner going away must not leave an emulator behind.
  process.on('disconnect', () => {
    if (!closing) void emulator.close().finally(() => process.exit(0));
  });
  send({ type: 'ready', endpoint: { apiEndpoint: emulator.apiEndpoint, origin: emulator.origin, token: emulator.token } });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
