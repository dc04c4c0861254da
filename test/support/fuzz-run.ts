/**
 * Runs one fuzz schedule as a full upload against an emulator and judges the outcome. Two outcomes are acceptable:
 * the upload succeeded and the server stores exactly the source's bytes (result.size right), or the stream failed
 * with a typed error and the server holds no completed upload. Anything else (an untyped error, a hang past the
 * deadline, wrong bytes, success without a completed upload) is a violation, reported with the seed and schedule.
 *
 * One case no client can avoid is judged apart: the server completed the upload but its answer was lost and the
 * retry budget ran out before a status query got through. The stream then fails although the bytes are stored. That
 * passes only when the bytes are exact and resuming the kept session, as a user would, reports the completed upload.
 */
import { pipeline } from 'node:stream/promises';
import { Agent } from 'undici';
import { startEmulator, type Emulator, type FaultRule, type TempUploadInfo } from '../../src/emulator/index.js';
import { RedivisClient } from '../../src/client/redivis-client.js';
import { RedivisUploadError } from '../../src/errors.js';
import { createTempUploadStream, type TempUploadStream } from '../../src/upload/temp-upload-stream.js';
import { DEFAULT_MEMORY_LIMIT } from '../../src/upload/stream-options.js';
import { Agent as UndiciAgent, buildConnector } from 'undici';
import { startLinkProxy, type LinkProxy } from '../../benchmarks/link-proxy.js';
import { startChaosProxy, type ChaosOptions, type ChaosProxy } from './chaos-proxy.js';
import { chunkedSource, md5Hex, prng, randomBytes } from './data.js';
import { describeSchedule, type FuzzSchedule } from './fuzz-schedule.js';

export const FUZZ_TABLE = 'fuzz_owner.fuzz_dataset.fuzz_table';
const HIGH_WATER_MARK = 16_384;

/** An emulator and the dispatchers that runs share, one run at a time. */
export interface FuzzLane {
  emulator: Emulator;
  /** Carries the stream's requests (and the API call of the `table` target). */
  agent: Agent;
  /** Carries the harness's own requests (creating the temp upload of the `url` target, resuming). */
  setupAgent: Agent;
  /** The chaos proxy in front of the emulator, when the lane has one. */
  proxy?: ChaosProxy;
  /** Carries the requests of the schedules that cross a modelled link (5 ms round trip, 400 Mbit/s). */
  linkAgent: UndiciAgent;
  /** Runs done in this lane; names temp uploads uniquely. */
  runs: number;
  close(): Promise<void>;
}

/**
 * A lane with its own emulator. With `chaos`, the stream's requests cross a chaos proxy (seeded with `chaos.seed`)
 * while the harness's own requests go direct; without it, one agent carries everything.
 */
export async function startFuzzLane(options: { chaos?: Omit<ChaosOptions, 'target'> } = {}): Promise<FuzzLane> {
  const emulator = await startEmulator();
  const setupAgent = new Agent({ keepAliveTimeout: 2_000 });
  let proxy: ChaosProxy | undefined;
  let agent = setupAgent;
  if (options.chaos !== undefined) {
    proxy = await startChaosProxy({ ...options.chaos, target: { host: '127.0.0.1', port: Number(new URL(emulator.origin).port) } });
    agent = new Agent({ connect: proxy.connector(), keepAliveTimeout: 2_000 });
  }
  const link: LinkProxy = await startLinkProxy({ targetPort: Number(new URL(emulator.origin).port), rttMs: 5, bitsPerSecond: 400e6 });
  const dial = buildConnector({});
  const linkAgent = new UndiciAgent({ keepAliveTimeout: 2_000, connect: (options, callback) => dial({ ...options, hostname: '127.0.0.1', port: String(link.port) }, callback) });
  return {
    emulator,
    agent,
    setupAgent,
    proxy,
    linkAgent,
    runs: 0,
    async close() {
      if (agent !== setupAgent) await agent.destroy();
      await linkAgent.destroy();
      await link.close();
      await proxy?.close();
      await emulator.close();
      await setupAgent.close();
    },
  };
}

/** How one run ended. `violation` is set when the outcome is not an acceptable one. */
export interface FuzzOutcome {
  seed: number;
  /**
   * `ambiguous`: the stream failed (typed) although the server completed the upload byte-exact, because the answer
   * to the completing request was lost; a stream resuming the kept session then reports the completed upload.
   */
  outcome: 'completed' | 'failed' | 'ambiguous';
  /** The error code when the stream failed. */
  code: string | undefined;
  retries: number;
  durationMs: number;
  violation: string | undefined;
}

