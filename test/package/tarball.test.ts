/**
 * The package as a user gets it: `npm pack`, installed once (offline, from npm's cache) into a scratch project
 * whose CommonJS, ESM and TypeScript (`nodenext`, `.ts` and `.cts`) subprojects each upload bytes into the
 * emulator through the installed package and check their MD5.
 */
import { before, after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The repository: build/test/package -> the root. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/** npm's own variables of the enclosing `npm test` would make the child think it runs that lifecycle; coverage of the child is not ours. */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_(lifecycle|package|command|config_(?!cache$|registry$|userconfig$))/i.test(key) || key === 'NODE_V8_COVERAGE') continue;
    env[key] = value;
  }
  return env;
}

/** Each subproject uploads the same bytes into an emulator it starts from the installed package. */
const UPLOAD_BODY = `
  const emulator = await startEmulator();
  try {
    const client = new RedivisClient({ apiEndpoint: emulator.apiEndpoint, apiToken: emulator.token });
    const data = Buffer.from('id,value\\n' + Array.from({ length: 5000 }, (_, i) => i + ',' + (i * 7) % 13).join('\\n'));
    const upload = createTempUploadStream({ client, table: 'demo.pkg:next.t', name: 'pkg.csv', chunkSize: 262144 });
    await pipeline(Readable.from([data]), upload);
    const stored = emulator.getTempUpload(upload.result.tempUploadId);
    const sent = createHash('md5').update(data).digest('hex');
    let typed = false;
    try { createTempUploadStream({ client, table: 'no', name: 'x.csv' }); } catch (error) { typed = error instanceof RedivisUploadError && error.code === 'ERR_TABLE_REFERENCE'; }
    console.log(JSON.stringify({ md5: stored.final.md5Hex === sent, typed, size: stored.final.size }));
  } finally {
    await emulator.close();
  }
`;

const CJS = `'use strict';
const { createHash } = require('node:crypto');
const { Readable } = require('node:stream');
const { pipeline } = require('node:stream/promises');
const { RedivisClient, RedivisUploadError, createTempUploadStream } = require('redivis-upload');
const { startEmulator } = require('redivis-upload/emulator');
(async () => {${UPLOAD_BODY}})().catch((error) => { console.error(error); process.exitCode = 1; });
`;

const ESM = `import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RedivisClient, RedivisUploadError, createTempUploadStream } from 'redivis-upload';
import { startEmulator } from 'redivis-upload/emulator';
${UPLOAD_BODY}`;

/** Typed: `upload.result` may be undefined until the stream finishes, hence the checks TypeScript asks for. */
const TYPED_BODY = `
  const emulator = await startEmulator();
  try {
    const client = new RedivisClient({ apiEndpoint: emulator.apiEndpoint, apiToken: emulator.token });
    const data = Buffer.from('a,b\\n1,2\\n');
    const upload = createTempUploadStream({ client, table: 'demo.pkg:next.t', name: FLAVOUR + '.csv' });
    upload.on('progress', (progress: UploadProgress) => void progress.bytesConfirmed);
    await pipeline(Readable.from([data]), upload);
    const id: string | undefined = upload.result?.tempUploadId;
    const stored = id === undefined ? undefined : emulator.getTempUpload(id);
    const error: unknown = new MissingTokenError();
    const code: RedivisUploadErrorCode | undefined = error instanceof RedivisUploadError ? error.code : undefined;
    // Never called: the compiler must refuse it, which proves the package's types are real, not any.
    // @ts-expect-error chunkSize is a number
    const refused = () => createTempUploadStream({ client, url: 'https://example.com', chunkSize: 'big' });
    void refused;
    console.log(JSON.stringify({ md5: stored?.final?.md5Hex === createHash('md5').update(data).digest('hex'), typed: code === 'ERR_MISSING_TOKEN' }));
  } finally {
    await emulator.close();
  }
`;

const TS_ESM = `import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MissingTokenError, RedivisClient, RedivisUploadError, createTempUploadStream, type RedivisUploadErrorCode, type UploadProgress } from 'redivis-upload';
import { startEmulator } from 'redivis-upload/emulator';
const FLAVOUR = 'esm';
${TYPED_BODY}`;

// A .cts file compiles to CommonJS under nodenext: its imports become require() calls.
const TS_CJS = `import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MissingTokenError, RedivisClient, RedivisUploadError, createTempUploadStream, type RedivisUploadErrorCode, type UploadProgress } from 'redivis-upload';
import { startEmulator } from 'redivis-upload/emulator';
const FLAVOUR = 'cts';
async function main(): Promise<void> {${TYPED_BODY}}
main().catch((error: unknown) => { console.error(error); process.exitCode = 1; });
`;

const TSCONFIG = {
  compilerOptions: {
    module: 'nodenext',
    moduleResolution: 'nodenext',
    target: 'es2022',
    strict: true,
    outDir: 'out',
    rootDir: '.',
    types: ['node'],
    typeRoots: [join(ROOT, 'node_modules', '@types')],
    skipLibCheck: true,
  },
  include: ['*.ts', '*.cts'],
};

