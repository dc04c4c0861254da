import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./leaks-child.js', import.meta.url));

interface Report {
  scenario: string;
  outcome: string;
  baseline: string[];
  during: string[];
  settled: string[];
  after: string[];
  tmpAtStart: string[];
  tmp: string[];
}

interface ChildRun {
  code: number | null;
  stderr: string;
  reports: Report[];
  tmpLeft: string[];
}

/** Runs scenarios in a child whose TMPDIR is a fresh folder. The child never calls exit: it ends when idle. */
async function runChild(scenarios: string[], ms = 30_000): Promise<ChildRun> {
  const tmp = await mkdtemp(join(tmpdir(), 'leaks-'));
  try {
    const child = spawn(process.execPath, [CHILD, ...scenarios], { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const timer = setTimeout(() => child.kill(), ms);
    const [code] = (await once(child, 'close')) as [number | null];
    clearTimeout(timer);
    const reports = stdout.trim() === '' ? [] : stdout.trim().split('\n').map((line) => JSON.parse(line) as Report);
    return { code, stderr, reports, tmpLeft: await readdir(tmp) };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Names in `after` that were not in `before`, as a multiset difference. */
function extra(before: string[], after: string[]): string[] {
  const left = [...before];
  return after.filter((name) => {
    const index = left.indexOf(name);
    if (index < 0) return true;
    left.splice(index, 1);
    return false;
  });
}

const expected: Record<string, string> = {
  success: 'completed',
  faults: 'completed',
  abort: 'ERR_ABORTED',
  exhausted: 'ERR_RETRIES_EXHAUSTED',
  'stall-timeout': 'ERR_TIMEOUT',
  'size-mismatch': 'ERR_SIZE_MISMATCH',
  expired: 'ERR_SESSION_EXPIRED',
  'source-error': 'untyped Error: source failed',
  file: 'completed',
  'file-abort': 'ERR_ABORTED',
  // Last in its child: nothing closes undici's global dispatcher, so the child must still exit on its own.
  'global-dispatcher': 'completed',
};
const groups = [
  ['success', 'abort', 'exhausted', 'size-mismatch', 'source-error', 'global-dispatcher'],
  ['faults', 'stall-timeout', 'expired', 'file', 'file-abort'],
];
let runs: ChildRun[] = [];

before(async () => {
  runs = await Promise.all(groups.map((group) => runChild(group)));
});

describe('nothing is left behind by an upload, whatever its outcome', () => {
  test('each child exits by itself once its emulators and dispatchers are closed', () => {
    for (const run of runs) {
      assert.equal(run.code, 0, `the child did not exit by itself: ${run.stderr.slice(-1500)}`);
      assert.deepEqual(run.tmpLeft, []);
    }
  });

  for (const scenario of Object.keys(expected)) {
    test(`${scenario}: no socket, timer or temp file is left`, () => {
      const report = runs.flatMap((run) => run.reports).find((r) => r.scenario === scenario);
      assert.ok(report, `no report for ${scenario}: ${runs.map((run) => run.stderr.slice(-500)).join('\n')}`);
      assert.equal(report.outcome, expected[scenario]);
      assert.deepEqual(extra(report.baseline, report.after), [], `left: ${report.after.join(', ')} (before: ${report.baseline.join(', ')})`);
      assert.ok(report.tmpAtStart.some((entry) => entry.startsWith('redivis-emulator-')), `no emulator folder: ${report.tmpAtStart.join(', ')}`);
      assert.deepEqual(report.tmp, [], 'the emulator removed its temp folder on close');
      if (report.during.length > 0) assert.ok(report.during.includes('TCPSocketWrap'), 'the count sees sockets while they are open');
      // Once the upload has settled only keep-alive sockets and the emulator remain; the one timer allowed is the
      // emulator's own injected stall in the `faults` scenario.
      const timers = report.settled.filter((name) => name === 'Timeout').length;
      assert.equal(timers, scenario === 'faults' ? timers : 0, `timers left running after the upload settled: ${report.settled.join(', ')}`);
    });
  }
});
