import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RedivisClient } from '../../src/client/redivis-client.js';
import { RedivisUploadError } from '../../src/errors.js';
import { createTempUploadStream } from '../../src/upload/temp-upload-stream.js';
import { CHUNK_ALIGNMENT as Q } from '../../src/upload/content-range.js';
import { randomBytes } from '../support/data.js';
import { startServer, startSessionServer } from './servers.js';

const retry = { retries: 1, initialDelayMs: 1, maxDelayMs: 2 };

test('the token and signed-URL query values appear in no error, debug line, event or result (NODE_DEBUG child process)', async () => {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./security-child.js', import.meta.url))], {
    env: { ...process.env, NODE_DEBUG: 'redivis-upload' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const [code] = (await once(child, 'close')) as [number];
  assert.equal(code, 0, stderr.slice(-2000));

  const records = stdout.trim().split('\n').map((line) => JSON.parse(line) as { kind: string; text: string });
  const secrets = records.filter((r) => r.kind === 'secret').flatMap((r) => r.text.split(' ')).filter((s) => s.length >= 8);
  const shown = records.filter((r) => r.kind !== 'secret');
  assert.ok(secrets.length >= 10, `secrets collected: ${secrets.length}`);
  for (const secret of new Set(secrets)) {
    assert.ok(!stderr.includes(secret), `debug output shows ${secret.slice(0, 6)}…`);
    for (const record of shown) assert.ok(!record.text.includes(secret), `a ${record.kind} shows ${secret.slice(0, 6)}…: ${record.text.slice(0, 300)}`);
  }

  // The run went through what it was meant to: debug lines, retries, failures of every kind, successes.
  assert.match(stderr, /REDIVIS-UPLOAD \d+: .*retry/);
  assert.match(stderr, /\?…/, 'URLs with query strings are shown redacted');
  const kinds = (kind: string) => shown.filter((r) => r.kind === kind).map((r) => r.text);
  for (const codeName of ['ERR_RETRIES_EXHAUSTED', 'ERR_SESSION_EXPIRED', 'ERR_DATA_LOSS', 'ERR_TIMEOUT', 'ERR_SIZE_MISMATCH', 'ERR_ABORTED', 'ERR_API']) {
    assert.ok(kinds('error').some((text) => text.includes(codeName)), `no ${codeName} among the errors`);
  }
  assert.ok(kinds('error').some((text) => /ERR_RETRIES_EXHAUSTED[\s\S]*ECONNREFUSED|ECONNREFUSED[\s\S]*ERR_RETRIES_EXHAUSTED/.test(text)), 'the refused URL');
  assert.ok(kinds('retry').length >= 5 && kinds('client-retry').length >= 1 && kinds('result').length === 2 && kinds('progress').length > 0);

  // Upload URLs were on another host than the API (separateUploadOrigin): the token went to the API only.
  const log = JSON.parse(kinds('log')[0]!) as Array<{ kind: string; authorization: boolean; path: string }>;
  assert.ok(log.length > 20);
  for (const entry of log) assert.equal(entry.authorization, entry.kind === 'api', `${entry.kind} ${entry.path}`);
});

test('redirects are never followed: the other host receives nothing, the token least of all', async () => {
  for (const status of [301, 302, 307, 308]) {
    const elsewhere = await startServer(() => ({ status: 200, body: '{}' }), { host: '127.0.0.2' });
    const redirect = { status, headers: { location: `${elsewhere.origin}/collect` } };
    try {
      // The API call.
      const api = await startServer(() => redirect);
      const client = new RedivisClient({ apiEndpoint: `${api.origin}/api/v1`, apiToken: 'tok_redirect_secret', retry });
      const apiError = await client.createTempUploads('o.d.t', [{ name: 'x', size: 1 }]).then(() => undefined, (e: unknown) => e);
      assert.ok(apiError instanceof RedivisUploadError, `${status}: ${String(apiError)}`);
      await api.close();

      // Session start, and a chunk.
      for (const at of ['POST', 'PUT'] as const) {
        const session = await startSessionServer((request) => (request.method === at ? redirect : undefined));
        try {
          const stream = createTempUploadStream({ url: `${session.origin}/temp`, client, chunkSize: Q, maxRequestSize: Q, spill: false, retry });
          const error = await pipeline(Readable.from([randomBytes(Q + 1, status)]), stream).then(() => undefined, (e: unknown) => e);
          if (status === 308 && at === 'PUT') {
            // A 308 is the protocol's "resume incomplete"; its Location means nothing to the protocol.
            assert.ok(error === undefined || error instanceof RedivisUploadError, String(error));
          } else {
            assert.ok(error instanceof RedivisUploadError, `${status} on ${at}: ${String(error)}`);
          }
        } finally {
          await session.close();
        }
      }
      assert.deepEqual(elsewhere.requests, [], `${status}: the other host was contacted`);
    } finally {
      await elsewhere.close();
    }
  }
});

test('TLS verification is never turned off in the library source', async () => {
  const root = fileURLToPath(new URL('../../../src/', import.meta.url));
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.endsWith('.ts')) files.push(path);
    }
  };
  await walk(root);
  assert.ok(files.length > 20, `found ${files.length} source files under ${root}`);
  for (const file of files) {
    const text = await readFile(file, 'utf8');
    for (const pattern of [/rejectUnauthorized/, /NODE_TLS_REJECT_UNAUTHORIZED/, /checkServerIdentity/]) {
      assert.doesNotMatch(text, pattern, `${file} mentions ${pattern.source}`);
    }
  }
});

test('an https endpoint with an untrusted certificate fails before any HTTP request: API calls, typed', async () => {
  const server = await startServer(() => ({ status: 200, body: '{}' }), { tls: true });
  try {
    const client = new RedivisClient({ apiEndpoint: `${server.origin}/api/v1`, apiToken: 'tok_tls_secret', retry });
    const error = await client.createTempUploads('o.d.t', [{ name: 'x', size: 1 }]).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof RedivisUploadError, String(error));
    assert.match(String((error as Error).message), /SELF_SIGNED|certificate/i);
    assert.deepEqual(server.requests, []);
  } finally {
    await server.close();
  }
});

// session-http.ts mapRequestFailure() passes TLS errors (codes such as DEPTH_ZERO_SELF_SIGNED_CERT,
// SELF_SIGNED_CERT_IN_CHAIN, CERT_HAS_EXPIRED, UNABLE_TO_VERIFY_LEAF_SIGNATURE) through unchanged: they are neither
// in NETWORK_CODES nor prefixed UND_ERR or E, so the stream fails with a plain Error without a library code.
test('an https upload URL with an untrusted certificate fails the stream with a RedivisUploadError', async () => {
  const server = await startServer(() => ({ status: 201, headers: { location: '/session' } }), { tls: true });
  try {
    const stream = createTempUploadStream({ url: `${server.origin}/temp?X-Goog-Signature=sig`, retry });
    const error = await pipeline(Readable.from([Buffer.from('x')]), stream).then(() => undefined, (e: unknown) => e);
    assert.deepEqual(server.requests, [], 'nothing went over the untrusted connection');
    assert.ok(error instanceof RedivisUploadError, `untyped: ${String(error)} (code ${(error as { code?: string }).code})`);
  } finally {
    await server.close();
  }
});
