/**
 * Turning the `files` of {@link addFiles} into a flat list of named contents: directories walked recursively,
 * names checked for duplicates, everything validated before any request.
 * @module
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import { InvalidArgumentError } from '../errors.js';

/**
 * One entry of `addFiles`' `files`: a path (a file, named by its basename, or a directory, walked recursively and
 * each file named by its path relative to the directory with `/` separators), or an explicit name and source.
 * `size` is needed only to know a Readable's length in advance.
 */
export type FileInput =
  | string
  | {
      /** Name of the file in the table (a relative path with `/` separators); distinct among all files. */
      name: string;
      /** The content: the path of a regular file, the bytes themselves, or a Readable read once to its end. */
      source: string | Buffer | Readable;
      /**
       * Size of the content, in bytes. For a path or a Buffer it must equal the actual size when given; for a
       * Readable it is the length announced in advance.
       * @default undefined (the file's or Buffer's own size; unknown for a Readable)
       */
      size?: number;
    };

/** Where a file's bytes come from. */
export type FileContent =
  | { kind: 'file'; path: string }
  | { kind: 'buffer'; data: Buffer }
  | { kind: 'stream'; stream: Readable };

/** A file to add, in input order. */
export interface PlannedFile {
  /** Position in the flattened input, for reporting in order. */
  index: number;
  name: string;
  /** Size in bytes; undefined for a Readable given without `size`. */
  size: number | undefined;
  content: FileContent;
}

/** Whether `value` can be piped like a Node Readable (duck-typed, so Readables of another copy of Node's stream module pass). */
export function isReadable(value: unknown): value is Readable {
  const candidate = value as { pipe?: unknown; read?: unknown } | null;
  return candidate !== null && typeof candidate === 'object' && typeof candidate.pipe === 'function' && typeof candidate.read === 'function';
}

async function statOf(argument: string, path: string) {
  try {
    return await stat(path);
  } catch (cause) {
    throw new InvalidArgumentError(argument, 'the path of an existing file or directory', path, { cause });
  }
}

/**
 * Every regular file below `root`, sorted by name at each level so the order never depends on the file system.
 * Symbolic links to files are followed; links to directories are skipped, which also rules out cycles.
 */
async function walk(root: string, relative: string, out: Array<{ name: string; path: string; size: number }>): Promise<void> {
  const directory = relative === '' ? root : join(root, ...relative.split('/'));
  const entries = await readdir(directory, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const name = relative === '' ? entry.name : `${relative}/${entry.name}`;
    const path = join(directory, entry.name);
    if (entry.isDirectory()) {
      await walk(root, name, out);
    } else if (entry.isFile() || entry.isSymbolicLink()) {
      const stats = await statOf('files', path);
      // Sockets, FIFOs and devices have no fixed content to upload.
      if (stats.isFile()) out.push({ name, path, size: stats.size });
    }
  }
}

function optionalSize(argument: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(argument, 'a non-negative safe integer number of bytes', value);
  }
  return value;
}

async function expandEntry(input: unknown, at: string): Promise<Array<Omit<PlannedFile, 'index'>>> {
  if (typeof input === 'string') {
    if (input === '') throw new InvalidArgumentError(at, 'a file or directory path', input);
    const stats = await statOf(at, input);
    if (stats.isDirectory()) {
      const found: Array<{ name: string; path: string; size: number }> = [];
      await walk(input, '', found);
      return found.map(({ name, path, size }) => ({ name, size, content: { kind: 'file', path } }));
    }
    if (!stats.isFile()) throw new InvalidArgumentError(at, 'the path of a regular file or a directory', input);
    return [{ name: basename(input), size: stats.size, content: { kind: 'file', path: input } }];
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new InvalidArgumentError(at, 'a path or an object { name, source, size? }', input);
  }
  const { name, source, size } = input as { name?: unknown; source?: unknown; size?: unknown };
  if (typeof name !== 'string' || name === '') throw new InvalidArgumentError(`${at}.name`, 'a non-empty string', name);
  const declared = optionalSize(`${at}.size`, size);
  if (typeof source === 'string') {
    const stats = await statOf(`${at}.source`, source);
    if (!stats.isFile()) throw new InvalidArgumentError(`${at}.source`, 'the path of a regular file', source);
    if (declared !== undefined && declared !== stats.size) {
      throw new InvalidArgumentError(`${at}.size`, `the file's size (${stats.size} bytes) or undefined`, declared);
    }
    return [{ name, size: stats.size, content: { kind: 'file', path: source } }];
  }
  if (Buffer.isBuffer(source)) {
    if (declared !== undefined && declared !== source.length) {
      throw new InvalidArgumentError(`${at}.size`, `the Buffer's length (${source.length} bytes) or undefined`, declared);
    }
    return [{ name, size: source.length, content: { kind: 'buffer', data: source } }];
  }
  if (isReadable(source)) return [{ name, size: declared, content: { kind: 'stream', stream: source } }];
  throw new InvalidArgumentError(`${at}.source`, 'a file path, a Buffer or a Readable', source);
}

/** Flattens `files` into named contents, in order; throws `InvalidArgumentError` for any problem or duplicate name. */
export async function expandFileInputs(files: unknown): Promise<PlannedFile[]> {
  if (!Array.isArray(files)) throw new InvalidArgumentError('files', 'an array of paths or { name, source } objects', files);
  const planned: PlannedFile[] = [];
  const seen = new Map<string, string>();
  for (const [position, input] of files.entries()) {
    const at = `files[${position}]`;
    for (const file of await expandEntry(input, at)) {
      const earlier = seen.get(file.name);
      if (earlier !== undefined) {
        throw new InvalidArgumentError(at, `files with distinct names (${JSON.stringify(file.name)} also comes from ${earlier})`, file.name);
      }
      seen.set(file.name, at);
      planned.push({ ...file, index: planned.length });
    }
  }
  return planned;
}
