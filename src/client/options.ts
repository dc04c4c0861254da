/**
 * {@link RedivisClientOptions} and their validation. Values that could be credentials never appear in errors.
 * @module
 */
import type { Dispatcher } from 'undici';
import { InvalidArgumentError } from '../errors.js';
import { resolveRetryOptions, type ResolvedRetryOptions, type RetryOptions } from '../util/retry.js';
import { normalizeApiEndpoint } from './site.js';
import { defaultUserAgent } from './user-agent.js';

/** The API endpoint used when neither the option nor `REDIVIS_API_ENDPOINT` gives one. */
export const DEFAULT_API_ENDPOINT = 'https://redivis.com/api/v1';

/** Per-request timeout used when none is given, in milliseconds. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

/** Largest timeout Node's timers accept, in milliseconds. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** Options of {@link RedivisClient}. */
export interface RedivisClientOptions {
  /**
   * API token, sent as `Authorization: Bearer <token>` to the API and to same-site upload URLs. Surrounding
   * whitespace is ignored.
   * @default process.env.REDIVIS_API_TOKEN
   */
  apiToken?: string;
  /**
   * Base URL of the API. Must be https, except for loopback hosts (localhost, 127.0.0.0/8, ::1).
   * @default process.env.REDIVIS_API_ENDPOINT ?? 'https://redivis.com/api/v1'
   */
  apiEndpoint?: string;
  /**
   * undici Dispatcher for every request (API and uploads).
   * @default undici's global dispatcher (`getGlobalDispatcher()`)
   */
  dispatcher?: Dispatcher;
  /**
   * `User-Agent` header of every request.
   * @default `redivis-upload/<version> (<process.platform>; Node/<process.versions.node>)`
   */
  userAgent?: string;
  /**
   * Retry policy for API calls and upload requests.
   * @default the {@link RetryOptions} defaults
   */
  retry?: RetryOptions;
  /**
   * Called once per distinct `X-REDIVIS-WARNING` text (the client's `'warning'` event fires as well).
   * @default none
   */
  onWarning?: (message: string) => void;
  /**
   * Per-request timeout for the response headers and for inactivity while the body arrives, in milliseconds.
   * @default `60000` (60 s)
   */
  requestTimeoutMs?: number;
}

/** Options after defaults and validation. */
export interface ResolvedClientOptions {
  apiToken: string | undefined;
  apiEndpoint: string;
  dispatcher: Dispatcher | undefined;
  userAgent: string;
  retry: ResolvedRetryOptions;
  onWarning: ((message: string) => void) | undefined;
  requestTimeoutMs: number;
}

/**
 * Validates options and fills in defaults, reading `REDIVIS_API_TOKEN` and `REDIVIS_API_ENDPOINT` from `env` for
 * options left undefined. An empty environment variable counts as unset.
 */
export function resolveClientOptions(
  options: RedivisClientOptions | undefined,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedClientOptions {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidArgumentError('options', 'an object of RedivisClient options or undefined', options);
  }

  const apiToken = resolveToken(options.apiToken, env.REDIVIS_API_TOKEN);

  const envEndpoint = env.REDIVIS_API_ENDPOINT?.trim() ? env.REDIVIS_API_ENDPOINT : undefined;
  const apiEndpoint =
    options.apiEndpoint !== undefined
      ? normalizeApiEndpoint(options.apiEndpoint, 'apiEndpoint')
      : normalizeApiEndpoint(envEndpoint ?? DEFAULT_API_ENDPOINT, envEndpoint ? 'REDIVIS_API_ENDPOINT' : 'apiEndpoint');

  const dispatcher = options.dispatcher;
  if (dispatcher !== undefined && (dispatcher === null || typeof (dispatcher as Dispatcher).dispatch !== 'function')) {
    throw new InvalidArgumentError('dispatcher', 'an undici Dispatcher (an object with a dispatch method)', dispatcher);
  }

  let userAgent = options.userAgent;
  if (userAgent === undefined) {
    userAgent = defaultUserAgent();
  } else if (typeof userAgent !== 'string' || userAgent.trim() === '' || !/^[\t\x20-\x7e\x80-\xff]+$/.test(userAgent)) {
    throw new InvalidArgumentError('userAgent', 'a non-empty string without control characters', userAgent);
  }

  const onWarning = options.onWarning;
  if (onWarning !== undefined && typeof onWarning !== 'function') {
    throw new InvalidArgumentError('onWarning', 'a function or undefined', onWarning);
  }

  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  if (typeof requestTimeoutMs !== 'number' || !Number.isInteger(requestTimeoutMs) || requestTimeoutMs < 1 || requestTimeoutMs > MAX_TIMEOUT_MS) {
    throw new InvalidArgumentError('requestTimeoutMs', `an integer number of milliseconds from 1 to ${MAX_TIMEOUT_MS}`, requestTimeoutMs);
  }

  return {
    apiToken,
    apiEndpoint,
    dispatcher,
    userAgent,
    retry: resolveRetryOptions(options.retry, 'retry'),
    onWarning,
    requestTimeoutMs,
  };
}

function resolveToken(option: unknown, fromEnv: string | undefined): string | undefined {
  if (option === undefined) {
    const token = fromEnv?.trim();
    if (!token) return undefined;
    checkToken(token, 'REDIVIS_API_TOKEN');
    return token;
  }
  if (typeof option !== 'string') {
    throw new InvalidArgumentError('apiToken', 'a string or undefined', `<redacted ${option === null ? 'null' : typeof option}>`);
  }
  const token = option.trim();
  if (token === '') throw new InvalidArgumentError('apiToken', 'a non-empty string or undefined', option);
  checkToken(token, 'apiToken');
  return token;
}

/** A token goes into a header, so it must be visible ASCII; the value itself is never shown. */
function checkToken(token: string, argument: string): void {
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new InvalidArgumentError(
      argument,
      'a token of visible ASCII characters without spaces',
      `<redacted string of length ${token.length}>`,
    );
  }
}
