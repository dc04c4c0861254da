/**
 * The library's errors in the command line's words: retry reasons short enough for a terminal line, the flag or
 * argument a library option corresponds to, and what to do next. Library messages are never changed; the CLI
 * rewrites what it shows, by error class and code.
 * @module
 */
import {
  ApiError,
  InvalidArgumentError,
  MissingTokenError,
  NameConflictError,
  NetworkError,
  ProtocolError,
  RedivisUploadError,
  UnsafeUrlError,
  UploadHttpError,
} from '../errors.js';

/** The flag that sets each library option the CLI passes on. */
const FLAG_OF_OPTION: Record<string, string> = {
  chunkSize: '--chunk-size',
  concurrency: '--concurrency',
  name: '--name',
  type: '--type',
  delimiter: '--delimiter',
  onConflict: '--on-conflict',
  'retry.retries': '--retries',
  requestTimeoutMs: '--request-timeout',
  exclude: '--exclude',
};

/** What the command was given, to name arguments in messages. */
export interface CommandWords {
  /** The `<path>` arguments, in order: `files[i]` of `addFiles` and `source` of `uploadToTable` are these. */
  paths: readonly string[];
}

function seconds(ms: number): string {
  const value = ms / 1000;
  return `${value >= 10 ? Math.round(value) : Number(value.toFixed(1))} s`;
}

function errnoOf(error: unknown): (NodeJS.ErrnoException & { address?: string; port?: number; hostname?: string }) | undefined {
  let current = error;
  for (let depth = 0; current instanceof Error && depth < 8; depth += 1) {
    if (!(current instanceof RedivisUploadError) && typeof (current as NodeJS.ErrnoException).code === 'string') {
      return current as NodeJS.ErrnoException;
    }
    current = current.cause;
  }
  return undefined;
}

/** The host a request went to: an upload URL's own, else the API's. */
function hostOf(path: string | undefined, apiHost: string): string {
  if (path !== undefined && /^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    try {
      return new URL(path).host;
    } catch {
      // A redacted URL that does not parse; the API host is the best guess.
    }
  }
  return apiHost;
}

/**
 * Why a request is being retried, in a few words: `connection refused by 127.0.0.1:1`, `HTTP 503 from
 * redivis.com`, `no answer from storage.googleapis.com within 60 s`.
 */
export function retryReason(error: Error, apiHost: string, requestTimeoutMs: number): string {
  if (error instanceof ApiError) return `HTTP ${error.status}${error.errorCode ? ` (${error.errorCode})` : ''} from ${apiHost}`;
  if (error instanceof UploadHttpError) return `HTTP ${error.status} from ${hostOf(error.path, apiHost)}`;
  const errno = errnoOf(error);
  const path = error instanceof NetworkError ? error.path : undefined;
  const host = errno?.address !== undefined ? `${errno.address}${errno.port !== undefined ? `:${errno.port}` : ''}` : hostOf(path, apiHost);
  switch (errno?.code) {
    case 'ECONNREFUSED':
      return `connection refused by ${host}`;
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
      return `connection to ${hostOf(path, apiHost)} reset`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `${errno?.hostname ?? hostOf(path, apiHost)} not found (DNS)`;
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `could not connect to ${host} (timed out)`;
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return `no answer from ${hostOf(path, apiHost)} within ${seconds(requestTimeoutMs)} (--request-timeout)`;
    case undefined:
      return error.message;
    default:
      return `${errno?.code} from ${host}`;
  }
}

/** `retrying in 2 s: connection refused by 127.0.0.1:1`. */
export function retryLine(error: Error, delayMs: number, apiHost: string, requestTimeoutMs: number): string {
  return `retrying in ${seconds(delayMs)}: ${retryReason(error, apiHost, requestTimeoutMs)}`;
}

function isApiPath(path: string | undefined): boolean {
  return path !== undefined && path.startsWith('/');
}

/**
 * Whether `error` says the API endpoint itself is wrong or unreachable: a connection or TLS failure of an API call,
 * or an API answer that is not the API's (a captive portal, a web server at the wrong path).
 */
export function isEndpointProblem(error: unknown): boolean {
  let current = error;
  for (let depth = 0; current instanceof Error && depth < 8; depth += 1) {
    if (current instanceof NetworkError && isApiPath(current.path)) return true;
    if (current instanceof ProtocolError && isApiPath(current.path) && current.status !== undefined && current.status < 300) return true;
    if (current instanceof UnsafeUrlError && /^\w+ \/\S*: TLS/.test(current.message)) return true;
    current = current.cause;
  }
  return false;
}

function pathArgument(argument: string, words: CommandWords): string | undefined {
  if (argument === 'source') return words.paths[0];
  const match = /^files\[(\d+)\]/.exec(argument);
  return match ? words.paths[Number(match[1])] : undefined;
}

/** `files[2]` and `source` as the `<path>` the user typed. */
function withPaths(text: string, words: CommandWords): string {
  return text.replace(/\bfiles\[(\d+)\](\.\w+)?/g, (whole, index: string) => {
    const path = words.paths[Number(index)];
    return path === undefined ? whole : `<path> ${JSON.stringify(path)}`;
  });
}

/** The message to show instead of `error.message`, in flag names; undefined to show the library's own. */
export function commandMessage(error: unknown, words: CommandWords): string | undefined {
  if (error instanceof NameConflictError) {
    return `An upload named ${JSON.stringify(error.uploadName)} already exists in this table; add --on-conflict replace or --on-conflict rename`;
  }
  if (error instanceof MissingTokenError) return 'No Redivis API token: set the REDIVIS_API_TOKEN environment variable';
  if (error instanceof InvalidArgumentError) {
    const path = pathArgument(error.argument, words);
    const subject = path !== undefined ? `<path> ${JSON.stringify(path)}` : FLAG_OF_OPTION[error.argument];
    if (subject === undefined) return undefined;
    const expected = withPaths(error.expected, words);
    // A path is the value itself: "received" would only repeat it.
    return path !== undefined ? `Invalid ${subject}: expected ${expected}` : `Invalid ${subject}: expected ${expected}, received ${error.received}`;
  }
  return undefined;
}

/** What to do next, for the failures where the next step is not obvious from the message. */
export function nextStep(error: unknown, endpoint: string | undefined): string | undefined {
  if (error instanceof MissingTokenError) return 'or add --emulator to try without an account';
  if (isEndpointProblem(error)) {
    return endpoint === undefined
      ? 'is REDIVIS_API_ENDPOINT right? It is unset, so the default https://redivis.com/api/v1 was used'
      : `is REDIVIS_API_ENDPOINT right? It is ${endpoint}`;
  }
  const api = findApiError(error);
  if (api?.status === 401) return 'check REDIVIS_API_TOKEN: the API refused it';
  if (api?.status === 403) return 'the token needs the data.edit scope and edit access to the dataset';
  if (api?.status === 404) return 'check --table: owner, dataset and table must exist, on the :next version';
  return undefined;
}

function findApiError(error: unknown): ApiError | undefined {
  let current = error;
  for (let depth = 0; current instanceof Error && depth < 8; depth += 1) {
    if (current instanceof ApiError) return current;
    current = current.cause;
  }
  return undefined;
}
