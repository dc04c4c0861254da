import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { RedivisClient } from '../../src/client/redivis-client.js';
import { InvalidArgumentError, RedivisUploadError, TableReferenceError } from '../../src/errors.js';
import { createTempUploadStream, type TempUploadStream } from '../../src/upload/temp-upload-stream.js';
import { CHUNK_ALIGNMENT as Q } from '../../src/upload/content-range.js';
import { chunkedSource, md5Hex, randomBytes, runSeed } from '../support/data.js';

const seed = runSeed();
const retry = { retries: 2, initialDelayMs: 1, maxDelayMs: 2 };
const TABLE = 'bad_owner.bad_dataset.bad_table';
let emulator: Emulator;
let client: RedivisClient;
let counter = 0;

before(async () => {
  emulator = await startEmulator();
  client = new RedivisClient({ apiEndpoint: emulator.apiEndpoint, apiToken: emulator.token, retry });
});
after(() => emulator.close());

function name(): string {
  return `bad-${++counter}.bin`;
}

async function outcome(promise: Promise<unknown>): Promise<Error | undefined> {
  return promise.then(() => undefined, (error: unknown) => error as Error);
}

/** Temp uploads created under `uploadName`, with their states. */
function statesOf(uploadName: string): string[] {
  return emulator.listTempUploads().filter((u) => u.name === uploadName).map((u) => u.state);
}

/** Resolves once the stream has been destroyed (its session cancelled, when it cancels one), whatever the outcome. */
function closed(stream: TempUploadStream): Promise<void> {
  return stream.closed ? Promise.resolve() : new Promise((resolve) => stream.once('close', () => resolve()));
}

