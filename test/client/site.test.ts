import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLoopbackHostname, isSameSite, normalizeApiEndpoint } from '../../src/client/site.js';
import { RedivisClient } from '../../src/client/redivis-client.js';
import { InvalidArgumentError, UnsafeUrlError } from '../../src/errors.js';
import { TOKEN, withEnv } from './helpers.js';

test('isLoopbackHostname accepts localhost, 127.0.0.0/8 and ::1 only', () => {
  for (const host of ['localhost', 'LOCALHOST', '127.0.0.1', '127.255.3.4', '[::1]', '::1']) {
    assert.equal(isLoopbackHostname(host), true, host);
  }
  for (const host of ['128.0.0.1', '10.0.0.1', '127.example.com', 'localhost.example.com', '[::2]', '0.0.0.0', 'redivis.com']) {
    assert.equal(isLoopbackHostname(host), false, host);
  }
  // What URL#hostname gives for shorthand IPv4 forms.
  assert.equal(isLoopbackHostname(new URL('http://127.1:80/').hostname), true);
});

test('isSameSite: same host or subdomain, over https or loopback http', () => {
  const api = 'https://redivis.com/api/v1';
  const cases: Array<[string, string, boolean]> = [
    ['https://redivis.com/upload/1?sig=abc', api, true],
    ['https://redivis.com:8443/upload', api, true],
    ['https://uploads.redivis.com/x', api, true],
    ['https://a.b.redivis.com/x', api, true],
    ['https://REDIVIS.COM/x', api, true],
    ['https://evilredivis.com/x', api, false],
    ['https://redivis.com.evil.com/x', api, false],
    ['https://redivis.co/x', api, false],
    ['https://storage.googleapis.com/bucket/x', api, false],
    ['http://redivis.com/x', api, false],
    ['http://uploads.redivis.com/x', api, false],
    ['ftp://redivis.com/x', api, false],
    ['https://user:pw@redivis.com/x', api, false],
    ['not a url', api, false],
    ['https://redivis.com/x', 'not a url', false],
    // Loopback development setups may use http.
    ['http://127.0.0.1:9000/upload', 'http://127.0.0.1:9000/api/v1', true],
    ['http://127.0.0.1:9001/upload', 'http://127.0.0.1:9000/api/v1', true],
    ['http://localhost:9000/upload', 'http://localhost:9000/api/v1', true],
    ['http://[::1]:9000/upload', 'http://[::1]:9000/api/v1', true],
    ['http://127.0.0.2:9000/upload', 'http://127.0.0.1:9000/api/v1', false],
    // An IP address has no subdomains.
    ['https://1.2.3.4/x', 'https://2.3.4/api', false],
  ];
  for (const [url, endpoint, expected] of cases) {
    assert.equal(isSameSite(url, endpoint), expected, `${url} vs ${endpoint}`);
  }
  assert.equal(isSameSite(new URL('https://x.redivis.com/'), new URL(api)), true);
});

test('uploadHeaders sends the token only to the API host and its subdomains', () => {
  const client = new RedivisClient({ apiToken: TOKEN, apiEndpoint: 'https://redivis.com/api/v1', userAgent: 'ua/1' });
  const withToken = { 'user-agent': 'ua/1', authorization: `Bearer ${TOKEN}` };
  const without = { 'user-agent': 'ua/1' };
  assert.deepEqual(client.uploadHeaders('https://redivis.com/api/v1/tempUploads/1?sig=x'), withToken);
  assert.deepEqual(client.uploadHeaders(new URL('https://uploads.redivis.com/x')), withToken);
  assert.deepEqual(client.uploadHeaders('https://evilredivis.com/x'), without);
  assert.deepEqual(client.uploadHeaders('https://redivis.com.attacker.net/x'), without);
  assert.deepEqual(client.uploadHeaders('https://storage.googleapis.com/b/o?X-Goog-Signature=s'), without);
  assert.deepEqual(client.uploadHeaders('http://redivis.com/x'), without);

  const local = new RedivisClient({ apiToken: TOKEN, apiEndpoint: 'http://localhost:8080/api/v1', userAgent: 'ua/1' });
  assert.deepEqual(local.uploadHeaders('http://localhost:8080/upload/1'), withToken);
  assert.deepEqual(local.uploadHeaders('http://127.0.0.1:8080/upload/1'), without);

  const anonymous = withEnv({ REDIVIS_API_TOKEN: undefined }, () =>
    new RedivisClient({ apiEndpoint: 'https://redivis.com/api/v1', userAgent: 'ua/1' }),
  );
  assert.equal(anonymous.hasToken, false);
  assert.deepEqual(anonymous.uploadHeaders('https://redivis.com/x'), without);

  assert.throws(
    () => client.uploadHeaders('relative/path?sig=secret'),
    (error: unknown) => error instanceof InvalidArgumentError && error.argument === 'url' && !error.message.includes('secret'),
  );
});

test('normalizeApiEndpoint: https, or http on loopback; no credentials, query or fragment', () => {
  assert.equal(normalizeApiEndpoint('https://redivis.com/api/v1/'), 'https://redivis.com/api/v1');
  assert.equal(normalizeApiEndpoint('https://redivis.com/api/v1//'), 'https://redivis.com/api/v1');
  assert.equal(normalizeApiEndpoint('https://REDIVIS.com'), 'https://redivis.com');
  assert.equal(normalizeApiEndpoint('http://127.0.0.1:3000/api/v1'), 'http://127.0.0.1:3000/api/v1');
  assert.equal(normalizeApiEndpoint('http://localhost:3000/api/v1'), 'http://localhost:3000/api/v1');
  assert.equal(normalizeApiEndpoint('http://[::1]:3000/api/v1'), 'http://[::1]:3000/api/v1');

  assert.throws(() => normalizeApiEndpoint('http://redivis.com/api/v1'), UnsafeUrlError);
  assert.throws(() => normalizeApiEndpoint('http://10.0.0.1/api/v1'), { code: 'ERR_UNSAFE_URL' });
  assert.throws(
    () => normalizeApiEndpoint('https://me:s3cr3t@redivis.com/api/v1'),
    (error: unknown) => error instanceof UnsafeUrlError && !error.message.includes('s3cr3t'),
  );
  assert.throws(
    () => normalizeApiEndpoint('https://redivis.com/api/v1?token=s3cr3t'),
    (error: unknown) => error instanceof InvalidArgumentError && !error.message.includes('s3cr3t'),
  );
  assert.throws(() => normalizeApiEndpoint('https://redivis.com/api/v1#x'), InvalidArgumentError);
  assert.throws(() => normalizeApiEndpoint('ftp://redivis.com/api'), { code: 'ERR_INVALID_ARGUMENT' });
  assert.throws(() => normalizeApiEndpoint('redivis.com/api'), { code: 'ERR_INVALID_ARGUMENT' });
  assert.throws(() => normalizeApiEndpoint(''), { code: 'ERR_INVALID_ARGUMENT' });
  assert.throws(() => normalizeApiEndpoint(42), { code: 'ERR_INVALID_ARGUMENT' });
});
