/**
 * The session requests against a scripted loopback server, for answers the emulator never gives (malformed
 * headers, header-only completions, odd Locations, dropped connections).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { Agent } from 'undici';
import { crc32c } from '@node-rs/crc32';
import {
  AbortError,
  InvalidArgumentError,
  NetworkError,
  ProtocolError,
  SessionCancelledError,
  SessionExpiredError,
  SizeMismatchError,
  UnsafeUrlError,
  UploadHttpError,
} from '../../src/errors.js';
import {
  cancelSession,
  parseGoogHash,
  putChunk,
  putSimple,
  queryStatus,
  startSession,
  type SessionContext,
} from '../../src/upload/session.js';
import { crc32cToBase64, formatGoogHash } from '../../src/upload/checksums.js';
import { isRetryableError } from '../../src/util/failures.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

type Handler = (seen: Seen, res: ServerResponse, req: IncomingMessage) => void;

let handler: Handler = (_seen, res) => res.end();
const seen: Seen[] = [];
let connections = 0;
const server = createServer((req, res) => {
  const pieces: Buffer[] = [];
  req.on('data', (piece: Buffer) => pieces.push(piece));
  req.on('end', () => {
    const entry = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(pieces) };
    seen.push(entry);
    handler(entry, res, req);
  });
});
server.on('connection', () => {
  connections += 1;
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const dispatcher = new Agent({ keepAliveTimeout: 10_000 });
const ctx: SessionContext = { dispatcher, headers: { 'User-Agent': 'redivis-ts/test', Authorization: 'Bearer tok' } };
after(async () => {
  await dispatcher.close();
  server.closeAllConnections();
  server.close();
});

function reset(next: Handler): void {
  handler = next;
  seen.length = 0;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

test('crc32cToBase64 and formatGoogHash encode as GCS does', () => {
  const data = Buffer.from('123456789');
  assert.equal(crc32c(data), 0xe3069283);
  assert.equal(crc32cToBase64(0xe3069283), '4waSgw==');
  assert.equal(crc32cToBase64(0), 'AAAAAA==');
  assert.equal(crc32cToBase64(0xffffffff), '/////w==');
  const md5 = createHash('md5').update(data).digest();
  assert.equal(formatGoogHash({ crc32c: crc32c(data), md5 }), `crc32c=4waSgw==,md5=${md5.toString('base64')}`);
  assert.equal(formatGoogHash({ crc32c: 1 }), 'crc32c=AAAAAQ==');
  assert.equal(formatGoogHash({ md5 }), `md5=${md5.toString('base64')}`);
  assert.throws(() => formatGoogHash({}), InvalidArgumentError);
  assert.throws(() => formatGoogHash({ md5: Buffer.alloc(15) }), InvalidArgumentError);
  for (const bad of [-1, 2 ** 32, 1.5, Number.NaN]) assert.throws(() => crc32cToBase64(bad), InvalidArgumentError, String(bad));
  assert.deepEqual(parseGoogHash('crc32c=4waSgw==, md5=abc=='), { crc32c: '4waSgw==', md5: 'abc==' });
  assert.deepEqual(parseGoogHash(undefined), {});
});

test('startSession sends the initiation headers and resolves Location', async () => {
  reset((_s, res) => {
    res.writeHead(200, { Location: `${origin}/session?upload_id=abc` }).end();
  });
  const url = await startSession(`${origin}/upload?sig=secret`, ctx, { size: 1234 });
  assert.equal(url, `${origin}/session?upload_id=abc`);
  const [request] = seen;
  assert.equal(request?.method, 'POST');
  assert.equal(request?.headers['x-goog-resumable'], 'start');
  assert.equal(request?.headers['content-length'], '0');
  assert.equal(request?.headers['x-upload-content-length'], '1234');
  assert.equal(request?.headers['authorization'], 'Bearer tok');
  assert.equal(request?.headers['user-agent'], 'redivis-ts/test');

  reset((_s, res) => res.writeHead(201, { Location: '/relative/session?id=1' }).end());
  assert.equal(await startSession(`${origin}/upload`, ctx), `${origin}/relative/session?id=1`);
  assert.equal(seen[0]?.headers['x-upload-content-length'], undefined);
});

test('startSession refuses missing or unsafe Locations and maps statuses', async () => {
  reset((_s, res) => res.writeHead(200).end());
  await assert.rejects(startSession(`${origin}/upload?sig=secret`, ctx), (error: unknown) => {
    assert.ok(error instanceof ProtocolError);
    assert.match(error.message, /Location/);
    assert.doesNotMatch(error.message, /secret/);
    return true;
  });
  reset((_s, res) => res.writeHead(200, { Location: 'ftp://127.0.0.1/x' }).end());
  await assert.rejects(startSession(`${origin}/upload`, ctx), UnsafeUrlError);
  reset((_s, res) => res.writeHead(404).end('no such upload'));
  await assert.rejects(startSession(`${origin}/upload`, ctx), (error: unknown) => {
    assert.ok(error instanceof UploadHttpError);
    assert.equal(error.status, 404);
    assert.equal(error.responseBody, 'no such upload');
    return true;
  });
  reset((_s, res) => res.writeHead(503, { 'Retry-After': '3' }).end());
  await assert.rejects(startSession(`${origin}/upload`, ctx), (error: unknown) => {
    assert.ok(error instanceof UploadHttpError && isRetryableError(error));
    assert.equal(error.retryAfterMs, 3000);
    return true;
  });
  await assert.rejects(startSession(`${origin}/upload`, ctx, { size: -1 }), InvalidArgumentError);
});

test('putChunk sends the buffers as one exact body and reads 308 Range', async () => {
  const parts = [Buffer.from('hello '), Buffer.alloc(0), Buffer.from('resumable '), Buffer.from('world')];
  const whole = Buffer.concat(parts);
  reset((s, res) => res.writeHead(308, { Range: `bytes=0-${100 + s.body.length - 1}` }).end());
  const status = await putChunk(`${origin}/s`, ctx, { start: 100, buffers: parts, length: whole.length, total: 1000, hashHeader: 'crc32c=AAAAAA==' });
  assert.deepEqual(status, { complete: false, persisted: 100 + whole.length });
  const [request] = seen;
  assert.equal(request?.method, 'PUT');
  assert.equal(sha256(request!.body), sha256(whole));
  assert.equal(request?.headers['content-length'], String(whole.length));
  assert.equal(request?.headers['content-range'], `bytes 100-${100 + whole.length - 1}/1000`);
  assert.equal(request?.headers['content-type'], 'application/octet-stream');
  assert.equal(request?.headers['x-goog-hash'], 'crc32c=AAAAAA==');
  assert.equal(request?.headers['transfer-encoding'], undefined);

  reset((_s, res) => res.writeHead(308).end());
  assert.deepEqual(await putChunk(`${origin}/s`, ctx, { start: 0, buffers: [whole], length: whole.length }), { complete: false, persisted: 0 });
  assert.equal(seen[0]?.headers['content-range'], `bytes 0-${whole.length - 1}/*`);
});

test('putChunk validates the chunk before sending anything', async () => {
  reset((_s, res) => res.writeHead(308).end());
  const one = Buffer.from('abc');
  await assert.rejects(putChunk(`${origin}/s`, ctx, { start: 0, buffers: [one], length: 4 }), InvalidArgumentError);
  await assert.rejects(putChunk(`${origin}/s`, ctx, { start: 0, buffers: [], length: 0 }), InvalidArgumentError);
  await assert.rejects(putChunk(`${origin}/s`, ctx, { start: -1, buffers: [one], length: 3 }), InvalidArgumentError);
  await assert.rejects(putChunk(`${origin}/s`, ctx, { start: 5, buffers: [one], length: 3, total: 7 }), InvalidArgumentError);
  assert.equal(seen.length, 0);
});

test('a malformed Range is a protocol error naming the header', async () => {
  reset((_s, res) => res.writeHead(308, { Range: 'bytes=5-9' }).end());
  await assert.rejects(queryStatus(`${origin}/s?upload_id=secret`, ctx), (error: unknown) => {
    assert.ok(error instanceof ProtocolError);
    assert.match(error.message, /bytes=5-9/);
    assert.doesNotMatch(error.message, /secret/);
    assert.equal(isRetryableError(error), false);
    return true;
  });
});

test('completion answers: JSON object resource, header-only, absent and unreadable descriptions', async () => {
  reset((_s, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ size: '42', md5Hash: 'bWQ1', crc32c: 'Y3Jj', name: 'x' })));
  const json = await queryStatus(`${origin}/s`, ctx, 42, 'crc32c=Y3Jj');
  assert.deepEqual(json, { complete: true, object: { size: 42, md5Hash: 'bWQ1', crc32c: 'Y3Jj', malformed: false, raw: { size: '42', md5Hash: 'bWQ1', crc32c: 'Y3Jj', name: 'x' } } });
  assert.equal(seen[0]?.headers['content-range'], 'bytes */42');
  assert.equal(seen[0]?.headers['content-length'], '0');
  assert.equal(seen[0]?.headers['x-goog-hash'], 'crc32c=Y3Jj');

  reset((_s, res) => res.writeHead(200, { 'x-goog-stored-content-length': '7', 'x-goog-hash': 'crc32c=AAAAAQ==,md5=bWQ1' }).end());
  const xml = await queryStatus(`${origin}/s`, ctx);
  assert.equal(seen[0]?.headers['content-range'], 'bytes */*');
  assert.ok(xml.complete);
  assert.equal(xml.object.size, 7);
  assert.equal(xml.object.crc32c, 'AAAAAQ==');
  assert.equal(xml.object.md5Hash, 'bWQ1');

  // What an answer leaves out stays unknown (a 0-byte object has no size, an XML simple PUT no body at all).
  for (const body of [JSON.stringify({ md5Hash: 'x' }), '', 'not json']) {
    reset((_s, res) => res.writeHead(201).end(body));
    const status = await queryStatus(`${origin}/s`, ctx);
    assert.ok(status.complete, body);
    assert.equal(status.object.size, undefined, body);
    assert.equal(status.object.malformed, false, body);
  }
  // What it reports but cannot be read is marked, so the caller asks again instead of trusting or refusing it.
  for (const body of [JSON.stringify({ size: 'ten' }), JSON.stringify({ size: -1 }), '{', '["size"]']) {
    reset((_s, res) => res.writeHead(201).end(body));
    const status = await queryStatus(`${origin}/s`, ctx);
    assert.ok(status.complete && status.object.malformed, body);
    assert.equal(status.object.size, undefined, body);
  }
});

