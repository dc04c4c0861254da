/**
 * Keeps docs/bad-input.md and the README's error table true: every row of the document has a case here, keyed by
 * its id, that runs the input and yields what the user gets as the document's `code` column writes it (the code,
 * then the codes of its causes after `←`; `accepted` when nothing fails; `its own error` when the caller's error
 * comes back as it was). The README's table names, for each code, rows whose case produces it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readlinkSync, truncateSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { Agent } from 'undici';
import * as library from '../../src/index.js';
import { RedivisClient } from '../../src/client/redivis-client.js';
import { startEmulator } from '../../src/emulator/index.js';
import type { Emulator } from '../../src/emulator/types.js';
import { addFiles, uploadToTable } from '../../src/flows/index.js';
import { CHUNK_ALIGNMENT as Q } from '../../src/upload/content-range.js';
import { uploadFile } from '../../src/upload/file-upload.js';
import type { TempUploadStreamOptions } from '../../src/upload/stream-options.js';
import { createTempUploadStream } from '../../src/upload/temp-upload-stream.js';
import { chunkedSource, md5Hex, randomBytes, runSeed } from '../support/data.js';
import { TEST_CERT, startServer, startSessionServer, type Answer, type Override } from '../hardening/servers.js';
import { runInProcess } from '../cli/helpers.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const seed = runSeed();
const retry = { retries: 2, initialDelayMs: 1, maxDelayMs: 2 };
const TABLE = 'owner.dataset:next.table';
const TOKEN = 'tok-bad-input-docs-8f7e6d';

let emulator: Emulator;
let client: RedivisClient;
let trusting: Agent;
let scratch: string;
let counter = 0;
const uniqueName = (stem = 'case') => `${stem}-${++counter}.csv`;

before(async () => {
  emulator = await startEmulator({ token: TOKEN });
  client = new RedivisClient({ apiEndpoint: emulator.apiEndpoint, apiToken: TOKEN, retry });
  trusting = new Agent({ connect: { ca: TEST_CERT } });
  scratch = await mkdtemp(join(tmpdir(), 'redivis-upload-bad-input-'));
});
after(async () => {
  await emulator.close();
  await trusting.close();
  await rm(scratch, { recursive: true, force: true });
});

/** What the user got, as the document writes it. */
function outcome(error: unknown): string {
  if (error === undefined) return 'accepted';
  const codes: string[] = [];
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 8; current = current.cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && codes[codes.length - 1] !== code) codes.push(code);
  }
  return codes.length === 0 ? `uncoded ${String(error)}` : codes.join(' ← ');
}

async function settle(work: () => unknown): Promise<unknown> {
  try {
    await work();
    return undefined;
  } catch (error) {
    return error;
  }
}

/** The one outcome of every input of a row; a row whose inputs disagree fails with all of them listed. */
async function all(inputs: Array<() => unknown>): Promise<string> {
  const outcomes = [...new Set(await Promise.all(inputs.map(async (input) => outcome(await settle(input)))))];
  return outcomes.join(' | ');
}

/** Streams `data` to a scripted session server answering with `override` first. */
async function throughSession(override: Override, data = randomBytes(2 * Q + 7, seed), options: Partial<TempUploadStreamOptions> = {}, server: { tls?: boolean } = {}) {
  const session = await startSessionServer(override, server);
  try {
    const stream = createTempUploadStream({ url: `${session.origin}/temp?sig=secret`, chunkSize: Q, retry, ...options } as TempUploadStreamOptions);
    const error = await settle(() => pipeline(chunkedSource(data, [Q]), stream));
    return { error, stream, requests: session.requests, stored: session.stored(), data };
  } finally {
    await session.close();
  }
}

/** An API endpoint answering every call with `answer`, and a client of it. */
async function throughApi(answer: (index: number) => Answer, work: (api: RedivisClient) => Promise<unknown>): Promise<unknown> {
  const server = await startServer((_request, index) => answer(index));
  try {
    return await settle(() => work(new RedivisClient({ apiEndpoint: `${server.origin}/api/v1`, apiToken: TOKEN, retry })));
  } finally {
    await server.close();
  }
}

/** Writes `chunk` into a fresh stream: a throw, or the stream's `error`, is the outcome. */
function writeOne(chunk: unknown): Promise<void> {
  const stream = createTempUploadStream({ url: 'https://x.example/u' });
  return new Promise((resolve, reject) => {
    stream.once('error', reject);
    try {
      stream.write(chunk as never);
    } catch (error) {
      reject(error);
      return;
    }
    setImmediate(() => (stream.destroyed ? undefined : (stream.destroy(), resolve())));
  });
}

