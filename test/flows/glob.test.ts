/** The exclude patterns of addFiles: each rule of the syntax, and the patterns refused. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../../src/errors.js';
import { compileGlob, firstMatch } from '../../src/flows/glob.js';

function matches(pattern: string, name: string, isDirectory = false): boolean {
  return firstMatch([compileGlob(pattern, 'exclude[0]')], name, isDirectory) !== undefined;
}

test('glob patterns match as documented', () => {
  const cases: Array<[pattern: string, name: string, isDirectory: boolean, expected: boolean]> = [
    // Without a slash: the entry's own name, at any depth.
    ['*.tmp', 'a.tmp', false, true],
    ['*.tmp', 'x/y/a.tmp', false, true],
    ['*.tmp', 'a.tmp.txt', false, false],
    ['*.tmp', '.tmp', false, true],
    ['node_modules', 'pkg/node_modules', true, true],
    ['data', 'x/data.csv', false, false],
    ['?.csv', 'a.csv', false, true],
    ['?.csv', 'ab.csv', false, false],
    ['?.csv', 'é.csv', false, true],
    // Character classes, ranges, negation, a literal ] first.
    ['[abc].txt', 'b.txt', false, true],
    ['[abc].txt', 'd.txt', false, false],
    ['file[0-9].bin', 'file7.bin', false, true],
    ['file[0-9].bin', 'fileA.bin', false, false],
    ['file[!0-9].bin', 'fileA.bin', false, true],
    ['file[^0-9].bin', 'file7.bin', false, false],
    ['[]x].txt', '].txt', false, true],
    ['[a-].txt', '-.txt', false, true],
    ['[Tt]humbs.db', 'sub/thumbs.db', false, true],
    // Regex characters are literal; \ escapes a glob character.
    ['a+b(1).csv', 'a+b(1).csv', false, true],
    ['a.csv', 'abcsv', false, false],
    ['\\*.csv', '*.csv', false, true],
    ['\\*.csv', 'x.csv', false, false],
    ['\\[x]', '[x]', false, true],
    // With a slash: the whole relative name, from its start.
    ['raw/*.csv', 'raw/a.csv', false, true],
    ['raw/*.csv', 'x/raw/a.csv', false, false],
    ['raw/*.csv', 'raw/sub/a.csv', false, false],
    ['/build', 'build', true, true],
    ['/build', 'src/build', true, false],
    // ** as a whole segment spans directories.
    ['**/*.log', 'a.log', false, true],
    ['**/*.log', 'x/y/a.log', false, true],
    ['logs/**', 'logs/a/b.txt', false, true],
    ['logs/**', 'logs', true, false],
    ['a/**/b', 'a/b', false, true],
    ['a/**/b', 'a/x/y/b', false, true],
    ['a/**/b', 'a/x/y/c', false, false],
    ['**', 'anything/at/all', false, true],
    ['a**b', 'a/x/b', false, false],
    ['a**b', 'axxb', false, true],
    // A trailing slash: directories only.
    ['cache/', 'cache', true, true],
    ['cache/', 'cache', false, false],
    ['cache/', 'x/cache', true, true],
    // Case-sensitive.
    ['*.CSV', 'a.csv', false, false],
  ];
  for (const [pattern, name, isDirectory, expected] of cases) {
    assert.equal(matches(pattern, name, isDirectory), expected, `${pattern} vs ${name}${isDirectory ? '/' : ''}`);
  }
});

test('firstMatch returns the first pattern that matches', () => {
  const patterns = ['*.a', '*.b', 'x.*'].map((p, i) => compileGlob(p, `exclude[${i}]`));
  assert.equal(firstMatch(patterns, 'dir/x.b', false)?.source, '*.b');
  assert.equal(firstMatch(patterns, 'dir/x.c', false)?.source, 'x.*');
  assert.equal(firstMatch(patterns, 'dir/y.c', false), undefined);
});

test('bad patterns are InvalidArgumentErrors naming the pattern', () => {
  for (const bad of ['', '/', '[abc', '[]', '[!]', 'x\\', '[z-a]', 5, null]) {
    assert.throws(() => compileGlob(bad, 'exclude[3]'), (error: unknown) => {
      assert.ok(error instanceof InvalidArgumentError, String(error));
      assert.equal(error.argument, 'exclude[3]');
      return true;
    }, String(bad));
  }
});
