/** Which scripted rule applies when several match one request: the most specific, then the first added. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFaultSpec, type FaultRule, type RequestKind } from '../../src/emulator/index.js';
import { describeFault, FaultEngine } from '../../src/emulator/faults.js';
import { harness, putChunk, Q, seededBytes, startSession } from './helpers.js';

/** The fault label each request gets, in order ('-' for none). */
function run(rules: FaultRule[], requests: Array<[RequestKind, string?]>): string[] {
  const engine = new FaultEngine(rules, undefined);
  return requests.map(([kind, tempUploadId]) => {
    const fault = engine.select({ kind, tempUploadId, bodyLength: undefined });
    return fault === undefined ? '-' : describeFault(fault);
  });
}

const chunks = (n: number): Array<[RequestKind]> => Array.from({ length: n }, () => ['chunk']);

test('an #n rule is not starved by an earlier catch-all', () => {
  assert.deepEqual(
    run(parseFaultSpec('omitRange*,503@chunk#2,reset@chunk#3'), chunks(4)),
    ['omitRange', '503', 'reset', 'omitRange'],
  );
  assert.deepEqual(run(parseFaultSpec('500@chunk*,503@chunk#2*2'), chunks(4)), ['500', '503', '503', '500']);
});

test('then a rule naming a temp upload, then one naming kinds, then a finite one over an unlimited one', () => {
  assert.deepEqual(
    run(parseFaultSpec('503@chunk*,500@~a'), [['chunk', 'a'], ['chunk', 'a'], ['chunk', 'b']]),
    ['500', '503', '503'],
  );
  assert.deepEqual(
    run(parseFaultSpec('omitRange*,504@status*2'), [['status'], ['chunk'], ['status'], ['status']]),
    ['504', 'omitRange', '504', 'omitRange'],
  );
  assert.deepEqual(run(parseFaultSpec('503@chunk*,reset@chunk'), chunks(3)), ['reset', '503', '503']);
});

test('at a tie the first added applies; a rule without #n that loses is not used up', () => {
  assert.deepEqual(run(parseFaultSpec('502@chunk,503@chunk'), chunks(3)), ['502', '503', '-']);
  assert.deepEqual(run(parseFaultSpec('500@chunk,503@chunk#1'), chunks(3)), ['503', '500', '-']);
});

test('a positional rule fires only at its positions: one taken by an earlier positional rule is skipped', () => {
  assert.deepEqual(run(parseFaultSpec('502@chunk#2*2,503@chunk#3'), chunks(5)), ['-', '502', '502', '-', '-']);
  // Every matching rule counts the request, whichever fires.
  assert.deepEqual(run(parseFaultSpec('500@chunk*3,503@chunk#2'), chunks(5)), ['500', '503', '500', '500', '-']);
});

test('the precedence holds end to end: a --faults spec with a catch-all and #n rules over real chunks', async () => {
  const h = await harness({ faults: parseFaultSpec('omitRange@chunk*,503@chunk#2,reset@chunk#3') });
  try {
    const data = seededBytes(777, 3 * Q);
    const { session } = await startSession(h, data.length);
    const first = await putChunk(h, session, 0, data.subarray(0, Q), data.length);
    assert.deepEqual([first.status, first.headers.range], [308, undefined]);
    assert.equal((await putChunk(h, session, Q, data.subarray(Q, 2 * Q), data.length)).status, 503);
    await assert.rejects(putChunk(h, session, Q, data.subarray(Q, 2 * Q), data.length));
    const last = await putChunk(h, session, 2 * Q, data.subarray(2 * Q), data.length);
    assert.equal(last.status, 200);
    const faults = h.emu.requestLog().filter((entry) => entry.kind === 'chunk').map((entry) => entry.fault ?? '-');
    assert.deepEqual(faults, ['omitRange', '503', 'reset', 'omitRange'], 'seed 777');
  } finally {
    await h.close();
  }
});
