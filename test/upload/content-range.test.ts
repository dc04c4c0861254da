import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatContentRange,
  parseContentRange,
  formatRangeHeader,
  parseRangeHeader,
} from '../../src/upload/content-range.js';

test('formatContentRange covers every form', () => {
  assert.equal(formatContentRange(0, 524288, 2000000), 'bytes 0-524287/2000000');
  assert.equal(formatContentRange(262144, 262144, undefined), 'bytes 262144-524287/*');
  assert.equal(formatContentRange(0, 0, undefined), 'bytes */*');
  assert.equal(formatContentRange(0, 0, 0), 'bytes */0');
  assert.equal(formatContentRange(5, 0, 10), 'bytes */10');
});

test('parseContentRange accepts the protocol forms', () => {
  assert.deepEqual(parseContentRange('bytes 0-9/10'), { kind: 'chunk', first: 0, last: 9, total: 10 });
  assert.deepEqual(parseContentRange('bytes 0-9/*'), { kind: 'chunk', first: 0, last: 9, total: undefined });
  assert.deepEqual(parseContentRange('bytes */*'), { kind: 'status', total: undefined });
  assert.deepEqual(parseContentRange('bytes */0'), { kind: 'status', total: 0 });
  assert.deepEqual(parseContentRange('bytes 7-*/*'), { kind: 'open', first: 7 });
});

test('parseContentRange refuses malformed headers', () => {
  for (const bad of [undefined, '', 'bytes', 'bytes 0-9', 'bytes 9-0/10', 'bytes 0-10/10', 'items 0-9/10',
    'bytes -1-9/10', 'bytes 01-9/10', 'bytes 0-*/10', 'bytes a-b/c', 'bytes */-1', 'bytes 0-9/1e3',
    'bytes 0-99999999999999999999/*']) {
    assert.equal(parseContentRange(bad), undefined, String(bad));
  }
});

test('Range header round trip and malformed values', () => {
  assert.equal(formatRangeHeader(0), undefined);
  assert.equal(formatRangeHeader(43), 'bytes=0-42');
  assert.equal(parseRangeHeader(undefined), 0);
  assert.equal(parseRangeHeader('bytes=0-42'), 43);
  assert.equal(parseRangeHeader(['bytes=0-0']), 1);
  for (const bad of ['bytes=1-42', 'bytes=0-', '0-42', 'bytes=0-x', ['bytes=0-1', 'bytes=0-2']]) {
    assert.equal(parseRangeHeader(bad), undefined, String(bad));
  }
});
