// Coalesced, throttled work (after VS Code's RunOnceScheduler/Throttler): any number of
// `schedule()` calls before the timer fires run the task once; under churn the task runs at most
// once per `minIntervalMs`. The task is synchronous; async follow-up work is the callee's.

export class ThrottledRunner {
  private readonly task: () => void;
  private readonly delayMs: number;
  private readonly minIntervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private lastRunAt = -Infinity;
  private disposed = false;

  constructor(task: () => void, opts: { readonly delayMs: number; readonly minIntervalMs: number }) {
    this.task = task;
    this.delayMs = opts.delayMs;
    this.minIntervalMs = opts.minIntervalMs;
  }

  schedule(): void {
    if (this.disposed || this.timer !== undefined) return;
    const wait = Math.max(this.delayMs, this.lastRunAt + this.minIntervalMs - performance.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.lastRunAt = performance.now();
      this.task();
    }, wait);
  }

  get pending(): boolean {
    return this.timer !== undefined;
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
