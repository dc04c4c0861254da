/**
 * Imported first by each entry point, so a Node.js older than the package supports fails at import with a message
 * that says so, before undici is loaded and fails with one that does not (`File is not defined`).
 * @module
 */
import { unsupportedNodeMessage } from './node-version.js';

const unsupported = unsupportedNodeMessage(process.versions.node);
if (unsupported !== undefined) throw Object.assign(new Error(unsupported), { code: 'ERR_UNSUPPORTED_NODE_VERSION' });
