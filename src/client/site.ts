/**
 * Which hosts may receive the API token. The token goes to the API endpoint's own host and its subdomains, over
 * https (plain http only on loopback, where nothing crosses the network), and nowhere else.
 * @module
 */
import { isIP } from 'node:net';
import { InvalidArgumentError, UnsafeUrlError } from '../errors.js';
import { redactUrl } from '../util/redact.js';

/**
 * Whether `hostname` (as `URL#hostname` gives it: lower case, IPv6 in brackets) names the local machine:
 * `localhost`, `127.0.0.0/8` or `::1`.
 */
export function isLoopbackHostname(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === 'localhost' || host === '[::1]' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/** Whether requests to `url` may be sent in the clear: https always, http only to a loopback host. */
export function isSecureTransport(url: URL): boolean {
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && isLoopbackHostname(url.hostname);
}

/**
 * Whether a request to `url` may carry the API token of a client talking to `apiEndpoint`: the URL must use https
 * (or http to a loopback host), and its hostname must equal the endpoint's hostname or be a subdomain of it.
 * Ports are not compared. Unparseable URLs are never same-site.
 */
export function isSameSite(url: string | URL, apiEndpoint: string | URL): boolean {
  const target = tryParse(url);
  const endpoint = tryParse(apiEndpoint);
  if (!target || !endpoint) return false;
  if (!isSecureTransport(target)) return false;
  if (target.username || target.password) return false;
  const host = target.hostname;
  const apiHost = endpoint.hostname;
  if (host === '' || apiHost === '') return false;
  if (host === apiHost) return true;
  // An IP address has no subdomains; a suffix match on one would compare unrelated names.
  if (isIP(stripBrackets(apiHost)) !== 0) return false;
  return host.endsWith(`.${apiHost}`);
}

/**
 * Validates an API endpoint and returns it without trailing slashes. Only http(s) URLs without credentials, query
 * or fragment are accepted, and plain http only for loopback hosts.
 */
export function normalizeApiEndpoint(value: unknown, argument = 'apiEndpoint'): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new InvalidArgumentError(argument, 'a non-empty http(s) URL string', value);
  }
  const parsed = tryParse(value.trim());
  if (!parsed) throw new InvalidArgumentError(argument, 'an absolute http(s) URL', redactUrl(value));
  if (parsed.username || parsed.password) {
    // The URL is left out of the message: its userinfo may be a credential.
    throw new UnsafeUrlError(`${argument} must not contain credentials (user:password@); pass the token as apiToken`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new InvalidArgumentError(argument, 'an http(s) URL', `${parsed.protocol} URL`);
  }
  if (parsed.search || parsed.hash || value.includes('?') || value.includes('#')) {
    throw new InvalidArgumentError(argument, 'a URL without query string or fragment', redactUrl(parsed));
  }
  if (!isSecureTransport(parsed)) {
    throw new UnsafeUrlError(
      `${argument} ${redactUrl(parsed)} uses plain http to a non-loopback host; use https (http is allowed only for localhost, 127.0.0.0/8 and ::1)`,
    );
  }
  return `${parsed.protocol}//${parsed.host}${parsed.pathname.replace(/\/+$/, '')}`;
}

function tryParse(value: string | URL): URL | undefined {
  try {
    return new URL(String(value));
  } catch {
    return undefined;
  }
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
