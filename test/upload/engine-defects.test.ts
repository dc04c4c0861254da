import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { Agent, type Dispatcher } from 'undici';
import { createTempUploadStream, type TempUploadStream } from '../../src/upload/temp-upload-stream.js';
import type { TempUploadStreamOptions } from '../../src/upload/stream-options.js';
import { CHUNK_ALIGNMENT as Q } from '../../src/upload/content-range.js';
import { IntegrityError, NetworkError, ProtocolError, TimeoutError, UploadHttpError } from '../../src/errors.js';
import { chunkedSource, md5Hex, randomBytes, runSeed } from '../support/data.js';
import { startSessionServer, type SessionServerOptions } from '../support/session-server.js';

const seed = runSeed();
const retry = { initialDelayMs: 1, maxDelayMs: 2, retries: 4 };

type Server = Awaited<ReturnType<typeof startSessionServer>>;

async function withServer<T>(options: SessionServerOptions, run: (server: Server) => Promise<T>): Promise<T> {
  const server = await startSessionServer(options);
  try {
    return await run(server);
  } finally {
    await server.close();
  }
}

function streamTo(server: Server, options: Partial<TempUploadStreamOptions> = {}): TempUploadStream {
  return createTempUploadStream({ url: `${server.origin}/temp`, chunkSize: Q, maxRequestSize: Q, spill: false, retry, ...options } as TempUploadStreamOptions);
}

function outcome(promise: Promise<unknown>): Promise<(Error & { code?: string }) | undefined> {
  return promise.then(() => undefined, (error: unknown) => error as Error);
}

function closed(stream: TempUploadStream): Promise<void> {
  return stream.closed ? Promise.resolve() : new Promise((resolve) => stream.once('close', () => resolve()));
}

const dataRequest = (contentRange: string | undefined) => /^bytes \d+-\d+\//.test(contentRange ?? '');
const methods = (server: Server) => server.requests.map((r) => r.method);

describe(`completions the client did not finish (seed ${seed})`, () => {
  test('a 200 without hashes to a non-final request is a protocol error, even when its size matches what the stream holds', async () => {
    await withServer(
      {
        withoutHashes: true,
        override: (request, respond) => {
          if (request.contentRange !== `bytes 0-${Q - 1}/*`) return false;
          respond.send(200, { 'content-type': 'application/json' }, JSON.stringify({ size: String(3 * Q) }));
          return true;
        },
      },
      async (server) => {
        const stream = streamTo(server, { checksums: { crc32c: false } });
        const error = await outcome(pipeline(Readable.from([randomBytes(3 * Q, seed)]), stream));
        assert.ok(error instanceof ProtocolError, String(error));
        assert.match(error.message, /only 262144 of 786432 bytes were sent/);
        await closed(stream);
        assert.ok(!methods(server).includes('DELETE'), 'a session the server calls complete is never deleted');
      },
    );
  });

  test('a 200 to a status query after a failure is checked the same way', async () => {
    let failed = false;
    await withServer(
      {
        withoutHashes: true,
        override: (request, respond) => {
          if (!failed && dataRequest(request.contentRange)) {
            failed = true;
            respond.send(503);
            return true;
          }
          if (failed && request.contentRange === 'bytes */*') {
            respond.send(200, {}, JSON.stringify({ size: String(2 * Q) }));
            return true;
          }
          return false;
        },
      },
      async (server) => {
        const stream = streamTo(server, { checksums: { crc32c: false } });
        const error = await outcome(pipeline(Readable.from([randomBytes(2 * Q, seed)]), stream));
        assert.ok(error instanceof ProtocolError, String(error));
      },
    );
  });
});

