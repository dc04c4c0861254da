/**
 * Fault fuzzing from the command line:
 *   node build/test/hardening/fuzz-cli.js --runs N --seed S [--lanes L] [--max-size BYTES] [--deadline-ms MS]
 *     [--show CODE ...] [--strict] [--chaos]
 * Run i uses the schedule of seed S + i, so a failure is replayed with `--seed <its seed> --runs 1`. Prints
 * progress, every failure with its seed and schedule, and a summary line `N passed, M failed`; exits 1 when any run
 * failed. `--show ERR_X` (repeatable) also prints the schedules that ended in that outcome.
 *
 * A run that failed although the server completed the upload byte-exact (the answer to the completing request was
 * lost and the retry budget ran out) passes when resuming its kept session finds the upload; `--strict` counts it as
 * a failure. `--chaos` also sends every request of the stream through a chaos proxy (test/support/chaos-proxy.ts)
 * that cuts, stalls and trickles connections; it is seeded, but timing decides which request meets which event.
 */
import { parseArgs } from 'node:util';
import { generateSchedule, runSeedAt } from '../support/fuzz-schedule.js';
import { runSchedule, startFuzzLane, type FuzzOutcome } from '../support/fuzz-run.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '1000' },
    seed: { type: 'string' },
    lanes: { type: 'string', default: '2' },
    'max-size': { type: 'string' },
    'deadline-ms': { type: 'string', default: '30000' },
    show: { type: 'string', multiple: true, default: [] },
    strict: { type: 'boolean', default: false },
    chaos: { type: 'boolean', default: false },
  },
});

function count(name: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) {
    process.stderr.write(`--${name} must be an integer >= ${min}, got ${text}\n`);
    process.exit(2);
  }
  return value;
}

const runs = count('runs', values.runs, 1)!;
const seed = count('seed', values.seed, 0) ?? Math.floor(Math.random() * 2 ** 31);
const lanes = Math.min(count('lanes', values.lanes, 1)!, runs);
const maxSize = count('max-size', values['max-size'], 0);
const deadlineMs = count('deadline-ms', values['deadline-ms'], 1)!;

process.stdout.write(`fuzzing ${runs} schedules from seed ${seed} in ${lanes} lanes${values.chaos ? ' through chaos proxies' : ''}\n`);
const started = Date.now();
let next = 0;
let passed = 0;
const failures: FuzzOutcome[] = [];
const codes = new Map<string, number>();
let lastReport = 0;
let lastDone = Date.now();
const inFlight = new Set<number>();

// A run that outlives its own deadline would stall its lane silently: report it and stop.
const watchdog = setInterval(() => {
  if (Date.now() - lastDone < 3 * deadlineMs + 10_000) return;
  process.stdout.write(`FAIL stuck: no run finished for ${Date.now() - lastDone} ms; in flight: seeds ${[...inFlight].join(' ')}\n`);
  process.stdout.write(`${passed} passed, ${failures.length + inFlight.size} failed (seed ${seed})\n`);
  process.exit(1);
}, 1_000);

async function lane(laneIndex: number): Promise<void> {
  const state = await startFuzzLane(values.chaos ? { chaos: { seed: (seed + 7919 * (laneIndex + 1)) >>> 0 } } : {});
  try {
    for (let index = next++; index < runs; index = next++) {
      const schedule = generateSchedule(runSeedAt(seed, index), maxSize === undefined ? {} : { maxSize });
      let result: FuzzOutcome;
      inFlight.add(schedule.seed);
      try {
        result = await runSchedule(state, schedule, deadlineMs);
      } catch (error) {
        result = { seed: schedule.seed, outcome: 'failed', code: undefined, retries: 0, durationMs: 0, violation: `the run itself threw: ${String(error)}` };
      }
      inFlight.delete(schedule.seed);
      lastDone = Date.now();
      const key = result.outcome === 'failed' ? (result.code ?? 'untyped') : result.outcome === 'ambiguous' ? `ambiguous ${result.code}` : 'completed';
      codes.set(key, (codes.get(key) ?? 0) + 1);
      if (values.show.includes(key)) process.stdout.write(`${key} seed ${result.seed}: ${JSON.stringify(schedule)}\n`);
      if (values.strict && result.outcome === 'ambiguous' && result.violation === undefined) {
        result.violation = `failed with ${result.code} although the server completed the upload byte-exact (resuming the session finds it)`;
      }
      if (result.violation === undefined) passed += 1;
      else {
        failures.push(result);
        process.stdout.write(`FAIL seed ${result.seed}: ${result.violation}\n`);
      }
      const done = passed + failures.length;
      if (Date.now() - lastReport > 5_000 || done === runs) {
        lastReport = Date.now();
        process.stdout.write(`  ${done}/${runs} (${failures.length} failed, ${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
      }
    }
  } finally {
    await state.close();
  }
}

await Promise.all(Array.from({ length: lanes }, (_, laneIndex) => lane(laneIndex)));
clearInterval(watchdog);
const outcomes = [...codes.entries()].sort((a, b) => b[1] - a[1]).map(([key, n]) => `${key} ${n}`).join(', ');
process.stdout.write(`outcomes: ${outcomes}\n`);
if (failures.length > 0) process.stdout.write(`failing seeds: ${failures.map((f) => f.seed).join(' ')}\n`);
process.stdout.write(`${passed} passed, ${failures.length} failed (seed ${seed}, ${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
process.exitCode = failures.length > 0 ? 1 : 0;
