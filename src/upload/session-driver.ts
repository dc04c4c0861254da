/**
 * The one driver of the resumable protocol, for every upload: it starts or joins the session, sends requests as
 * large as the source and the measurements allow, keeps the one record of offsets (confirmed by the server, handed
 * to the transport, retained by the source), recovers from failures by asking the server where it stands, verifies
 * the result, and cancels the session only for the caller's abort and for data errors.
 * @module
 */
import { debuglog } from 'node:util';
import { AbortError, DataLossError, ProtocolError, SizeMismatchError, type RequestDetails } from '../errors.js';
import { redactUrl } from '../util/redact.js';
import type { ResolvedRetryOptions } from '../util/retry.js';
import { verifyAlreadyComplete, verifyCompletion, type VerifiedObject } from './completion.js';
import { Recovery, type RetryNotice } from './recovery.js';
import type { ReplaySource } from './replay-source.js';
import { RequestSizer, type SizingOptions } from './request-sizing.js';
import { cancelSession, putChunk, queryStatus, startSession, type SessionContext, type SessionStatus, type StoredObject } from './session.js';

const debug = debuglog('redivis-upload');

/** Longest wait for the source to rest before the round trip is measured, in milliseconds. */
const PROBE_WAIT_MS = 100;
/** Longest wait for the best-effort cancellation of an abandoned session, in milliseconds. */
const CANCEL_TIMEOUT_MS = 5_000;

export interface DriverOptions {
  /** Start a session at a temp upload's URL, or join one that exists (the source then starts at `offset`). */
  target: { kind: 'start'; url: string } | { kind: 'join'; sessionUrl: string; offset: number };
  source: ReplaySource;
  /** The size declared up front and sent with every request; undefined until the source ends. */
  declaredSize: number | undefined;
  sizing: Omit<SizingOptions, 'stallTimeoutMs'>;
  /** Headers, dispatcher and timeouts for requests to a URL (the driver adds the signal). */
  context: (url: string) => SessionContext;
  retry: ResolvedRetryOptions;
  stallTimeoutMs: number;
  /** The caller's abort. */
  signal: AbortSignal;
  /** Whether an abort for this reason leaves the session open (a throwing listener, say). @default never */
  keepsSessionOnAbort?: (reason: unknown) => boolean;
  /** Names the upload in errors. */
  label: string;
  onSession?: (sessionUrl: string) => void;
  onConfirmed?: (bytes: number) => void;
  onRetry?: (notice: RetryNotice) => void;
}

/** What a finished upload produced. */
export interface DriverOutcome extends VerifiedObject {
  sessionUrl: string;
  object: StoredObject;
}

interface Plan {
  from: number;
  to: number;
  final: boolean;
}

export class SessionDriver {
  sessionUrl: string | undefined;
  /** Bytes the server has confirmed. */
  confirmed = 0;
  /** One past the last byte handed to the transport (or held by the server when the session was joined). */
  private sentUpTo = 0;
  private serverCompleted = false;
  private keepSession = false;
  private readonly recovery: Recovery;
  private readonly sizer: RequestSizer;
  private ctx: SessionContext | undefined;

  constructor(private readonly options: DriverOptions) {
    this.recovery = new Recovery({
      retry: options.retry,
      label: options.label,
      signal: options.signal,
      stallTimeoutMs: options.stallTimeoutMs,
      ...(options.onRetry ? { onRetry: options.onRetry } : {}),
    });
    this.sizer = new RequestSizer({ ...options.sizing, stallTimeoutMs: options.stallTimeoutMs });
  }

  private get source(): ReplaySource {
    return this.options.source;
  }

  private get request(): RequestDetails {
    return { method: 'PUT', path: this.sessionUrl === undefined ? '' : redactUrl(this.sessionUrl) };
  }

