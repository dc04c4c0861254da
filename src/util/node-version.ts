/**
 * The oldest Node.js this package runs on, checked before anything else is loaded: older versions fail deep inside
 * undici with messages such as `File is not defined` that say nothing about the cause.
 * @module
 */

/** undici 7's floor, and so this package's (`engines` in package.json). */
export const MINIMUM_NODE_VERSION = '20.18.1';

function parts(version: string): number[] {
  return version
    .replace(/^v/, '')
    .split(/[.-]/)
    .slice(0, 3)
    .map((part) => Number.parseInt(part, 10) || 0);
}

/** Why `version` (as in `process.versions.node`) cannot run this package, or undefined when it can. */
export function unsupportedNodeMessage(version: string): string | undefined {
  const have = parts(version);
  const need = parts(MINIMUM_NODE_VERSION);
  for (let i = 0; i < 3; i++) {
    if (have[i]! > need[i]!) return undefined;
    if (have[i]! < need[i]!) {
      return `redivis-upload needs Node.js ${MINIMUM_NODE_VERSION} or later; this is Node.js ${version.replace(/^v/, '')}. Install a current Node.js (20 LTS or newer) and try again.`;
    }
  }
  return undefined;
}
