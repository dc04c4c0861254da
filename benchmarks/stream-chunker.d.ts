/** The part of stream-chunker (which ships no types) that the benchmarks use. */
declare module 'stream-chunker' {
  import type { Transform } from 'node:stream';

  interface ChunkerOptions {
    /** Push the last, shorter chunk when the input ends. */
    flush?: boolean;
    /** Pad the last chunk with zeros to a full chunk. */
    align?: boolean;
    encoding?: BufferEncoding;
  }

  /** A Transform that re-cuts its input into `chunkSize`-byte buffers. */
  export default function chunker(chunkSize: number, options?: ChunkerOptions): Transform;
}
