import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AbortError,
  ApiError,
  DataLossError,
  IntegrityError,
  InvalidArgumentError,
  NetworkError,
  ProtocolError,
  RetriesExhaustedError,
  SessionCancelledError,
  SessionExpiredError,
  SizeMismatchError,
  TimeoutError,
  UploadHttpError,
} from '../../src/errors.js';
import { isRetryableError, isTransportFailure, retryAfterOf, toRequestError } from '../../src/util/failures.js';
import { mayRetry, resolveRetryOptions } from '../../src/util/retry.js';

const put = { method: 'PUT', path: 'http://127.0.0.1/upload' };

function httpError(status: number, retryAfterMs?: number): UploadHttpError {
  return new UploadHttpError(put, status, 'body', retryAfterMs);
}

function undiciLike(code: string): Error {
  return Object.assign(new Error(`failure ${code}`), { code });
}

test('transient failures are retryable', () => {
  assert.equal(isRetryableError(new NetworkError(put, undiciLike('ECONNRESET'))), true);
  for (const status of [408, 429, 500, 502, 503, 504, 599]) {
    assert.equal(isRetryableError(httpError(status)), true, `HTTP ${status}`);
  }
});

test('an overall deadline is never retryable, whatever caused it', () => {
  assert.equal(isRetryableError(new TimeoutError('The upload', 600_000)), false);
  assert.equal(isRetryableError(new TimeoutError('The upload', 600_000, { cause: undiciLike('UND_ERR_BODY_TIMEOUT') })), false);
});

test('API errors retry on the same statuses as upload requests, and carry Retry-After', () => {
  const api = (status: number) => new ApiError({ method: 'POST', path: '/x' }, status, undefined, undefined, { retryAfterMs: 1500 });
  for (const status of [408, 429, 500, 503]) assert.equal(isRetryableError(api(status)), true, `HTTP ${status}`);
  for (const status of [400, 401, 403, 404, 409]) assert.equal(isRetryableError(api(status)), false, `HTTP ${status}`);
  assert.equal(retryAfterOf(api(429)), 1500);
});

test('transport failures are a closed list: garbled answers and cut connections are in, programming errors are out', () => {
  const transport = ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'HPE_INVALID_CONSTANT'];
  for (const code of transport) assert.equal(isTransportFailure(undiciLike(code)), true, code);
  const parser = Object.assign(new Error('Response does not match the HTTP/1.1 protocol'), { name: 'HTTPParserError' });
  assert.equal(isTransportFailure(parser), true, 'an HTTPParserError without a code');
  const programming = ['ERR_INVALID_ARG_TYPE', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', 'UND_ERR_NOT_SUPPORTED', 'EACCES', 'ENOENT'];
  for (const code of programming) {
    assert.equal(isTransportFailure(undiciLike(code)), false, code);
    const mapped = toRequestError(undiciLike(code), put, undefined);
    assert.equal(isRetryableError(mapped), false, `${code} is final`);
    assert.equal((mapped as Error).message, `failure ${code}`, `${code} passes through unchanged`);
  }
  const mapped = toRequestError(parser, put, undefined);
  assert.ok(mapped instanceof NetworkError && isRetryableError(mapped), 'a garbled answer is a retryable NetworkError');
  assert.equal(isTransportFailure(new AggregateError([undiciLike('ECONNREFUSED'), undiciLike('ECONNREFUSED')])), true);
  assert.equal(isTransportFailure(new AggregateError([undiciLike('ECONNREFUSED'), undiciLike('ERR_INVALID_ARG_TYPE')])), false);
});

test('a retry policy of your own is asked about request failures only', () => {
  const asked: Array<[string, number]> = [];
  const policy = resolveRetryOptions({
    shouldRetry: (error, attempt) => {
      asked.push([error.code, attempt]);
      return error instanceof UploadHttpError && error.status === 400;
    },
  });
  assert.equal(mayRetry(policy, httpError(400), 1), true);
  assert.equal(mayRetry(policy, httpError(503), 2), false);
  assert.equal(mayRetry(policy, new AbortError(), 1), false);
  assert.equal(mayRetry(policy, new DataLossError(1, 0, 0), 1), false);
  assert.equal(mayRetry(policy, new Error('plain'), 1), false);
  assert.deepEqual(asked, [['ERR_UPLOAD_HTTP', 1], ['ERR_UPLOAD_HTTP', 2]]);
  assert.throws(() => resolveRetryOptions({ shouldRetry: 'yes' as never }), { code: 'ERR_INVALID_ARGUMENT', message: /retry\.shouldRetry/ });
});

test('final failures are not retryable', () => {
  const finals: unknown[] = [
    new AbortError(),
    new SessionExpiredError('http://x/s', 404),
    new SessionExpiredError('http://x/s', 410),
    new SessionCancelledError('http://x/s'),
    new DataLossError(10, 0, 5),
    new SizeMismatchError('file', 10, 11),
    new IntegrityError('crc32c', 'AAAAAA==', 'AAAAAQ=='),
    new ProtocolError('malformed Range'),
    new InvalidArgumentError('chunkSize', 'a multiple of 262144', 5),
    new RetriesExhaustedError('upload', 3, httpError(503)),
    new Error('plain'),
    undiciLike('ECONNRESET'),
    'a string',
    undefined,
    null,
  ];
  for (const error of finals) assert.equal(isRetryableError(error), false, String(error));
  for (const status of [400, 401, 403, 404, 409, 410, 412, 499, 300, 308]) {
    assert.equal(isRetryableError(httpError(status)), false, `HTTP ${status}`);
  }
});

test('retryAfterOf reads Retry-After from HTTP errors only', () => {
  assert.equal(retryAfterOf(httpError(429, 2000)), 2000);
  assert.equal(retryAfterOf(httpError(503, 0)), 0);
  assert.equal(retryAfterOf(httpError(503)), undefined);
  assert.equal(retryAfterOf(new NetworkError(put, undiciLike('EPIPE'))), undefined);
  assert.equal(retryAfterOf({ retryAfterMs: 100 }), undefined);
  assert.equal(retryAfterOf(undefined), undefined);
});
