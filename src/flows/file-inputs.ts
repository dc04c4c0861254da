/**
 * Turning the `files` of {@link addFiles} into a flat list of named contents: directories walked recursively,
 * names checked for duplicates, everything validated before any request.
 * @module
 */
import { lstat, readdir, readlink, stat } from 'node:fs/promises';
import type { Dirent, Stats } from 'node:fs';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import { InvalidArgumentError } from '../errors.js';
import { compileGlob, firstMatch, type GlobPattern } from './glob.js';

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

/** A file the walk found but could not add; it becomes one entry of `failed`, the others go on. */
export interface UnreadableEntry {
  index: number;
  name: string;
  error: Error;
}

/** Something the walk left out on purpose, reported so that nothing disappears unexplained. */
export interface SkippedEntry {
  /** Name relative to the folder it was found in, with `/` separators; a directory's ends with `/`. */
  name: string;
  /** Where it is on disk. */
  path: string;
  /**
   * Why: `'excluded'` (it matched `exclude`), `'default-excluded'` (it matched {@link DEFAULT_EXCLUDES}),
   * `'special-file'` (a socket, FIFO or device: no fixed content) or `'directory-link'` (a symbolic link to a
   * directory, never followed so that no cycle or duplicate can arise).
   */
  reason: 'excluded' | 'default-excluded' | 'special-file' | 'directory-link';
  /** The pattern that matched, for the two exclusion reasons. */
  pattern?: string;
}

/**
 * What `addFiles` leaves out of folders unless `defaultExcludes` is `false`: version-control folders (`.git`, also
 * the `.git` file of a worktree or submodule, `.hg`, `.svn`, `.bzr`) and operating-system litter (macOS `.DS_Store`,
 * `._*` resource forks, `.Spotlight-V100`, `.Trashes`, `.fseventsd`; Windows `Thumbs.db`, `ehthumbs.db`,
 * `desktop.ini`), at any depth.
 */
export const DEFAULT_EXCLUDES: readonly string[] = Object.freeze([
  '.git',
  '.hg',
  '.svn',
  '.bzr',
  '.DS_Store',
  '._*',
  '.Spotlight-V100',
  '.Trashes',
  '.fseventsd',
  '[Tt]humbs.db',
  '[Ee]hthumbs.db',
  '[Dd]esktop.ini',
]);

/** The patterns a walk applies, each with the reason it reports. */
export interface ExcludeRules {
  user: GlobPattern[];
  defaults: GlobPattern[];
}

const COMPILED_DEFAULTS = DEFAULT_EXCLUDES.map((pattern, i) => compileGlob(pattern, `DEFAULT_EXCLUDES[${i}]`));

/** Validates `exclude` and `defaultExcludes` (before any request). */
export function excludeRules(exclude: unknown, defaultExcludes: unknown): ExcludeRules {
  if (defaultExcludes !== undefined && typeof defaultExcludes !== 'boolean') {
    throw new InvalidArgumentError('defaultExcludes', 'a boolean', defaultExcludes);
  }
  if (exclude !== undefined && !Array.isArray(exclude)) throw new InvalidArgumentError('exclude', 'an array of glob patterns', exclude);
  return {
    user: (exclude ?? []).map((pattern: unknown, i: number) => compileGlob(pattern, `exclude[${i}]`)),
    defaults: defaultExcludes === false ? [] : COMPILED_DEFAULTS,
  };
}

function excludedBy(rules: ExcludeRules, name: string, isDirectory: boolean): Pick<SkippedEntry, 'reason' | 'pattern'> | undefined {
  const user = firstMatch(rules.user, name, isDirectory);
  if (user) return { reason: 'excluded', pattern: user.source };
  const fallback = firstMatch(rules.defaults, name, isDirectory);
  return fallback ? { reason: 'default-excluded', pattern: fallback.source } : undefined;
}

async function statOf(argument: string, path: string) {
  try {
    return await stat(path);
  } catch (cause) {
    throw new InvalidArgumentError(argument, 'the path of an existing file or directory', path, { cause });
  }
}

/** Why a path that exists cannot be read: a dangling link says where it points. */
async function unreadable(path: string, cause: unknown): Promise<Error> {
  const target = await readlink(path).catch(() => undefined);
  if (target !== undefined) return new InvalidArgumentError(path, 'a symbolic link to an existing file', `a link to ${target}`, { cause });
  const code = (cause as NodeJS.ErrnoException | null)?.code;
  return new InvalidArgumentError(path, 'a readable file or directory', code ?? String(cause), { cause });
}

/** What a walk collects. */
export interface WalkResult {
  files: Array<{ name: string; path: string; size: number }>;
  unreadable: Array<{ name: string; error: Error }>;
  skipped: SkippedEntry[];
}

/**
 * Every regular file below `root`, sorted by name at each level so the order never depends on the file system.
 * Symbolic links to files are followed; links to directories are skipped, which also rules out cycles. Entries
 * that cannot be read (a dangling link, a folder without permission) are collected, not thrown.
 */
