// Coalesced, throttled work: any number of `schedule()` calls before the timer fires run the task
// once; under churn the task runs at most once per `minIntervalMs`. The task is synchronous;
// async follow-up work is the callee's. A thin name for base's RunOnceScheduler, kept for the
// agent's call sites.

import { RunOnceScheduler } from '../base/index.ts';

export class ThrottledRunner {
  readonly #scheduler: RunOnceScheduler;

  constructor(task: () => void, opts: { readonly delayMs: number; readonly minIntervalMs: number }) {
    this.#scheduler = new RunOnceScheduler(task, { delayMs: opts.delayMs, minIntervalMs: opts.minIntervalMs });
  }

  schedule(): void {
    this.#scheduler.schedule();
  }

  get pending(): boolean {
    return this.#scheduler.pending;
  }

  dispose(): void {
    this.#scheduler.dispose();
  }
}
