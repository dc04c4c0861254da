/**
 * Upload URLs may be signed: their query strings carry credentials. Anything that leaves the library (errors,
 * debug output, events) shows them through this function only.
 *
 * Returns `scheme://host/path`, with `?…` in place of any query string; user info and fragment are dropped.
 * A string that is not an absolute URL gives `<unparseable URL>` rather than an error, so it can never leak.
 */
export function redactUrl(url: string | URL): string {
  try {
    const parsed = new URL(String(url));
    const query = parsed.search ? '?…' : '';
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}${query}`;
  } catch {
    return '<unparseable URL>';
  }
}