async function walk(root: string, relative: string, rules: ExcludeRules, out: WalkResult): Promise<void> {
  const directory = relative === '' ? root : join(root, ...relative.split('/'));
  let entries: Dirent[];
  try {
    entries = await readdir(directory, { withFileTypes: true });
  } catch (cause) {
    if (relative === '') throw new InvalidArgumentError('files', 'a readable directory', root, { cause });
    out.unreadable.push({ name: `${relative}/`, error: await unreadable(directory, cause) });
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const name = relative === '' ? entry.name : `${relative}/${entry.name}`;
    const path = join(directory, entry.name);
    if (entry.isDirectory()) {
      const excluded = excludedBy(rules, name, true);
      if (excluded) out.skipped.push({ name: `${name}/`, path, ...excluded });
      else await walk(root, name, rules, out);
      continue;
    }
    let stats: Stats;
    try {
      stats = entry.isSymbolicLink() ? await stat(path) : await lstat(path);
    } catch (cause) {
      // Gone since the listing, or a link to nothing: one failed file, the others go on.
      if (!excludedBy(rules, name, false)) out.unreadable.push({ name, error: await unreadable(path, cause) });
      continue;
    }
    const excluded = excludedBy(rules, name, stats.isDirectory());
    if (excluded) out.skipped.push({ name: stats.isDirectory() ? `${name}/` : name, path, ...excluded });
    else if (stats.isFile()) out.files.push({ name, path, size: stats.size });
    else if (stats.isDirectory()) out.skipped.push({ name: `${name}/`, path, reason: 'directory-link' });
    else out.skipped.push({ name, path, reason: 'special-file' });
  }
}

function optionalSize(argument: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(argument, 'a non-negative safe integer number of bytes', value);
  }
  return value;
}

type Expanded = Omit<PlannedFile, 'index'> | { name: string; error: Error };

async function expandPath(input: string, at: string, rules: ExcludeRules, skipped: SkippedEntry[]): Promise<Expanded[]> {
  if (input === '') throw new InvalidArgumentError(at, 'a file or directory path', input);
  let stats: Stats;
  try {
    stats = await stat(input);
  } catch (cause) {
    // A link that exists but points nowhere is one failed file; a path that does not exist is a mistake to refuse.
    const link = await lstat(input).catch(() => undefined);
    if (link?.isSymbolicLink()) return [{ name: basename(input), error: await unreadable(input, cause) }];
    throw new InvalidArgumentError(at, 'the path of an existing file or directory', input, { cause });
  }
  if (stats.isDirectory()) {
    const found: WalkResult = { files: [], unreadable: [], skipped };
    await walk(input, '', rules, found);
    const files: Expanded[] = found.files.map(({ name, path, size }) => ({ name, size, content: { kind: 'file', path } }));
    // Walk order is name order; failures take their place among the files.
    return [...files, ...found.unreadable].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
  if (!stats.isFile()) throw new InvalidArgumentError(at, 'the path of a regular file or a directory', input);
  const name = basename(input);
  const excluded = excludedBy(rules, name, false);
  if (excluded) {
    skipped.push({ name, path: input, ...excluded });
    return [];
  }
  return [{ name, size: stats.size, content: { kind: 'file', path: input } }];
}

async function expandEntry(input: unknown, at: string, rules: ExcludeRules, skipped: SkippedEntry[]): Promise<Expanded[]> {
  if (typeof input === 'string') return expandPath(input, at, rules, skipped);
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

/** What `files` comes to: the files to add, those found but unreadable, and what was left out on purpose. */
export interface FilePlan {
  files: PlannedFile[];
  unreadable: UnreadableEntry[];
  skipped: SkippedEntry[];
}

/**
 * Flattens `files` into named contents, in order, leaving out what `rules` exclude (from paths only: an explicit
 * `{ name, source }` is always added). Throws `InvalidArgumentError` for a bad entry or a duplicate name; a file
 * inside a folder that cannot be read (a dangling link) is returned in `unreadable` instead.
 */
export async function expandFileInputs(files: unknown, rules: ExcludeRules = { user: [], defaults: [] }): Promise<FilePlan> {
  if (!Array.isArray(files)) throw new InvalidArgumentError('files', 'an array of paths or { name, source } objects', files);
  const plan: FilePlan = { files: [], unreadable: [], skipped: [] };
  const seen = new Map<string, string>();
  let index = 0;
  for (const [position, input] of files.entries()) {
    const at = `files[${position}]`;
    for (const file of await expandEntry(input, at, rules, plan.skipped)) {
      if ('error' in file) {
        plan.unreadable.push({ index: index++, name: file.name, error: file.error });
        continue;
      }
      const earlier = seen.get(file.name);
      if (earlier !== undefined) {
        throw new InvalidArgumentError(at, `files with distinct names (${JSON.stringify(file.name)} also comes from ${earlier})`, file.name);
      }
      seen.set(file.name, at);
      plan.files.push({ ...file, index: index++ });
    }
  }
  return plan;
}
