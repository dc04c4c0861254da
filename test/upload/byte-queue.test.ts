import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteQueue, SMALL_WRITE_LIMIT } from '../../src/upload/byte-queue.js';

const seed = Number(process.env.TEST_SEED ?? Date.now() % 2 ** 31);

type Operation = { kind: 'push'; size: number } | { kind: 'drop'; fraction: number } | { kind: 'peek'; fraction: number };

const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ kind: fc.constant('push' as const), size: fc.oneof(fc.integer({ min: 0, max: 16 }), fc.integer({ min: 0, max: 70_000 })) }),
  fc.record({ kind: fc.constant('drop' as const), fraction: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ kind: fc.constant('peek' as const), fraction: fc.double({ min: 0, max: 1, noNaN: true }) }),
);

test('ByteQueue holds exactly the bytes pushed and not dropped, in order (property)', () => {
  fc.assert(
    fc.property(fc.array(operation, { maxLength: 200 }), fc.integer({ min: 0, max: 1e9 }), (operations, startOffset) => {
      const queue = new ByteQueue(startOffset);
      let model = Buffer.alloc(0);
      let modelStart = startOffset;
      let counter = 0;
      const views: Array<{ views: Buffer[]; expected: Buffer }> = [];
      for (const op of operations) {
        if (op.kind === 'push') {
          const data = Buffer.alloc(op.size);
          for (let i = 0; i < op.size; i++) data[i] = (counter++ * 31) & 0xff;
          queue.push(data);
          model = Buffer.concat([model, data]);
        } else if (op.kind === 'drop') {
          const n = Math.floor(op.fraction * model.length);
          queue.drop(n);
          model = model.subarray(n);
          modelStart += n;
        } else {
          const n = Math.floor(op.fraction * model.length);
          views.push({ views: queue.peek(n), expected: Buffer.from(model.subarray(0, n)) });
        }
        assert.equal(queue.length, model.length);
        assert.equal(queue.start, modelStart);
        assert.equal(queue.end, modelStart + model.length);
      }
      assert.deepEqual(Buffer.concat(queue.peek(queue.length)), model);
      // Views handed out earlier must not change when later bytes are pushed into a shared slab.
      for (const { views: taken, expected } of views) assert.deepEqual(Buffer.concat(taken), expected);
    }),
    { seed, numRuns: 200, verbose: 1 },
  );
});

test('small writes are coalesced, large writes are referenced without copying', () => {
  const queue = new ByteQueue();
  for (let i = 0; i < 10_000; i++) queue.push(Buffer.from([i & 0xff]));
  const views = queue.peek(queue.length);
  assert.ok(views.length <= 1, `10,000 one-byte writes became ${views.length} buffers`);
  const large = Buffer.alloc(SMALL_WRITE_LIMIT, 7);
  queue.push(large);
  const all = queue.peek(queue.length);
  assert.equal(all[all.length - 1], large);
});

test('peek, drop and rebase refuse impossible requests', () => {
  const queue = new ByteQueue(10);
  queue.push(Buffer.from('abc'));
  assert.throws(() => queue.peek(4), RangeError);
  assert.throws(() => queue.drop(4), RangeError);
  assert.throws(() => queue.rebase(20), RangeError);
  queue.drop(3);
  assert.throws(() => queue.rebase(12), RangeError);
  queue.rebase(20);
  assert.equal(queue.start, 20);
});
