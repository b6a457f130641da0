// Time and scheduling (after VS Code's base/common/async): timers as disposables, a run-once
// scheduler that coalesces bursts of requests into one run (and spaces runs under churn), a
// throttler that keeps at most one async job in flight, an exponential back-off, sleep and a
// bounded poll. Every long-running component schedules through these instead of raw timers, so
// its owner can dispose it and the leak check (test/support/leak-check.ts) sees nothing left.

import type { IDisposable } from './lifecycle.ts';

/** A promise resolved after ms; an aborted signal resolves it early (callers re-check their state). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const onAbort = (): void => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Run fn once after ms, unless disposed first. `unref`: does not keep the process alive. */
export function timeout(fn: () => void, ms: number, opts: { readonly unref?: boolean } = {}): IDisposable {
  const t = setTimeout(fn, ms);
  if (opts.unref === true) t.unref();
  return { dispose: () => clearTimeout(t) };
}

/** Run fn every ms until disposed. */
export function interval(fn: () => void, ms: number, opts: { readonly unref?: boolean } = {}): IDisposable {
  const t = setInterval(fn, ms);
  if (opts.unref === true) t.unref();
  return { dispose: () => clearInterval(t) };
}

/** Report an error nobody awaited as what it is: a bug, thrown where the process notices it. */
function rethrowLater(e: unknown): void {
  queueMicrotask(() => {
    throw e;
  });
}

export interface RunOnceSchedulerOptions {
  /** Delay from the first schedule() of a burst to the run. */
  readonly delayMs: number;
  /** Under churn, runs start at least this long apart (0: no spacing). */
  readonly minIntervalMs?: number;
  /** Where a failed run's error goes; default: rethrown (an unhandled error is a bug). */
  readonly onError?: (e: unknown) => void;
  /** Do not keep the process alive for a scheduled run. */
  readonly unref?: boolean;
}

/**
 * Coalesced work: any number of schedule() calls before the timer fires run the task once. The
 * task may be async; a schedule() while it runs queues exactly one more run after it, so a change
 * arriving mid-run is never lost and runs never overlap.
 */
export class RunOnceScheduler implements IDisposable {
  readonly #task: () => unknown;
  readonly #o: RunOnceSchedulerOptions;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #again = false;
  #lastRunAt = -Infinity;
  #disposed = false;
  #idle: (() => void)[] = [];

  constructor(task: () => unknown, opts: RunOnceSchedulerOptions) {
    this.#task = task;
    this.#o = opts;
  }

