/**
 * The frame shared by commands that transfer data: target, interruption handling, cleanup, failure report.
 * @module
 */
import { reportFailure, type CommandContext } from './context.js';
import { handleInterrupts, SIGNAL_EXIT_CODES } from './interrupt.js';
import { openTarget, type Target } from './target.js';
import type { ProgressDisplay } from './progress.js';
import type { UploadRetry } from '../upload/temp-upload-stream.js';

/**
 * Opens the target, runs `body` with an AbortSignal that Ctrl+C and SIGTERM trigger, and reports its failure.
 * An interrupted command exits with 130 (SIGINT) or 143 (SIGTERM), whatever error the abort produced.
 */
export async function runTransfer(
  ctx: CommandContext,
  useEmulator: boolean,
  body: (target: Target, signal: AbortSignal) => Promise<number>,
): Promise<number> {
  const interrupt = handleInterrupts((name) => {
    if (ctx.output.interactive) ctx.output.err(`redivis-upload: ${name} received, cancelling the upload (press Ctrl+C again to exit at once)`);
  });
  let target: Target | undefined;
  try {
    target = await openTarget(useEmulator, ctx.io.env, ctx.output);
    if (ctx.output.interactive && target.emulator) ctx.output.err(`Using ${target.description}.`);
    return await body(target, interrupt.signal);
  } catch (error) {
    const received = interrupt.received();
    return reportFailure(ctx, error, received ? SIGNAL_EXIT_CODES[received] : 1);
  } finally {
    interrupt.dispose();
    // A failure to clean up the embedded emulator must not replace the command's outcome.
    await target?.close().catch(() => {});
  }
}

/**
 * Counts every retry on the progress display, API calls (the client's `retry` event) and upload requests (the
 * returned `onRetry`) alike, and logs each with `--debug`.
 */
export function countRetries(ctx: CommandContext, target: Target, display: ProgressDisplay): (retry: UploadRetry) => void {
  const note = (what: string, retry: { attempt: number; delayMs: number; error: Error }): void => {
    display.retried();
    if (ctx.debug) ctx.output.err(`retry ${retry.attempt} of ${what} in ${retry.delayMs} ms: ${retry.error.message}`);
  };
  target.client.on('retry', (retry) => note(`${retry.method} ${retry.path}`, retry));
  return (retry) => note('an upload request', retry);
}
