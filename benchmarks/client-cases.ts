/**
 * What each kind of case does inside its client process. The clock runs from before the temp upload is created
 * (the stream creates it and starts its session itself, so the other cases do the same inside the window) to the
 * server's final answer; only the many-files case prepares its inputs first, and `uploadFile` reads a file the
 * runner wrote before the process started. Each returns what the server should be asked to verify.
 * @module
 */
import { pipeline } from 'node:stream/promises';
import { debuglog } from 'node:util';
import { crc32c } from '@node-rs/crc32';
import { request } from 'undici';
import { RedivisClient } from '../src/client/redivis-client.js';
import { uploadFile } from '../src/upload/file-upload.js';
import { createTempUploadStream } from '../src/upload/temp-upload-stream.js';
import type { RetryOptions } from '../src/util/retry.js';
import type { CaseSpec, ClientJob } from './protocol.js';
import { createSource, slice } from './source.js';

const debug = debuglog('redivis-upload-bench');

/** The peer and stream-chunker: already loaded in every client process but a lean one (see `client.ts`). */
export async function loadPeers(): Promise<{ Storage: typeof import('@google-cloud/storage').Storage; chunker: (typeof import('stream-chunker'))['default'] }> {
  const [{ Storage }, { default: chunker }] = await Promise.all([import('@google-cloud/storage'), import('stream-chunker')]);
  return { Storage, chunker };
}

/** Every upload goes to this table; names are unique per run. */
export const TABLE = 'bench.dataset.uploads';

/** The file index table of the many-files cases (an unreleased version, as addFiles requires). */
export const FILES_TABLE = 'bench.dataset:next.files';

/** What a case hands back besides timings. */
export interface CaseOutcome {
  tempUploadIds: string[];
  peakBufferedBytes?: number;
  peakSpilledBytes?: number;
  retries?: number;
  filesAdded?: number;
  filesFailed?: number;
  /** The first failure addFiles reported, if any. */
  firstFailure?: string;
}

/** A case that cannot run here (e.g. the code it measures does not exist yet). */
export class SkipCase extends Error {}

/** Brackets the measured part of a case: wall time and this process's CPU. */
export class Timer {
  private startedAt = 0;
  private cpuAtStart: NodeJS.CpuUsage | undefined;
  seconds = 0;
  cpu: NodeJS.CpuUsage = { user: 0, system: 0 };

  start(): void {
    this.cpuAtStart = process.cpuUsage();
    this.startedAt = performance.now();
  }

  stop(): void {
    this.seconds = (performance.now() - this.startedAt) / 1000;
    this.cpu = process.cpuUsage(this.cpuAtStart);
  }
}

/** The backoff of the recovery cases: 10 ms, constant, so the measured cost is that of the protocol. */
const FAST_BACKOFF: RetryOptions = { initialDelayMs: 10, maxDelayMs: 10, jitter: 0 };

function clientFor(job: ClientJob): RedivisClient {
  return new RedivisClient({ apiEndpoint: job.endpoint.apiEndpoint, apiToken: job.endpoint.token });
}

function nameFor(job: ClientJob): string {
  return `${job.spec.id}-${job.nonce}.bin`;
}

async function createResumable(client: RedivisClient, name: string, size: number): Promise<{ id: string; url: string }> {
  const [tempUpload] = await client.createTempUploads(TABLE, [{ name, size, resumable: true }]);
  return tempUpload!;
}

/** `POST x-goog-resumable: start` by hand, so the baseline owes nothing to the library's upload code. */
async function startSessionByHand(client: RedivisClient, url: string): Promise<string> {
  const response = await request(url, {
    method: 'POST',
    headers: { ...client.uploadHeaders(url), 'x-goog-resumable': 'start', 'content-length': '0' },
  });
  await response.body.dump();
  const location = response.headers.location;
  if (response.statusCode !== 201 || typeof location !== 'string') {
    throw new Error(`starting the session answered ${response.statusCode} without a Location`);
  }
  return location;
}

/**
 * The limit: one undici `PUT` of the whole source to a resumable session with `Content-Range: bytes 0-*\/*`
 * (served by the same session handler as every other case), no checksum, no buffering of its own.
 */
async function rawPut(job: ClientJob, pattern: Buffer, timer: Timer): Promise<CaseOutcome> {
  const { spec } = job;
  timer.start();
  const client = clientFor(job);
  const tempUpload = await createResumable(client, nameFor(job), spec.size);
  const sessionUrl = await startSessionByHand(client, tempUpload.url);
  let crc = 0;
  // With crc32c, each piece is checksummed as the source makes it: the least a checksum can cost.
  const onPiece = spec.crc32c === true ? (piece: Buffer) => void (crc = crc32c(piece, crc)) : undefined;
  const response = await request(sessionUrl, {
    method: 'PUT',
    headers: { ...client.uploadHeaders(sessionUrl), 'content-range': 'bytes 0-*/*' },
    body: createSource(pattern, spec.size, spec.writeSize, onPiece),
  });
  const text = await response.body.text();
  timer.stop();
  debug('raw PUT: CRC32C %s', onPiece ? crc.toString(16) : 'not computed');
  if (response.statusCode !== 200) throw new Error(`the PUT answered ${response.statusCode}: ${text.slice(0, 200)}`);
  return { tempUploadIds: [tempUpload.id] };
}