test('session statuses map to session errors; other statuses carry the body', async () => {
  const cases: Array<[number, (error: unknown) => boolean]> = [
    [404, (e) => e instanceof SessionExpiredError && e.status === 404],
    [410, (e) => e instanceof SessionExpiredError && e.status === 410],
    [499, (e) => e instanceof SessionCancelledError],
    [400, (e) => e instanceof UploadHttpError && e.status === 400 && e.responseBody === 'problem 400'],
    [503, (e) => e instanceof UploadHttpError && isRetryableError(e)],
  ];
  for (const [status, check] of cases) {
    reset((_s, res) => res.writeHead(status).end(`problem ${status}`));
    await assert.rejects(putChunk(`${origin}/s?upload_id=secret`, ctx, { start: 0, buffers: [Buffer.from('x')], length: 1 }), (error: unknown) => {
      assert.ok(check(error), `HTTP ${status}: ${String(error)}`);
      assert.doesNotMatch((error as Error).message, /secret/);
      return true;
    });
  }
});

test('response bodies are drained so one keep-alive connection carries every request', async () => {
  const local = new Agent({ connections: 1 });
  const before = connections;
  try {
    reset((_s, res) => res.writeHead(503).end('x'.repeat(100_000)));
    for (let i = 0; i < 3; i += 1) {
      await assert.rejects(queryStatus(`${origin}/s`, { dispatcher: local }), UploadHttpError);
    }
    reset((_s, res) => res.writeHead(308, { Range: 'bytes=0-0' }).end('ignored'));
    assert.deepEqual(await queryStatus(`${origin}/s`, { dispatcher: local }), { complete: false, persisted: 1 });
    assert.equal(connections - before, 1);
  } finally {
    await local.close();
  }
});

