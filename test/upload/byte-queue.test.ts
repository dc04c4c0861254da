import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteQueue } from '../../src/upload/byte-queue.js';
import { runSeed } from '../support/data.js';

const seed = runSeed();

type Operation = { kind: 'push'; size: number } | { kind: 'drop'; fraction: number } | { kind: 'peek'; fraction: number };

const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ kind: fc.constant('push' as const), size: fc.oneof(fc.integer({ min: 0, max: 16 }), fc.integer({ min: 0, max: 5_000 })) }),
  fc.record({ kind: fc.constant('drop' as const), fraction: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ kind: fc.constant('peek' as const), fraction: fc.double({ min: 0, max: 1, noNaN: true }) }),
);

test(`ByteQueue holds exactly the bytes pushed and not dropped, in order, with recycled slabs (seed ${seed})`, () => {
  fc.assert(
    fc.property(fc.array(operation, { maxLength: 200 }), fc.integer({ min: 0, max: 1e9 }), fc.integer({ min: 1, max: 3000 }), (operations, startOffset, slabSize) => {
      const queue = new ByteQueue(startOffset, { slabSize, maxPooledSlabs: 4 });
      let model = Buffer.alloc(0);
      let modelStart = startOffset;
      let counter = 0;
      const taken: Array<{ start: number; views: Buffer[]; expected: Buffer }> = [];
      for (const op of operations) {
        if (op.kind === 'push') {
          const data = Buffer.alloc(op.size);
          for (let i = 0; i < op.size; i++) data[i] = (counter++ * 31) & 0xff;
          queue.push(data);
          data.fill(0); // the queue must have copied it
          model = Buffer.concat([model, Buffer.from(Array.from({ length: op.size }, (_, i) => ((counter - op.size + i) * 31) & 0xff))]);
        } else if (op.kind === 'drop') {
          const n = Math.floor(op.fraction * model.length);
          queue.drop(n);
          model = model.subarray(n);
          modelStart += n;
        } else {
          const n = Math.floor(op.fraction * model.length);
          taken.push({ start: modelStart, views: queue.peek(n), expected: Buffer.from(model.subarray(0, n)) });
        }
        assert.equal(queue.length, model.length);
        assert.equal(queue.start, modelStart);
        assert.equal(queue.end, modelStart + model.length);
        // Views stay valid as long as their bytes are held, even while slabs are recycled around them.
        for (const view of taken) {
          if (view.start >= queue.start) assert.deepEqual(Buffer.concat(view.views), view.expected);
        }
      }
      assert.deepEqual(Buffer.concat(queue.peek(queue.length)), model);
    }),
    { seed, numRuns: 300 },
  );
});

test('slabs are recycled: a long stream through a bounded queue allocates a bounded number of slabs', () => {
  const queue = new ByteQueue(0, { slabSize: 64 * 1024, maxPooledSlabs: 8 });
  const piece = Buffer.alloc(16 * 1024, 1);
  for (let round = 0; round < 1000; round++) {
    for (let i = 0; i < 16; i++) queue.push(piece);
    queue.drop(queue.length);
  }
  assert.ok(queue.slabsAllocated <= 6, `${queue.slabsAllocated} slabs for 256 MiB through a 256 KiB window`);
});

test('small writes are coalesced into one view per slab; writes are copied, not referenced', () => {
  const queue = new ByteQueue();
  for (let i = 0; i < 10_000; i++) queue.push(Buffer.from([i & 0xff]));
  assert.equal(queue.peek(queue.length).length, 1);
  const large = Buffer.alloc(3 * 1024 * 1024, 7);
  queue.push(large);
  const views = queue.peek(queue.length);
  assert.ok(views.every((view) => view.buffer !== large.buffer));
  assert.equal(views.length, 4, 'a 3 MiB write after 10,000 bytes spans four 1 MiB slabs');
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
