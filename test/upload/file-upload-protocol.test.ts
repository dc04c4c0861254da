/**
 * uploadFile against a scripted loopback server, for answers the emulator never gives: over-acknowledged bytes,
 * wrong checksums, a finalize that never completes, a server that overrides `resumable`.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { Agent } from 'undici';
import { crc32c } from '@node-rs/crc32';
import { RedivisClient } from '../../src/client/redivis-client.js';
import { DataLossError, IntegrityError, ProtocolError } from '../../src/errors.js';
import { crc32cToBase64 } from '../../src/upload/checksums.js';
import { uploadFile } from '../../src/upload/file-upload.js';
import { randomBytes, runSeed } from '../support/data.js';

const Q = 262_144;
const seed = runSeed();

interface Seen {
  method: string;
  path: string;
  contentRange: string | undefined;
  body: Buffer;
}

/** Answers a request to the upload or session URL; the tempUploads call is answered by the server itself. */
type UploadHandler = (seen: Seen, res: ServerResponse) => void;

let handler: UploadHandler = (_s, res) => res.end();
let returnResumable: boolean | undefined;
const seen: Seen[] = [];

function tempUploads(req: IncomingMessage, body: Buffer, res: ServerResponse): void {
  const { tempUploads: [item] } = JSON.parse(body.toString()) as { tempUploads: Array<{ name: string; size: number; resumable?: boolean }> };
  const result = { kind: 'tempUpload', id: 't1', url: `${origin}/up?sig=secret`, name: item!.name, size: String(item!.size), resumable: returnResumable ?? item!.resumable ?? false };
  assert.equal(req.headers.authorization, 'Bearer token-1');
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'tempUploadList', results: [result] }));
}

