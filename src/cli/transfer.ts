/**
 * The frame shared by commands that transfer data: their common flags, the target, interruption handling,
 * cleanup and the failure report.
 * @module
 */
import { integerOption, numberOption, stringValue, type OptionSpec, type ParsedValues } from './args.js';
import { reportFailure, type CommandContext } from './context.js';
import { retryLine } from './explain.js';
import { handleInterrupts, SIGNAL_EXIT_CODES, type HandledSignal } from './interrupt.js';
import { openTarget, type Target, type TargetOptions } from './target.js';
import type { ProgressDisplay } from './progress.js';
import type { UploadRetry } from '../upload/temp-upload-stream.js';

/** Flags of every transferring command; they may also stand before the command (see `run`). */
export const TRANSFER_OPTIONS = {
  json: { type: 'boolean' },
  emulator: { type: 'boolean' },
  retries: { type: 'string' },
  'request-timeout': { type: 'string' },
} as const satisfies OptionSpec;

/** The most `--retries` accepted: past this a failure would take hours to be reported. */
const MAX_RETRIES = 100;
/** The longest `--request-timeout`, in seconds: what Node's timers can hold. */
const MAX_REQUEST_TIMEOUT_S = 2_147_483;

export interface TransferSettings extends TargetOptions {
  emulator: boolean;
}

/** Reads the shared flags; every value is checked before anything is sent. */
export function transferSettings(values: ParsedValues): TransferSettings {
  const retries = integerOption('retries', stringValue(values, 'retries'), 0, MAX_RETRIES);
  const timeoutS = numberOption('request-timeout', stringValue(values, 'request-timeout'), 0.001, MAX_REQUEST_TIMEOUT_S);
  return {
    emulator: values.emulator === true,
    ...(retries === undefined ? {} : { retries }),
    ...(timeoutS === undefined ? {} : { requestTimeoutMs: Math.max(1, Math.round(timeoutS * 1000)) }),
  };
}

const SIGNAL_WORDS: Record<HandledSignal, string> = { SIGINT: 'Ctrl+C (SIGINT)', SIGTERM: 'SIGTERM' };

/**
 * Opens the target, runs `body` with an AbortSignal that Ctrl+C and SIGTERM trigger, and reports its failure.
 * An interrupted command ends the progress bar's line, says that the transfer was cancelled and exits with 130
 * (SIGINT) or 143 (SIGTERM), whatever error the abort produced.
 */
export async function runTransfer(
  ctx: CommandContext,
  settings: TransferSettings,
  what: string,
  body: (target: Target, signal: AbortSignal) => Promise<number>,
): Promise<number> {
  const interrupt = handleInterrupts((name) => {
    const where = ctx.output.endLive();
    if (ctx.output.interactive) {
      ctx.output.err(`redivis-upload: ${SIGNAL_WORDS[name]}: cancelling ${what}${where ? ` at ${where}` : ''}... (press Ctrl+C again to exit at once)`);
    }
  });
  let target: Target | undefined;
  try {
    target = await openTarget(settings, ctx.io.env, ctx.output);
    if (ctx.output.interactive && target.emulator) ctx.output.err(`Using ${target.description}.`);
    return await body(target, interrupt.signal);
  } catch (error) {
    const received = interrupt.received();
    if (received === undefined) return reportFailure(ctx, error, 1);
    ctx.output.endLive();
    const code = (error as { code?: unknown } | null)?.code;
    if (code !== 'ERR_ABORTED') return reportFailure(ctx, error, SIGNAL_EXIT_CODES[received]);
    const message = `${what} was cancelled by ${SIGNAL_WORDS[received]}`;
    ctx.output.err(`redivis-upload: ${message[0]!.toUpperCase()}${message.slice(1)} [ERR_ABORTED]`);
    if (ctx.json) ctx.output.json({ error: { code: 'ERR_ABORTED', message: `${message[0]!.toUpperCase()}${message.slice(1)}` } });
    return SIGNAL_EXIT_CODES[received];
  } finally {
    interrupt.dispose();
    // A failure to clean up the embedded emulator must not replace the command's outcome.
    await target?.close().catch(() => {});
  }
}

/**
 * Counts every retry on the progress display, API calls (the client's `retry` event) and upload requests (the
 * returned `onRetry`) alike. On a terminal each shows its reason above the bar; `--debug` logs every detail.
 */
export function countRetries(ctx: CommandContext, target: Target, display: ProgressDisplay): (retry: UploadRetry) => void {
  const note = (what: string, retry: { attempt: number; delayMs: number; error: Error }): void => {
    display.retried();
    if (display.live) display.log(retryLine(retry.error, retry.delayMs, target.apiHost, target.client.requestTimeoutMs));
    if (ctx.debug) ctx.output.err(`retry ${retry.attempt} of ${what} in ${retry.delayMs} ms: ${retry.error.message}`);
  };
  target.client.on('retry', (retry) => note(`${retry.method} ${retry.path}`, retry));
  return (retry) => note('an upload request', retry);
}