describe('the packed package', () => {
  let work: string;
  let tarball: string;
  let files: string[];
  let app: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'redivis-upload-package-'));
    const packStarted = performance.now();
    const packed = await run('npm', ['pack', '--silent', '--pack-destination', work], { cwd: ROOT, env: npmEnv(), maxBuffer: 1 << 24 });
    const packMs = performance.now() - packStarted;
    tarball = join(work, packed.stdout.trim().split('\n').pop()!);
    files = (await run('tar', ['-tzf', tarball])).stdout.split('\n').filter(Boolean).map((path) => path.replace(/^package\//, ''));

    app = join(work, 'app');
    await mkdir(app);
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'scratch-app', version: '1.0.0', private: true }));
    const installStarted = performance.now();
    const installed = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: app, env: npmEnv() });
    const installMs = performance.now() - installStarted;
    // Timings, for the record of how much this test costs.
    console.log(`# npm pack (with the build) ${Math.round(packMs)} ms; npm install ${Math.round(installMs)} ms`);
    assert.doesNotMatch(installed.stderr, /install-scripts|prepare/, `installing ran into install scripts: ${installed.stderr}`);

    for (const [dir, type, entries] of [
      ['cjs', 'commonjs', { 'index.js': CJS }],
      ['esm', 'module', { 'index.js': ESM }],
      ['ts', 'module', { 'index.ts': TS_ESM, 'legacy.cts': TS_CJS, 'tsconfig.json': JSON.stringify(TSCONFIG) }],
    ] as const) {
      await mkdir(join(app, dir));
      await writeFile(join(app, dir, 'package.json'), JSON.stringify({ type }));
      for (const [name, text] of Object.entries(entries)) await writeFile(join(app, dir, name), text);
    }
  });
  after(() => rm(work, { recursive: true, force: true }));

  test('carries the builds for import and require, types, source maps, sources, LICENSE and the docs the README links', async () => {
    for (const path of [
      'LICENSE', 'README.md', 'package.json',
      'dist/index.js', 'dist/index.d.ts', 'dist/index.js.map', 'dist/index.d.ts.map', 'dist/emulator/index.js', 'dist/cli/main.js',
      'dist/cjs/package.json', 'dist/cjs/index.js', 'dist/cjs/index.d.ts', 'dist/cjs/index.js.map', 'dist/cjs/emulator/index.js', 'dist/cjs/emulator/index.d.ts',
      'src/index.ts',
    ]) {
      assert.ok(files.includes(path), `${path} is missing from the tarball`);
    }
    assert.deepEqual(files.filter((path) => /^(test|build|benchmarks|coverage|scripts|node_modules)\//.test(path)), []);
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((match) => match[1]!).filter((href) => !/^[a-z]+:/i.test(href));
    assert.ok(links.length >= 2, `found the README's links: ${links.join(', ')}`);
    for (const href of links) assert.ok(files.includes(href.replace(/^\.\//, '')), `the README links ${href}, which the tarball lacks`);
    const manifest = JSON.parse((await run('tar', ['-xzOf', tarball, 'package/package.json'])).stdout) as {
      license: string;
      repository?: { url?: string };
      scripts: Record<string, string>;
    };
    assert.equal(manifest.license, 'MIT');
    assert.match(manifest.repository?.url ?? '', /^git\+https:\/\//);
    for (const script of ['preinstall', 'install', 'postinstall', 'prepare']) assert.equal(manifest.scripts[script], undefined, `${script} would run on install`);
    assert.match(await readFile(join(ROOT, 'LICENSE'), 'utf8'), /^MIT License/);
  });

  test('CommonJS: require() of the package and of redivis-upload/emulator uploads byte-exact', async () => {
    const { stdout } = await run(process.execPath, ['index.js'], { cwd: join(app, 'cjs') });
    assert.deepEqual(JSON.parse(stdout), { md5: true, typed: true, size: 35_051 });
  });

  test('ESM: import of the package and of redivis-upload/emulator uploads byte-exact', async () => {
    const { stdout } = await run(process.execPath, ['index.js'], { cwd: join(app, 'esm') });
    assert.deepEqual(JSON.parse(stdout), { md5: true, typed: true, size: 35_051 });
  });

  test('TypeScript nodenext under strict: a .ts and a .cts file type-check against the types and run', async () => {
    const ts = join(app, 'ts');
    const compiled = await run(process.execPath, [TSC, '-p', '.'], { cwd: ts }).catch((error: { stdout?: string }) => {
      assert.fail(`tsc failed:\n${error.stdout ?? String(error)}`);
    });
    assert.equal(compiled.stdout, '');
    for (const entry of ['out/index.js', 'out/legacy.cjs']) {
      const { stdout } = await run(process.execPath, [entry], { cwd: ts });
      assert.deepEqual(JSON.parse(stdout), { md5: true, typed: true }, entry);
    }
    // The .cts output really is CommonJS.
    assert.match(await readFile(join(ts, 'out', 'legacy.cjs'), 'utf8'), /require\("redivis-upload"\)/);
  });

  test('the installed command runs', async () => {
    const { stdout } = await run(join(app, 'node_modules', '.bin', 'redivis-upload'), ['--version'], { env: npmEnv() });
    const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(stdout.trim(), version);
  });
});
