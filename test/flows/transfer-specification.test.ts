/** Transfer specifications: what is accepted, what is refused (without echoing a URL's query), and gs:// / s3:// addresses. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../../src/errors.js';
import { transferDefaultName, transferSpecificationFromUrl, validateTransferSpecification } from '../../src/flows/transfer-specification.js';

test('valid specifications are copied with their known fields only', () => {
  assert.deepEqual(validateTransferSpecification({ sourceType: 'gcs', sourcePath: 'bucket/dir/x.csv.gz', identity: 'me@example.com', extra: 1 }), {
    sourceType: 'gcs',
    sourcePath: 'bucket/dir/x.csv.gz',
    identity: 'me@example.com',
  });
  assert.deepEqual(validateTransferSpecification({ sourceType: 's3', sourcePath: 'b/k' }), { sourceType: 's3', sourcePath: 'b/k' });
  assert.deepEqual(validateTransferSpecification({ sourceType: 'url', sourcePath: 'https://data.example/x.csv?sig=abc' }).sourceType, 'url');
  assert.deepEqual(validateTransferSpecification({ sourceType: 'redivis', sourcePath: 'owner.dataset.table' }).sourcePath, 'owner.dataset.table');
});

test('invalid specifications name the field; a URL is shown without its query string', () => {
  const cases: Array<[unknown, string]> = [
    [null, 'transferSpecification'],
    ['gs://bucket/x', 'transferSpecification'],
    [{ sourceType: 'ftp', sourcePath: 'x/y' }, 'transferSpecification.sourceType'],
    [{ sourcePath: 'x/y' }, 'transferSpecification.sourceType'],
    [{ sourceType: 'gcs' }, 'transferSpecification.sourcePath'],
    [{ sourceType: 'gcs', sourcePath: '  ' }, 'transferSpecification.sourcePath'],
    [{ sourceType: 'gcs', sourcePath: 'gs://bucket/x.csv' }, 'transferSpecification.sourcePath'],
    [{ sourceType: 'gcs', sourcePath: 'bucket-only' }, 'transferSpecification.sourcePath'],
    [{ sourceType: 's3', sourcePath: 'bucket/' }, 'transferSpecification.sourcePath'],
    [{ sourceType: 'url', sourcePath: 'data.example/x.csv' }, 'transferSpecification.sourcePath'],
    [{ sourceType: 'url', sourcePath: 'ftp://data.example/x.csv?token=SECRET' }, 'transferSpecification.sourcePath'],
    [{ sourceType: 'redivis', sourcePath: 'not a table' }, 'transferSpecification.sourcePath'],
    [{ sourceType: 'gcs', sourcePath: 'b/x', identity: '' }, 'transferSpecification.identity'],
    [{ sourceType: 'gcs', sourcePath: 'b/x', identity: 5 }, 'transferSpecification.identity'],
  ];
  for (const [value, argument] of cases) {
    assert.throws(() => validateTransferSpecification(value), (error: unknown) => {
      assert.ok(error instanceof InvalidArgumentError, String(error));
      assert.equal(error.argument, argument, JSON.stringify(value));
      assert.doesNotMatch(error.message, /SECRET/);
      return true;
    });
  }
});

test('addresses: gs:// is gcs, s3:// is s3, http(s):// is url; anything else is refused', () => {
  assert.deepEqual(transferSpecificationFromUrl('gs://bucket/path/visits.csv'), { sourceType: 'gcs', sourcePath: 'bucket/path/visits.csv' });
  assert.deepEqual(transferSpecificationFromUrl('S3://bucket/key.parquet', 'me@example.com'), {
    sourceType: 's3',
    sourcePath: 'bucket/key.parquet',
    identity: 'me@example.com',
  });
  assert.deepEqual(transferSpecificationFromUrl('https://data.example/a.csv'), { sourceType: 'url', sourcePath: 'https://data.example/a.csv' });
  for (const bad of ['visits.csv', 'gs://bucket', 'file:///tmp/x.csv', 'ftp://host/x?key=SECRET', 42]) {
    assert.throws(() => transferSpecificationFromUrl(bad as string), (error: unknown) => {
      assert.ok(error instanceof InvalidArgumentError, String(bad));
      assert.doesNotMatch(error.message, /SECRET/);
      return true;
    });
  }
});

test('the default upload name is the last segment of the source path', () => {
  assert.equal(transferDefaultName({ sourceType: 'gcs', sourcePath: 'bucket/dir/visits.csv.gz' }), 'visits.csv.gz');
  assert.equal(transferDefaultName({ sourceType: 'url', sourcePath: 'https://data.example/files/a%20b.csv?sig=1' }), 'a b.csv');
  assert.equal(transferDefaultName({ sourceType: 'url', sourcePath: 'https://data.example/' }), undefined);
  assert.equal(transferDefaultName({ sourceType: 'redivis', sourcePath: 'owner.dataset.table' }), undefined);
});
