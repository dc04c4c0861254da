/**
 * The default `User-Agent`, in the style of the official clients (`redivis-python/<ver> (<platform>; Python/<ver>)`).
 * @module
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = 'redivis-upload';
let cachedVersion: string | undefined;

/**
 * This package's version, read from its package.json at runtime. The compiled module sits at different depths
 * (`dist/client/`, `build/src/client/`), so the directories above it are searched for the package.json that names
 * this package. `0.0.0` when none is found.
 */
export function packageVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  cachedVersion = findVersion(dirname(fileURLToPath(import.meta.url))) ?? '0.0.0';
  return cachedVersion;
}

/** `redivis-upload/<version> (<process.platform>; Node/<process.versions.node>)`. */
export function defaultUserAgent(): string {
  return `${PACKAGE_NAME}/${packageVersion()} (${process.platform}; Node/${process.versions.node})`;
}

function findVersion(start: string): string | undefined {
  let directory = start;
  for (;;) {
    const version = readVersion(join(directory, 'package.json'));
    if (version !== undefined) return version;
    const parent = dirname(directory);
    if (parent === directory) return undefined;
    directory = parent;
  }
}

function readVersion(file: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const manifest = JSON.parse(text) as { name?: unknown; version?: unknown };
    return manifest.name === PACKAGE_NAME && typeof manifest.version === 'string' ? manifest.version : undefined;
  } catch {
    return undefined;
  }
}
