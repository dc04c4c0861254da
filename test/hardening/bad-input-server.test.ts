import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Agent } from 'undici';
import { RedivisClient } from '../../src/client/redivis-client.js';
import { ApiError, ProtocolError, RetriesExhaustedError, UnsafeUrlError, UploadHttpError } from '../../src/errors.js';
import { createTempUploadStream, type UploadRetry } from '../../src/upload/temp-upload-stream.js';
import type { TempUploadStreamOptions } from '../../src/upload/stream-options.js';
import { CHUNK_ALIGNMENT as Q } from '../../src/upload/content-range.js';
import { chunkedSource, md5Hex, randomBytes, runSeed } from '../support/data.js';
import { TEST_CERT, startServer, startSessionServer, type Override } from './servers.js';

const seed = runSeed();
const retry = { retries: 2, initialDelayMs: 1, maxDelayMs: 2 };
// Trusts the test certificate, so https servers on loopback can be used where https matters.
let trusting: Agent;

before(() => {
  trusting = new Agent({ connect: { ca: TEST_CERT } });
});
after(() => trusting.close());

type Failure = (Error & Record<string, unknown>) | undefined;

async function upload(override: Override, data: Buffer, options: Partial<TempUploadStreamOptions> = {}, server?: { tls?: boolean }) {
  const session = await startSessionServer(override, server);
  try {
    const stream = createTempUploadStream({ url: `${session.origin}/temp?sig=secret`, chunkSize: Q, maxRequestSize: Q, spill: false, retry, ...(server?.tls ? { dispatcher: trusting } : {}), ...options } as TempUploadStreamOptions);
    const retries: UploadRetry[] = [];
    stream.on('retry', (r: UploadRetry) => retries.push(r));
    const error = (await pipeline(chunkedSource(data, [Q]), stream).then(() => undefined, (e: unknown) => e)) as Failure;
    return { error, stream, retries, requests: session.requests, stored: session.stored() };
  } finally {
    await session.close();
  }
}

