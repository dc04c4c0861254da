import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Agent } from 'undici';
import { RedivisClient } from '../../src/client/redivis-client.js';
import { DEFAULT_API_ENDPOINT, DEFAULT_REQUEST_TIMEOUT_MS, type RedivisClientOptions } from '../../src/client/options.js';
import { defaultUserAgent, packageVersion } from '../../src/client/user-agent.js';
import { DEFAULT_RETRY } from '../../src/util/retry.js';
import { InvalidArgumentError, RedivisUploadError, UnsafeUrlError } from '../../src/errors.js';
import { TOKEN, withEnv } from './helpers.js';

// build/test/client/ -> the repository root.
const manifest = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

test('defaults come from the environment when options are absent', () => {
  withEnv({ REDIVIS_API_TOKEN: undefined, REDIVIS_API_ENDPOINT: undefined }, () => {
    const client = new RedivisClient();
    assert.equal(client.apiEndpoint, DEFAULT_API_ENDPOINT);
    assert.equal(client.apiEndpoint, 'https://redivis.com/api/v1');
    assert.equal(client.hasToken, false);
    assert.equal(client.dispatcher, undefined);
    assert.equal(client.requestTimeoutMs, DEFAULT_REQUEST_TIMEOUT_MS);
    assert.equal(client.requestTimeoutMs, 60_000);
    assert.deepEqual(client.retry, DEFAULT_RETRY);
    assert.equal(client.userAgent, defaultUserAgent());
  });

  withEnv({ REDIVIS_API_TOKEN: ` ${TOKEN}\n`, REDIVIS_API_ENDPOINT: 'https://staging.redivis.com/api/v1/' }, () => {
    const client = new RedivisClient();
    assert.equal(client.hasToken, true);
    assert.equal(client.apiEndpoint, 'https://staging.redivis.com/api/v1');
    // The surrounding whitespace of the variable is not part of the token.
    assert.equal(client.uploadHeaders('https://staging.redivis.com/u').authorization, `Bearer ${TOKEN}`);

    // Options win over the environment.
    const explicit = new RedivisClient({ apiToken: 'other', apiEndpoint: 'https://redivis.com/api/v1' });
    assert.equal(explicit.apiEndpoint, 'https://redivis.com/api/v1');
    assert.equal(explicit.uploadHeaders('https://redivis.com/u').authorization, 'Bearer other');
  });

  withEnv({ REDIVIS_API_TOKEN: '', REDIVIS_API_ENDPOINT: '' }, () => {
    const client = new RedivisClient();
    assert.equal(client.hasToken, false, 'an empty variable counts as unset');
    assert.equal(client.apiEndpoint, DEFAULT_API_ENDPOINT);
  });

  withEnv({ REDIVIS_API_ENDPOINT: 'http://redivis.com/api/v1' }, () => {
    assert.throws(() => new RedivisClient(), (error: unknown) => error instanceof UnsafeUrlError && /REDIVIS_API_ENDPOINT/.test(error.message));
  });
});

test('the default User-Agent names the package version, platform and Node version', () => {
  assert.equal(packageVersion(), manifest.version);
  assert.equal(defaultUserAgent(), `redivis-upload/${manifest.version} (${process.platform}; Node/${process.versions.node})`);
  assert.match(defaultUserAgent(), /^redivis-upload\/\d+\.\d+\.\d+\S* \([a-z0-9]+; Node\/\d+\.\d+\.\d+\)$/);
  const client = new RedivisClient({ apiToken: TOKEN, userAgent: 'my-app/2.0 (+https://example.com)' });
  assert.equal(client.userAgent, 'my-app/2.0 (+https://example.com)');
});

test('explicit options are kept', async () => {
  const dispatcher = new Agent({ keepAliveTimeout: 10 });
  try {
    const warnings: string[] = [];
    const client = new RedivisClient({
      apiToken: TOKEN,
      apiEndpoint: 'http://127.0.0.1:1/api/v1/',
      dispatcher,
      retry: { retries: 2, initialDelayMs: 3 },
      requestTimeoutMs: 1234,
      onWarning: (message) => warnings.push(message),
    });
    assert.equal(client.apiEndpoint, 'http://127.0.0.1:1/api/v1');
    assert.equal(client.dispatcher, dispatcher);
    assert.deepEqual(client.retry, { ...DEFAULT_RETRY, retries: 2, initialDelayMs: 3 });
    assert.equal(client.requestTimeoutMs, 1234);
    assert.deepEqual(warnings, []);
  } finally {
    await dispatcher.close();
  }
});