describe(`bad arguments (seed ${seed})`, () => {
  test('malformed table references: TableReferenceError thrown by createTempUploadStream, and no request is sent', () => {
    const references: unknown[] = ['', 'a', 'a.b', 'a.b.c.d.e', 'a..c', 'a.b:v1.x.c', 'own er.d.t', null, 42, {}, { owner: 'x' }, ['a', 'b', 'c']];
    for (const table of references) {
      const before = emulator.requestLog().length;
      let error: Error | undefined;
      try {
        createTempUploadStream({ client, table: table as string, name: name() });
      } catch (thrown) {
        error = thrown as Error;
      }
      assert.ok(error instanceof TableReferenceError, `${JSON.stringify(table)}: ${String(error)}`);
      assert.equal(error.code, 'ERR_TABLE_REFERENCE');
      assert.equal(emulator.requestLog().length, before, `${JSON.stringify(table)} sent a request`);
    }
  });

  test('invalid sizes, chunk sizes and other numbers are refused at construction, naming the option', () => {
    const url = 'http://127.0.0.1:1/upload';
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ url, chunkSize: Number.NaN }, 'chunkSize'],
      [{ url, chunkSize: Infinity }, 'chunkSize'],
      [{ url, chunkSize: -Q }, 'chunkSize'],
      [{ url, chunkSize: String(Q) }, 'chunkSize'],
      [{ url, chunkSize: 1.5 * Q }, 'chunkSize'],
      [{ url, chunkSize: 2 ** 53 }, 'chunkSize'],
      [{ url, size: Number.NaN }, 'size'],
      [{ url, size: Infinity }, 'size'],
      [{ url, size: '10' }, 'size'],
      [{ url, size: 2 ** 53 }, 'size'],
      [{ url, highWaterMark: 0 }, 'highWaterMark'],
      [{ url, stallTimeoutMs: 0 }, 'stallTimeoutMs'],
      [{ url, requestTimeoutMs: -1 }, 'requestTimeoutMs'],
      [{ url, requestTimeoutMs: Number.NaN }, 'requestTimeoutMs'],
      [{ url, retry: { retries: -1 } }, 'retry.retries'],
      [{ url, retry: { initialDelayMs: 0 } }, 'retry.initialDelayMs'],
      [{ url, retry: { jitter: 2 } }, 'retry.jitter'],
      [{ url, retry: 'often' }, 'retry'],
      [{ sessionUrl: url, offset: 1.5 }, 'offset'],
      [{ client, table: TABLE, name: 'x', sizeHint: -1 }, 'sizeHint'],
      [{ client, table: TABLE, name: 7 }, 'name'],
      [{ url: 42 }, 'url'],
      [{ url, client: {} }, 'client'],
    ];
    for (const [options, argument] of cases) {
      assert.throws(
        () => createTempUploadStream(options as never),
        (error: unknown) => error instanceof InvalidArgumentError && error.argument === argument && error.message.includes('expected'),
        `${argument}: ${JSON.stringify(options, (_k, v) => (v === client ? '<client>' : v))}`,
      );
    }
    for (const options of [null, 'http://127.0.0.1:1/upload', 42]) {
      assert.throws(() => createTempUploadStream(options as never), InvalidArgumentError);
    }
  });

  test('names that collide within one call are refused before any request; a name asked for again gets a new temp upload', async () => {
    const before = emulator.requestLog().length;
    await assert.rejects(
      client.createTempUploads(TABLE, [{ name: 'twice', size: 1 }, { name: 'twice', size: 2 }]),
      (error: unknown) => error instanceof InvalidArgumentError && error.argument === 'tempUploads[1].name',
    );
    assert.equal(emulator.requestLog().length, before);

    // As the official clients do on every replace, rename or re-run: the same name again is a new temp upload.
    const first = createTempUploadStream({ client, table: TABLE, name: 'taken.csv' });
    await pipeline(Readable.from([Buffer.from('first')]), first);
    const second = createTempUploadStream({ client, table: TABLE.toUpperCase(), name: 'taken.csv' });
    await pipeline(Readable.from([Buffer.from('second')]), second);
    assert.notEqual(second.result!.tempUploadId, first.result!.tempUploadId);
    assert.equal(emulator.getTempUpload(first.result!.tempUploadId!)!.final!.md5Hex, md5Hex(Buffer.from('first')));
    assert.equal(emulator.getTempUpload(second.result!.tempUploadId!)!.final!.md5Hex, md5Hex(Buffer.from('second')));
  });
});

describe(`a retried tempUploads call (seed ${seed})`, () => {
  // POST tempUploads is not idempotent: when its answer is lost after the server created the temp upload, the
  // client's retry creates another one of the same name. The first is left unused; the upload goes to the second.
  test('a lost answer to the tempUploads call: the retry creates a second temp upload, which receives the bytes', async () => {
    const uploadName = name();
    emulator.injectFault({ match: { kind: 'api', nth: 1 }, fault: { kind: 'reset' } });
    const stream = createTempUploadStream({ client, table: TABLE, name: uploadName });
    await pipeline(Readable.from([Buffer.from('x')]), stream);
    emulator.clearFaults();
    assert.deepEqual(statesOf(uploadName).sort(), ['complete', 'created']);
    assert.equal(emulator.getTempUpload(stream.tempUploadId!)!.final!.md5Hex, md5Hex(Buffer.from('x')));
  });
});

