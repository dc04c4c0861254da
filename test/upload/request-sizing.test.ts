import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestSizer, type SizingOptions } from '../../src/upload/request-sizing.js';

const MiB = 1024 * 1024;
const stream: SizingOptions = { chunkSize: 8 * MiB, maxRequestSize: undefined, sized: false, memoryLimit: 32 * MiB, spillLimit: 256 * MiB, stallTimeoutMs: 600_000 };

/** A status query on a warm connection, the process idle meanwhile. */
const CLEAN = { warm: true, quiet: true };
/** The session start (a new connection), the process idle meanwhile. */
const COLD = { warm: false, quiet: true };

/** A data request of `bytes` on a link of `bytesPerMs` and round trip `rttMs`, as the driver times it. */
function observeLink(sizer: RequestSizer, bytes: number, bytesPerMs: number, rttMs: number): void {
  sizer.observeData(bytes, bytes / bytesPerMs + rttMs);
}

test('before anything is measured, a stream sends half its memory and a file one chunk', () => {
  assert.equal(new RequestSizer(stream).requestCap(), 16 * MiB);
  assert.equal(new RequestSizer({ ...stream, sized: true, memoryLimit: 0, spillLimit: 0 }).requestCap(), 8 * MiB);
});

test('a fast loopback link never spills, even when the session start was slow to connect', () => {
  const sizer = new RequestSizer(stream);
  sizer.observeEmpty(3, COLD); // a cold connection
  observeLink(sizer, 16 * MiB, 1400 * 1000, 0.2);
  assert.equal(sizer.wantsProbe(), true, 'the cold estimate would spill: measure on a warm connection first');
  assert.equal(sizer.spillAllowance(), 0, 'nothing is spilled before that');
  sizer.observeEmpty(0.2, CLEAN);
  assert.equal(sizer.wantsProbe(), false, 'a short round trip settles it: memory is enough');
  assert.equal(sizer.spillAllowance(), 0);
  assert.equal(sizer.requestCap(), 16 * MiB);
});

test('a 40 ms link at 1 Gbit/s spills, as far as the spill limit allows, and sends up to 40 round trips per request', () => {
  const sizer = new RequestSizer(stream);
  sizer.observeEmpty(85, COLD);
  observeLink(sizer, 16 * MiB, 125_000, 40);
  assert.equal(sizer.wantsProbe(), false, 'a round trip this long is trusted even cold: a query would cost one more');
  assert.equal(sizer.spillAllowance(), 256 * MiB);
  sizer.observeEmpty(40, CLEAN);
  const efficient = sizer.efficientRequest()!;
  assert.ok(Math.abs(efficient - 40 * 125_000 * 40) < 1, `${efficient}`);
  assert.equal(sizer.spillAllowance(), 256 * MiB, 'two efficient requests would be more than the spill limit');
  const cap = sizer.requestCap();
  assert.equal(cap, 144 * MiB, 'half of memory plus the spill');
  // R / (R + B·L): at least 96 % of the time busy here.
  assert.ok(cap / (cap + 125_000 * 40) > 0.96);
  assert.equal(sizer.wantsProbe(), false);
  // Filling the disk keeps the process busy; that alone does not end the spilling.
  for (let i = 0; i < 6; i++) sizer.observeData(cap, cap / 125_000 + 40, 0.8);
  assert.equal(sizer.spillAllowance(), 256 * MiB);
  assert.equal(sizer.wantsProbe(), true, 'while spilling, the round trip is measured again every 6 requests');
  sizer.probing();
  assert.equal(sizer.wantsProbe(), false, 'one attempt each time, clean or not');
  sizer.observeEmpty(0.3, { warm: true, quiet: false });
  assert.equal(sizer.spillAllowance(), 0, 'a short round trip ends the spilling, even measured while busy');
});

