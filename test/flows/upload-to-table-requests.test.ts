/** What uploadToTable sends: the documented body of POST /uploads, and transfers where no byte passes through. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RedivisClient } from '../../src/client/redivis-client.js';
import { InvalidArgumentError, UploadFailedError } from '../../src/errors.js';
import { transferSpecificationFromUrl } from '../../src/flows/transfer-specification.js';
import { uploadToTable, type UploadToTableOptions } from '../../src/flows/upload-to-table.js';
import { FAST_RETRY, flowHarness, startApiGate, type ApiGate, type FlowHarness, type GateRequest } from './helpers.js';

const TABLE = 'owner.dataset:next.requests';
const FAST_POLL = { pollIntervalMs: 1, maxPollIntervalMs: 2 };
const BODY_FIELDS = [
  'name', 'type', 'schema', 'metadata', 'hasHeaderRow', 'skipBadRecords', 'hasQuotedNewlines', 'allowJaggedRows',
  'quoteCharacter', 'escapeCharacter', 'nullMarkers', 'delimiter', 'tempUploadId', 'transferSpecification',
];
let h: FlowHarness;
let gate: ApiGate;
let client: RedivisClient;
const seen: GateRequest[] = [];

before(async () => {
  h = await flowHarness();
  gate = await startApiGate(h.emu, (request) => {
    seen.push(request);
    return undefined;
  });
  client = new RedivisClient({ apiEndpoint: gate.apiEndpoint, apiToken: h.emu.token, dispatcher: h.dispatcher, retry: FAST_RETRY });
});
after(async () => {
  await gate.close();
  await h.close();
});

function options(extra: Partial<UploadToTableOptions>): UploadToTableOptions {
  return { client, table: TABLE, ...FAST_POLL, ...extra };
}

/** The JSON bodies of the POST /uploads requests since `from`. */
function creations(from: number): Array<Record<string, unknown>> {
  return seen
    .slice(from)
    .filter(({ method, path }) => method === 'POST' && path.endsWith('/uploads'))
    .map(({ body }) => JSON.parse(body.toString('utf8')) as Record<string, unknown>);
}

test('POST /uploads carries every documented field, the ones not given as null', async () => {
  const from = seen.length;
  const upload = await uploadToTable(options({ source: Buffer.from('a;b\n1;2\n'), name: 'fields.csv', delimiter: ';', skipBadRecords: true }));
  assert.equal(upload.status, 'completed');
  const [body] = creations(from);
  assert.deepEqual(Object.keys(body!), BODY_FIELDS);
  assert.deepEqual(body, {
    name: 'fields.csv', type: null, schema: null, metadata: null, hasHeaderRow: null, skipBadRecords: true, hasQuotedNewlines: null,
    allowJaggedRows: null, quoteCharacter: null, escapeCharacter: null, nullMarkers: null, delimiter: ';',
    tempUploadId: upload.tempUploadId, transferSpecification: null,
  });
  // type: null asks Redivis to infer the type from the name.
  assert.equal(h.emu.getUpload(TABLE, 'fields.csv')?.type, 'delimited');
});

test('a transfer creates the upload with its specification and sends no byte: no temp upload, no upload URL', async () => {
  const from = seen.length;
  h.emu.clearRequestLog();
  const spec = transferSpecificationFromUrl('gs://my-bucket/2024/visits.csv.gz', 'me@example.com');
  const upload = await uploadToTable(options({ transferSpecification: spec, hasHeaderRow: true }));
  assert.equal(upload.name, 'visits.csv.gz');
  assert.equal(upload.status, 'completed');
  assert.equal(upload.sent, undefined);
  assert.equal(upload.tempUploadId, undefined);
  assert.deepEqual(upload.transferSpecification, { sourceType: 'gcs', sourcePath: 'my-bucket/2024/visits.csv.gz', identity: 'me@example.com' });
  const [body] = creations(from);
  assert.deepEqual([body!.transferSpecification, body!.tempUploadId, body!.hasHeaderRow], [spec, null, true]);
  assert.ok(h.emu.requestLog().every((entry) => entry.kind === 'api' && !entry.path.endsWith('/tempUploads')), 'only API calls, and no temp upload');
  assert.deepEqual(h.emu.requestLog().map((entry) => entry.method), ['HEAD', 'POST', 'GET', 'GET']);
});

test('transfers of every source type; a redivis transfer needs a name', async () => {
  const specs = [
    { sourceType: 's3', sourcePath: 'bucket/exports/people.parquet' },
    { sourceType: 'url', sourcePath: 'https://data.example/open/data.ndjson?download=1' },
    { sourceType: 'redivis', sourcePath: 'other_org.census.people' },
  ] as const;
  const names = [];
  for (const spec of specs) {
    const upload = await uploadToTable(options({ transferSpecification: spec, ...(spec.sourceType === 'redivis' ? { name: 'people_copy' } : {}) }));
    assert.equal(upload.status, 'completed', spec.sourceType);
    assert.deepEqual(h.emu.getUpload(TABLE, upload.name)?.options.transferSpecification, spec);
    names.push(upload.name);
  }
  assert.deepEqual(names, ['people.parquet', 'data.ndjson', 'people_copy']);
  const before = h.emu.requestLog().length;
  await assert.rejects(uploadToTable(options({ transferSpecification: specs[2] })), (error: unknown) => {
    assert.ok(error instanceof InvalidArgumentError);
    assert.equal(error.argument, 'name');
    return true;
  });
  await assert.rejects(uploadToTable(options({ transferSpecification: { sourceType: 'gcs', sourcePath: 'gs://b/x.csv' } })), InvalidArgumentError);
  assert.equal(h.emu.requestLog().length, before);
});

test('a transfer whose import fails: throwOnFail and removeOnFail apply as to uploaded data', async () => {
  h.emu.failUpload('broken.csv', 'Access denied to gs://private/broken.csv');
  const spec = transferSpecificationFromUrl('gs://private/broken.csv');
  await assert.rejects(uploadToTable(options({ transferSpecification: spec })), UploadFailedError);
  const failed = await uploadToTable(options({ transferSpecification: spec, onConflict: 'replace', throwOnFail: false, removeOnFail: true }));
  assert.deepEqual([failed.status, failed.errorMessage, failed.removed], ['failed', 'Access denied to gs://private/broken.csv', true]);
  assert.equal(h.emu.getUpload(TABLE, 'broken.csv'), undefined);
});
