/**
 * Counting the rows of delimited and newline-delimited JSON content, as an import would report them in `numRows`.
 * Gzip content (by its magic bytes) is counted decompressed. Counting never fails an import: content that cannot
 * be read gives no count.
 * @module
 */
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

/** How delimited content is read. */
export interface DelimitedOptions {
  /** Whether the first record holds the column names (it is not a row). */
  hasHeaderRow: boolean;
  /** Whether newlines inside quoted values belong to the value. */
  hasQuotedNewlines: boolean;
  /** The quote character (its first code unit is used). */
  quoteCharacter: string;
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

async function* decompressed(source: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  const iterator = source[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) return;
  const rest: AsyncIterable<Buffer> = { [Symbol.asyncIterator]: () => iterator };
  const head = first.value;
  const isGzip = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  if (!isGzip) {
    yield head;
    yield* rest;
    return;
  }
  async function* all(): AsyncIterable<Buffer> {
    yield head;
    yield* rest;
  }
  yield* Readable.from(all()).pipe(createGunzip()) as AsyncIterable<Buffer>;
}

/**
 * Counts records: lines that hold something other than a line ending, where a newline inside quotes (when
 * `quotedNewlines`) does not end a record. A last record without a final newline counts.
 */
async function countRecords(source: AsyncIterable<Buffer>, quote: number | undefined): Promise<number> {
  let records = 0;
  let lineHasContent = false;
  let inQuotes = false;
  for await (const piece of decompressed(source)) {
    for (let i = 0; i < piece.length; i++) {
      const byte = piece[i]!;
      if (quote !== undefined && byte === quote) {
        inQuotes = !inQuotes;
        lineHasContent = true;
      } else if (byte === NEWLINE && !inQuotes) {
        if (lineHasContent) records += 1;
        lineHasContent = false;
      } else if (byte !== CARRIAGE_RETURN) {
        lineHasContent = true;
      }
    }
  }
  return lineHasContent ? records + 1 : records;
}

/** Rows of delimited content; undefined when it cannot be read. */
export async function countDelimitedRows(source: AsyncIterable<Buffer>, options: DelimitedOptions): Promise<number | undefined> {
  try {
    // Quotes are tracked byte by byte, so only a single-byte (ASCII) quote character can be followed.
    const code = options.quoteCharacter.charCodeAt(0);
    const quote = options.hasQuotedNewlines && code < 0x80 ? code : undefined;
    const records = await countRecords(source, quote);
    return options.hasHeaderRow ? Math.max(0, records - 1) : records;
  } catch {
    return undefined;
  }
}

/** Rows of newline-delimited JSON: lines that are not blank. Undefined when the content cannot be read. */
export async function countNdjsonRows(source: AsyncIterable<Buffer>): Promise<number | undefined> {
  try {
    let rows = 0;
    let lineHasContent = false;
    for await (const piece of decompressed(source)) {
      for (let i = 0; i < piece.length; i++) {
        const byte = piece[i]!;
        if (byte === NEWLINE) {
          if (lineHasContent) rows += 1;
          lineHasContent = false;
        } else if (byte !== 0x20 && byte !== 0x09 && byte !== CARRIAGE_RETURN) {
          lineHasContent = true;
        }
      }
    }
    return lineHasContent ? rows + 1 : rows;
  } catch {
    return undefined;
  }
}
