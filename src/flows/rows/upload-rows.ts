/**
 * {@link uploadRowsToTable}: rows as one NDJSON upload, for bulk volumes. The rows become NDJSON lines on their
 * way into a resumable temp upload (`uploadToTable` with a Readable source), and one tabular upload of type
 * `ndjson` is created from it once every row is in. Unlike a row stream, this is all or nothing: the upload is
 * created only after the last row was stored, so a failure leaves no rows in the table.
 * @module
 */
import { Readable } from 'node:stream';
import { InvalidRowError } from '../../errors.js';
import { uploadToTable } from '../upload-to-table.js';
import { serializeRow, type CompiledSchema } from './row-schema.js';
import { validateUploadRows, type RowsUploadResult, type UploadRowsToTableOptions } from './upload-rows-options.js';

export type { RowsUploadResult, UploadRowsToTableOptions } from './upload-rows-options.js';

/** Lines are handed on in pieces of about this many characters: fewer, larger writes into the upload stream. */
const PIECE_CHARS = 64 * 1024;

/** NDJSON of `rows`, one line per row (JSON text never holds a raw newline), counting them into `sent`. */
async function* ndjson(rows: Iterable<unknown> | AsyncIterable<unknown>, schema: CompiledSchema | undefined, sent: { rows: number }): AsyncGenerator<string> {
  let piece = '';
  for await (const row of rows) {
    const text = serializeRow(row, schema);
    if (typeof text !== 'string') {
      const { field, expected, received } = text;
      throw new InvalidRowError({ rowIndex: sent.rows, field, expected, received, rowsConfirmed: 0 });
    }
    piece += `${text}\n`;
    sent.rows += 1;
    if (piece.length >= PIECE_CHARS) {
      yield piece;
      piece = '';
    }
  }
  if (piece !== '') yield piece;
}

/**
 * Uploads rows into `options.table` as one NDJSON upload (type `ndjson`) and, unless `wait` is false, waits
 * until Redivis has processed it: the bulk path, with `uploadToTable`'s conflict handling, retries, resumable
 * transfer and MD5 check. A row that is not an object JSON can represent (or, with `schema`, does not fit it)
 * rejects with `InvalidRowError` naming its index; no upload is created then, nor on any other failure before the
 * last row was sent.
 */
export async function uploadRowsToTable(options: UploadRowsToTableOptions): Promise<RowsUploadResult> {
  const { rows, schema } = validateUploadRows(options);
  const { rows: _rows, schema: _schema, ...rest } = options;
  const sent = { rows: 0 };
  const source = Readable.from(ndjson(rows, schema, sent), { objectMode: false });
  try {
    const result = await uploadToTable({ ...rest, source, type: 'ndjson' });
    return { ...result, rowsSent: result.skipped ? 0 : sent.rows };
  } finally {
    // Not read at all when the call stopped early (a name conflict, 'skip'): nothing keeps it open.
    source.destroy();
  }
}
