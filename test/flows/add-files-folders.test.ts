/** addFiles on folders: dangling links, the default exclusions, exclude patterns, special entries, empty folders. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { InvalidArgumentError } from '../../src/errors.js';
import { addFiles, DEFAULT_EXCLUDES, type AddFilesOptions } from '../../src/flows/add-files.js';
import { md5Hex, randomBytes, runSeed } from '../support/data.js';
import { flowHarness, md5Base64, type FlowHarness } from './helpers.js';

const seed = runSeed();
let h: FlowHarness;

before(async () => {
  h = await flowHarness();
});
after(() => h.close());

/** Writes `files` (relative name -> content) under a new folder `name`; returns its path. */
async function folder(name: string, files: Record<string, Buffer | string>): Promise<string> {
  const root = join(h.dir, name);
  await mkdir(root, { recursive: true });
  for (const [relative, content] of Object.entries(files)) {
    const path = join(root, ...relative.split('/'));
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content);
  }
  return root;
}

function add(table: string, files: AddFilesOptions['files'], extra: Partial<AddFilesOptions> = {}) {
  return addFiles({ client: h.client, table: `owner.dataset:next.${table}`, files, ...extra });
}

test('a dangling link deep in a folder is one failed file; the others are added byte-exact', async () => {
  const good = { 'a/one.bin': randomBytes(3_000, seed), 'a/b/two.bin': randomBytes(5_000, seed + 1), 'z.bin': randomBytes(10, seed + 2) };
  const root = await folder('dangling', good);
  await symlink(join(h.dir, 'nowhere.bin'), join(root, 'a', 'b', 'broken.bin'));
  const result = await add('dangling', [root]);
  assert.deepEqual(result.added.map((file) => file.name), ['a/b/two.bin', 'a/one.bin', 'z.bin']);
  for (const file of result.added) assert.equal(file.md5Hash, md5Base64(good[file.name as keyof typeof good]), `${file.name}; seed ${seed}`);
  assert.equal(result.failed.length, 1);
  const [{ name, error }] = result.failed as [{ name: string; error: Error }];
  assert.equal(name, 'a/b/broken.bin');
  assert.ok(error instanceof InvalidArgumentError, String(error));
  assert.equal(error.argument, join(root, 'a', 'b', 'broken.bin'));
  assert.match(error.message, /symbolic link to an existing file/);
  assert.match(error.message, /nowhere\.bin/);
  assert.equal((error.cause as NodeJS.ErrnoException).code, 'ENOENT');
  const registered = h.emu.listRawFiles().filter((file) => file.table.endsWith('.dangling'));
  assert.deepEqual(registered.map((file) => file.name).sort(), ['a/b/two.bin', 'a/one.bin', 'z.bin']);
});

test('a dangling link given directly is one failed file; a path that does not exist is refused', async () => {
  const path = join(h.dir, 'direct.bin');
  await writeFile(path, 'direct');
  const link = join(h.dir, 'direct-broken.bin');
  await symlink(join(h.dir, 'gone.bin'), link);
  const progress: number[] = [];
  const result = await add('direct', [path, link], { onProgress: (p) => progress.push(p.filesFailed) });
  assert.deepEqual(result.added.map((file) => file.name), ['direct.bin']);
  assert.deepEqual(result.failed.map((file) => file.name), ['direct-broken.bin']);
  assert.equal(progress[0], 1, 'the unreadable file is counted from the first report');
  const before = h.emu.requestLog().length;
  await assert.rejects(add('direct', [path, join(h.dir, 'typo.bin')]), (error: unknown) => {
    assert.ok(error instanceof InvalidArgumentError);
    assert.equal(error.argument, 'files[1]');
    return true;
  });
  assert.equal(h.emu.requestLog().length, before);
});

test('version-control folders and OS litter are skipped by default, at any depth, and listed', async () => {
  const root = await folder('litter', {
    'keep.csv': 'a,b\n',
    'sub/keep.txt': 'x',
    '.git/HEAD': 'ref: refs/heads/main\n',
    '.git/objects/ab/cdef': 'blob',
    'sub/.svn/entries': '12',
    'vendor/lib/.git': 'gitdir: ../../.git/modules/lib\n',
    '.DS_Store': 'litter',
    'sub/.DS_Store': 'litter',
    'sub/._keep.txt': 'resource fork',
    'photos/Thumbs.db': 'thumbs',
    'photos/desktop.ini': '[.ShellClassInfo]',
    '.gitignore': '*.tmp\n',
  });
  h.emu.clearRequestLog();
  const result = await add('litter', [root]);
  assert.deepEqual(result.added.map((file) => file.name), ['.gitignore', 'keep.csv', 'sub/keep.txt']);
  assert.deepEqual(result.failed, []);
  assert.deepEqual(
    result.skipped.map(({ name, reason, pattern }) => [name, reason, pattern]),
    [
      ['.DS_Store', 'default-excluded', '.DS_Store'],
      ['.git/', 'default-excluded', '.git'],
      ['photos/Thumbs.db', 'default-excluded', '[Tt]humbs.db'],
      ['photos/desktop.ini', 'default-excluded', '[Dd]esktop.ini'],
      ['sub/.DS_Store', 'default-excluded', '.DS_Store'],
      ['sub/._keep.txt', 'default-excluded', '._*'],
      ['sub/.svn/', 'default-excluded', '.svn'],
      ['vendor/lib/.git', 'default-excluded', '.git'],
    ],
  );
  assert.equal(result.skipped.find((entry) => entry.name === '.git/')?.path, join(root, '.git'));
  const off = await add('litter_all', [root], { defaultExcludes: false });
  assert.equal(off.added.length, 12);
  assert.deepEqual(off.skipped, []);
  assert.ok(DEFAULT_EXCLUDES.includes('.git') && DEFAULT_EXCLUDES.includes('.DS_Store'));
});