const upload = (options: TempUploadStreamOptions, data: Buffer = Buffer.from('a,b\n1,2\n')) => () => pipeline(Readable.from([data]), createTempUploadStream(options));
const construct = (options: unknown) => () => createTempUploadStream(options as TempUploadStreamOptions);

/** A Location on `location` answering the session start; the rest of the session is faithful. */
const locationIs = (location: string): Override => (request) => (request.method === 'POST' && !request.url.startsWith('/session') ? { status: 201, headers: { location } } : undefined);

const CASES: Record<string, () => Promise<string>> = {
  // Arguments
  A1: () => all(['', 'a', 'a.b', 'a.b.c.d.e', 'a..c', 'a.b:v1.x.c', 'own er.d.t', null, 42, {}, { owner: 'x' }, ['a']].map((table) => construct({ client, table, name: 'x.csv' }))),
  A2: () => all([0, 262_145, 1000, NaN, Infinity, -Q, String(Q), 1.5 * Q, 2 ** 53].map((chunkSize) => construct({ url: 'https://x.example/u', chunkSize }))),
  A3: () => all([-1, 1.5, NaN, Infinity, '10', 2 ** 53].map((size) => construct({ url: 'https://x.example/u', size }))),
  A4: () =>
    all(
      [
        { client, table: TABLE, name: 'x.csv', sizeHint: -1 },
        { sessionUrl: 'https://x.example/s', offset: 1.5 },
        { sessionUrl: 'https://x.example/s', offset: -5 },
        ...[{ highWaterMark: 0 }, { stallTimeoutMs: 0 }, { requestTimeoutMs: -1 }, { requestTimeoutMs: NaN }].map((extra) => ({ url: 'https://x.example/u', ...extra })),
      ].map((options) => construct(options)),
    ),
  A5: () => all([{ retries: -1 }, { initialDelayMs: 0 }, { jitter: 2 }, 'often'].map((bad) => construct({ url: 'https://x.example/u', retry: bad }))),
  A6: () => all([{ url: 42 }, { url: 'https://x.example/u', client: {} }, { client, table: TABLE, name: 7 }, null, 'options', 5].map((options) => construct(options))),
  A7: () =>
    all([
      () => uploadFile(Buffer.from('x'), { client: {} as RedivisClient, table: TABLE, name: 'x' }),
      () => uploadFile(42 as unknown as Buffer, { client, table: TABLE, name: 'x' }),
      () => uploadFile(Buffer.from('x'), { client, table: TABLE, name: 'x', chunkSize: 5 }),
      () => uploadFile(Buffer.from('x'), { client, table: TABLE, name: 'x', resumableThreshold: -1 }),
      () => uploadFile(Buffer.from('x'), { client, table: TABLE, name: 'x', signal: 'now' as unknown as AbortSignal }),
    ]),
  A8: () =>
    all(
      [{ url: 'not a url' }, { url: 'ftp://x.example/u' }, { url: 'https://x.example/u', sessionUrl: 'https://x.example/s' }, {}, { url: 'https://x.example/u', signal: 'yes' }, { url: 'https://x.example/u', checksums: 'md5' }, { table: TABLE, name: 'x' }, { client, table: TABLE, name: '' }].map(
        (options) => construct(options),
      ),
    ),
  A9: () => all([construct({ url: 'http://example.com/x' }), () => new RedivisClient({ apiEndpoint: 'http://example.com/api/v1', apiToken: TOKEN })]),
  A10: async () => {
    const session = await startSessionServer();
    try {
      const url = new URL(`${session.origin}/temp?sig=1`);
      [url.username, url.password] = ['user', 'pw-secret'];
      const data = randomBytes(Q + 3, seed + 10);
      const error = await settle(() => pipeline(chunkedSource(data, [Q]), createTempUploadStream({ client, url: url.href, chunkSize: Q })));
      const toThatUrl = session.requests.filter((request) => request.url.startsWith('/temp'));
      assert.equal(toThatUrl.length, 1);
      assert.equal(toThatUrl[0]!.headers.authorization, undefined, 'no Basic credentials, no token');
      assert.equal(md5Hex(session.stored()), md5Hex(data));
      return outcome(error);
    } finally {
      await session.close();
    }
  },

  // Names
  N1: () => all([() => client.createTempUploads(TABLE, [{ name: 'twice', size: 1 }, { name: 'twice', size: 1 }])]),
  N2: async () => {
    const name = uniqueName('taken');
    await client.createTempUploads(TABLE, [{ name, size: 1 }]);
    return all([upload({ client, table: TABLE, name })]);
  },
  N3: async () => {
    emulator.injectFault({ match: { kind: 'api', nth: 1 }, fault: { kind: 'reset' } });
    try {
      return await all([upload({ client, table: 'owner.lost:next.answer', name: uniqueName('lost') })]);
    } finally {
      emulator.clearFaults();
    }
  },
  N4: () =>
    all([{ name: 'x', size: -1 }, { name: 'x', size: 1.5 }, { name: '', size: 1 }, { name: 'x', size: 1, resumable: 'yes' }].map((item) => () => client.createTempUploads(TABLE, [item as never]))),

  // Sources
  S1: async () => {
    const own = new Error('the source broke');
    const source = new Readable({ read() {} });
    source.push(randomBytes(Q + 1, seed + 11));
    setImmediate(() => source.destroy(own));
    const error = await settle(() => pipeline(source, createTempUploadStream({ client, table: TABLE, name: uniqueName('midway'), chunkSize: Q })));
    return error === own ? 'its own error' : outcome(error);
  },
  S2: () => all([upload({ client, table: TABLE, name: uniqueName('long'), size: 0 }, Buffer.from('x')), upload({ client, table: TABLE, name: uniqueName('long'), size: 2 * Q, chunkSize: Q }, randomBytes(3 * Q, seed))]),
  S3: () => all([upload({ client, table: TABLE, name: uniqueName('short'), size: 3 * Q, chunkSize: Q }, randomBytes(2 * Q + 7, seed))]),
  S4: async () => {
    // The first writer stops answering after the server holds some bytes, as a crashed process would.
    const first = createTempUploadStream({ client, table: TABLE, name: uniqueName('held'), chunkSize: Q });
    const source = new PassThrough();
    const abandoned = settle(() => pipeline(source, first));
    source.write(randomBytes(2 * Q, seed + 12));
    await emulator.waitForRequest((entry) => entry.tempUploadId !== undefined && entry.tempUploadId === first.tempUploadId && entry.status === 308 && entry.bytesReceived >= Q);
    try {
      return await all([upload({ client, sessionUrl: first.sessionUrl!, chunkSize: Q }, randomBytes(Q / 2, seed + 12))]);
    } finally {
      first.destroy();
      await abandoned;
    }
  },
  S5: () => all([{}, 123, true, [1, 2]].map((chunk) => () => writeOne(chunk))),
  S6: () => all([() => writeOne(null), () => writeOne(undefined)]),
  S7: async () => {
    const session = await startSessionServer();
    try {
      const stream = createTempUploadStream({ url: `${session.origin}/temp`, retry });
      const error = await settle(() => pipeline(Readable.from(['héllo', Buffer.from('d29ybGQ=', 'base64')]), stream));
      assert.equal(session.stored().toString(), 'hélloworld');
      return outcome(error);
    } finally {
      await session.close();
    }
  },
  S8: async () => {
    const session = await startSessionServer();
    try {
      const stream = createTempUploadStream({ url: `${session.origin}/temp`, retry });
      const bytes = Uint8Array.from([1, 2, 3, 4]);
      const error = await settle(() => pipeline(Readable.from([bytes, new Uint16Array(bytes.buffer), new DataView(bytes.buffer)], { objectMode: false }), stream));
      assert.deepEqual([...session.stored()], [1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4]);
      return outcome(error);
    } finally {
      await session.close();
    }
  },
  S9: () =>
    all([
      () =>
        pipeline(async function* () {
          yield Buffer.from('a');
          yield { id: 1 };
        }, createTempUploadStream({ client, table: TABLE, name: uniqueName('generator') })),
    ]),
  // Node 20 throws this from a `data` handler, an uncaught exception that ends the process: the child reports it.
  S10: async () => {
    const child = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { Readable } from 'node:stream'; import { pipeline } from 'node:stream/promises';
         import { createTempUploadStream } from ${JSON.stringify(join(ROOT, 'build/src/index.js'))};
         process.on('uncaughtException', (e) => { console.log(e.code); process.exit(0); });
         await pipeline(Readable.from([{ id: 1 }]), createTempUploadStream({ url: 'http://127.0.0.1:1/u' })).then(() => console.log('accepted'), (e) => console.log(e.code));`,
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );
    return child.stdout.trim() || `no outcome: ${child.stderr}`;
  },
  S11: async () => {
    const session = await startSessionServer();
    try {
      const stream = createTempUploadStream({ url: `${session.origin}/temp`, retry });
      const failed = new Promise<unknown>((resolve) => stream.once('error', resolve));
      stream.end(Buffer.from('a'));
      stream.write(Buffer.from('b'), () => {});
      const error = await failed;
      assert.equal(stream.result, undefined);
      return outcome(error);
    } finally {
      await session.close();
    }
  },
  S12: async () => {
    const stream = createTempUploadStream({ client, table: TABLE, name: uniqueName('finished') });
    await pipeline(Readable.from([Buffer.from('done')]), stream);
    const error = await new Promise((resolve) => stream.write(Buffer.from('late'), resolve));
    assert.equal(stream.result?.size, 4);
    return outcome(error);
  },
  S13: async () => {
    const stream = createTempUploadStream({ client, table: TABLE, name: uniqueName('listener') });
    const bug = new Error('a bug in a progress listener');
    stream.on('progress', () => {
      throw bug;
    });
    const error = await settle(() => pipeline(Readable.from([Buffer.from('listened')]), stream));
    await new Promise((resolve) => (stream.closed ? resolve(undefined) : stream.once('close', resolve)));
    assert.equal(emulator.getTempUpload(stream.tempUploadId!)?.state, 'complete', 'the upload is not undone');
    return error === bug ? 'its own error' : outcome(error);
  },
  S14: async () => {
    const { startSessionServer: startRaw } = await import('../support/session-server.js');
    // Answers that take 25 ms, as on a real link, so the stream measures that larger requests pay and spills.
    const server = await startRaw({
      override: (_request, respond) => {
        setTimeout(() => respond.faithful(), 25);
        return true;
      },
    });
    const spillDir = await mkdtemp(join(scratch, 'spill-'));
    try {
      const stream = createTempUploadStream({ url: `${server.origin}/temp`, chunkSize: Q, memoryLimit: Q, spill: { directory: spillDir, maxBytes: 64 * Q }, retry });
      // Whatever removes the file's content under the stream (here: truncating it through /proc) loses those bytes.
      stream.on('progress', () => {
        if (stream.spilledBytes === 0) return;
        for (const fd of readdirSync('/proc/self/fd')) {
          const target = (() => {
            try {
              return readlinkSync(`/proc/self/fd/${fd}`);
            } catch {
              return '';
            }
          })();
          if (target.includes(spillDir)) truncateSync(`/proc/self/fd/${fd}`, 0);
        }
      });
      return outcome(await settle(() => pipeline(chunkedSource(randomBytes(96 * Q, seed), [65_536]), stream)));
    } finally {
      await server.close();
    }
  },

  // Servers that answer badly
  V1: () => Promise.all([locationIs(''), (request: { method: string }) => (request.method === 'POST' ? { status: 201 } : undefined)].map((override) => throughSession(override as Override))).then((runs) => [...new Set(runs.map((run) => outcome(run.error)))].join(' | ')),
  V2: async () => outcome((await throughSession(locationIs('http://[bad'))).error),
  V3: async () => {
    const run = await throughSession(locationIs('/session?upload_id=relative'));
    assert.equal(md5Hex(run.stored), md5Hex(run.data));
    return outcome(run.error);
  },
  V4: async () => (await Promise.all(['javascript:alert(1)', 'data:text/plain,x', 'file:///etc/passwd', 'ftp://x.example/s'].map((location) => throughSession(locationIs(location))))).map((run) => outcome(run.error)).filter((value, i, list) => list.indexOf(value) === i).join(' | '),
  V5: async () => outcome((await throughSession(locationIs('http://uploads.example.com/session?x=1'), undefined, { dispatcher: trusting }, { tls: true })).error),
  V6: async () => {
    const elsewhere = await startSessionServer(undefined, { host: '127.0.0.2' });
    const home = await startServer((request) => (request.method === 'POST' ? { status: 201, headers: { location: `${elsewhere.origin}/session?upload_id=x` } } : { status: 404 }));
    try {
      const api = new RedivisClient({ apiEndpoint: `${home.origin}/api/v1`, apiToken: TOKEN, retry });
      const data = randomBytes(Q + 5, seed + 13);
      const error = await settle(() => pipeline(chunkedSource(data, [Q]), createTempUploadStream({ client: api, url: `${home.origin}/temp?sig=1`, chunkSize: Q })));
      assert.equal(home.requests[0]?.headers.authorization, `Bearer ${TOKEN}`);
      for (const request of elsewhere.requests) assert.equal(request.headers.authorization, undefined);
      assert.equal(md5Hex(elsewhere.stored()), md5Hex(data));
      return outcome(error);
    } finally {
      await home.close();
      await elsewhere.close();
    }
  },
  V7: () => all([upload({ url: 'http://127.0.0.1:1/upload?sig=1', retry })]),
  V8: async () => (await Promise.all(['bytes=5-10', 'bytes=0-abc', 'items=0-9', 'bytes=0-', 'bytes=1-262143', '0-262143'].map((range) => throughSession((request) => (request.method === 'PUT' ? { status: 308, headers: { range } } : undefined))))).map((run) => outcome(run.error)).filter((value, i, list) => list.indexOf(value) === i).join(' | '),
  V9: async () => {
    // The emulator's omitRange: a 308 without Range after a chunk, confirmed by a status query.
    emulator.injectFault({ match: { kind: 'chunk', nth: 1 }, fault: { kind: 'omitRange' } });
    const stream = createTempUploadStream({ client, table: 'owner.range:next.lost', name: uniqueName('range'), chunkSize: Q });
    const data = randomBytes(2 * Q + 1, seed + 14);
    const error = await settle(() => pipeline(chunkedSource(data, [Q]), stream));
    assert.equal(emulator.getTempUpload(stream.tempUploadId!)?.final?.md5Hex, md5Hex(data));
    return outcome(error);
  },
  V11: async () => outcome((await throughSession((request) => (request.method === 'PUT' ? { status: 308, headers: { range: `bytes=0-${10 * Q - 1}` } } : undefined))).error),
  V12: async () => {
    const values = ['soon', '-1', '1.5', '1e3', '0x10', '', 'Wed, 21 Oct 2015 07:28:00 GMT', '99999999'];
    const runs = await Promise.all(
      values.map((value) => {
        let refused = false;
        return throughSession((request) => {
          if (request.method !== 'PUT' || refused) return undefined;
          refused = true;
          return { status: 503, headers: { 'retry-after': value } };
        });
      }),
    );
    for (const run of runs) assert.equal(md5Hex(run.stored), md5Hex(run.data));
    return [...new Set(runs.map((run) => outcome(run.error)))].join(' | ');
  },
  V13: () => throughApi(() => ({ status: 400, headers: { 'content-type': 'text/plain' }, body: 'bad table' }), (api) => api.createTempUploads('o.d.t', [{ name: 'x', size: 1 }])).then(outcome),
  V14: async () => {
    const html = await throughApi(() => ({ status: 500, headers: { 'content-type': 'text/html' }, body: '<html>oops</html>' }), (api) => api.createTempUploads('o.d.t', [{ name: 'x', size: 1 }]));
    const empty = await throughApi(() => ({ status: 502 }), (api) => api.createTempUploads('o.d.t', [{ name: 'x', size: 1 }]));
    return [...new Set([outcome(html), outcome(empty)])].join(' | ');
  },
  V15: () => throughApi(() => ({ status: 200, headers: { 'content-type': 'text/html' }, body: '<html>portal</html>' }), (api) => api.createTempUploads('o.d.t', [{ name: 'x', size: 1 }])).then(outcome),
  V16: async () => {
    const none = await throughApi(() => ({ status: 200, headers: { 'content-type': 'application/json' }, body: '{}' }), (api) => api.createTempUploads('o.d.t', [{ name: 'x', size: 1 }]));
    const few = await throughApi(() => ({ status: 200, headers: { 'content-type': 'application/json' }, body: '{"results":[]}' }), (api) => api.createTempUploads('o.d.t', [{ name: 'x', size: 1 }]));
    return [...new Set([outcome(none), outcome(few)])].join(' | ');
  },
  V17: async () => {
    const run = await throughSession((request) => (request.method === 'PUT' ? { status: 400, body: `<html>${'x'.repeat(3_000_000)}</html>` } : undefined));
    assert.equal((run.error as library.UploadHttpError).responseBody.length, 512);
    return outcome(run.error);
  },
  V18: async () => outcome((await throughSession((request) => (request.method === 'PUT' ? { status: 200, body: JSON.stringify({ size: String(Q) }) } : undefined))).error),
  V19: async () => outcome((await throughSession((request, persisted) => {
    const total = /\/(\d+)$/.exec(String(request.headers['content-range']))?.[1];
    return total !== undefined && Number(total) === persisted + request.body.length ? { status: 200, body: JSON.stringify({ size: total, crc32c: 'AAAAAA==' }) } : undefined;
  })).error),
  V20: async () => outcome((await throughSession((request, persisted) => {
    const total = /\/(\d+)$/.exec(String(request.headers['content-range']))?.[1];
    return total !== undefined && Number(total) === persisted + request.body.length ? { status: 200, body: JSON.stringify({ size: 'lots' }) } : undefined;
  })).error),
  V21: () => throughApi(() => ({ status: 302, headers: { location: 'https://elsewhere.example/' } }), (target) => target.createTempUploads('o.d.t', [{ name: 'x', size: 1 }])).then(outcome),
  V28: async () => {
    const garbled = ['HTTP/1.1 2OO OK\r\n\r\n', 'HTTP/1.1 308 Resume Incomplete\r\nContent-Length: abc\r\n\r\n', 'hello\r\n\r\n'];
    const runs = await Promise.all(
      garbled.map(async (text) => {
        const { startSessionServer: startRaw } = await import('../support/session-server.js');
        let sent = false;
        const server = await startRaw({
          override: (request, respond) => {
            if (sent || !/^bytes \d+-/.test(request.contentRange ?? '')) return false;
            sent = true;
            respond.raw(text);
            return true;
          },
        });
        try {
          const data = randomBytes(Q + 3, seed);
          const stream = createTempUploadStream({ url: `${server.origin}/temp`, chunkSize: Q, retry });
          const error = await settle(() => pipeline(Readable.from([data]), stream));
          if (error === undefined) assert.equal(md5Hex(server.stored()), md5Hex(data));
          return outcome(error);
        } finally {
          await server.close();
        }
      }),
    );
    return [...new Set(runs)].join(' | ');
  },
  V29: async () => {
    const { startSessionServer: startRaw } = await import('../support/session-server.js');
    const server = await startRaw({
      override: (request, respond) => {
        if (!/^bytes \d+-/.test(request.contentRange ?? '')) return false;
        respond.trickle(308, { range: `bytes=0-${Q - 1}` }, 1000, 100);
        return true;
      },
    });
    try {
      const stream = createTempUploadStream({ url: `${server.origin}/temp`, chunkSize: Q, retry, stallTimeoutMs: 500 });
      return outcome(await settle(() => pipeline(Readable.from([randomBytes(2 * Q, seed)]), stream)));
    } finally {
      await server.close();
    }
  },
  V27: async () => outcome((await throughSession((request) => (request.method === 'POST' ? { status: 307, headers: { location: 'https://elsewhere.example/' } } : undefined))).error),
  V22: async () => {
    const server = await startServer(() => ({ status: 200, body: '{}' }), { tls: true });
    try {
      const api = new RedivisClient({ apiEndpoint: `${server.origin}/api/v1`, apiToken: TOKEN, retry });
      const error = await settle(() => api.createTempUploads('o.d.t', [{ name: 'x', size: 1 }]));
      assert.deepEqual(server.requests, []);
      return outcome(error);
    } finally {
      await server.close();
    }
  },
  V23: async () => {
    const server = await startServer(() => ({ status: 201, headers: { location: '/session' } }), { tls: true });
    try {
      const error = await settle(upload({ url: `${server.origin}/temp?sig=1`, retry }));
      assert.deepEqual(server.requests, []);
      return outcome(error);
    } finally {
      await server.close();
    }
  },
  V24: async () => {
    const data = randomBytes(2 * Q, seed + 15);
    const first = createTempUploadStream({ client, table: TABLE, name: uniqueName('complete'), chunkSize: Q });
    await pipeline(chunkedSource(data, [Q]), first);
    const resumed = createTempUploadStream({ client, sessionUrl: first.sessionUrl!, chunkSize: Q });
    const error = await settle(() => pipeline(chunkedSource(data, [65_536]), resumed));
    assert.equal(resumed.result?.size, data.length);
    return outcome(error);
  },
  V25: async () => {
    const stream = createTempUploadStream({ client, table: TABLE, name: uniqueName('expired'), chunkSize: Q });
    stream.once('session', () => emulator.expireSession(stream.tempUploadId!));
    return outcome(await settle(() => pipeline(chunkedSource(randomBytes(2 * Q, seed), [Q]), stream)));
  },
  V26: async () => {
    const stream = createTempUploadStream({ client, table: TABLE, name: uniqueName('cancelled'), chunkSize: Q });
    const source = new PassThrough();
    const done = settle(() => pipeline(source, stream));
    source.write(randomBytes(Q, seed));
    await new Promise((resolve) => stream.once('session', resolve));
    const sessionUrl = stream.sessionUrl!;
    stream.destroy();
    await done;
    await emulator.waitForRequest((entry) => entry.kind === 'cancel' && entry.tempUploadId === stream.tempUploadId);
    return all([upload({ client, sessionUrl })]);
  },

  // Whole flows
  F1: () => all([() => uploadToTable({ client, table: TABLE, source: join(scratch, 'missing.csv') }), () => addFiles({ client, table: TABLE, files: [join(scratch, 'missing')] })]),
  F2: async () => {
    const name = uniqueName('conflict');
    await uploadToTable({ client, table: TABLE, source: Buffer.from('a\n1\n'), name, wait: false });
    return all([() => uploadToTable({ client, table: TABLE, source: Buffer.from('a\n1\n'), name })]);
  },
  F3: async () => {
    const name = uniqueName('failing');
    emulator.failUpload(name, 'Row 3 has 4 columns, expected 2');
    return all([() => uploadToTable({ client, table: TABLE, source: Buffer.from('a,b\n1,2\n3,4,5,6\n'), name, pollIntervalMs: 5 })]);
  },
  F4: () => all([() => uploadToTable({ client, table: TABLE, source: Buffer.from('a\n1\n'), name: uniqueName('slow'), timeoutMs: 1, pollIntervalMs: 1 })]),
  F5: () => all([() => new RedivisClient({ apiEndpoint: emulator.apiEndpoint }).createTempUploads(TABLE, [{ name: 'x', size: 1 }])]),
  F6: () => all([() => uploadToTable({ client, table: TABLE, source: Buffer.from('a\n'), name: uniqueName('aborted'), signal: AbortSignal.abort() })]),
  F7: () => all([() => new RedivisClient({ apiEndpoint: 'http://127.0.0.1:1/api/v1', apiToken: TOKEN }).request('GET', '/tables/o.d.t', { retry: false })]),

  // Rows
  R1: async () => {
    const { createRowStream } = await import('../../src/flows/index.js');
    const { SCHEMA, makeRows } = await import('../flows/rows-helpers.js');
    const stream = createRowStream({ client, table: TABLE, name: uniqueName('rows-bad'), schema: SCHEMA, batchRows: 10 });
    const rows = [...makeRows(5, seed), { ...makeRows(1, seed, 5)[0], id: 'six' }, ...makeRows(5, seed, 6)];
    const error = await settle(() => pipeline(Readable.from(rows), stream));
    assert.equal(stream.rowsConfirmed, 5, 'the rows before the bad one are stored, none after it');
    return outcome(error);
  },
  R2: async () => {
    const { createRowStream } = await import('../../src/flows/index.js');
    const { SCHEMA, makeRows, startGate } = await import('../flows/rows-helpers.js');
    let lost = false;
    // The answer to a batch is lost, and the upload's count then leaves out numRows: whether it is stored is unknowable.
    const gate = await startGate(emulator, async (request, forward) => {
      if (request.rowsIndex === 1 && !lost) {
        lost = true;
        await forward();
        return 'reset';
      }
      if (request.method !== 'GET' || !lost) return undefined;
      const answer = await forward();
      const { numRows: _numRows, ...upload } = JSON.parse(answer.body) as Record<string, unknown>;
      return { status: answer.status, body: upload };
    });
    try {
      const gated = new RedivisClient({ apiEndpoint: gate.apiEndpoint, apiToken: TOKEN, retry });
      const stream = createRowStream({ client: gated, table: TABLE, name: uniqueName('rows-doubt'), schema: SCHEMA, batchRows: 10 });
      return outcome(await settle(() => pipeline(Readable.from(makeRows(30, seed)), stream)));
    } finally {
      await gate.close();
    }
  },

  // The command line
  C1: () => cli(['upload', 'a.csv', '--tabel', TABLE]),
  C2: () => cli(['upload', 'a.csv', '--table', TABLE, '--type', 'xyz']),
  C3: () => {
    const fifo = join(scratch, 'fifo');
    spawnSync('mkfifo', [fifo]);
    return cli(['upload', fifo, '--table', TABLE], undefined, /is a pipe, not a file \(as <\(cmd\) gives\)/);
  },
  C4: () => cli(['upload', 'a.csv', '--table', TABLE], {}),
  C5: async () => cli(['upload', join(ROOT, 'package.json'), '--table', TABLE, '--retries', '0'], { REDIVIS_API_TOKEN: TOKEN, REDIVIS_API_ENDPOINT: 'http://127.0.0.1:1/api/v1' }, /REDIVIS_API_ENDPOINT/),
  C6: async () => cli(['upload', join(ROOT, 'LICENSE'), '--table', TABLE], { REDIVIS_API_TOKEN: 'tok-wrong-1a2b3c', REDIVIS_API_ENDPOINT: emulator.apiEndpoint }, /HTTP 401 .*\(check REDIVIS_API_TOKEN: the API refused it\)$/m),
};

/** The code of a command's `--json` failure, after checking its one line on stderr against `pattern`. */
async function cli(args: string[], env: NodeJS.ProcessEnv = { REDIVIS_API_TOKEN: TOKEN }, pattern?: RegExp): Promise<string> {
  const result = await runInProcess([...args, '--json'], { env });
  const { error } = JSON.parse(result.stdout) as { error: { code: string; message: string } };
  if (pattern) assert.match(result.stderr, pattern);
  const causes = [...error.message.matchAll(/\[([A-Z_]+(?:; caused by [A-Z0-9_]+)*)\]/g)].map((match) => match[1]!.split('; caused by '));
  return [error.code, ...causes.flat().filter((code) => code !== error.code)].filter((code, i, list) => list.indexOf(code) === i).join(' ← ');
}

interface Row {
  id: string;
  code: string;
}

/** The rows of the document's tables: `| id | input | what the user gets | code |`. */
function rowsOf(markdown: string): Row[] {
  return markdown
    .split('\n')
    .map((line) => /^\| ([A-Z]\d+) \|.*\| ([^|]+) \|$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ id: match[1]!, code: match[2]!.trim().replace(/`/g, '') }));
}