describe(`servers that answer badly (seed ${seed})`, () => {
  test('a blank, unparseable or non-http Location is refused before any data is sent', async () => {
    const cases: Array<[string, typeof ProtocolError | typeof UnsafeUrlError]> = [
      ['   ', ProtocolError],
      ['http://[bad', ProtocolError],
      ['javascript:alert(1)', UnsafeUrlError],
      ['data:,x', UnsafeUrlError],
      ['file:///etc/passwd', UnsafeUrlError],
    ];
    for (const [location, type] of cases) {
      const { error, requests } = await upload((request) => (request.method === 'POST' ? { status: 201, headers: { location } } : undefined), Buffer.from('x'));
      assert.ok(error instanceof type, `${location}: ${String(error)}`);
      assert.deepEqual(requests.map((r) => r.method), ['POST'], location);
      assert.doesNotMatch(error.message, /secret/);
    }
  });

  test('a Location that moves https to plain http is refused unless it stays on loopback', async () => {
    const downgrade = await upload(
      (request) => (request.method === 'POST' ? { status: 201, headers: { location: 'http://uploads.example.com/session?upload_id=secret' } } : undefined),
      Buffer.from('x'),
      {},
      { tls: true },
    );
    assert.ok(downgrade.error instanceof UnsafeUrlError, String(downgrade.error));
    assert.doesNotMatch(downgrade.error.message, /secret/);

    const plain = await startSessionServer(undefined, { host: '127.0.0.2' });
    try {
      const data = randomBytes(Q + 3, seed);
      const loopback = await upload(
        (request) => (request.method === 'POST' ? { status: 201, headers: { location: `${plain.origin}/session?upload_id=1` } } : undefined),
        data,
        {},
        { tls: true },
      );
      assert.equal(loopback.error, undefined, String(loopback.error));
      assert.equal(md5Hex(plain.stored()), md5Hex(data));
    } finally {
      await plain.close();
    }
  });

  test('a garbled Range is a ProtocolError naming it, and the session is kept', async () => {
    for (const range of ['bytes=0-abc', 'items=0-9', 'bytes=0-', 'bytes=1-262143', '0-262143']) {
      const { error, requests } = await upload((request) => (request.method === 'PUT' && request.body.length > 0 ? { status: 308, headers: { range } } : undefined), randomBytes(2 * Q, seed));
      assert.ok(error instanceof ProtocolError, `${range}: ${String(error)}`);
      assert.ok(error.message.includes(JSON.stringify(range)), error.message);
      assert.notEqual(requests.at(-1)!.method, 'DELETE', range);
    }
  });

  test('a Retry-After that is garbage, negative, fractional or in the past falls back to the backoff; a huge one is capped', async () => {
    const backoff = { retries: 2, initialDelayMs: 3, maxDelayMs: 20, jitter: 0 };
    const cases: Array<[string, number]> = [
      ['soon', 3], ['-1', 3], ['1.5', 3], ['1e3', 3], ['0x10', 3], ['', 3], ['Wed, 21 Oct 2015 07:28:00 GMT', 3], ['99999999', 20],
    ];
    for (const [retryAfter, delayMs] of cases) {
      let failed = false;
      const data = randomBytes(Q + 1, seed);
      const { error, retries, stored } = await upload((request) => {
        if (request.method !== 'PUT' || request.body.length === 0 || failed) return undefined;
        failed = true;
        return { status: 503, headers: { 'retry-after': retryAfter } };
      }, data, { retry: backoff });
      assert.equal(error, undefined, `${retryAfter}: ${String(error)}`);
      assert.deepEqual(retries.map((r) => r.delayMs), [delayMs], JSON.stringify(retryAfter));
      assert.equal(md5Hex(stored), md5Hex(data));
    }
  });

  test('non-JSON and odd API bodies reach the stream as typed errors', async () => {
    const cases: Array<[number, string, string, (error: unknown) => boolean]> = [
      [400, 'text/plain', 'bad table', (e) => e instanceof ApiError && e.status === 400 && e.errorDescription === 'bad table'],
      [500, 'text/html', '<html>oops</html>', (e) => e instanceof RetriesExhaustedError && e.cause instanceof ApiError && e.cause.status === 500],
      [502, '', '', (e) => e instanceof RetriesExhaustedError && (e.cause as ApiError).status === 502],
      [200, 'text/html', '<html>captive portal</html>', (e) => e instanceof ProtocolError && /not JSON/.test(e.message)],
      [200, 'application/json', '{"results": 5}', (e) => e instanceof ProtocolError && /results/.test(e.message)],
      [200, 'application/json', '{"kind":"tempUploadList","results":[]}', (e) => e instanceof ProtocolError && /0 results/.test(e.message)],
    ];
    for (const [status, type, body, check] of cases) {
      const headers: Record<string, string> = type ? { 'content-type': type } : {};
      const api = await startServer(() => ({ status, headers, body }));
      try {
        const client = new RedivisClient({ apiEndpoint: `${api.origin}/api/v1`, apiToken: 'tok', retry });
        const stream = createTempUploadStream({ client, table: 'o.d.t', name: 'x' });
        const error = await pipeline(Readable.from([Buffer.from('x')]), stream).then(() => undefined, (e: unknown) => e);
        assert.ok(check(error), `${status} ${body}: ${String(error)}`);
      } finally {
        await api.close();
      }
    }
  });

  test('a huge HTML error body on a chunk is an UploadHttpError with a short excerpt; the session is kept', async () => {
    const page = `<html>${'x'.repeat(3 * 1024 * 1024)}</html>`;
    const { error, requests } = await upload((request) => (request.method === 'PUT' ? { status: 400, headers: { 'content-type': 'text/html' }, body: page } : undefined), randomBytes(Q, seed));
    assert.ok(error instanceof UploadHttpError, String(error));
    assert.equal(error.status, 400);
    assert.ok(error.responseBody.length <= 512 && error.message.length < 400, `${error.message.length}`);
    assert.notEqual(requests.at(-1)!.method, 'DELETE');
  });

  test('a 200 that completes the upload too early is a ProtocolError: known size, and during recovery', async () => {
    const data = randomBytes(3 * Q, seed);
    const early = await upload((request) => (request.method === 'PUT' && request.body.length > 0 ? { status: 200, body: JSON.stringify({ size: String(Q) }) } : undefined), data, { size: data.length });
    assert.ok(early.error instanceof ProtocolError, String(early.error));
    assert.match(early.error.message, /completed the upload at 262144 bytes though only 262144 of 786432 bytes were sent/);
    // The server says it is complete: a DELETE could not undo that, and is never sent.
    assert.notEqual(early.requests.at(-1)!.method, 'DELETE');

    let failed = false;
    const recovering = await upload((request, persisted) => {
      if (request.method !== 'PUT') return undefined;
      if (request.body.length > 0 && persisted === Q && !failed) {
        failed = true;
        return { status: 503 };
      }
      if (failed && request.headers['content-range'] === 'bytes */*') return { status: 200, body: JSON.stringify({ size: String(Q) }) };
      return undefined;
    }, data);
    assert.ok(recovering.error instanceof ProtocolError, String(recovering.error));
    assert.notEqual(recovering.requests.at(-1)!.method, 'DELETE');
  });

  test('a session URL on another host gets no token, even when the temp upload URL did', async () => {
    const elsewhere = await startSessionServer(undefined, { host: '127.0.0.2' });
    const home = await startServer((request) =>
      request.method === 'POST' ? { status: 201, headers: { location: `${elsewhere.origin}/session?upload_id=x` } } : { status: 404 },
    );
    try {
      const client = new RedivisClient({ apiEndpoint: `${home.origin}/api/v1`, apiToken: 'secret-token-value', retry });
      const data = randomBytes(2 * Q + 5, seed);
      const stream = createTempUploadStream({ client, url: `${home.origin}/temp?sig=1`, chunkSize: Q, maxRequestSize: Q, spill: false });
      await pipeline(chunkedSource(data, [Q]), stream);
      assert.equal(home.requests[0]!.headers.authorization, 'Bearer secret-token-value', 'the API host gets it');
      assert.ok(elsewhere.requests.length >= 3);
      for (const request of elsewhere.requests) assert.equal(request.headers.authorization, undefined, `${request.method} ${request.url}`);
      assert.equal(md5Hex(elsewhere.stored()), md5Hex(data));
      assert.ok(stream.result!.sessionUrl.startsWith(elsewhere.origin));
    } finally {
      await home.close();
      await elsewhere.close();
    }
  });

  test('an upload URL with user:password@ sends neither those credentials nor the token there, and never shows them', async () => {
    const session = await startSessionServer((request) => (request.method === 'PUT' ? { status: 400, body: 'no' } : undefined));
    try {
      const client = new RedivisClient({ apiEndpoint: `${session.origin}/api/v1`, apiToken: 'tok_userinfo_secret', retry });
      const url = new URL(`${session.origin}/temp?sig=1`);
      url.username = 'user';
      url.password = 'pw_userinfo_secret';
      const stream = createTempUploadStream({ client, url: url.href });
      const error = await pipeline(Readable.from([Buffer.from('x')]), stream).then(() => undefined, (e: unknown) => e as Error);
      assert.ok(error instanceof UploadHttpError, String(error));
      assert.doesNotMatch(`${error.message} ${error.stack}`, /pw_userinfo_secret|user:/);
      const [start] = session.requests;
      assert.equal(start!.method, 'POST');
      assert.equal(start!.headers.authorization, undefined, 'no Basic credentials, no token');
    } finally {
      await session.close();
    }
  });
});