describe(`garbled answers are network failures, retried, and keep the session (seed ${seed})`, () => {
  for (const [label, text] of [
    ['a garbage status line', 'HTTP/1.1 2OO OK\r\n\r\n'],
    ['Content-Length: abc', 'HTTP/1.1 308 Resume Incomplete\r\nContent-Length: abc\r\n\r\n'],
    ['not HTTP at all', 'hello there\r\n\r\n'],
  ] as const) {
    test(label, async () => {
      let garbled = 0;
      await withServer(
        {
          override: (request, respond) => {
            if (garbled > 0 || !dataRequest(request.contentRange)) return false;
            garbled += 1;
            respond.raw(text);
            return true;
          },
        },
        async (server) => {
          const data = randomBytes(2 * Q + 7, seed);
          const stream = streamTo(server);
          const retries: Error[] = [];
          stream.on('retry', (notice) => retries.push(notice.error));
          await pipeline(Readable.from([data]), stream);
          assert.equal(md5Hex(server.stored()), md5Hex(data));
          assert.equal(retries.length, 1);
          assert.ok(retries[0] instanceof NetworkError, String(retries[0]));
          assert.ok(!methods(server).includes('DELETE'));
        },
      );
    });
  }
});

describe(`the stall deadline bounds requests in flight and counts only waiting on the server (seed ${seed})`, () => {
  test('a 308 whose body trickles one byte per 100 ms is cut off at the deadline', async () => {
    await withServer(
      {
        override: (request, respond) => {
          if (!dataRequest(request.contentRange)) return false;
          respond.trickle(308, { range: `bytes=0-${Q - 1}` }, 1000, 100);
          return true;
        },
      },
      async (server) => {
        const started = performance.now();
        const stream = streamTo(server, { stallTimeoutMs: 800 });
        const error = await outcome(pipeline(Readable.from([randomBytes(2 * Q, seed)]), stream));
        assert.ok(error instanceof TimeoutError, String(error));
        assert.equal(error.timeoutMs, 800);
        // Without the deadline the answer would take 100 s; allow for slow machines, not for that.
        assert.ok(performance.now() - started < 10_000);
        await closed(stream);
        assert.ok(!methods(server).includes('DELETE'), 'a stalled upload keeps its session');
      },
    );
  });

  test('a server that reads 256 KiB/s cannot stretch one request far past the deadline', async () => {
    await withServer({ readBytesPerSecond: 256 * 1024 }, async (server) => {
      const started = performance.now();
      const stream = createTempUploadStream({ url: `${server.origin}/temp`, chunkSize: 4 * Q, maxRequestSize: 16 * Q, stallTimeoutMs: 800, retry });
      const error = await outcome(pipeline(Readable.from([randomBytes(16 * Q, seed)]), stream));
      assert.ok(error instanceof TimeoutError, String(error));
      // 4 MiB at 256 KiB/s would take 16 s.
      assert.ok(performance.now() - started < 10_000);
    });
  });

  test('a source that pauses longer than the deadline, then one 503: the upload still completes', async () => {
    let failed = false;
    await withServer(
      {
        override: (request, respond) => {
          if (failed || !dataRequest(request.contentRange) || request.persisted === 0) return false;
          failed = true;
          respond.send(503);
          return true;
        },
      },
      async (server) => {
        const data = randomBytes(3 * Q, seed);
        const stream = streamTo(server, { stallTimeoutMs: 500 });
        const retries: Error[] = [];
        stream.on('retry', (notice) => retries.push(notice.error));
        // A slow cursor or gzip: the source itself pauses; the stall clock must not run meanwhile.
        async function* slowSource() {
          yield data.subarray(0, Q);
          await new Promise((resolve) => setTimeout(resolve, 1_200));
          yield data.subarray(Q);
        }
        await pipeline(slowSource, stream);
        assert.equal(md5Hex(server.stored()), md5Hex(data));
        assert.equal(retries.length, 1);
      },
    );
  });
});

