/**
 * The client process of every case but a lean one. It loads the modules of every case (the peer and stream-chunker
 * among them) before any job, statically, as a program that uses them would, so all these processes carry the same
 * modules and the `idle` case (which only loads them and builds the pattern) is their RSS reference.
 * @module
 */
import '@google-cloud/storage';
import 'stream-chunker';
import { serveOneJob } from './client-process.js';

serveOneJob();
