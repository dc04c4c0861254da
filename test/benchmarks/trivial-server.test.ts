import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c } from '@node-rs/crc32';
import { request } from 'undici';
import { TrivialServer } from '../../benchmarks/trivial-server.js';
import { makePattern, slice } from '../../benchmarks/source.js';

const pattern = makePattern();
let server: TrivialServer;
let origin: string;

before(async () => {
  server = new TrivialServer(pattern);
  origin = await server.listen();
});
after(() => server.close());

function base64(crc: number): string {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(crc >>> 0);
  return bytes.toString('base64');
}

/**
 * Creates a temp upload on `at`, starts its session and sends `body` in requests that end at `cuts` (256 KiB
 * multiples) and at its end; the server's final answer.
 */
async function upload(at: string, body: Buffer, cuts: number[] = []): Promise<{ status: number; object: { size: string; crc32c: string } }> {
  const created = await request(`${at}/api/v1/tables/t/tempUploads`, {
    method: 'POST',
    body: JSON.stringify({ tempUploads: [{ name: 'x.bin', size: body.length, resumable: true }] }),
  });
  const { results } = (await created.body.json()) as { results: Array<{ url: string }> };
  const started = await request(results[0]!.url, { method: 'POST', headers: { 'x-goog-resumable': 'start' } });
  await started.body.dump();
  const session = String(started.headers['location']);
  let from = 0;
  for (const cut of cuts) {
    const partial = await request(session, { method: 'PUT', headers: { 'content-range': `bytes ${from}-${cut - 1}/*` }, body: body.subarray(from, cut) });
    await partial.body.dump();
    assert.equal(partial.statusCode, 308);
    from = cut;
  }
  const put = await request(session, { method: 'PUT', headers: { 'content-range': `bytes ${from}-${body.length - 1}/${body.length}` }, body: body.subarray(from) });
  return { status: put.statusCode, object: (await put.body.json()) as { size: string; crc32c: string } };
}

test('bytes of the pattern are checked by comparison and reported with their true CRC32C', async () => {
  const body = slice(pattern, 0, 3 * pattern.length + 12_345);
  const { status, object } = await upload(origin, body);
  assert.equal(status, 200);
  assert.equal(object.size, String(body.length));
  assert.equal(object.crc32c, base64(crc32c(body)));
});

test('from the first piece that differs from the pattern, the reported CRC32C is hashed from the bytes received', async () => {
  const body = slice(pattern, 0, 2 * pattern.length + 999);
  body[pattern.length + 5] ^= 0xff;
  // The difference lies in the second of three requests: the first is taken on comparison alone.
  const { object } = await upload(origin, body, [pattern.length, 2 * pattern.length]);
  assert.equal(object.size, String(body.length));
  assert.equal(object.crc32c, base64(crc32c(body)));
  assert.notEqual(object.crc32c, base64(crc32c(slice(pattern, 0, body.length))));
});

test('without a pattern every byte is hashed', async () => {
  const plain = new TrivialServer();
  try {
    const body = Buffer.from('not the pattern at all');
    const { object } = await upload(await plain.listen(), body);
    assert.equal(object.crc32c, base64(crc32c(body)));
  } finally {
    await plain.close();
  }
});