describe(`a listener that throws neither hangs the upload nor cancels its session (seed ${seed})`, () => {
  test('a progress listener that throws at completion: pipeline() rejects with its error, the upload is complete', async () => {
    await withServer({}, async (server) => {
      const data = randomBytes(Q + 5, seed);
      const stream = streamTo(server);
      const bug = new Error('listener bug');
      stream.on('progress', (progress) => {
        if (progress.bytesConfirmed === data.length) throw bug;
      });
      const error = await outcome(pipeline(Readable.from([data]), stream));
      assert.equal(error, bug);
      await closed(stream);
      assert.ok(server.isComplete());
      assert.equal(md5Hex(server.stored()), md5Hex(data));
      assert.equal(stream.result?.size, data.length);
      assert.ok(!methods(server).includes('DELETE'));
    });
  });

  test('a retry listener that throws mid-upload: the stream fails with its error and the session is kept', async () => {
    let failed = false;
    await withServer(
      {
        override: (request, respond) => {
          if (failed || !dataRequest(request.contentRange)) return false;
          failed = true;
          respond.send(503);
          return true;
        },
      },
      async (server) => {
        const stream = streamTo(server);
        const bug = new Error('retry listener bug');
        stream.on('retry', () => {
          throw bug;
        });
        const error = await outcome(pipeline(Readable.from([randomBytes(3 * Q, seed)]), stream));
        assert.equal(error, bug);
        await closed(stream);
        assert.ok(!methods(server).includes('DELETE'));
        assert.ok(stream.sessionUrl !== undefined);
      },
    );
  });
});

test('a write held for backpressure is answered when the stream is destroyed, so a promisified write settles', async () => {
  await withServer(
    {
      override: (request) => dataRequest(request.contentRange),
    },
    async (server) => {
      const stream = streamTo(server, { memoryLimit: 2 * Q, highWaterMark: 1024 });
      stream.on('error', () => undefined);
      const write = promisify(stream.write.bind(stream)) as (chunk: Buffer) => Promise<void>;
      await write(randomBytes(Q, seed));
      await once(stream, 'session');
      // The server never answers, so this write fills the buffer and its callback is held.
      let settled = false;
      const held = write(randomBytes(Q, seed + 1)).finally(() => (settled = true));
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(settled, false, 'the write is held for backpressure');
      stream.destroy();
      await assert.rejects(held, { code: 'ERR_ABORTED' });
    },
  );
});

test('resuming a completed session with other bytes of the same size is an integrity error', async () => {
  await withServer({}, async (server) => {
    const first = streamTo(server);
    await pipeline(Readable.from([randomBytes(Q + 9, seed)]), first);
    const resumed = createTempUploadStream({ sessionUrl: first.sessionUrl!, retry });
    const error = await outcome(pipeline(Readable.from([randomBytes(Q + 9, seed + 1)]), resumed));
    assert.ok(error instanceof IntegrityError, String(error));
    assert.equal(error.field, 'crc32c');

    const same = createTempUploadStream({ sessionUrl: first.sessionUrl!, retry, checksums: { md5: true } });
    await pipeline(chunkedSource(randomBytes(Q + 9, seed), [1000]), same);
    assert.equal(same.result?.size, Q + 9);
  });
});

test('a final answer with a truncated body is checked with a status query and succeeds; nothing is deleted', async () => {
  let truncated = false;
  await withServer(
    {
      override: (request, respond) => {
        const range = /^bytes \d+-(\d+)\/(\d+)$/.exec(request.contentRange ?? '');
        if (truncated || range === null || Number(range[1]) + 1 !== Number(range[2])) return false;
        truncated = true;
        // The object is complete, but its description arrives cut short: `Content-Length: 1` and `{`.
        respond.store();
        respond.send(200, { 'content-type': 'application/json' }, '{');
        return true;
      },
    },
    async (server) => {
      const data = randomBytes(Q + 3, seed);
      const stream = streamTo(server, { size: data.length });
      await pipeline(Readable.from([data]), stream);
      assert.ok(truncated);
      assert.equal(stream.result?.size, data.length);
      assert.equal(server.requests.at(-1)?.contentRange, 'bytes */*', 'the status query that read the object');
      assert.ok(!methods(server).includes('DELETE'));
    },
  );
});