/**
 * Runs `schedule` in `lane`. `deadlineMs` bounds the whole run: a stream that has neither finished nor failed by
 * then is a hang (the stream is destroyed so the run still ends).
 */
export async function runSchedule(lane: FuzzLane, schedule: FuzzSchedule, deadlineMs = 30_000): Promise<FuzzOutcome> {
  const { emulator } = lane;
  const agent = schedule.link && lane.proxy === undefined ? lane.linkAgent : lane.agent;
  const started = Date.now();
  const name = `fuzz-${schedule.seed}-${++lane.runs}.bin`;
  const client = new RedivisClient({
    apiEndpoint: emulator.apiEndpoint,
    apiToken: emulator.token,
    dispatcher: agent,
    retry: schedule.retry,
    requestTimeoutMs: schedule.requestTimeoutMs,
  });
  const setupClient = new RedivisClient({ apiEndpoint: emulator.apiEndpoint, apiToken: emulator.token, dispatcher: lane.setupAgent });
  const data = randomBytes(schedule.size, schedule.dataSeed);

  let tempUploadId: string | undefined;
  let url: string | undefined;
  if (schedule.target === 'url') {
    // Created before any fault is armed, so only the stream's own requests meet them.
    const [temp] = await setupClient.createTempUploads(FUZZ_TABLE, [{ name, size: schedule.size, resumable: true }]);
    tempUploadId = temp!.id;
    url = temp!.url;
  }
  emulator.clearFaults();
  for (const scheduled of schedule.faults) emulator.injectFault(ruleFor(scheduled, tempUploadId));

  const common = {
    client,
    chunkSize: schedule.chunkSize,
    ...(schedule.requestChunks === undefined ? {} : { maxRequestSize: schedule.requestChunks * schedule.chunkSize }),
    ...(schedule.memoryChunks === undefined ? {} : { memoryLimit: schedule.memoryChunks * schedule.chunkSize }),
    ...(schedule.spill ? {} : { spill: false as const }),
    highWaterMark: HIGH_WATER_MARK,
    retry: schedule.retry,
    requestTimeoutMs: schedule.requestTimeoutMs,
    stallTimeoutMs: schedule.stallTimeoutMs,
    checksums: { crc32c: true, md5: schedule.md5 },
    ...(schedule.knownSize ? { size: schedule.size } : {}),
  };
  const stream: TempUploadStream =
    url !== undefined ? createTempUploadStream({ ...common, url }) : createTempUploadStream({ ...common, table: FUZZ_TABLE, name });
  let retries = 0;
  stream.on('retry', () => (retries += 1));
  const writes = prng(schedule.writeSeed);
  const source = chunkedSource(data, () => 1 + Math.floor(writes() * schedule.maxWrite));

  const settled = pipeline(source, stream).then(
    () => ({ error: undefined as unknown }),
    (error: unknown) => ({ error }),
  );
  const result = await withDeadline(settled, deadlineMs);
  emulator.clearFaults();

  const outcome = (violation: string | undefined, failed?: unknown): FuzzOutcome => ({
    seed: schedule.seed,
    outcome: failed === undefined ? 'completed' : 'failed',
    code: failed instanceof RedivisUploadError ? failed.code : undefined,
    retries,
    durationMs: Date.now() - started,
    violation: violation === undefined ? undefined : `${violation}\n  seed ${schedule.seed}: ${describeSchedule(schedule)}`,
  });

  if (result === 'hang') {
    stream.destroy();
    source.destroy();
    await withDeadline(settled, 5_000);
    return outcome(`hang: neither finished nor failed within ${deadlineMs} ms`, new Error('hang'));
  }
  tempUploadId ??= stream.tempUploadId;
  const info = findUpload(emulator, tempUploadId, name);

  if (result.error !== undefined) {
    const error = result.error;
    if (!(error instanceof RedivisUploadError) || typeof error.code !== 'string') {
      return outcome(`untyped error: ${describeError(error)}`, error);
    }
    if (info?.state === 'complete') {
      const failure = `failed with ${error.code} (${error.message}) but the server holds a completed upload`;
      if (info.final?.md5Hex !== md5Hex(data)) return outcome(`${failure} with WRONG BYTES`, error);
      // The answer to the completing request was lost and the budget ran out before a status query got through:
      // no client can tell this from a failure. Acceptable only if the session was kept, so resuming finds it.
      const resumed = await resumeCompleted(setupClient, stream, data, schedule, deadlineMs);
      return { ...outcome(resumed === undefined ? undefined : `${failure}, and ${resumed}`, error), outcome: 'ambiguous' };
    }
    return outcome(undefined, error);
  }

  const problems: string[] = [];
  const memoryLimit = (schedule.memoryChunks ?? 0) * schedule.chunkSize || Math.max(DEFAULT_MEMORY_LIMIT, 2 * schedule.chunkSize);
  const pending = schedule.spill ? 4 * Math.min(schedule.chunkSize, 1024 * 1024) : 0;
  if (stream.peakBufferedBytes > memoryLimit + pending + HIGH_WATER_MARK + schedule.maxWrite) {
    problems.push(`peak memory ${stream.peakBufferedBytes} > ${memoryLimit} + ${pending} + ${HIGH_WATER_MARK} + ${schedule.maxWrite}`);
  }
  if (!schedule.spill && stream.peakSpilledBytes > 0) problems.push('spilled with spill: false');
  if (info === undefined) problems.push('no temp upload on the server');
  else {
    if (info.state !== 'complete') problems.push(`server state is ${info.state}, not complete`);
    if (info.final?.md5Hex !== md5Hex(data)) problems.push(`stored MD5 ${info.final?.md5Hex} != source ${md5Hex(data)}`);
    if (info.final?.size !== schedule.size) problems.push(`stored size ${info.final?.size} != ${schedule.size}`);
    if (stream.result?.crc32c !== undefined && stream.result.crc32c !== info.final?.crc32c) problems.push('result.crc32c differs from the stored one');
    if (stream.result?.md5 !== undefined && stream.result.md5 !== info.final?.md5) problems.push('result.md5 differs from the stored one');
  }
  if (stream.result?.size !== schedule.size) problems.push(`result.size ${stream.result?.size} != ${schedule.size}`);
  if (schedule.target === 'table' && stream.result?.tempUploadId !== info?.id) problems.push('result.tempUploadId is not the created upload');
  return outcome(problems.length > 0 ? `completed, but ${problems.join('; ')}` : undefined);
}

