import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const entries = ['../../src/index.js', '../../src/emulator/index.js'].map((path) => new URL(path, import.meta.url).href);

test('importing the package or its emulator on a Node.js that is too old fails at once, saying which version it needs', () => {
  for (const entry of entries) {
    // The version is faked before the import, as an old Node.js would report it.
    const script = `Object.defineProperty(process.versions, 'node', { value: '18.19.0' });
      try { await import(${JSON.stringify(entry)}); console.log('imported'); } catch (error) { console.log(error.code, error.message); }`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(child.status, 0, child.stderr);
    assert.match(child.stdout, /^ERR_UNSUPPORTED_NODE_VERSION redivis-upload needs Node\.js 20\.18\.1 or later; this is Node\.js 18\.19\.0/, entry);
  }
});

test('on a supported Node.js the package imports as usual', () => {
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(entries[0])}); console.log('imported');`], { encoding: 'utf8' });
  assert.equal(child.stdout.trim(), 'imported', child.stderr);
});