test('a dropped connection is a retryable NetworkError', async () => {
  reset((_s, _res, req) => req.socket.destroy());
  await assert.rejects(putChunk(`${origin}/s?upload_id=secret`, ctx, { start: 0, buffers: [Buffer.alloc(1000)], length: 1000 }), (error: unknown) => {
    assert.ok(error instanceof NetworkError, String(error));
    assert.ok(isRetryableError(error));
    assert.doesNotMatch(error.message, /secret/);
    return true;
  });
});

test('a request timeout is a retryable NetworkError', async () => {
  reset(() => undefined);
  await assert.rejects(queryStatus(`${origin}/s`, { ...ctx, requestTimeoutMs: 50 }), (error: unknown) => {
    assert.ok(error instanceof NetworkError, String(error));
    assert.ok(isRetryableError(error));
    return true;
  });
});

test('aborting through the signal rejects with AbortError', async () => {
  const controller = new AbortController();
  reset(() => controller.abort(new Error('user stop')));
  await assert.rejects(queryStatus(`${origin}/s`, { ...ctx, signal: controller.signal }), (error: unknown) => {
    assert.ok(error instanceof AbortError);
    assert.equal(isRetryableError(error), false);
    return true;
  });
  await assert.rejects(cancelSession(`${origin}/s`, { ...ctx, signal: controller.signal }), AbortError);
});