/**
 * Resumes the failed stream's session with the whole source, as a user would; undefined when that reports the
 * completed upload.
 */
async function resumeCompleted(
  client: RedivisClient,
  failed: TempUploadStream,
  data: Buffer,
  schedule: FuzzSchedule,
  deadlineMs: number,
): Promise<string | undefined> {
  if (failed.sessionUrl === undefined) return 'the stream has no sessionUrl to resume';
  const resume = createTempUploadStream({ client, sessionUrl: failed.sessionUrl, chunkSize: schedule.chunkSize });
  const source = chunkedSource(data, [65_536]);
  const settled = pipeline(source, resume).then(
    () => undefined,
    (error: unknown) => `resuming the session failed: ${describeError(error)}`,
  );
  const result = await withDeadline(settled, deadlineMs);
  if (result === 'hang') {
    resume.destroy();
    source.destroy();
    await withDeadline(settled, 5_000);
    return `resuming the session hung (neither finished nor failed within ${deadlineMs} ms)`;
  }
  if (result !== undefined) return result;
  return resume.result?.size === data.length ? undefined : `resuming reported size ${resume.result?.size}`;
}

/** `promise`, or `'hang'` when it has not settled within `ms`. */
async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T | 'hang'> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'hang'>((resolve) => {
    timer = setTimeout(() => resolve('hang'), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function ruleFor(scheduled: FuzzSchedule['faults'][number], tempUploadId: string | undefined): FaultRule {
  const match = { kind: scheduled.kind, nth: scheduled.nth, ...(tempUploadId !== undefined && scheduled.kind !== 'api' ? { tempUploadId } : {}) };
  return { match, fault: scheduled.fault, times: scheduled.times };
}

function findUpload(emulator: Emulator, id: string | undefined, name: string): TempUploadInfo | undefined {
  if (id !== undefined) return emulator.getTempUpload(id);
  // The stream failed before it learnt the id (say, in the tempUploads call): find the upload by its name.
  return emulator.listTempUploads().find((upload) => upload.name === name);
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}${(error as { code?: unknown }).code ? ` [${String((error as { code?: unknown }).code)}]` : ''}: ${error.message}`;
  return String(error);
}