  /** Ask for a run; coalesces with a run already scheduled. `delayMs` overrides the default delay for a new timer. */
  schedule(delayMs?: number): void {
    if (this.#disposed) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    if (this.#timer !== undefined) return;
    const wait = Math.max(delayMs ?? this.#o.delayMs, this.#lastRunAt + (this.#o.minIntervalMs ?? 0) - performance.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#run();
    }, Math.max(0, wait));
    if (this.#o.unref === true) this.#timer.unref();
  }

  /** Cancel a scheduled run and schedule anew (the delay starts now). */
  reschedule(delayMs?: number): void {
    this.cancel();
    this.schedule(delayMs);
  }

  /** Drop a scheduled (not yet started) run. */
  cancel(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#again = false;
  }

  /** A run is scheduled or in progress. */
  get pending(): boolean {
    return this.#timer !== undefined || this.#running;
  }

  /** Run now if a run is scheduled (a flush); no-op otherwise. */
  flush(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#run();
  }

  /** Resolves when no run is scheduled or in progress. */
  whenIdle(): Promise<void> {
    if (!this.pending) return Promise.resolve();
    return new Promise((r) => this.#idle.push(r));
  }

  #run(): void {
    if (this.#disposed) return;
    this.#running = true;
    this.#lastRunAt = performance.now();
    let result: unknown;
    try {
      result = this.#task();
    } catch (e) {
      this.#done(e);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        () => this.#done(undefined),
        (e: unknown) => this.#done(e),
      );
    } else {
      this.#done(undefined);
    }
  }

  #done(error: unknown): void {
    this.#running = false;
    if (error !== undefined) (this.#o.onError ?? rethrowLater)(error);
    if (this.#again && !this.#disposed) {
      this.#again = false;
      this.schedule();
    }
    if (!this.pending) for (const r of this.#idle.splice(0)) r();
  }

  dispose(): void {
    this.#disposed = true;
    this.cancel();
    for (const r of this.#idle.splice(0)) r();
  }
}

/**
 * At most one job in flight (VS Code's Throttler): queue() while a job runs replaces any job
 * already waiting, and every caller that queued meanwhile gets the result of the one that runs
 * next. For "re-read everything" work where only the latest request matters.
 */
export class Throttler<T> {
  #active: Promise<T> | undefined;
  #queued: { factory: () => Promise<T>; promise: Promise<T> } | undefined;

  queue(factory: () => Promise<T>): Promise<T> {
    if (this.#active === undefined) return this.#start(factory);
    if (this.#queued !== undefined) {
      this.#queued.factory = factory;
      return this.#queued.promise;
    }
    const active = this.#active;
    const slot: { factory: () => Promise<T>; promise: Promise<T> } = { factory, promise: undefined as unknown as Promise<T> };
    slot.promise = active
      .catch(() => undefined)
      .then(() => {
        this.#queued = undefined;
        return this.#start(slot.factory);
      });
    this.#queued = slot;
    return slot.promise;
  }

  get busy(): boolean {
    return this.#active !== undefined;
  }

  #start(factory: () => Promise<T>): Promise<T> {
    const p = (async () => factory())();
    this.#active = p;
    const clear = (): void => {
      if (this.#active === p) this.#active = undefined;
    };
    p.then(clear, clear);
    return p;
  }
}

/**
 * A reconciler's run: one pass at a time; asked again while a pass runs, it runs one more pass
 * right after (however often it was asked). Every caller gets the promise of the whole
 * sequence, which settles once a pass that started after its call has finished — with the last
 * pass's result, or the first error (which ends the sequence: a pass that must go on after a
 * failure catches it itself). `stopped` ends the sequence before a further pass.
 */
export class RerunningTask<T> {
  readonly #pass: () => Promise<T>;
  readonly #stopped: () => boolean;
  #running: Promise<T> | undefined;
  #again = false;

  constructor(pass: () => Promise<T>, opts: { readonly stopped?: () => boolean } = {}) {
    this.#pass = pass;
    this.#stopped = opts.stopped ?? (() => false);
  }

  /** Run now, or once more right after the pass in progress. */
  run(): Promise<T> {
    if (this.#running !== undefined) {
      this.#again = true;
      return this.#running;
    }
    const loop = async (): Promise<T> => {
      let r: T;
      do {
        this.#again = false;
        r = await this.#pass();
      } while (this.#again && !this.#stopped());
      return r;
    };
    this.#running = loop().finally(() => (this.#running = undefined));
    return this.#running;
  }

  /** The sequence in progress, if any (to wait for at shutdown). */
  get running(): Promise<T> | undefined {
    return this.#running;
  }
}

export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  /** Growth per attempt (default 2). */
  readonly factor?: number;
  /** Fraction of each delay drawn at random (0 … 1, default 0: deterministic), to spread retries of many clients. */
  readonly jitter?: number;
  readonly random?: () => number;
}

/** Exponential back-off: initialMs, × factor per attempt, capped at maxMs; reset() after a success. */
export class Backoff {
  readonly #o: BackoffOptions;
  #attempt = 0;

  constructor(opts: BackoffOptions) {
    this.#o = opts;
  }

  /** Attempts since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The delay before the next attempt (and count it). */
  next(): number {
    const base = Math.min(this.#o.maxMs, this.#o.initialMs * (this.#o.factor ?? 2) ** this.#attempt);
    this.#attempt++;
    const j = this.#o.jitter ?? 0;
    if (j <= 0) return base;
    return Math.round(base * (1 - j) + base * j * (this.#o.random ?? Math.random)());
  }

  reset(): void {
    this.#attempt = 0;
  }
}

/** Poll `check` until it returns a value other than undefined, or timeoutMs pass (then undefined). */
export async function waitFor<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs: number, intervalMs = 100): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() >= deadline) return undefined;
    await sleep(intervalMs);
  }
}

/** Map over items with at most `limit` in flight, preserving order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}