test('cancelSession accepts 499 and already-gone answers', async () => {
  for (const status of [499, 200, 204, 404, 410]) {
    reset((_s, res) => res.writeHead(status).end());
    await cancelSession(`${origin}/s`, ctx);
    assert.equal(seen[0]?.method, 'DELETE', `HTTP ${status}`);
  }
  reset((_s, res) => res.writeHead(500).end('boom'));
  await assert.rejects(cancelSession(`${origin}/s`, ctx), (error: unknown) => error instanceof UploadHttpError && error.status === 500);
});

test('putSimple sends a Buffer or a fresh stream of exactly the declared length', async () => {
  const data = Buffer.from('simple upload body');
  const answer = JSON.stringify({ size: String(data.length), md5Hash: createHash('md5').update(data).digest('base64') });
  reset((_s, res) => res.writeHead(200).end(answer));
  const stored = await putSimple(`${origin}/u`, ctx, data, data.length, { hashHeader: 'md5=abc' });
  assert.equal(stored.size, data.length);
  assert.equal(sha256(seen[0]!.body), sha256(data));
  assert.equal(seen[0]?.headers['x-goog-hash'], 'md5=abc');
  assert.equal(seen[0]?.headers['content-range'], undefined);

  reset((_s, res) => res.writeHead(201).end(answer));
  await putSimple(`${origin}/u`, ctx, () => Readable.from([data.subarray(0, 5), data.subarray(5)]), data.length);
  assert.equal(sha256(seen[0]!.body), sha256(data));
  assert.equal(seen[0]?.headers['content-length'], String(data.length));

  reset((_s, res) => res.writeHead(200).end(JSON.stringify({ size: '0' })));
  assert.equal((await putSimple(`${origin}/u`, ctx, Buffer.alloc(0), 0)).size, 0);
  assert.equal(seen[0]?.body.length, 0);
});

test('putSimple refuses bodies of the wrong length', async () => {
  reset((_s, res) => res.writeHead(200).end(JSON.stringify({ size: '3' })));
  await assert.rejects(putSimple(`${origin}/u`, ctx, Buffer.from('abcd'), 3), InvalidArgumentError);
  await assert.rejects(putSimple(`${origin}/u`, ctx, () => Readable.from([Buffer.from('ab')]), 3), SizeMismatchError);
  await assert.rejects(putSimple(`${origin}/u`, ctx, () => Readable.from([Buffer.from('abcd')]), 3), SizeMismatchError);
  reset((_s, res) => res.writeHead(410).end());
  await assert.rejects(putSimple(`${origin}/u`, ctx, Buffer.from('abc'), 3), SessionExpiredError);
});

test('a closed dispatcher is an argument error, not a network failure', async () => {
  const closed = new Agent();
  await closed.close();
  await assert.rejects(queryStatus(`${origin}/s`, { dispatcher: closed }), (error: unknown) => {
    assert.ok(error instanceof InvalidArgumentError, String(error));
    assert.equal(error.argument, 'dispatcher');
    assert.equal(isRetryableError(error), false);
    return true;
  });
});

test('debug output names upload URLs without their query string', async () => {
  reset((_s, res) => res.writeHead(503).end());
  const moduleUrl = new URL('../../src/upload/session.js', import.meta.url).href;
  const script = `const { queryStatus } = await import(${JSON.stringify(moduleUrl)});
    await queryStatus(${JSON.stringify(`${origin}/s?upload_id=secret-id`)}, {}).catch(() => {});
    await queryStatus(${JSON.stringify('http://127.0.0.1:1/s?upload_id=secret-id')}, {}).catch(() => {});`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, NODE_DEBUG: 'redivis-upload' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const [code] = (await once(child, 'close')) as [number];
  assert.equal(code, 0, stderr);
  assert.match(stderr, /REDIVIS-UPLOAD \d+: PUT http:\/\/127\.0\.0\.1:\d+\/s\?… bytes \*\/\* -> 503/);
  assert.match(stderr, /REDIVIS-UPLOAD \d+: PUT http:\/\/127\.0\.0\.1:1\/s\?… failed: ECONNREFUSED/);
  assert.doesNotMatch(stderr, /secret-id/);
});