const server = createServer((req, res) => {
  const pieces: Buffer[] = [];
  req.on('data', (piece: Buffer) => pieces.push(piece));
  req.on('end', () => {
    const body = Buffer.concat(pieces);
    const path = new URL(req.url ?? '/', origin).pathname;
    if (path.endsWith('/tempUploads')) return tempUploads(req, body, res);
    const entry: Seen = { method: req.method ?? '', path, contentRange: req.headers['content-range'], body };
    seen.push(entry);
    if (req.method === 'POST' && path === '/up') return void res.writeHead(201, { location: '/session?upload_id=1' }).end();
    if (req.method === 'DELETE') return void res.writeHead(499).end();
    handler(entry, res);
  });
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const dispatcher = new Agent();
const client = new RedivisClient({ apiEndpoint: `${origin}/api/v1`, apiToken: 'token-1', dispatcher, retry: { retries: 3, initialDelayMs: 1, maxDelayMs: 2 } });
after(async () => {
  await dispatcher.close();
  server.closeAllConnections();
  server.close();
});

function reset(next: UploadHandler, resumable?: boolean): void {
  handler = next;
  returnResumable = resumable;
  seen.length = 0;
}

function objectOf(data: Buffer): Record<string, string> {
  return {
    size: String(data.length),
    md5Hash: createHash('md5').update(data).digest('base64'),
    crc32c: crc32cToBase64(crc32c(data)),
  };
}

/** A session that stores what it is sent, like GCS, unless `override` answers first. */
function honestSession(total: number, override?: (s: Seen, res: ServerResponse, stored: Buffer[]) => boolean): UploadHandler {
  const stored: Buffer[] = [];
  return (s, res) => {
    if (override?.(s, res, stored)) return;
    const persisted = stored.reduce((sum, b) => sum + b.length, 0);
    const match = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(s.contentRange ?? '');
    if (match) {
      const first = Number(match[1]);
      if (first === persisted) stored.push(s.body);
      else if (first < persisted) stored.push(s.body.subarray(persisted - first));
    }
    const now = Buffer.concat(stored);
    if (now.length === total && (match || s.contentRange === `bytes */${total}`)) {
      return void res.writeHead(200).end(JSON.stringify(objectOf(now)));
    }
    res.writeHead(308, now.length > 0 ? { range: `bytes=0-${now.length - 1}` } : {}).end();
  };
}

test('a server acknowledging bytes it was never sent is DataLossError, and the session is cancelled', async () => {
  const data = randomBytes(3 * Q, seed);
  reset((s, res) => res.writeHead(308, { range: `bytes=0-${s.body.length + 99}` }).end(), true);
  await assert.rejects(uploadFile(data, { client, table: 'o.d.t', name: 'a', resumable: true, chunkSize: Q, maxRequestSize: Q }), (error: unknown) => {
    assert.ok(error instanceof DataLossError, String(error));
    assert.equal(error.serverOffset, Q + 100);
    assert.equal(error.sentUpTo, Q);
    return true;
  });
  assert.equal(seen.at(-1)?.method, 'DELETE');
});

test('wrong checksums or size in the final object are IntegrityError', async () => {
  const data = randomBytes(Q + 5, seed + 1);
  const cases: Array<[string, Record<string, string>]> = [
    ['md5', { ...objectOf(data), md5Hash: createHash('md5').update('other').digest('base64') }],
    ['crc32c', { ...objectOf(data), crc32c: crc32cToBase64(1) }],
    ['size', { ...objectOf(data), size: String(data.length + 1) }],
  ];
  for (const [field, object] of cases) {
    reset(honestSession(data.length, (s, res) => {
      if (s.contentRange !== `bytes ${Q}-${Q + 4}/${Q + 5}`) return false;
      res.writeHead(200).end(JSON.stringify(object));
      return true;
    }), true);
    await assert.rejects(uploadFile(data, { client, table: 'o.d.t', name: field, resumable: true, chunkSize: Q, maxRequestSize: Q }), (error: unknown) => {
      assert.ok(error instanceof IntegrityError && error.field === field, `${field}: ${String(error)}`);
      return true;
    });
  }
});

test('a 308 without Range after a chunk is confirmed by a status query, and the chunk resent when nothing landed', async () => {
  const data = randomBytes(2 * Q, seed + 2);
  let dropped = false;
  reset(honestSession(data.length, (s, res) => {
    if (dropped || s.contentRange !== `bytes 0-${Q - 1}/${2 * Q}`) return false;
    dropped = true;
    res.writeHead(308).end();
    return true;
  }), true);
  const result = await uploadFile(data, { client, table: 'o.d.t', name: 'b', resumable: true, chunkSize: Q, maxRequestSize: Q });
  assert.equal(result.final.md5, objectOf(data).md5Hash, `seed ${seed}`);
  assert.deepEqual(seen.map((s) => s.contentRange ?? s.method), [
    'POST',
    `bytes 0-${Q - 1}/${2 * Q}`,
    'bytes */*',
    `bytes 0-${Q - 1}/${2 * Q}`,
    `bytes ${Q}-${2 * Q - 1}/${2 * Q}`,
  ]);
});

test('a finalize the server never completes is a ProtocolError', async () => {
  reset((_s, res) => res.writeHead(308).end(), true);
  await assert.rejects(uploadFile(Buffer.alloc(0), { client, table: 'o.d.t', name: 'c', resumable: true }), ProtocolError);
  // A protocol violation keeps the session: only the caller's abort and data errors cancel one.
  assert.deepEqual(seen.map((s) => s.contentRange ?? s.method), ['POST', 'bytes */0']);
});

test("the server's resumable flag decides the protocol", async () => {
  const data = randomBytes(1000, seed + 3);
  reset((s, res) => {
    assert.equal(s.method, 'PUT');
    res.writeHead(200, { 'x-goog-stored-content-length': String(s.body.length), 'x-goog-hash': `crc32c=${objectOf(s.body).crc32c},md5=${objectOf(s.body).md5Hash}` }).end();
  }, false);
  const result = await uploadFile(data, { client, table: 'o.d.t', name: 'd', resumable: true });
  assert.equal(result.resumable, false);
  assert.deepEqual(result.final, { size: 1000, md5: objectOf(data).md5Hash, crc32c: objectOf(data).crc32c });
  assert.deepEqual(seen.map((s) => s.method), ['PUT']);
  assert.equal(createHash('sha256').update(seen[0]!.body).digest('hex'), createHash('sha256').update(data).digest('hex'));
});

test('a simple PUT answered 200 with no body at all (as an XML simple upload may be) succeeds on the local checksums', async () => {
  const data = randomBytes(5_000, seed + 9);
  reset((s, res) => {
    assert.equal(s.method, 'PUT');
    res.writeHead(200).end();
  }, false);
  const result = await uploadFile(data, { client, table: 'o.d.t', name: 'bodiless', resumable: false });
  assert.deepEqual(result.final, { size: data.length, md5: objectOf(data).md5Hash, crc32c: objectOf(data).crc32c });
  // What an answer does report is still checked: a wrong stored length fails.
  reset((_s, res) => res.writeHead(200, { 'x-goog-stored-content-length': String(data.length - 1) }).end(), false);
  await assert.rejects(uploadFile(data, { client, table: 'o.d.t', name: 'short', resumable: false }), (error: unknown) => error instanceof IntegrityError && error.field === 'size');
});