test('invalid options are refused with what was expected and what was received', () => {
  const cases: Array<[unknown, string]> = [
    [{ apiToken: 42 }, 'apiToken'],
    [{ apiToken: '   ' }, 'apiToken'],
    [{ apiEndpoint: 'ftp://redivis.com' }, 'apiEndpoint'],
    [{ apiEndpoint: 'nope' }, 'apiEndpoint'],
    [{ apiEndpoint: 17 }, 'apiEndpoint'],
    [{ dispatcher: {} }, 'dispatcher'],
    [{ dispatcher: null }, 'dispatcher'],
    [{ userAgent: '' }, 'userAgent'],
    [{ userAgent: 'a\r\nX-Injected: 1' }, 'userAgent'],
    [{ userAgent: 5 }, 'userAgent'],
    [{ onWarning: 'print' }, 'onWarning'],
    [{ requestTimeoutMs: 0 }, 'requestTimeoutMs'],
    [{ requestTimeoutMs: 1.5 }, 'requestTimeoutMs'],
    [{ requestTimeoutMs: '100' }, 'requestTimeoutMs'],
    [{ requestTimeoutMs: 2 ** 31 }, 'requestTimeoutMs'],
    [{ retry: 3 }, 'retry'],
    [{ retry: { retries: -1 } }, 'retry.retries'],
    [{ retry: { initialDelayMs: 10, maxDelayMs: 5 } }, 'retry.maxDelayMs'],
  ];
  for (const [options, argument] of cases) {
    assert.throws(
      () => new RedivisClient({ apiToken: TOKEN, ...(options as object) } as RedivisClientOptions),
      (error: unknown) =>
        error instanceof InvalidArgumentError &&
        error.argument === argument &&
        error.expected.length > 0 &&
        error.message.includes('expected') &&
        error.message.includes('received'),
      `${JSON.stringify(options)} should be refused as ${argument}`,
    );
  }
  for (const options of [null, 'https://redivis.com', [1]]) {
    assert.throws(() => new RedivisClient(options as unknown as RedivisClientOptions), { code: 'ERR_INVALID_ARGUMENT', argument: 'options' });
  }
});

test('endpoint rules: https unless loopback, never credentials', () => {
  assert.throws(() => new RedivisClient({ apiEndpoint: 'http://redivis.com/api/v1' }), UnsafeUrlError);
  assert.throws(() => new RedivisClient({ apiEndpoint: 'http://192.168.1.10:8080/api/v1' }), { code: 'ERR_UNSAFE_URL' });
  assert.throws(
    () => new RedivisClient({ apiEndpoint: `https://x:${TOKEN}@redivis.com/api/v1` }),
    (error: unknown) => error instanceof UnsafeUrlError && !error.message.includes(TOKEN),
  );
  assert.throws(
    () => new RedivisClient({ apiEndpoint: `https://${TOKEN}@redivis.com/api/v1` }),
    (error: unknown) => error instanceof UnsafeUrlError && !error.message.includes(TOKEN),
  );
  for (const endpoint of ['http://localhost:8080/api/v1', 'http://127.0.0.1/api/v1', 'http://127.9.9.9:1/x', 'http://[::1]:9/api/v1']) {
    assert.equal(new RedivisClient({ apiEndpoint: endpoint }).apiEndpoint, endpoint);
  }
});

test('a token never shows in errors, inspection or serialisation', async () => {
  const { inspect } = await import('node:util');
  const client = new RedivisClient({ apiToken: TOKEN, apiEndpoint: 'https://redivis.com/api/v1' });
  assert.equal(inspect(client, { depth: 5, showHidden: true }).includes(TOKEN), false);
  assert.equal(JSON.stringify(client).includes(TOKEN), false);

  const secret = 'bad token with spaces';
  const errors: RedivisUploadError[] = [];
  for (const apiToken of [secret, `${TOKEN}\u0000`, 12345678 as unknown as string]) {
    try {
      new RedivisClient({ apiToken });
      assert.fail('should throw');
    } catch (error) {
      assert.ok(error instanceof InvalidArgumentError);
      assert.equal(error.argument, 'apiToken');
      errors.push(error);
    }
  }
  for (const error of errors) {
    assert.equal(error.message.includes(secret), false);
    assert.equal(error.message.includes(TOKEN), false);
    assert.equal(error.message.includes('12345678'), false);
  }
  withEnv({ REDIVIS_API_TOKEN: secret }, () => {
    assert.throws(
      () => new RedivisClient(),
      (error: unknown) => error instanceof InvalidArgumentError && error.argument === 'REDIVIS_API_TOKEN' && !error.message.includes(secret),
    );
  });
});
