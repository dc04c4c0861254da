/**
 * How large each request is. A request must wait a round trip for its answer before the next one may start, so a
 * request of R bytes on a link of bandwidth B and round trip L keeps the link busy R / (R + B·L) of the time.
 * Requests of {@link EFFICIENT_ROUND_TRIPS} round trips' worth of bytes keep it busy at least 97.5 % of the time.
 *
 * Both are measured: B from the data requests, L from the quickest empty request (starting the session, a status
 * query). When L is only known from requests that paid for opening a connection, one status query on the warm
 * connection measures it before anything is spilled. And when the process is busy most of the time its requests
 * are in flight (a fast loopback upload: CPU, not the link, is the limit), nothing is spilled whatever the
 * measurements, since larger requests would not be faster and the disk would cost CPU.
 *
 * The stream holds at most its memory limit in memory, and sends half of it per request, so one request is in
 * flight while the next fills. Only when the measurements say that such requests would keep the link busy less
 * than 90 % of the time does it spill to disk, up to two efficient requests' worth (one in flight, one filling),
 * never more than its spill limit. A request is also kept short enough to finish well within the stall deadline
 * at the measured bandwidth.
 * @module
 */

/** Round trips' worth of bytes per request: R = 40·B·L keeps the link busy R / (R + B·L) ≥ 97.5 % of the time. */
export const EFFICIENT_ROUND_TRIPS = 40;
/**
 * Spilling starts only when requests that fit in memory would keep the link busy less than 90 % of the time
 * (R < 9·B·L): a margin well below what the requests are then sized for, so a round trip measured a little long
 * on a busy machine does not send a fast loopback upload to the disk.
 */
export const SPILL_ROUND_TRIPS = 9;
/** Requests smaller than this (less than the smallest chunk) say little about the bandwidth. */
const MEASURABLE_BYTES = 256 * 1024;
/** A request should take at most this share of the stall deadline at the measured bandwidth. */
const STALL_SHARE = 0.25;
/**
 * Past this share of the time spent working (not waiting) while requests are in flight, the upload is bound by
 * this process's CPU, not by the link: larger requests would not make it faster, and spilling would slow it.
 */
const BUSY_SHARE = 0.5;
/**
 * A round trip this long, in milliseconds, is trusted without a clean measure, if it was taken while this process
 * was quiet: a loopback or local network answers in well under a millisecond, and a busy machine delays an answer
 * by a few.
 */
const LONG_ROUND_TRIP_MS = 15;
/** Status queries made at most to measure the round trip cleanly at first; without one nothing is spilled. */
const MAX_PROBES = 4;
/** Clean measures needed before a round trip shorter than {@link LONG_ROUND_TRIP_MS} is believed. */
const CLEAN_MEASURES = 2;
/**
 * While spilling, the round trip is measured again after this many requests: one answer that was slow to come
 * (another process had the CPU) must not keep a loopback upload on the disk for long.
 */
const REPROBE_EVERY = 6;

export interface SizingOptions {
  /** Every request but the last carries a whole number of these (a multiple of 256 KiB), at least one. */
  chunkSize: number;
  /** The caller's cap on a request, in bytes; undefined: as the measurements say. */
  maxRequestSize: number | undefined;
  /** True for a source that holds all its bytes already (a file, a Buffer): nothing to buffer or spill. */
  sized: boolean;
  /** Bytes the source holds in memory (streams only). */
  memoryLimit: number;
  /** Bytes the source may spill to disk; 0 when spilling is off (streams only). */
  spillLimit: number;
  stallTimeoutMs: number;
}

function alignDown(bytes: number, unit: number): number {
  return Math.floor(bytes / unit) * unit;
}

export class RequestSizer {
  /** The least time an empty request took, ms: an upper bound of the round trip. */
  private latencyMs: number | undefined;
  /** Whether {@link latencyMs} comes from a request on a warm connection. */
  private latencyClean = false;
  /** Clean measures of the round trip so far. */
  private cleanMeasures = 0;
  /** Measures taken while this process was quiet, warm or cold. */
  private quietMeasures = 0;
  /** Data requests measured since the round trip last was. */
  private sinceProbe = 0;
  /** Whether the last allowance let the stream spill. */
  private spilling = false;
  /** Status queries made to measure the round trip. */
  private probes = 0;
  /** The last data request large enough to tell the bandwidth. */
  private sample: { bytes: number; ms: number } | undefined;
  /** Share of the time the process was busy while data requests were in flight, smoothed; 0 to 1. */
  private busy: number | undefined;

  constructor(private readonly options: SizingOptions) {}

  /**
   * An empty request (session start, status query) took `ms`. `warm`: its connection was already open. `quiet`:
   * this process was mostly idle meanwhile, so its answer was read when it came.
   */
  observeEmpty(ms: number, { warm, quiet }: { warm: boolean; quiet: boolean }): void {
    // Every measure is an upper bound of the round trip (a late answer only adds to it), so the quickest is the
    // estimate; a clean one is needed before a long estimate is believed.
    if (this.latencyMs === undefined || ms < this.latencyMs) this.latencyMs = ms;
    if (quiet) this.quietMeasures += 1;
    if (warm && quiet) this.cleanMeasures += 1;
    // A short round trip is believed only when two clean measures agree: one answer slow only because another
    // process had the CPU must not send a loopback upload to the disk.
    if (this.cleanMeasures >= CLEAN_MEASURES) this.latencyClean = true;
  }

  /** A status query is being made to measure the round trip; only a few are, and then one every few requests. */
  probing(): void {
    this.probes += 1;
    if (this.latencyTrusted()) this.sinceProbe = 0;
  }

  /**
   * Whether the next probe measures again a round trip already believed: no need then to wait for a quiet moment,
   * since a late answer cannot raise the estimate, and a quick one lowers it.
   */
  get reprobing(): boolean {
    return this.latencyTrusted();
  }

