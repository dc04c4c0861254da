/**
 * The client process of a lean case (`CaseSpec.lean`): it loads only what the case runs, as a small script that
 * uploads and does nothing else would.
 * @module
 */
import { serveOneJob } from './client-process.js';

serveOneJob();
