/** The small pieces of the flows: upload names in paths, renames, upload URIs, the task pool, rawFiles answers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RedivisClient } from '../../src/client/redivis-client.js';
import { ProtocolError } from '../../src/errors.js';
import { uploadApiPath } from '../../src/flows/poll-upload.js';
import { TaskPool } from '../../src/flows/pool.js';
import { parseRawFileList } from '../../src/flows/raw-files.js';
import { renamedUploadName, uniqueTempUploadName, uploadNamePathSegment } from '../../src/flows/tabular-options.js';

test('upload names in paths: every . becomes _, then percent-encoding', () => {
  assert.equal(uploadNamePathSegment('data.v2.csv'), 'data_v2_csv');
  assert.equal(uploadNamePathSegment('a b/c?d#e%'), 'a%20b%2Fc%3Fd%23e%25');
});

test('renames keep the extension', () => {
  assert.equal(renamedUploadName('data.csv', 1), 'data_1.csv');
  assert.equal(renamedUploadName('archive.tar.gz', 2), 'archive.tar_2.gz');
  assert.equal(renamedUploadName('README', 3), 'README_3');
  assert.equal(renamedUploadName('.env', 1), '.env_1');
});

test('temp upload names are derived from the name and never repeat', () => {
  const names = new Set(Array.from({ length: 100 }, () => uniqueTempUploadName('data.csv')));
  assert.equal(names.size, 100);
  for (const name of names) assert.match(name, /^data\.csv\.[0-9a-f]{12}$/);
});

test('upload URIs: relative paths as is, absolute ones only below the endpoint', () => {
  const client = new RedivisClient({ apiEndpoint: 'https://redivis.example/api/v1', apiToken: 't' });
  assert.equal(uploadApiPath(client, '/tables/a.b.c/uploads/x'), '/tables/a.b.c/uploads/x');
  assert.equal(uploadApiPath(client, 'https://redivis.example/api/v1/tables/a.b.c/uploads/x'), '/tables/a.b.c/uploads/x');
  for (const uri of [
    'https://elsewhere.example/api/v1/tables/a.b.c/uploads/x',
    'https://redivis.example/other/tables/a.b.c/uploads/x',
    'https://redivis.example/api/v1/tables/x?token=1',
    'tables/a.b.c/uploads/x',
    '//elsewhere.example/x',
  ]) {
    assert.throws(() => uploadApiPath(client, uri), ProtocolError, uri);
  }
});

test('the pool runs at most `limit` tasks and hands a freed slot to the oldest waiter', async () => {
  const pool = new TaskPool(2);
  const releases: Array<() => void> = [];
  const order: number[] = [];
  let running = 0;
  let peak = 0;
  const task = (id: number) => () =>
    new Promise<number>((resolve) => {
      running += 1;
      peak = Math.max(peak, running);
      order.push(id);
      releases.push(() => {
        running -= 1;
        resolve(id);
      });
    });
  const first = await pool.submit(task(1));
  await pool.submit(task(2));
  let thirdSubmitted = false;
  const third = pool.submit(task(3)).then((handle) => {
    thirdSubmitted = true;
    return handle;
  });
  await Promise.resolve();
  assert.equal(thirdSubmitted, false);
  assert.deepEqual(order, [1, 2]);
  releases[0]!();
  assert.equal(await first.done, 1);
  const handle = await third;
  assert.deepEqual(order, [1, 2, 3]);
  releases[1]!();
  releases[2]!();
  assert.equal(await handle.done, 3);
  await pool.idle();
  assert.equal(peak, 2);
});

test('rawFiles answers are checked: one result per file, sizes as strings or numbers', () => {
  const request = { method: 'POST', path: '/tables/t/rawFiles' };
  const result = (size: unknown) => ({ kind: 'rawFile', id: 'i', uri: '/rawFiles/i', url: 'https://x/rawFiles/i', name: 'n', md5Hash: 'm', size });
  assert.deepEqual(parseRawFileList({ results: [result('12'), result(3)] }, 2, request, 201).map((f) => f.size), [12, 3]);
  assert.throws(() => parseRawFileList({ results: [result('1')] }, 2, request, 201), ProtocolError);
  assert.throws(() => parseRawFileList({ results: [result('-1')] }, 1, request, 201), ProtocolError);
  assert.throws(() => parseRawFileList({ results: [{ ...result('1'), md5Hash: 5 }] }, 1, request, 201), ProtocolError);
  assert.throws(() => parseRawFileList([], 0, request, 201), ProtocolError);
});
