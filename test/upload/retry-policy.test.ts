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
import { isRetryableUploadError, retryAfterOf } from '../../src/upload/retry-policy.js';

const put = { method: 'PUT', path: 'http://127.0.0.1/upload' };

function httpError(status: number, retryAfterMs?: number): UploadHttpError {
  return new UploadHttpError(put, status, 'body', retryAfterMs);
}

function undiciLike(code: string): Error {
  return Object.assign(new Error(`failure ${code}`), { code });
}

test('transient failures are retryable', () => {
  assert.equal(isRetryableUploadError(new NetworkError(put, undiciLike('ECONNRESET'))), true);
  for (const status of [408, 429, 500, 502, 503, 504, 599]) {
    assert.equal(isRetryableUploadError(httpError(status)), true, `HTTP ${status}`);
  }
});

test('a single request timeout is retryable, an overall deadline is not', () => {
  for (const code of ['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']) {
    assert.equal(isRetryableUploadError(new TimeoutError('PUT chunk', 60_000, { cause: undiciLike(code) })), true, code);
  }
  const nested = new TimeoutError('PUT chunk', 10, { cause: new Error('wrapped', { cause: undiciLike('UND_ERR_BODY_TIMEOUT') }) });
  assert.equal(isRetryableUploadError(nested), true);
  assert.equal(isRetryableUploadError(new TimeoutError('The upload', 600_000)), false);
  assert.equal(isRetryableUploadError(new TimeoutError('The upload', 600_000, { cause: undiciLike('ECONNRESET') })), false);
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
    new ApiError({ method: 'POST', path: '/x' }, 503, undefined, undefined),
    new Error('plain'),
    undiciLike('ECONNRESET'),
    'a string',
    undefined,
    null,
  ];
  for (const error of finals) assert.equal(isRetryableUploadError(error), false, String(error));
  for (const status of [400, 401, 403, 404, 409, 410, 412, 499, 300, 308]) {
    assert.equal(isRetryableUploadError(httpError(status)), false, `HTTP ${status}`);
  }
});

test('retryAfterOf reads Retry-After from upload HTTP errors only', () => {
  assert.equal(retryAfterOf(httpError(429, 2000)), 2000);
  assert.equal(retryAfterOf(httpError(503, 0)), 0);
  assert.equal(retryAfterOf(httpError(503)), undefined);
  assert.equal(retryAfterOf(new NetworkError(put, undiciLike('EPIPE'))), undefined);
  assert.equal(retryAfterOf({ retryAfterMs: 100 }), undefined);
  assert.equal(retryAfterOf(undefined), undefined);
});
