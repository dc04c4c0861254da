/**
 * Live progress on a terminal (a `cli-progress` bar on stderr) and the numbers behind the final summary line.
 * Off a terminal nothing is drawn; the statistics are still kept for the summary.
 * @module
 */
import cliProgress from 'cli-progress';
import { formatBytes, formatDuration } from './format.js';
import type { OutStream } from './output.js';

/** What the bar shows. */
export interface ProgressState {
  /** Bytes the server has confirmed. */
  bytesConfirmed: number;
  /** Bytes in all, when known. */
  totalBytes: number | undefined;
  /** Requests that failed and were tried again. */
  retries: number;
  /** What is happening, e.g. `uploading` or `processing`. */
  phase: string;
  /** For several files: how many are done (registered), uploaded (bytes stored), failed, and in all. */
  files?: { done: number; uploaded?: number; failed: number; total: number };
}

/** Window over which the displayed rate is measured, in milliseconds. */
const RATE_WINDOW_MS = 5_000;
const BAR_WIDTH = 24;

/** Bytes per second over the last few seconds, so the rate and ETA follow changes in throughput. */
export class RateMeter {
  private readonly samples: Array<{ at: number; bytes: number }> = [];
  private readonly startedAt: number;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.startedAt = now();
    this.samples.push({ at: this.startedAt, bytes: 0 });
  }

  record(bytes: number): void {
    const at = this.now();
    this.samples.push({ at, bytes });
    while (this.samples.length > 2 && at - this.samples[1]!.at > RATE_WINDOW_MS) this.samples.shift();
  }

  /** Milliseconds since the meter was created. */
  get elapsedMs(): number {
    return this.now() - this.startedAt;
  }

  /** Current rate in bytes per second; 0 until something was measured. */
  get bytesPerSecond(): number {
    const first = this.samples[0]!;
    const last = this.samples[this.samples.length - 1]!;
    const span = last.at - first.at;
    return span > 0 ? ((last.bytes - first.bytes) * 1000) / span : 0;
  }
}

function bar(fraction: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * BAR_WIDTH);
  return `${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}`;
}

/** The bar's line for `state`; exported for tests. */
export function progressLine(state: ProgressState, bytesPerSecond: number, elapsedMs: number): string {
  const { bytesConfirmed, totalBytes, files } = state;
  const parts: string[] = [];
  const known = totalBytes !== undefined && totalBytes > 0;
  const finished = files ? Math.max(files.done, files.uploaded ?? 0) + files.failed : 0;
  const fraction = files && files.total > 0 && !known ? finished / files.total : known ? bytesConfirmed / totalBytes : undefined;
  parts.push(fraction === undefined ? state.phase : `${state.phase} ${bar(fraction)} ${Math.floor(fraction * 100)}%`);
  // A file counts as uploaded once its bytes are stored, and as added once its batch is registered in the table.
  if (files) {
    const uploaded = files.uploaded !== undefined && files.uploaded > files.done ? `${files.uploaded}/${files.total} files uploaded, ${files.done} added` : `${files.done}/${files.total} files added`;
    parts.push(`${uploaded}${files.failed > 0 ? `, ${files.failed} failed` : ''}`);
  }
  parts.push(known ? `${formatBytes(bytesConfirmed)} / ${formatBytes(totalBytes)}` : formatBytes(bytesConfirmed));
  parts.push(`${formatBytes(bytesPerSecond)}/s`);
  if (known && bytesConfirmed < totalBytes && bytesPerSecond > 0) {
    parts.push(`ETA ${formatDuration(((totalBytes - bytesConfirmed) * 1000) / bytesPerSecond)}`);
  } else {
    parts.push(formatDuration(elapsedMs));
  }
  parts.push(`${state.retries} ${state.retries === 1 ? 'retry' : 'retries'}`);
  return parts.join(' | ');
}

/** Progress of one command: drawn on `stream` when it is a terminal, measured in any case. */
export class ProgressDisplay {
  readonly state: ProgressState;
  private readonly meter = new RateMeter();
  private readonly bar: cliProgress.SingleBar | undefined;
  private stopped = false;
  private lastByteAtMs = 0;

  constructor(
    private readonly stream: OutStream,
    initial: Partial<ProgressState> & { phase: string },
  ) {
    this.state = { bytesConfirmed: 0, totalBytes: undefined, retries: 0, ...initial };
    if (stream.isTTY !== true) return;
    this.bar = new cliProgress.SingleBar({
      stream,
      fps: 8,
      hideCursor: true,
      clearOnComplete: true,
      format: (_options, params) => {
        const line = progressLine(this.state, this.meter.bytesPerSecond, this.meter.elapsedMs);
        return params.maxWidth > 10 && line.length > params.maxWidth - 1 ? line.slice(0, params.maxWidth - 1) : line;
      },
    });
    // The value and total are not used by the format above; the state is.
    this.bar.start(1, 0);
  }

  /** Merges `change` into the state and redraws when needed. */
  update(change: Partial<ProgressState>): void {
    const previous = this.state.bytesConfirmed;
    Object.assign(this.state, change);
    if (this.state.bytesConfirmed !== previous) {
      this.meter.record(this.state.bytesConfirmed);
      this.lastByteAtMs = this.meter.elapsedMs;
    }
    // A changing payload makes cli-progress redraw; the format function reads `this.state`.
    this.bar?.update({ bytes: this.state.bytesConfirmed, retries: this.state.retries, phase: this.state.phase, files: this.state.files?.done });
  }

  retried(): void {
    this.update({ retries: this.state.retries + 1 });
  }

  /** Whether a bar is being drawn. */
  get live(): boolean {
    return this.bar !== undefined && !this.stopped;
  }

  /**
   * Prints a line where the bar is and draws the bar again below it. The bar is stopped and restarted around the
   * line because cli-progress returns to the cursor position saved at its start when it stops.
   */
  log(line: string): void {
    if (!this.live) {
      this.stream.write(`${line}\n`);
      return;
    }
    this.bar!.stop();
    this.stream.write(`${line}\n`);
    this.bar!.start(1, 0);
  }

  /** Milliseconds since the display was created. */
  get elapsedMs(): number {
    return this.meter.elapsedMs;
  }

  /** Milliseconds from the start until the last confirmed byte: the transfer, without what came after it. */
  get transferMs(): number {
    return this.lastByteAtMs;
  }

  /** How far the transfer has got: `40 % (12.0 MiB of 30.0 MiB)`, `3 of 60 files`, `12.0 MiB`. */
  position(): string | undefined {
    const { bytesConfirmed, totalBytes, files } = this.state;
    if (files && files.total > 0) return `${Math.max(files.done, files.uploaded ?? 0) + files.failed} of ${files.total} files (${formatBytes(bytesConfirmed)})`;
    if (totalBytes !== undefined && totalBytes > 0) {
      return `${Math.floor((bytesConfirmed / totalBytes) * 100)} % (${formatBytes(bytesConfirmed)} of ${formatBytes(totalBytes)})`;
    }
    return bytesConfirmed > 0 ? formatBytes(bytesConfirmed) : undefined;
  }

  /** Removes the bar from the terminal. */
  stop(): void {
    if (!this.live) return;
    this.stopped = true;
    this.bar!.stop();
  }
}
