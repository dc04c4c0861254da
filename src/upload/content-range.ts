/**
 * The header grammar of the resumable protocol, as small pure functions shared by the client and the emulator.
 * @module
 */

/** 256 KiB: every non-final chunk of a resumable upload must be a whole multiple of this. */
export const CHUNK_ALIGNMENT = 262_144;

/** A parsed request `Content-Range`. Offsets are inclusive, as on the wire. */
export type ContentRange =
  /** `bytes a-b/N` or `bytes a-b/*`: a chunk; `total` undefined when `*`. */
  | {
      /** Discriminant: a chunk with both ends given. */
      kind: 'chunk';
      /** Offset of the chunk's first byte in the object (`a`). */
      first: number;
      /** Offset of the chunk's last byte in the object (`b`), inclusive; at least `first`. */
      last: number;
      /** The object's size in bytes (`N`); undefined when the header says `*` (not known yet). */
      total: number | undefined;
    }
  /** `bytes a-*\/*`: the rest of the object in one request, ending where the body ends. */
  | {
      /** Discriminant: an open-ended chunk. */
      kind: 'open';
      /** Offset of the first byte of the body in the object (`a`). */
      first: number;
    }
  /** `bytes *\/N` or `bytes *\/*`: a status query, which finalizes when N equals the persisted size. */
  | {
      /** Discriminant: an empty request asking for the status. */
      kind: 'status';
      /** The object's size in bytes (`N`); undefined when the header says `*`. */
      total: number | undefined;
    };

const DECIMAL = /^(0|[1-9][0-9]*)$/;

function toSafeInteger(text: string): number | undefined {
  if (!DECIMAL.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

/**
 * Formats the `Content-Range` of a chunk holding bytes `[start, start + length)`, or of an empty request when
 * `length` is 0 (a status query or a finalize). `total` undefined means unknown (`*`).
 */
export function formatContentRange(start: number, length: number, total: number | undefined): string {
  const totalText = total === undefined ? '*' : String(total);
  if (length === 0) return `bytes */${totalText}`;
  return `bytes ${start}-${start + length - 1}/${totalText}`;
}

/** Parses a request `Content-Range`; `undefined` when it is malformed (the emulator answers 400). */
export function parseContentRange(header: string | undefined): ContentRange | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes ([^/\s]+)\/(\S+)$/.exec(header.trim());
  if (!match) return undefined;
  const [, range, totalText] = match as unknown as [string, string, string];
  let total: number | undefined;
  if (totalText !== '*') {
    total = toSafeInteger(totalText);
    if (total === undefined) return undefined;
  }
  if (range === '*') return { kind: 'status', total };
  const dash = range.indexOf('-');
  if (dash < 0) return undefined;
  const first = toSafeInteger(range.slice(0, dash));
  if (first === undefined) return undefined;
  const lastText = range.slice(dash + 1);
  if (lastText === '*') return totalText === '*' ? { kind: 'open', first } : undefined;
  const last = toSafeInteger(lastText);
  if (last === undefined || last < first) return undefined;
  if (total !== undefined && last >= total) return undefined;
  return { kind: 'chunk', first, last, total };
}

/** Formats the `Range` response header for `persisted` bytes; `undefined` (no header) when nothing is persisted. */
export function formatRangeHeader(persisted: number): string | undefined {
  return persisted === 0 ? undefined : `bytes=0-${persisted - 1}`;
}

/**
 * Parses a `308` response's `Range` header into the number of bytes persisted. An absent header means 0.
 * Returns `undefined` when the header is present but malformed (not `bytes=0-E`, the unit in any case); callers raise
 * a protocol error.
 */
export function parseRangeHeader(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return 0;
  if (Array.isArray(header)) return header.length === 1 ? parseRangeHeader(header[0]) : undefined;
  // Range units are case-insensitive (RFC 9110, section 14.1).
  const match = /^bytes=0-(\d+)$/i.exec(header.trim());
  if (!match) return undefined;
  const last = toSafeInteger(match[1]!);
  return last === undefined ? undefined : last + 1;
}
