/**
 * Glob patterns for leaving files out of {@link addFiles}: a small matcher, because Node 20 has no stable one and
 * the rules wanted here (those of `.gitignore`, reduced) are few.
 *
 * - `*` matches any run of characters except `/`, `?` one character except `/`, `[abc]`, `[a-z]` and `[!a-z]`
 *   (or `[^a-z]`) one character of (or not of) a class; `\` makes the next character literal.
 * - `**` as a whole segment matches any number of directories: `logs/**` is everything below `logs`, and `a/**`
 *   followed by `/b` matches `a/b`, `a/x/b`, `a/x/y/b`.
 * - A pattern without `/` is matched against the name of every file and directory at any depth (`*.tmp`,
 *   `node_modules`); one with a `/` inside or at its start against the whole name relative to the folder, from
 *   its start (`raw/2023/*`, `/build`).
 * - A trailing `/` matches directories only (`cache/`). An excluded directory is not entered.
 * - Matching is case-sensitive, and `*` matches a leading `.` too.
 * @module
 */
import { InvalidArgumentError } from '../errors.js';

/** A compiled pattern. */
export interface GlobPattern {
  /** The pattern as given. */
  source: string;
  /** Whether it is matched against the whole relative name rather than each entry's own name. */
  anchored: boolean;
  /** Whether it matches directories only (it ended with `/`). */
  directoryOnly: boolean;
  regex: RegExp;
}

/** Characters to escape outside a class, and inside one, for a regex with the `u` flag (which refuses other escapes). */
const SPECIAL_OUTSIDE = /[.*+?^${}()|[\]\\/]/g;
const SPECIAL_INSIDE = /[\]\\^\-[/]/g;

function literal(char: string): string {
  return char.replace(SPECIAL_OUTSIDE, '\\$&');
}

function classLiteral(char: string): string {
  return char.replace(SPECIAL_INSIDE, '\\$&');
}

/** Translates a bracket expression starting at `pattern[start] === '['`; returns the regex and the index after `]`. */
function bracket(pattern: string, start: number, invalid: (why: string) => never): [string, number] {
  let i = start + 1;
  let negated = false;
  if (pattern[i] === '!' || pattern[i] === '^') {
    negated = true;
    i += 1;
  }
  let body = '';
  let first = true;
  for (; i < pattern.length; i++) {
    let char = pattern[i]!;
    if (char === ']' && !first) {
      if (body === '') invalid('has an empty character class');
      // A class never matches the separator, negated or not.
      return [negated ? `[^/${body}]` : `(?:(?!/)[${body}])`, i + 1];
    }
    first = false;
    if (char === '\\') {
      i += 1;
      if (i >= pattern.length) break;
      char = pattern[i]!;
    }
    if (pattern[i + 1] === '-' && pattern[i + 2] !== undefined && pattern[i + 2] !== ']') {
      let end = pattern[i + 2]!;
      let next = i + 2;
      if (end === '\\') {
        next += 1;
        end = pattern[next] ?? '';
        if (end === '') break;
      }
      if (end < char) invalid(`has a reversed range ${char}-${end}`);
      body += `${classLiteral(char)}-${classLiteral(end)}`;
      i = next;
      continue;
    }
    body += classLiteral(char);
  }
  return invalid('has a [ without its closing ]');
}

/**
 * Compiles `pattern`; `at` names it in errors (e.g. `exclude[2]`). Throws `InvalidArgumentError` for an empty
 * pattern, an unclosed or empty `[...]`, a reversed range or a trailing `\`.
 */
export function compileGlob(pattern: unknown, at: string): GlobPattern {
  if (typeof pattern !== 'string' || pattern === '') throw new InvalidArgumentError(at, 'a non-empty glob pattern string', pattern);
  const invalid = (why: string): never => {
    throw new InvalidArgumentError(at, `a glob pattern (this one ${why})`, pattern);
  };
  let body = pattern;
  const directoryOnly = body.endsWith('/') && !body.endsWith('\\/');
  if (directoryOnly) body = body.replace(/\/+$/, '');
  const rooted = body.startsWith('/');
  if (rooted) body = body.replace(/^\/+/, '');
  if (body === '') invalid('names no file');
  const anchored = rooted || body.includes('/');

  let regex = '';
  for (let i = 0; i < body.length; ) {
    const char = body[i]!;
    if (char === '*') {
      let end = i;
      while (body[end] === '*') end += 1;
      const segmentStart = i === 0 || body[i - 1] === '/';
      const segmentEnd = end === body.length || body[end] === '/';
      if (end - i >= 2 && segmentStart && segmentEnd) {
        if (end === body.length) {
          // `dir/**` is everything below dir; a lone `**` is everything.
          regex += '.*';
          i = end;
        } else {
          regex += '(?:[^/]*/)*';
          i = end + 1;
        }
      } else {
        regex += '[^/]*';
        i = end;
      }
    } else if (char === '?') {
      regex += '[^/]';
      i += 1;
    } else if (char === '[') {
      const [part, next] = bracket(body, i, invalid);
      regex += part;
      i = next;
    } else if (char === '\\') {
      if (i + 1 >= body.length) invalid('ends with a lone \\');
      regex += literal(body[i + 1]!);
      i += 2;
    } else {
      regex += literal(char);
      i += 1;
    }
  }
  return { source: pattern, anchored, directoryOnly, regex: new RegExp(`^${regex}$`, 'u') };
}

/**
 * The first pattern that matches an entry: `relativeName` is its path below the folder with `/` separators,
 * `isDirectory` whether it is a directory.
 */
export function firstMatch(patterns: readonly GlobPattern[], relativeName: string, isDirectory: boolean): GlobPattern | undefined {
  const slash = relativeName.lastIndexOf('/');
  const ownName = slash === -1 ? relativeName : relativeName.slice(slash + 1);
  for (const pattern of patterns) {
    if (pattern.directoryOnly && !isDirectory) continue;
    if (pattern.regex.test(pattern.anchored ? relativeName : ownName)) return pattern;
  }
  return undefined;
}
