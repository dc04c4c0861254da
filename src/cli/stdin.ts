/**
 * Standard input as the source of `upload -`.
 * @module
 */
import { Transform, type Readable } from 'node:stream';

/**
 * Standard input, ending only if no interruption arrives right after its end. Ctrl+C in a shell reaches every
 * process of the pipeline: the producer's death closes the pipe, and that end of input must not finalize a
 * truncated upload before our own SIGINT handler has aborted it. Two turns of the event loop let a signal that
 * arrived with the end of input be handled first.
 */
export function guardedStdin(stdin: Readable, signal: AbortSignal): Readable {
  const guard = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      callback(null, chunk);
    },
    flush(callback) {
      setImmediate(() =>
        setImmediate(() => {
          if (signal.aborted) callback(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
          else callback();
        }),
      );
    },
  });
  stdin.on('error', (error) => guard.destroy(error));
  return stdin.pipe(guard);
}
