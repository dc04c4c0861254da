import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { startEmulator, type Emulator, type Fault } from '../../src/emulator/index.js';
import { RedivisClient } from '../../src/client/redivis-client.js';
import { createTempUploadStream } from '../../src/upload/temp-upload-stream.js';
import { CHUNK_ALIGNMENT as Q } from '../../src/upload/content-range.js';
import { chunkedSource, md5Hex, prng, randomBytes, runSeed } from '../support/data.js';

const seed = runSeed();
let emulator: Emulator;
let client: RedivisClient;
let counter = 0;

before(async () => {
  emulator = await startEmulator();
  client = new RedivisClient({ apiEndpoint: emulator.apiEndpoint, apiToken: emulator.token, retry: { initialDelayMs: 1, maxDelayMs: 2, retries: 12 } });
});
after(() => emulator.close());

const fault: fc.Arbitrary<Fault> = fc.oneof(
  fc.constant<Fault>({ kind: 'status', status: 503 }),
  fc.integer({ min: 1, max: 3 * Q }).map<Fault>((afterBytes) => ({ kind: 'status', status: 500, afterBytes })),
  fc.constant<Fault>({ kind: 'status', status: 429, retryAfter: '0' }),
  fc.constant<Fault>({ kind: 'reset' }),
  fc.integer({ min: 0, max: 3 * Q }).map<Fault>((afterBytes) => ({ kind: 'reset', afterBytes })),
  fc.constant<Fault>({ kind: 'omitRange' }),
);

const scenario = fc.record({
  size: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 6 * Q + 1000 })),
  chunkMultiple: fc.integer({ min: 1, max: 3 }),
  /** Requests of fixed size (a multiple of the chunk), or as large as the data at hand allows. */
  requestMultiple: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
  memoryMultiple: fc.integer({ min: 1, max: 4 }),
  /** With the default spill the stream may measure the loopback link and decide; without, never. */
  spill: fc.boolean(),
  maxWrite: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 4096 }), fc.integer({ min: 1, max: 2 * Q })),
  knownSize: fc.boolean(),
  faults: fc.array(fc.record({ kind: fc.constantFrom('chunk' as const, 'status' as const), nth: fc.integer({ min: 1, max: 8 }), fault }), { maxLength: 4 }),
  dataSeed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
});

const HIGH_WATER_MARK = 16_384;

test(`uploads under random writes, request sizes, memory limits and fault schedules arrive byte-exact within the memory bound (seed ${seed})`, async () => {
  await fc.assert(
    fc.asyncProperty(scenario, async ({ size, chunkMultiple, requestMultiple, memoryMultiple, spill, maxWrite, knownSize, faults, dataSeed }) => {
      const chunkSize = chunkMultiple * Q;
      const memoryLimit = memoryMultiple * chunkSize;
      const data = randomBytes(size, dataSeed);
      const [temp] = await client.createTempUploads('owner.dataset.table', [{ name: `property-${++counter}`, size, resumable: true }]);
      for (const { kind, nth, fault: f } of faults) emulator.injectFault({ match: { kind, nth, tempUploadId: temp!.id }, fault: f });
      const random = prng(dataSeed);
      const stream = createTempUploadStream({
        client,
        url: temp!.url,
        chunkSize,
        memoryLimit,
        highWaterMark: HIGH_WATER_MARK,
        ...(spill ? {} : { spill: false as const }),
        ...(requestMultiple === undefined ? {} : { maxRequestSize: requestMultiple * chunkSize }),
        ...(knownSize ? { size } : {}),
      });
      await pipeline(chunkedSource(data, () => 1 + Math.floor(random() * maxWrite)), stream);
      const info = emulator.getTempUpload(temp!.id)!;
      assert.equal(info.final?.md5Hex, md5Hex(data));
      assert.equal(stream.result!.size, size);
      // Writes are taken whole (one, or what Node buffered in front: at most the high-water mark plus one write);
      // slabs on their way to the disk are held until written, at most four, of min(chunk, 1 MiB) each.
      const pending = spill ? 4 * Math.min(chunkSize, 1024 * 1024) : 0;
      const bound = memoryLimit + pending + HIGH_WATER_MARK + maxWrite;
      assert.ok(stream.peakBufferedBytes <= bound, `peak ${stream.peakBufferedBytes} > ${memoryLimit} + ${pending} + ${HIGH_WATER_MARK} + ${maxWrite}`);
      for (const entry of emulator.requestLog().filter((e) => e.tempUploadId === temp!.id && e.kind === 'chunk')) {
        const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(entry.contentRange ?? '');
        if (range === null || (range[3] !== '*' && Number(range[2]) + 1 === Number(range[3]))) continue;
        const length = Number(range[2]) - Number(range[1]) + 1;
        assert.equal(length % chunkSize, 0, `a non-final request of ${length} bytes is a whole number of ${chunkSize}-byte chunks`);
        if (requestMultiple !== undefined) assert.ok(length <= requestMultiple * chunkSize, `${entry.contentRange} exceeds maxRequestSize`);
      }
      emulator.clearFaults();
    }),
    { seed, numRuns: Number(process.env.PROPERTY_RUNS ?? 40), endOnFailure: true },
  ).catch((error: unknown) => {
    // fast-check keeps the failure of the counterexample as the cause; show it with the seed.
    const cause = (error as { cause?: unknown }).cause;
    throw new Error(`${(error as Error).message}\nFailure: ${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}`);
  });
});
