/**
 * A bounded pool of concurrent tasks, with backpressure for whoever submits them.
 * @module
 */

/**
 * Runs at most `limit` tasks at once. {@link submit} resolves once a slot is free (so a loop that awaits it never
 * holds more than `limit` tasks in memory) and hands back the task's own promise.
 */
export class TaskPool {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly running = new Set<Promise<unknown>>();

  constructor(private readonly limit: number) {}

  /** Waits for a free slot, starts `task` in it, and resolves with the task's promise (not its result). */
  async submit<T>(task: () => Promise<T>): Promise<{ done: Promise<T> }> {
    // A freed slot is handed straight to the oldest waiter, so a later caller cannot take it in between.
    if (this.active < this.limit) this.active += 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    const done = (async () => {
      try {
        return await task();
      } finally {
        const next = this.waiting.shift();
        if (next) next();
        else this.active -= 1;
      }
    })();
    const tracked = done.then(
      () => undefined,
      () => undefined,
    );
    this.running.add(tracked);
    void tracked.then(() => this.running.delete(tracked));
    // Wrapped in an object so that awaiting submit() does not also await the task.
    return { done };
  }

  /** Resolves once every task started so far has settled. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }
}