test(`every case of docs/bad-input.md gives what the document says (seed ${seed})`, { timeout: 120_000 }, async (t) => {
  const rows = rowsOf(await readFile(join(ROOT, 'docs', 'bad-input.md'), 'utf8'));
  assert.ok(rows.length >= 40, `read ${rows.length} rows`);
  assert.deepEqual(rows.map((row) => row.id).sort(), Object.keys(CASES).sort(), 'every row has a case and every case a row');
  for (const row of rows) {
    await t.test(`${row.id}: ${row.code}`, async () => {
      assert.equal(await CASES[row.id]!(), row.code);
    });
  }
});

test("the README's error table lists every code, each with a class of that code and rows that produce it", async () => {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const rows = rowsOf(await readFile(join(ROOT, 'docs', 'bad-input.md'), 'utf8'));
  const table = [...readme.matchAll(/^\| `(ERR_[A-Z_]+)` \| `(\w+)` \| (.+) \| ((?:[A-Z]\d+(?:, )?)+) \|$/gm)];
  assert.ok(table.length >= 18, `read ${table.length} rows of the error table`);
  const documented = new Set(table.map((match) => match[1]!));
  // Every code the library declares (the union in src/errors.ts), so a new one cannot be left out of the table.
  const source = await readFile(join(ROOT, 'src', 'errors.ts'), 'utf8');
  const union = /export type RedivisUploadErrorCode =([^;]+);/.exec(source)![1]!;
  const declared = [...union.matchAll(/'(ERR_[A-Z_]+)'/g)].map((match) => match[1]!);
  assert.ok(declared.length >= 19, `read ${declared.length} codes from src/errors.ts`);
  assert.deepEqual([...documented].sort(), declared.sort());
  for (const [, code, className, when, ids] of table) {
    const ErrorClass = (library as unknown as Record<string, unknown>)[className!];
    assert.equal(typeof ErrorClass, 'function', `${className} is exported`);
    assert.ok((ErrorClass as { prototype: unknown }).prototype instanceof library.RedivisUploadError, `${className} is a RedivisUploadError`);
    for (const id of ids!.split(', ')) {
      const row = rows.find((candidate) => candidate.id === id);
      assert.ok(row, `the README names ${id}, which docs/bad-input.md lacks`);
      assert.ok(row.code.split(' ← ').includes(code!), `${id} (${row.code}) does not produce ${code}, as the README's row "${when}" says`);
    }
  }
  assert.ok(table.some(([, code, , when]) => code === 'ERR_UNSAFE_URL' && /TLS|certificate/.test(when!)), 'TLS failures are in the table');
});