  /** Runs the upload to a verified end, cancelling the session when the failure calls for it. */
  async run(): Promise<DriverOutcome> {
    try {
      return await this.drive();
    } catch (error) {
      const failure = this.options.signal.aborted && !(error instanceof AbortError) ? new AbortError(undefined, { cause: this.options.signal.reason }) : error;
      if (this.sessionUrl !== undefined && !this.serverCompleted && !this.keepSession && this.cancels(failure)) await this.cancel(this.sessionUrl);
      throw failure;
    }
  }

  /** The caller's abort (unless its reason keeps the session) and data errors cancel; nothing else does. */
  private cancels(error: unknown): boolean {
    if (error instanceof AbortError) return !(this.options.keepsSessionOnAbort?.(this.options.signal.reason) ?? false);
    return error instanceof SizeMismatchError || error instanceof DataLossError;
  }

  private async cancel(sessionUrl: string): Promise<void> {
    debug('cancelling session %s', redactUrl(sessionUrl));
    const ctx = this.options.context(sessionUrl);
    try {
      await cancelSession(sessionUrl, {
        ...ctx,
        signal: AbortSignal.timeout(CANCEL_TIMEOUT_MS),
        requestTimeoutMs: Math.min(ctx.requestTimeoutMs ?? CANCEL_TIMEOUT_MS, CANCEL_TIMEOUT_MS),
      });
    } catch (error) {
      debug('cancelling the session failed: %s', (error as Error).message);
    }
  }

  private async drive(): Promise<DriverOutcome> {
    const early = await this.open();
    if (early !== undefined) return this.finishAlreadyComplete(early);
    for (;;) {
      const plan = await this.nextPlan();
      const { status, asked, measured } = await this.send(plan);
      const done = await this.apply(status, plan, asked);
      if (done !== undefined) return done;
      while (measured && this.sizer.wantsProbe()) {
        // Measured while the source rests, the answer is read the moment it comes.
        if (!this.sizer.reprobing) await this.untilResting(PROBE_WAIT_MS);
        this.sizer.probing();
        const probe = await this.confirmedStatus(true);
        const probed = await this.apply(probe, plan, true);
        if (probed !== undefined) return probed;
      }
      const allowance = this.sizer.spillAllowance();
      if (measured) debug('%s: next request at most %d bytes, spill allowance %d', this.sizer.describe(), this.sizer.requestCap(), allowance);
      this.source.allowSpill(allowance);
    }
  }

  /** Starts or joins the session; returns the object when a joined session is complete already. */
  private async open(): Promise<StoredObject | undefined> {
    const { target, declaredSize } = this.options;
    if (target.kind === 'start') {
      const ctx = this.options.context(target.url);
      const startedAt = performance.now();
      const loopAtStart = performance.eventLoopUtilization();
      const sessionUrl = await this.recovery.retrying((signal) => startSession(target.url, { ...ctx, signal }, { size: declaredSize }));
      const quiet = RequestSizer.quiet(performance.eventLoopUtilization(loopAtStart).utilization);
      this.sizer.observeEmpty(performance.now() - startedAt, { warm: false, quiet });
      this.useSession(sessionUrl);
      debug('session started at %s', redactUrl(sessionUrl));
      return undefined;
    }
    this.useSession(target.sessionUrl);
    const status = await this.timedStatus(false);
    if (status.complete) {
      this.serverCompleted = true;
      return status.object;
    }
    if (status.persisted < target.offset) {
      // The source cannot fill the gap, but the session itself is sound: it stays open.
      this.keepSession = true;
      throw new DataLossError(status.persisted, target.offset, target.offset);
    }
    this.source.release(status.persisted);
    this.confirmed = status.persisted;
    this.sentUpTo = status.persisted;
    this.options.onConfirmed?.(status.persisted);
    return undefined;
  }

  private useSession(sessionUrl: string): void {
    this.sessionUrl = sessionUrl;
    // The session URL may be on another host than the temp upload URL: its headers are decided afresh.
    this.ctx = this.options.context(sessionUrl);
    this.options.onSession?.(sessionUrl);
  }

