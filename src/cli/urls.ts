/**
 * URLs and URIs as the CLI prints them: never with a query string, which may carry a signature.
 * @module
 */
import { redactUrl } from '../util/redact.js';

/** An absolute URL through `redactUrl`; a relative URI without its query string or fragment. */
export function safeUri(uri: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(uri)) return redactUrl(uri);
  return uri.replace(/[?#].*$/s, '');
}