test('exclude patterns leave out names relative to the folder; excluded folders are not entered', async () => {
  const data = {
    'raw/2023/a.csv': 'a',
    'raw/2023/deep/b.csv': 'b',
    'raw/2024/c.csv': 'c',
    'notes.tmp': 'n',
    'x/notes.tmp': 'n',
    'cache/blob': 'c',
    'x/cache': 'a file named cache',
    'report-1.pdf': '1',
    'report-a.pdf': 'a',
  };
  const root = await folder('patterns', data);
  const result = await add('patterns', [root, { name: 'explicit.tmp', source: Buffer.from('kept') }], {
    exclude: ['*.tmp', 'raw/2023/**', 'cache/', 'report-[0-9].pdf'],
  });
  assert.deepEqual(result.added.map((file) => file.name), ['raw/2024/c.csv', 'report-a.pdf', 'x/cache', 'explicit.tmp']);
  assert.deepEqual(
    result.skipped.map(({ name, reason, pattern }) => [name, reason, pattern]),
    [
      ['cache/', 'excluded', 'cache/'],
      ['notes.tmp', 'excluded', '*.tmp'],
      ['raw/2023/a.csv', 'excluded', 'raw/2023/**'],
      ['raw/2023/deep/', 'excluded', 'raw/2023/**'],
      ['report-1.pdf', 'excluded', 'report-[0-9].pdf'],
      ['x/notes.tmp', 'excluded', '*.tmp'],
    ],
  );
  for (const file of h.emu.listRawFiles().filter((f) => f.table.endsWith('.patterns'))) {
    const expected = file.name === 'explicit.tmp' ? 'kept' : data[file.name as keyof typeof data];
    assert.equal(file.md5Hex, md5Hex(Buffer.from(expected)), file.name);
  }
});

test('sockets and links to folders are skipped and listed, not uploaded', async () => {
  const root = await folder('special', { 'real/file.txt': 'content' });
  await symlink(join(root, 'real'), join(root, 'link-to-real'), 'dir');
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(join(root, 'sock'), resolve));
  try {
    const result = await add('special', [root]);
    assert.deepEqual(result.added.map((file) => file.name), ['real/file.txt']);
    assert.deepEqual(
      result.skipped.map(({ name, reason }) => [name, reason]),
      [
        ['link-to-real/', 'directory-link'],
        ['sock', 'special-file'],
      ],
    );
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('an empty folder, or one with only litter, sends nothing and resolves with nothing added or failed', async () => {
  const empty = join(h.dir, 'empty');
  await mkdir(join(empty, 'nested', 'deeper'), { recursive: true });
  const litter = await folder('only-litter', { '.DS_Store': 'x' });
  const before = h.emu.requestLog().length;
  assert.deepEqual(await add('empty', [empty]), { added: [], failed: [], skipped: [] });
  const onlyLitter = await add('empty', [litter]);
  assert.deepEqual([onlyLitter.added, onlyLitter.failed], [[], []]);
  assert.deepEqual(onlyLitter.skipped.map((entry) => entry.name), ['.DS_Store']);
  assert.equal(h.emu.requestLog().length, before);
});

test('bad exclude options are refused before any request', async () => {
  const root = await folder('bad-exclude', { 'a.txt': 'a' });
  const before = h.emu.requestLog().length;
  const cases: Array<[Partial<AddFilesOptions>, string]> = [
    [{ exclude: '*.tmp' as unknown as string[] }, 'exclude'],
    [{ exclude: ['ok', '[abc'] }, 'exclude[1]'],
    [{ exclude: [''] }, 'exclude[0]'],
    [{ defaultExcludes: 'no' as unknown as boolean }, 'defaultExcludes'],
  ];
  for (const [extra, argument] of cases) {
    await assert.rejects(add('bad_exclude', [root], extra), (error: unknown) => {
      assert.ok(error instanceof InvalidArgumentError, String(error));
      assert.equal(error.argument, argument);
      return true;
    });
  }
  assert.equal(h.emu.requestLog().length, before);
});
