/**
 * Ctrl+C and SIGTERM abort the running transfer through an AbortSignal, so the library cancels the upload session
 * instead of leaving it half-written. A second signal exits at once.
 * @module
 */

/** Exit code after an interruption: 128 + the signal number, as shells report it. */
export const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

export type HandledSignal = keyof typeof SIGNAL_EXIT_CODES;

export interface Interrupt {
  signal: AbortSignal;
  /** The signal received, once one was. */
  received(): HandledSignal | undefined;
  /** Removes the handlers. */
  dispose(): void;
}

/** The reason carried by the AbortSignal, shown as the cause of the library's `AbortError`. */
export class InterruptedError extends Error {
  constructor(readonly signalName: HandledSignal) {
    super(`interrupted by ${signalName}`);
    this.name = 'InterruptedError';
  }
}

/** Installs the handlers; `onFirst` is told (e.g. to print that cancellation is under way). */
export function handleInterrupts(onFirst: (signal: HandledSignal) => void): Interrupt {
  const controller = new AbortController();
  let received: HandledSignal | undefined;
  const handlers = new Map<HandledSignal, () => void>();
  for (const name of Object.keys(SIGNAL_EXIT_CODES) as HandledSignal[]) {
    const handler = () => {
      if (received !== undefined) process.exit(SIGNAL_EXIT_CODES[name]);
      received = name;
      onFirst(name);
      controller.abort(new InterruptedError(name));
    };
    handlers.set(name, handler);
    process.on(name, handler);
  }
  return {
    signal: controller.signal,
    received: () => received,
    dispose() {
      for (const [name, handler] of handlers) process.removeListener(name, handler);
    },
  };
}
