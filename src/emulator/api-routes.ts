/**
 * The emulated Redivis API: a small table of routes, token checks, and Redivis-shaped error bodies. New endpoints
 * are added by appending an {@link ApiRoute} to {@link API_ROUTES}.
 * @module
 */
import type { IncomingHttpHeaders } from 'node:http';
import { apiErrorCodeFor, apiErrorReply, jsonReply, type ApiErrorCode, type Reply } from './errors-body.js';
import type { EmulatorState } from './state.js';
import { rawFilesRoute } from './raw-files-api.js';
import { rowsRoute } from './rows-api.js';
import { TABLE_ROUTES } from './tables-api.js';
import { tempUploadsRoute } from './temp-uploads-api.js';
import { UPLOAD_ROUTES } from './uploads-api.js';

/** Everything a route handler gets. */
export interface ApiContext {
  /** HTTP method of the request (`HEAD` for a `HEAD` served by a `GET` route). */
  method: string;
  /** Decoded path parameters, by the names used in {@link ApiRoute.path}. */
  params: Record<string, string>;
  /** The URL's query parameters. */
  query: URLSearchParams;
  /** Request headers, with lower-case names as Node parses them. */
  headers: IncomingHttpHeaders;
  /**
   * The emulator's in-memory state, for the built-in routes.
   * @internal
   */
  state: EmulatorState;
  /** The whole request body. */
  readBody(): Promise<Buffer>;
  /** The request body parsed as JSON; `undefined` when it is not valid JSON. */
  readJson(): Promise<unknown>;
  /** An error reply in the configured Redivis error shape; `code` defaults from the status. */
  error(status: number, description: string, code?: ApiErrorCode): Reply;
  /** A JSON reply. */
  json(status: number, body: unknown): Reply;
}

/** One API endpoint. */
export interface ApiRoute {
  /** HTTP method served; a `GET` route also answers `HEAD`. */
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path under `/api/v1`, with `:name` segments as parameters, e.g. `/tables/:tableReference/tempUploads`. */
  path: string;
  /**
   * Scope the bearer token must carry; `undefined` = no token needed.
   * @default undefined (no token needed)
   */
  scope?: string;
  /**
   * Answers a request that matched {@link method} and {@link path}, once the token was checked. A thrown error (or
   * rejection) closes the connection without a response.
   */
  handle(context: ApiContext): Promise<Reply> | Reply;
}

/**
 * The API's routes, tried in order. Appending an {@link ApiRoute} adds an endpoint to every emulator of the
 * process, including those already running.
 */
export const API_ROUTES: ApiRoute[] = [tempUploadsRoute, ...UPLOAD_ROUTES, rowsRoute, rawFilesRoute, ...TABLE_ROUTES];

/** Scopes of the emulator's read-only token. */
export const READ_ONLY_SCOPES = ['public', 'data.overview', 'data.metadata', 'data.data'];
/** Scopes of the emulator's main token. */
export const FULL_SCOPES = [...READ_ONLY_SCOPES, 'data.edit'];

/** Path prefix of the API. */
export const API_PREFIX = '/api/v1';

type RouteMatch = { route: ApiRoute; params: Record<string, string> } | { error: Reply };

function matchPath(pattern: string, segments: string[]): Record<string, string> | 'bad-encoding' | undefined {
  const parts = pattern.split('/').filter(Boolean);
  if (parts.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const segment = segments[i]!;
    if (part.startsWith(':')) {
      if (segment === '') return undefined;
      try {
        params[part.slice(1)] = decodeURIComponent(segment);
      } catch {
        return 'bad-encoding';
      }
    } else if (part !== segment) {
      return undefined;
    }
  }
  return params;
}

/** Finds the route for a request below {@link API_PREFIX}, or the 404/405/400 reply. */
export function findApiRoute(shape: 'flat' | 'nested', method: string, path: string): RouteMatch {
  const rest = path.slice(API_PREFIX.length);
  const segments = rest.split('/').filter((segment, index) => index > 0 || segment !== '');
  if (segments.length > 0 && segments[segments.length - 1] === '') segments.pop();
  const allowed: string[] = [];
  for (const route of API_ROUTES) {
    const params = matchPath(route.path, segments);
    if (params === undefined) continue;
    if (params === 'bad-encoding') {
      return { error: apiErrorReply(shape, 400, 'invalid_request', 'A path parameter is not valid percent-encoding') };
    }
    if (route.method === method || (method === 'HEAD' && route.method === 'GET')) return { route, params };
    allowed.push(route.method);
  }
  if (allowed.length > 0) {
    return {
      error: apiErrorReply(shape, 405, 'method_not_allowed', `Method ${method} is not allowed on ${path}`, {
        headers: { allow: [...new Set(allowed)].join(', ') },
      }),
    };
  }
  return { error: apiErrorReply(shape, 404, 'not_found', `No API endpoint matches ${method} ${path}`) };
}

/** Checks the bearer token against the route's scope; returns an error reply, or undefined when allowed. */
export function checkAuthorization(state: EmulatorState, route: ApiRoute, authorization: string | undefined): Reply | undefined {
  if (route.scope === undefined) return undefined;
  const shape = state.options.errorShape;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  const scopes =
    match?.[1] === state.options.token ? FULL_SCOPES : match?.[1] === state.options.readOnlyToken ? READ_ONLY_SCOPES : undefined;
  if (scopes === undefined) {
    const description =
      authorization === undefined ? 'An access token is required for this request' : 'The access token is invalid or has expired';
    return apiErrorReply(shape, 401, 'invalid_token', description, {
      headers: { 'www-authenticate': 'Bearer realm="redivis", error="invalid_token"' },
    });
  }
  if (!scopes.includes(route.scope)) {
    return apiErrorReply(shape, 403, 'insufficient_scope', `The access token lacks the ${route.scope} scope`, {
      scope: route.scope,
    });
  }
  return undefined;
}

/** Builds a route's context. */
export function apiContext(
  state: EmulatorState,
  request: { method: string; headers: IncomingHttpHeaders; query: URLSearchParams; params: Record<string, string> },
  readBody: () => Promise<Buffer>,
): ApiContext {
  const shape = state.options.errorShape;
  return {
    ...request,
    state,
    readBody,
    async readJson() {
      const body = await readBody();
      try {
        return JSON.parse(body.toString('utf8')) as unknown;
      } catch {
        return undefined;
      }
    },
    error: (status, description, code) => apiErrorReply(shape, status, code ?? apiErrorCodeFor(status), description),
    json: (status, body) => jsonReply(status, body),
  };
}
