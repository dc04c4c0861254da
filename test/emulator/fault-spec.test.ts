import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../../src/errors.js';
import { parseFaultSpec } from '../../src/emulator/index.js';

test('parseFaultSpec reads the documented example', () => {
  assert.deepEqual(parseFaultSpec('503@chunk#2,reset:1048576@chunk#3,stall:2000@status,omitRange@chunk#1,429:retry=1@chunk'), [
    { fault: { kind: 'status', status: 503 }, match: { kind: 'chunk', nth: 2 } },
    { fault: { kind: 'reset', afterBytes: 1048576 }, match: { kind: 'chunk', nth: 3 } },
    { fault: { kind: 'stall', ms: 2000 }, match: { kind: 'status' } },
    { fault: { kind: 'omitRange' }, match: { kind: 'chunk', nth: 1 } },
    { fault: { kind: 'status', status: 429, retryAfter: '1' }, match: { kind: 'chunk' } },
  ]);
});

test('parseFaultSpec reads every fault form, targets and repeat counts', () => {
  assert.deepEqual(parseFaultSpec(' 500:after=262144:retry=3 , 502:100 , reset , reset:after=5 '), [
    { fault: { kind: 'status', status: 500, afterBytes: 262144, retryAfter: '3' } },
    { fault: { kind: 'status', status: 502, afterBytes: 100 } },
    { fault: { kind: 'reset' } },
    { fault: { kind: 'reset', afterBytes: 5 } },
  ]);
  assert.deepEqual(parseFaultSpec('expire@status|finalize~abc123#4*2,terminate@~xyz,omitRange*,408@api*3,504@initiate|simple|cancel|other'), [
    { fault: { kind: 'expire' }, match: { kind: ['status', 'finalize'], tempUploadId: 'abc123', nth: 4 }, times: 2 },
    { fault: { kind: 'terminate' }, match: { tempUploadId: 'xyz' } },
    { fault: { kind: 'omitRange' }, times: Infinity },
    { fault: { kind: 'status', status: 408 }, match: { kind: 'api' }, times: 3 },
    { fault: { kind: 'status', status: 504 }, match: { kind: ['initiate', 'simple', 'cancel', 'other'] } },
  ]);
});

test('parseFaultSpec reads exact persistence of a part of a chunk', () => {
  assert.deepEqual(parseFaultSpec('503:after=1000:exact@chunk#2,reset:7:exact,reset:after=9:exact'), [
    { fault: { kind: 'status', status: 503, afterBytes: 1000, exactBytes: true }, match: { kind: 'chunk', nth: 2 } },
    { fault: { kind: 'reset', afterBytes: 7, exactBytes: true } },
    { fault: { kind: 'reset', afterBytes: 9, exactBytes: true } },
  ]);
});

test('parseFaultSpec reads rows targets and status faults after processing', () => {
  assert.deepEqual(parseFaultSpec('503:processed@rows#2,reset:0@rows,reset@rows*2,stall:100@rows|chunk'), [
    { fault: { kind: 'status', status: 503, afterProcessing: true }, match: { kind: 'rows', nth: 2 } },
    { fault: { kind: 'reset', afterBytes: 0 }, match: { kind: 'rows' } },
    { fault: { kind: 'reset' }, match: { kind: 'rows' }, times: 2 },
    { fault: { kind: 'stall', ms: 100 }, match: { kind: ['rows', 'chunk'] } },
  ]);
});

test('parseFaultSpec refuses bad syntax with InvalidArgumentError', () => {
  for (const bad of ['', '503,', '404', 'reset:x', 'reset:1:2', 'stall', 'stall:-1', 'stall:1.5', 'expire:1', 'omitRange@upload',
    '503@chunk#0', '503@chunk#x', '503*0', '503:retry=', '503:foo', 'boom', '503@chunk@status', '503:processed:after=1', 'reset:processed',
    '503:exact', 'reset:exact', 'reset:1:exact:2']) {
    assert.throws(() => parseFaultSpec(bad), (error: unknown) => {
      assert.ok(error instanceof InvalidArgumentError, bad);
      assert.equal(error.code, 'ERR_INVALID_ARGUMENT');
      assert.equal(error.argument, 'faults');
      assert.match(error.message, /FAULT\[@TARGET\]/);
      return true;
    }, bad);
  }
});