describe(`bad sources (seed ${seed})`, () => {
  for (const target of ['url', 'table'] as const) {
    test(`a source that errors midway (${target}): pipeline rejects with that very error, and the session is cancelled by close`, async () => {
      const uploadName = name();
      const [temp] = target === 'url' ? await client.createTempUploads(TABLE, [{ name: uploadName, size: 0, resumable: true }]) : [undefined];
      const stream = temp
        ? createTempUploadStream({ client, url: temp.url, chunkSize: Q, maxRequestSize: Q, spill: false })
        : createTempUploadStream({ client, table: TABLE, name: uploadName, chunkSize: Q, maxRequestSize: Q, spill: false });
      const boom = new Error('disk read failed');
      const data = randomBytes(3 * Q, seed);
      const source = async function* () {
        yield data.subarray(0, 2 * Q);
        await once(stream, 'progress');
        yield data.subarray(2 * Q, 2 * Q + 100);
        throw boom;
      };
      const error = await outcome(pipeline(source, stream));
      assert.equal(error, boom);
      // pipeline() settles as soon as the source fails; the cancellation is done once the stream has closed.
      await closed(stream);
      assert.deepEqual(statesOf(uploadName), ['cancelled']);
      assert.equal(stream.result, undefined);
    });
  }

  test('a source longer than a declared size of 0, or one huge write past the size, is refused before finalizing', async () => {
    for (const [size, writes] of [[0, [1]], [2 * Q, [3 * Q]]] as const) {
      const uploadName = name();
      const stream = createTempUploadStream({ client, table: TABLE, name: uploadName, chunkSize: Q, maxRequestSize: Q, spill: false, size });
      const error = await outcome(pipeline(chunkedSource(randomBytes(writes[0], seed), [...writes]), stream));
      assert.equal((error as RedivisUploadError | undefined)?.code, 'ERR_SIZE_MISMATCH', String(error));
      assert.ok(!statesOf(uploadName).includes('complete'));
    }
  });

  test('a resumed session fed less than the server already holds is a SizeMismatchError', async () => {
    const uploadName = name();
    const [temp] = await client.createTempUploads(TABLE, [{ name: uploadName, size: 0, resumable: true }]);
    emulator.injectFault({ match: { kind: 'chunk', nth: 3, tempUploadId: temp!.id }, fault: { kind: 'status', status: 503 }, times: 100 });
    const data = randomBytes(3 * Q, seed);
    const first = createTempUploadStream({ client, url: temp!.url, chunkSize: Q, maxRequestSize: Q, spill: false, retry: { retries: 0 } });
    assert.equal(((await outcome(pipeline(chunkedSource(data, [Q]), first))) as RedivisUploadError).code, 'ERR_RETRIES_EXHAUSTED');
    emulator.clearFaults();
    assert.equal(emulator.getTempUpload(temp!.id)!.persisted, 2 * Q);
    const resumed = createTempUploadStream({ client, sessionUrl: first.sessionUrl!, chunkSize: Q, maxRequestSize: Q, spill: false });
    const error = await outcome(pipeline(chunkedSource(data.subarray(0, Q), [Q]), resumed));
    assert.equal((error as RedivisUploadError | undefined)?.code, 'ERR_SIZE_MISMATCH', String(error));
    assert.match(String(error?.message), /before the bytes the server already holds/);
    assert.ok(!statesOf(uploadName).includes('complete'));
  });

  test('non-byte writes are refused with a typed error that ends the stream before anything is sent', async () => {
    for (const value of [{}, 123, null, undefined, true, [1, 2]]) {
      const uploadName = name();
      const stream = createTempUploadStream({ client, table: TABLE, name: uploadName });
      const failed = new Promise<Error>((resolve) => stream.once('error', resolve));
      let callbackError: Error | null | undefined;
      assert.equal(stream.write(value as never, (error) => (callbackError = error)), false, String(value));
      const error = await failed;
      assert.ok(error instanceof InvalidArgumentError, String(value));
      assert.equal(error.code, 'ERR_INVALID_ARGUMENT');
      assert.equal(error.argument, 'chunk');
      await closed(stream);
      assert.equal(callbackError, error, 'the write callback gets the same error');
      assert.deepEqual(statesOf(uploadName), [], 'nothing was sent');
    }
  });

  test('strings, typed arrays and DataViews are bytes: strings as UTF-8 unless an encoding is given, views as in memory', async () => {
    const stream = createTempUploadStream({ client, table: TABLE, name: name() });
    const words = new Uint16Array([0x0102, 0x0304]);
    const parts = ['héllo ', Buffer.from('d29ybGQ=', 'base64'), new Uint8Array([0, 255]), Buffer.from(words.buffer), Buffer.from([7, 8])];
    stream.write('héllo ');
    stream.write('d29ybGQ=', 'base64');
    stream.write(new Uint8Array([0, 255]));
    stream.write(words);
    stream.write(new DataView(new Uint8Array([7, 8]).buffer));
    stream.end();
    await once(stream, 'finish');
    const expectedBytes = Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'utf8') : Buffer.from(part))));
    assert.equal(emulator.getTempUpload(stream.result!.tempUploadId!)!.final!.md5Hex, md5Hex(expectedBytes));
  });

  test('an object from an async-generator source rejects the pipeline with a typed error and cancels the session', async () => {
    const uploadName = name();
    const stream = createTempUploadStream({ client, table: TABLE, name: uploadName, chunkSize: Q, maxRequestSize: Q, spill: false });
    const error = await outcome(
      pipeline(async function* () {
        yield randomBytes(Q, seed);
        await once(stream, 'session');
        yield { rows: 1 };
      }, stream),
    );
    assert.ok(error instanceof RedivisUploadError);
    assert.equal((error as RedivisUploadError).code, 'ERR_INVALID_ARGUMENT');
    await closed(stream);
    assert.deepEqual(statesOf(uploadName), ['cancelled']);
  });

  test('an object-mode Readable piped in rejects pipeline() with a typed error on every Node version, before anything is sent', async () => {
    const moduleUrl = new URL('../../src/upload/temp-upload-stream.js', import.meta.url).href;
    const script = `const { createTempUploadStream } = await import(${JSON.stringify(moduleUrl)});
      const { Readable } = await import('node:stream');
      const { pipeline } = await import('node:stream/promises');
      const stream = createTempUploadStream({ url: 'http://127.0.0.1:1/never' });
      try {
        await pipeline(Readable.from([{ rows: 1 }]), stream);
      } catch (error) {
        console.log('rejected', error.code);
      }`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (output += text));
    const [code] = (await once(child, 'close')) as [number];
    assert.equal(code, 0, output);
    assert.equal(output.trim(), 'rejected ERR_INVALID_ARGUMENT');
  });

  test('a write after end() errors the stream and abandons the upload; a write after it finished leaves the upload intact', async () => {
    const uploadName = name();
    const stream = createTempUploadStream({ client, table: TABLE, name: uploadName });
    const errors: Array<Error & { code?: string }> = [];
    stream.on('error', (error) => errors.push(error));
    const closing = new Promise((resolve) => stream.once('close', resolve));
    stream.write(Buffer.from('data'));
    stream.end();
    let callbackError: (Error & { code?: string }) | null | undefined;
    stream.write(Buffer.from('late'), (error) => (callbackError = error));
    await closing;
    assert.equal(callbackError?.code, 'ERR_STREAM_WRITE_AFTER_END');
    assert.deepEqual(errors.map((e) => e.code), ['ERR_STREAM_WRITE_AFTER_END']);
    assert.equal(stream.result, undefined);
    assert.ok(!statesOf(uploadName).includes('complete'), statesOf(uploadName).join());

    const done = createTempUploadStream({ client, table: TABLE, name: name() });
    done.on('error', (error) => errors.push(error));
    const doneClosing = new Promise((resolve) => done.once('close', resolve));
    done.end(Buffer.from('all of it'));
    await doneClosing;
    const late = await new Promise<Error | null | undefined>((resolve) => done.write(Buffer.from('late'), resolve));
    assert.equal((late as Error & { code?: string }).code, 'ERR_STREAM_WRITE_AFTER_END');
    assert.equal(errors.length, 1, 'no error event after close');
    assert.equal(emulator.getTempUpload(done.result!.tempUploadId!)!.final!.md5Hex, md5Hex(Buffer.from('all of it')));
  });
});