test('the spill limit bounds the disk, the stall deadline and maxRequestSize bound a request', () => {
  const small = new RequestSizer({ ...stream, spillLimit: 64 * MiB });
  small.observeEmpty(100, CLEAN);
  small.observeEmpty(100, CLEAN);
  observeLink(small, 16 * MiB, 1_250_000, 100);
  assert.equal(small.spillAllowance(), 64 * MiB);
  assert.equal(small.requestCap(), 48 * MiB, 'half of memory plus the spill allowed');

  const deadline = new RequestSizer({ ...stream, stallTimeoutMs: 10_000 });
  deadline.observeEmpty(100, CLEAN);
  observeLink(deadline, 16 * MiB, 1000, 100);
  // At 1 MB/s a quarter of the 10 s deadline is 2.5 MB: less than a chunk, so a request is one chunk.
  assert.equal(deadline.requestCap(), 8 * MiB);
  const roomy = new RequestSizer({ ...stream, stallTimeoutMs: 600_000 });
  roomy.observeEmpty(100, CLEAN);
  observeLink(roomy, 16 * MiB, 1000, 100);
  assert.equal(roomy.requestCap(), 16 * MiB, 'at 1 MB/s, 16 MiB take 17 s of a 10-minute deadline');

  const capped = new RequestSizer({ ...stream, maxRequestSize: 8 * MiB });
  capped.observeEmpty(40, CLEAN);
  observeLink(capped, 8 * MiB, 125_000, 40);
  assert.equal(capped.requestCap(), 8 * MiB);
});

test('next(): whole chunks up to the cap; everything at the end when it fits one request', () => {
  const sizer = new RequestSizer(stream);
  assert.deepEqual(sizer.next(7 * MiB, false), { length: 0, final: false }, 'less than a chunk waits');
  assert.deepEqual(sizer.next(20 * MiB, false), { length: 16 * MiB, final: false });
  assert.deepEqual(sizer.next(12 * MiB + 5, false), { length: 8 * MiB, final: false });
  assert.deepEqual(sizer.next(12 * MiB + 5, true), { length: 12 * MiB + 5, final: true });
  assert.deepEqual(sizer.next(0, true), { length: 0, final: true }, 'an empty finalize');
  assert.deepEqual(sizer.next(40 * MiB, true), { length: 16 * MiB, final: false }, 'more than a request holds, even at the end');
});

test('a file sends one chunk, then the whole rest once the link is measured', () => {
  const file = new RequestSizer({ ...stream, sized: true, memoryLimit: 0, spillLimit: 0 });
  assert.deepEqual(file.next(512 * MiB, true), { length: 8 * MiB, final: false });
  observeLink(file, 8 * MiB, 125_000, 40);
  assert.deepEqual(file.next(504 * MiB, true), { length: 504 * MiB, final: true });
  assert.equal(file.spillAllowance(), 0);
  assert.equal(file.wantsProbe(), false);
});

test('a short round trip is believed only when two clean measures say so: one slow answer on a busy machine is not', () => {
  const sizer = new RequestSizer(stream);
  sizer.observeEmpty(2, COLD);
  observeLink(sizer, 16 * MiB, 600_000, 0.3);
  sizer.observeEmpty(8, CLEAN); // another process had the CPU when the answer came
  assert.equal(sizer.spillAllowance(), 0);
  assert.equal(sizer.wantsProbe(), false, 'the quickest measure, 2 ms, already says memory is enough');
  const link = new RequestSizer(stream);
  link.observeEmpty(12, COLD);
  observeLink(link, 16 * MiB, 1_250_000, 10);
  link.observeEmpty(10, CLEAN);
  assert.equal(link.spillAllowance(), 0, 'one clean measure of 10 ms is not yet believed');
  assert.equal(link.wantsProbe(), true);
  link.observeEmpty(10.2, CLEAN);
  assert.ok(link.spillAllowance() > 0, 'two are: a 10 Gbit/s link at 10 ms spills');
});

test('a long round trip measured only while the process was busy is not believed: a busy source delays every answer', () => {
  const busy = new RequestSizer(stream);
  busy.observeEmpty(160, { warm: false, quiet: false }); // the session start, behind a synchronous transform
  observeLink(busy, 16 * MiB, 343_000, 0.3);
  assert.equal(busy.spillAllowance(), 0, 'nothing is spilled on a measure the process itself may have delayed');
  assert.equal(busy.wantsProbe(), true, 'a status query measures again');
  busy.observeEmpty(0.4, { warm: true, quiet: false });
  assert.equal(busy.spillAllowance(), 0);
  assert.equal(busy.wantsProbe(), false, 'the quicker answer says memory is enough');

  const link = new RequestSizer(stream);
  link.observeEmpty(160, { warm: false, quiet: false });
  observeLink(link, 16 * MiB, 125_000, 40);
  assert.equal(link.spillAllowance(), 0);
  link.observeEmpty(41, { warm: true, quiet: true });
  assert.equal(link.spillAllowance(), 256 * MiB, 'one quiet measure of a long round trip is believed');
});