  /**
   * A data request of `bytes` took `ms` from its start to its answer, during which the process was busy `busy`
   * of the time (its event loop's utilization, 0 to 1).
   */
  observeData(bytes: number, ms: number, busy = 0): void {
    if (bytes < MEASURABLE_BYTES || ms <= 0) return;
    this.sample = { bytes, ms };
    this.sinceProbe += 1;
    this.busy = this.busy === undefined ? busy : (this.busy + busy) / 2;
  }

  /** The measurements, for debug output. */
  describe(): string {
    const bandwidth = this.bandwidth();
    return `round trip ${this.latencyMs?.toFixed(2) ?? '?'} ms${this.latencyClean ? '' : ' (cold)'}, ${bandwidth === undefined ? '?' : (bandwidth / 1000).toFixed(1)} MB/s, busy ${this.busy === undefined ? '?' : Math.round(this.busy * 100)} %`;
  }

  /**
   * Whether the round trip is known well enough to spill on: measured cleanly, or so long (tens of milliseconds: a
   * wide-area link, where an extra query costs a round trip) that, with one measure taken while this process was
   * quiet, no busy machine explains it. A source that keeps the event loop busy (a synchronous transform) delays
   * every answer by its own work, however short the link.
   */
  private latencyTrusted(): boolean {
    return this.latencyClean || (this.latencyMs !== undefined && this.latencyMs >= LONG_ROUND_TRIP_MS && this.quietMeasures > 0);
  }

  /** Whether the link rather than this process's CPU is what the upload waits for. */
  private linkBound(): boolean {
    return (this.busy ?? 0) < BUSY_SHARE;
  }

  /** Whether a measurement taken while the process was `busy` (0 to 1) of the time can be trusted. */
  static quiet(busy: number): boolean {
    return busy < BUSY_SHARE;
  }

  /** Bytes per millisecond while sending, the round trip taken out when it is known to be small enough to matter. */
  private bandwidth(): number | undefined {
    if (this.sample === undefined) return undefined;
    const { bytes, ms } = this.sample;
    const latency = this.latencyMs ?? 0;
    return bytes / (latency < ms / 2 ? ms - latency : ms);
  }

  /** Bytes per request that keep the link busy 97.5 % of the time; undefined until measured. */
  efficientRequest(): number | undefined {
    const bandwidth = this.bandwidth();
    if (bandwidth === undefined || this.latencyMs === undefined) return undefined;
    return EFFICIENT_ROUND_TRIPS * bandwidth * this.latencyMs;
  }

  private memoryCap(): number {
    return Math.max(this.options.chunkSize, alignDown(this.options.memoryLimit / 2, this.options.chunkSize));
  }

  /**
   * Whether one status query on a warm connection, while the process rests, should measure the round trip now: the
   * estimate so far would make the stream spill, but it may only reflect the cost of opening a connection, or of
   * this process being too busy to read an answer when it came; and, while spilling, every few requests again.
   */
  wantsProbe(): boolean {
    if (this.options.sized || this.options.spillLimit === 0 || !this.memoryTooSmall()) return false;
    if (this.latencyTrusted()) return this.sinceProbe >= REPROBE_EVERY;
    return this.probes < MAX_PROBES;
  }

  /** Whether requests that fit in memory would keep the link busy less than 90 % of the time, and that matters. */
  private memoryTooSmall(): boolean {
    // Once spilling, filling the disk keeps the process busy: only the round trip, measured again, ends it.
    if (!this.spilling && !this.linkBound()) return false;
    const efficient = this.efficientRequest();
    return efficient !== undefined && (efficient * SPILL_ROUND_TRIPS) / EFFICIENT_ROUND_TRIPS > this.memoryCap();
  }

  /** Bytes the stream may hold on disk: enough for two efficient requests beyond its memory, when that pays off. */
  spillAllowance(): number {
    this.spilling = !this.options.sized && this.latencyTrusted() && this.memoryTooSmall();
    if (!this.spilling) return 0;
    const efficient = this.efficientRequest()!;
    return Math.min(this.options.spillLimit, Math.max(0, Math.ceil(2 * efficient) - this.options.memoryLimit));
  }

  /** The most bytes one request carries now. */
  requestCap(): number {
    const { chunkSize, maxRequestSize, sized, memoryLimit, stallTimeoutMs } = this.options;
    const bandwidth = this.bandwidth();
    let cap: number;
    if (sized) {
      // The first request of a file measures the link; the next one carries the rest.
      cap = bandwidth === undefined ? chunkSize : Number.POSITIVE_INFINITY;
    } else {
      const allowance = this.spillAllowance();
      cap = allowance === 0 ? this.memoryCap() : Math.min(this.efficientRequest()!, (memoryLimit + allowance) / 2);
    }
    if (bandwidth !== undefined && Number.isFinite(stallTimeoutMs)) cap = Math.min(cap, bandwidth * stallTimeoutMs * STALL_SHARE);
    if (maxRequestSize !== undefined) cap = Math.min(cap, maxRequestSize);
    return Number.isFinite(cap) ? Math.max(chunkSize, alignDown(cap, chunkSize)) : cap;
  }

  /**
   * The size of the next request given `onHand` bytes ready to send: everything when `final` and it fits one
   * request, else a whole number of chunks up to the cap; 0 when there is not yet a whole chunk.
   */
  next(onHand: number, final: boolean): { length: number; final: boolean } {
    const cap = this.requestCap();
    if (final && onHand <= cap) return { length: onHand, final: true };
    const length = Math.min(alignDown(onHand, this.options.chunkSize), cap);
    return { length: length >= this.options.chunkSize ? length : 0, final: false };
  }
}