  /** The next request, once the source has enough for one. Waiting for the source does not count as stalling. */
  private async nextPlan(): Promise<Plan> {
    const { declaredSize } = this.options;
    for (;;) {
      this.throwIfAborted();
      const { source } = this;
      const ended = source.ended;
      if (ended && source.available < this.confirmed) {
        throw new SizeMismatchError('The source ended before the bytes the server already holds', this.confirmed, source.available);
      }
      if (ended && declaredSize !== undefined && source.available !== declaredSize) {
        throw new SizeMismatchError('The source ended before the declared size', declaredSize, source.available);
      }
      let onHand = source.available - this.confirmed;
      // With a declared size, the request that reaches it waits for the end, so a source that runs long is caught
      // before anything is finalized.
      if (!ended && declaredSize !== undefined) onHand = Math.min(onHand, declaredSize - 1 - this.confirmed);
      if (onHand >= 0) {
        const { length, final } = this.sizer.next(onHand, ended);
        if (final || length > 0) return { from: this.confirmed, to: this.confirmed + length, final };
      }
      await this.waitForSource();
    }
  }

  private waitForSource(): Promise<void> {
    const { signal } = this.options;
    return new Promise<void>((resolve) => {
      const done = () => {
        signal.removeEventListener('abort', done);
        resolve();
      };
      signal.addEventListener('abort', done, { once: true });
      void this.source.whenChanged().then(done, done);
    });
  }

  private throwIfAborted(): void {
    const { signal } = this.options;
    if (signal.aborted) throw new AbortError(undefined, { cause: signal.reason });
  }

  /** Sends one request; after a failure, backs off and asks the server where it stands. */
  private async send(plan: Plan): Promise<{ status: SessionStatus; asked: boolean; measured: boolean }> {
    const { source, declaredSize } = this.options;
    const length = plan.to - plan.from;
    const total = plan.final ? source.available : declaredSize;
    if (plan.final) await source.checkEnd();
    const hashHeader = plan.final ? source.digest()?.header : undefined;
    const startedAt = performance.now();
    const loopAtStart = performance.eventLoopUtilization();
    try {
      const status = await this.recovery.timed(async (signal) => {
        const ctx = { ...this.ctx!, signal };
        if (length === 0) return queryStatus(this.sessionUrl!, ctx, total, hashHeader);
        const handed = { settled: false };
        try {
          return await putChunk(this.sessionUrl!, ctx, { start: plan.from, length, total, hashHeader, buffers: this.tracked(plan, handed) });
        } finally {
          handed.settled = true;
        }
      });
      if (length > 0) this.sizer.observeData(length, performance.now() - startedAt, performance.eventLoopUtilization(loopAtStart).utilization);
      return { status, asked: false, measured: length > 0 };
    } catch (error) {
      await this.recovery.backOff(error);
      return { status: await this.confirmedStatus(), asked: true, measured: false };
    }
  }

  /** The request body, counting what is handed to the transport until the request settles. */
  private async *tracked(plan: Plan, handed: { settled: boolean }): AsyncGenerator<Buffer> {
    let at = plan.from;
    for await (const piece of this.source.read(plan.from, plan.to)) {
      // An answer that came before the whole body was written ends the request; the rest is never sent.
      if (handed.settled) return;
      at += piece.length;
      if (at > this.sentUpTo) this.sentUpTo = at;
      yield piece;
    }
  }

  private async timedStatus(warm: boolean): Promise<SessionStatus> {
    const startedAt = performance.now();
    const loopAtStart = performance.eventLoopUtilization();
    const status = await this.recovery.retrying((signal) => queryStatus(this.sessionUrl!, { ...this.ctx!, signal }));
    const quiet = RequestSizer.quiet(performance.eventLoopUtilization(loopAtStart).utilization);
    this.sizer.observeEmpty(performance.now() - startedAt, { warm, quiet });
    return status;
  }