/** `createTempUploadStream` with its defaults at the end of a pipeline; with `chunker`, stream-chunker in front. */
async function streamUpload(job: ClientJob, pattern: Buffer, timer: Timer, withChunker: boolean): Promise<CaseOutcome> {
  const { spec } = job;
  timer.start();
  const client = clientFor(job);
  const upload = createTempUploadStream({
    client,
    table: TABLE,
    name: nameFor(job),
    ...(spec.faults ? { retry: FAST_BACKOFF } : {}),
    ...(spec.crc32c === false ? { checksums: { crc32c: false } } : {}),
  });
  let retries = 0;
  upload.on('retry', () => {
    retries += 1;
  });
  const source = createSource(pattern, spec.size, spec.writeSize);
  const chunker = withChunker ? (await loadPeers()).chunker : undefined;
  if (chunker) await pipeline(source, chunker(spec.chunkSize!, { flush: true }), upload);
  else await pipeline(source, upload);
  timer.stop();
  const id = upload.result?.tempUploadId;
  if (id === undefined) throw new Error('the stream finished without a result');
  return { tempUploadIds: [id], retries, peakBufferedBytes: upload.peakBufferedBytes, peakSpilledBytes: upload.peakSpilledBytes };
}

/** `uploadFile` with its defaults, on a file of the pattern the runner wrote before this process started. */
async function fileUpload(job: ClientJob, timer: Timer): Promise<CaseOutcome> {
  if (job.filePath === undefined) throw new Error('no file to upload');
  timer.start();
  const client = clientFor(job);
  let retries = 0;
  const uploaded = await uploadFile(job.filePath, {
    client,
    table: TABLE,
    name: nameFor(job),
    onRetry: () => {
      retries += 1;
    },
  });
  timer.stop();
  return { tempUploadIds: [uploaded.id], retries };
}

/**
 * The peer: `@google-cloud/storage` writing into a session the benchmark started by hand. A custom
 * `apiEndpoint` that is not a Google domain makes it send unauthenticated requests, so it runs offline; with `uri`
 * given it asks for the session's offset (`bytes *\/*`), then sends chunks, or the whole body when `chunkSize` is
 * not set. Validation is its default (CRC32C, in pure JS).
 */
async function peerUpload(job: ClientJob, pattern: Buffer, timer: Timer): Promise<CaseOutcome> {
  const { spec } = job;
  timer.start();
  const client = clientFor(job);
  const tempUpload = await createResumable(client, nameFor(job), spec.size);
  const sessionUrl = await startSessionByHand(client, tempUpload.url);
  const { Storage } = await loadPeers();
  const storage = new Storage({ apiEndpoint: job.endpoint.origin, projectId: 'benchmark' });
  const file = storage.bucket('redivis-temp-uploads').file(nameFor(job));
  const writable = file.createWriteStream({
    uri: sessionUrl,
    resumable: true,
    validation: 'crc32c',
    metadata: { contentType: 'application/octet-stream' },
    ...(spec.chunkSize === undefined ? {} : { chunkSize: spec.chunkSize }),
  });
  await pipeline(createSource(pattern, spec.size, spec.writeSize), writable);
  timer.stop();
  return { tempUploadIds: [tempUpload.id] };
}

/** What `addFiles` is expected to look like; checked at run time since it may not exist yet. */
type AddFiles = (options: {
  client: RedivisClient;
  table: string;
  files: Array<{ name: string; source: Buffer }>;
  concurrency: number;
}) => Promise<{ added: unknown; failed: unknown }>;

async function loadAddFiles(): Promise<AddFiles> {
  // Resolved at run time (not by tsc) so the harness builds and runs before the module exists.
  const specifier = new URL('../src/flows/add-files.js', import.meta.url).href;
  let module: { addFiles?: unknown };
  try {
    module = (await import(specifier)) as { addFiles?: unknown };
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') {
      throw new SkipCase('src/flows/add-files.ts does not exist yet (no build/src/flows/add-files.js)');
    }
    throw error;
  }
  if (typeof module.addFiles !== 'function') throw new SkipCase('src/flows/add-files.ts exports no addFiles function');
  return module.addFiles as AddFiles;
}

function countOf(value: unknown): number {
  if (Array.isArray(value)) return value.length;
  if (typeof value === 'number') return value;
  return Number.NaN;
}

/** Many small files through `addFiles`; the file contents are prepared before the clock starts. */
async function manyFiles(job: ClientJob, pattern: Buffer, timer: Timer): Promise<CaseOutcome> {
  const plan = job.spec.files!;
  const addFiles = await loadAddFiles();
  const client = clientFor(job);
  const files = Array.from({ length: plan.count }, (_, index) => ({
    name: `file-${job.spec.id}-${job.nonce}-${index}.bin`,
    source: slice(pattern, index * plan.fileSize, plan.fileSize),
  }));
  timer.start();
  const result = await addFiles({ client, table: FILES_TABLE, files, concurrency: plan.concurrency });
  timer.stop();
  // The server is asked for every upload created during the case, so no ids are needed here.
  const failures = Array.isArray(result.failed) ? (result.failed as Array<{ name?: string; error?: unknown }>) : [];
  const first = failures[0];
  return {
    tempUploadIds: [],
    filesAdded: countOf(result.added),
    filesFailed: countOf(result.failed),
    ...(first ? { firstFailure: `${first.name}: ${first.error instanceof Error ? first.error.message : String(first.error)}` } : {}),
  };
}

export async function runCase(job: ClientJob, pattern: Buffer, timer: Timer): Promise<CaseOutcome> {
  const spec: CaseSpec = job.spec;
  switch (spec.kind) {
    case 'raw':
      return rawPut(job, pattern, timer);
    case 'stream':
      return streamUpload(job, pattern, timer, false);
    case 'chunker':
      return streamUpload(job, pattern, timer, true);
    case 'file':
      return fileUpload(job, timer);
    case 'peer':
      return peerUpload(job, pattern, timer);
    case 'files':
      return manyFiles(job, pattern, timer);
    case 'idle':
      return { tempUploadIds: [] };
  }
}
