/**
 * The body of a client process: one case in a process of its own, so its CPU time and peak RSS are its alone.
 * Forked by the runner (as `client.js`, or `lean-client.js` for a lean case), it receives a {@link ClientJob} over
 * IPC, runs it once and answers a {@link ClientReport}.
 * @module
 */
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { setImmediate as turn } from 'node:timers/promises';
import { runCase, SkipCase, Timer } from './client-cases.js';
import type { ClientJob, ClientReport } from './protocol.js';
import { makePattern } from './source.js';

function peakRss(): number {
  // maxRSS is in KiB on Linux and macOS.
  return process.resourceUsage().maxRSS * 1024;
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  let text = `${error.name}${typeof code === 'string' ? ` [${code}]` : ''}: ${error.message}`;
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error) text += ` (cause: ${cause.message})`;
  return text;
}

/** Counts full garbage collections from now on (V8 reports them a little after they end: see `count`). */
function countFullGcs(): { count: () => Promise<number> } {
  let full = 0;
  const isFull = (entry: PerformanceEntry) => (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR;
  const observer = new PerformanceObserver((list) => {
    full += list.getEntries().filter(isFull).length;
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    count: async () => {
      await turn();
      full += observer.takeRecords().filter(isFull).length;
      observer.disconnect();
      return full;
    },
  };
}

async function run(job: ClientJob): Promise<ClientReport> {
  const pattern = makePattern();
  const timer = new Timer();
  try {
    const gcs = countFullGcs();
    const outcome = await runCase(job, pattern, timer);
    const fullGcs = await gcs.count();
    return {
      fullGcs,
      ok: true,
      seconds: timer.seconds,
      cpuUserSeconds: timer.cpu.user / 1e6,
      cpuSystemSeconds: timer.cpu.system / 1e6,
      peakRss: peakRss(),
      ...outcome,
    };
  } catch (error) {
    return { ok: false, skipped: error instanceof SkipCase, error: describe(error), peakRss: peakRss() };
  }
}

/** Answers the runner's one job, then exits. */
export function serveOneJob(): void {
  process.once('message', (job) => {
    void run(job as ClientJob).then((report) => {
      // Exit at once: a lingering keep-alive socket or timer must not hold the process (or its profile) open.
      process.send!(report, () => process.exit(0));
    });
  });
}