  /** Waits until the source rests (it has ended, or waits for room), at most `ms`. */
  private async untilResting(ms: number): Promise<void> {
    const deadline = performance.now() + ms;
    while (!this.source.resting && performance.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - performance.now()));
        void this.source.whenChanged().then(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /**
   * Asks the server for its offset (`bytes *\/*`), again while the answer would mean lost data, since a missing
   * `Range` header reads as nothing persisted.
   */
  private async confirmedStatus(warm = false): Promise<SessionStatus> {
    let status = await this.timedStatus(warm);
    for (let recheck = 0; recheck < 2 && !status.complete && status.persisted < this.source.retainedFrom; recheck++) {
      status = await this.timedStatus(false);
    }
    return status;
  }

  /**
   * Applies the server's answer to a request. Returns the verified result when the upload is complete; otherwise
   * moves the confirmed offset (refusing any that would skip or duplicate bytes) and makes a request that made no
   * progress count against the retry budget. `asked`: the status already comes from a status query.
   */
  private async apply(status: SessionStatus, plan: Plan, asked: boolean): Promise<DriverOutcome | undefined> {
    if (status.complete) return this.complete(status.object);
    let persisted = status.persisted;
    const sentData = plan.to > plan.from;
    const doubtful = persisted < this.source.retainedFrom || (sentData && !asked && persisted <= plan.from);
    if (persisted <= this.sentUpTo && doubtful && !asked) {
      // A 308 without progress after data was sent may only lack its Range header: confirm, never assume.
      const again = await this.confirmedStatus();
      if (again.complete) return this.complete(again.object);
      persisted = again.persisted;
    }
    if (persisted > this.sentUpTo || persisted < this.source.retainedFrom) {
      throw new DataLossError(persisted, this.source.retainedFrom, this.sentUpTo);
    }
    if (persisted > this.confirmed) {
      this.confirmed = persisted;
      this.source.release(persisted);
      this.recovery.progressed();
      this.options.onConfirmed?.(persisted);
      return undefined;
    }
    // Lower than before but still retained (a file can be read again): resend from there.
    this.confirmed = persisted;
    // A finalize that was answered 308 with every byte held is a refusal; one that failed is simply tried again.
    if (!asked && !sentData && plan.final && persisted === this.source.available) {
      throw new ProtocolError(`the server holds all ${persisted} bytes but does not complete the upload`, this.request, 308);
    }
    if (!asked) {
      const what = sentData ? `bytes ${plan.from}-${plan.to - 1}` : 'the finalizing request';
      await this.recovery.backOff(new ProtocolError(`the server persisted nothing of ${what}`, this.request, 308), true);
    }
    return undefined;
  }

  /** Verifies a completion; an answer that could not be read is replaced by a status query's. */
  private async complete(object: StoredObject): Promise<DriverOutcome> {
    this.serverCompleted = true;
    let described = object;
    if (described.malformed) {
      const again = await this.timedStatus(false);
      if (!again.complete) {
        throw new ProtocolError(`the server answered a completion it cannot describe, then reported ${again.persisted} bytes persisted and the upload open`, this.request);
      }
      if (again.object.malformed) {
        throw new ProtocolError('the server reports the upload complete, but its description of the object cannot be read', this.request);
      }
      described = again.object;
    }
    const verified = verifyCompletion(
      described,
      { ended: this.source.ended, size: this.source.available, sentUpTo: this.sentUpTo, digest: this.source.digest() },
      this.request,
    );
    this.confirmed = verified.size;
    this.options.onConfirmed?.(verified.size);
    return { ...verified, sessionUrl: this.sessionUrl!, object: described };
  }

  /** A joined session that is complete already: the source is read to its end and compared with the object. */
  private async finishAlreadyComplete(object: StoredObject): Promise<DriverOutcome> {
    this.source.release(Number.MAX_SAFE_INTEGER);
    while (!this.source.ended) {
      await this.waitForSource();
      this.throwIfAborted();
    }
    const verified = verifyAlreadyComplete(object, this.source.available, this.source.digest());
    this.confirmed = verified.size;
    this.options.onConfirmed?.(verified.size);
    return { ...verified, sessionUrl: this.sessionUrl!, object };
  }
}
