/**
 * What the session driver sends from: the bytes of one object, addressed by their offset, of which every byte the
 * server has not confirmed can be read again. Three kinds implement it: the upload stream's replay buffer (memory,
 * spilling to disk), a file read by offset, and a Buffer.
 * @module
 */

/** Checksums of a whole object, base64 as the server reports them, and the `X-Goog-Hash` value carrying them. */
export interface ObjectDigest {
  crc32c: string | undefined;
  md5: string | undefined;
  header: string | undefined;
}

export interface ReplaySource {
  /** First byte that can still be read; everything before it is released. */
  readonly retainedFrom: number;
  /** One past the last byte that can be read now (the source's position, even while it is still skipping). */
  readonly available: number;
  /** True once no more bytes will come: {@link available} is then the size of the object. */
  readonly ended: boolean;
  /** True while the source produces nothing: it has ended, or it waits for room (or it has all its bytes already). */
  readonly resting: boolean;
  /** Resolves when {@link available}, {@link ended} or {@link resting} may have changed. */
  whenChanged(): Promise<void>;
  /**
   * The body of a request for bytes `[from, to)`, all available and retained. Each piece stays valid until its
   * bytes are released. Rejects (through the iteration) when the bytes cannot be read back.
   */
  read(from: number, to: number): AsyncIterable<Buffer> | Iterable<Buffer>;
  /**
   * The server holds every byte before `offset`. Bytes before it are let go; an offset beyond {@link available}
   * makes the source skip bytes as they arrive (they are still counted in its checksums).
   */
  release(offset: number): void;
  /** Checksums of the whole object once ended; undefined when they were not computed or not every byte was seen. */
  digest(): ObjectDigest | undefined;
  /** Rejects with `SizeMismatchError` when the content is not the size it was (a file changed on disk). */
  checkEnd(): Promise<void>;
  /** How many bytes the source may keep on disk for bigger requests, as measured to pay off; 0 keeps it in memory. */
  allowSpill(bytes: number): void;
  /** Frees what the source holds: memory, temp files. Called once the upload has settled, whatever the outcome. */
  dispose(): Promise<void>;
}