test('an unreadable 2xx that a status query contradicts is a protocol error, and the session is kept', async () => {
  await withServer(
    {
      override: (request, respond) => {
        if (request.contentRange !== `bytes 0-${Q - 1}/*`) return false;
        respond.store();
        respond.send(200, { 'content-type': 'application/json' }, '{"size": "26214');
        return true;
      },
    },
    async (server) => {
      const stream = streamTo(server);
      const error = await outcome(pipeline(Readable.from([randomBytes(2 * Q + 1, seed)]), stream));
      assert.ok(error instanceof ProtocolError, String(error));
      assert.match(error.message, /then reported 262144 bytes persisted and the upload open/);
      await closed(stream);
      assert.ok(!methods(server).includes('DELETE'));
    },
  );
});

test('an object without size (a 0-byte upload, as GCS leaves it out) is verified by what it does report', async () => {
  await withServer(
    {
      override: (request, respond) => {
        if (request.contentRange !== 'bytes */0') return false;
        respond.store();
        respond.send(200, { 'content-type': 'application/json' }, JSON.stringify({ kind: 'storage#object', crc32c: 'AAAAAA==' }));
        return true;
      },
    },
    async (server) => {
      const stream = streamTo(server);
      await pipeline(Readable.from([]), stream);
      assert.deepEqual({ size: stream.result?.size, crc32c: stream.result?.crc32c }, { size: 0, crc32c: 'AAAAAA==' });
    },
  );
});

test('Range units in any case are read; a finalize answered 308 without Range gets one more status query', async () => {
  let finalized = false;
  await withServer(
    {
      override: (request, respond) => {
        if (dataRequest(request.contentRange)) {
          respond.send(308, { range: `BYTES=0-${respond.store() - 1}` });
          return true;
        }
        if (!finalized && /^bytes \*\/\d+$/.test(request.contentRange ?? '')) {
          finalized = true;
          // The server completes, but a proxy loses the answer's Range header and turns it into a bare 308.
          respond.store();
          respond.send(308);
          return true;
        }
        return false;
      },
    },
    async (started) => {
      const data = randomBytes(2 * Q, seed);
      const stream = streamTo(started);
      const confirmed = new Promise<void>((resolve) => stream.on('progress', (p) => p.bytesConfirmed === 2 * Q && resolve()));
      stream.write(data);
      await confirmed;
      stream.end();
      await once(stream, 'finish');
      assert.ok(finalized);
      assert.equal(stream.result?.size, 2 * Q);
      assert.equal(md5Hex(started.stored()), md5Hex(data));
    },
  );
});

test('a retry policy of your own decides: a 400 the default would not retry is retried once', async () => {
  let refused = false;
  await withServer(
    {
      override: (request, respond) => {
        if (refused || !dataRequest(request.contentRange)) return false;
        refused = true;
        respond.send(400, {}, 'flaky proxy');
        return true;
      },
    },
    async (started) => {
      const data = randomBytes(Q + 1, seed);
      const attempts: number[] = [];
      const stream = streamTo(started, {
        retry: { ...retry, shouldRetry: (error, attempt) => (attempts.push(attempt), error instanceof UploadHttpError && error.status === 400) },
      });
      await pipeline(Readable.from([data]), stream);
      assert.deepEqual(attempts, [1]);
      assert.equal(md5Hex(started.stored()), md5Hex(data));
    },
  );
});

test('a programming error under the transport is final: no retry, passed on unchanged', async () => {
  const bug = Object.assign(new TypeError('The "chunk" argument must be of type string'), { code: 'ERR_INVALID_ARG_TYPE' });
  class Broken extends Agent {
    override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
      void options;
      void handler;
      throw bug;
    }
  }
  const dispatcher = new Broken();
  try {
    const stream = createTempUploadStream({ url: 'http://127.0.0.1:1/temp', retry, dispatcher });
    const retries: unknown[] = [];
    stream.on('retry', (notice) => retries.push(notice));
    const error = await outcome(pipeline(Readable.from([Buffer.from('x')]), stream));
    assert.equal(error, bug);
    assert.deepEqual(retries, []);
  } finally {
    await dispatcher.close();
  }
});
