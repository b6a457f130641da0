// The apply loop every dataplane shares (node contract §4.4): changes only mark the desired
// state dirty; one coalesced apply runs at a time; nothing is programmed before the dataplane is
// ready (the calc graph's InSync); a failed apply keeps the state dirty and is retried with
// exponential back-off; a resync (periodic, or on demand) reads the kernel back and repairs
// drift, serialised with applies. Disposing stops timers only — nothing is flushed on exit.

import { Backoff, interval, timeout } from '../base/index.ts';
import type { IDisposable } from '../base/index.ts';
import type { ResyncReport } from './dataplane.ts';

/** What one apply did, before the loop adds its duration. */
export interface ApplyStep {
  readonly operations: number;
  readonly detail: string;
}

export interface ApplyLoopOptions {
  /** May the loop program now (false before InSync when the dataplane waits for it). */
  readonly ready: () => boolean;
  /** Render and program the current desired state. */
  readonly apply: () => Promise<ApplyStep>;
  /**
   * Read back and repair. Must render the desired state before its first await: the loop marks
   * the state clean just before calling it, so a change arriving during the read-back makes it
   * dirty again and the apply queued behind it programs that change.
   */
  readonly resync: () => Promise<ResyncReport>;
  /** Periodic resync; 0 disables (default 90 s, Felix's nftablesRefreshInterval). */
  readonly resyncIntervalMs?: number;
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  readonly onApplied?: (r: ApplyStep & { readonly durationMs: number }) => void;
  readonly onError?: (e: unknown) => void;
  readonly onResync?: (r: ResyncReport) => void;
}

export class ApplyLoop implements IDisposable {
  private readonly opts: ApplyLoopOptions;
  private dirty = false;
  private busy: Promise<void> = Promise.resolve();
  private applyTimer: IDisposable | undefined;
  private resyncTimer: IDisposable | undefined;
  private readonly backoff: Backoff;
  private disposed = false;
  lastApplyAt: Date | undefined;

  constructor(opts: ApplyLoopOptions) {
    this.opts = opts;
    this.backoff = new Backoff({ initialMs: opts.retryMinMs ?? 50, maxMs: opts.retryMaxMs ?? 10_000 });
  }

  /** Start the periodic resync; applies are scheduled by markDirty. */
  start(): void {
    const every = this.opts.resyncIntervalMs ?? 90_000;
    if (every > 0 && this.resyncTimer === undefined && !this.disposed) {
      this.resyncTimer = interval(
        () => {
          this.resyncNow().catch((e: unknown) => this.opts.onError?.(e));
        },
        every,
        { unref: true },
      );
    }
  }

  /** The desired state changed: apply soon (coalesced with other changes before it runs). */
  markDirty(): void {
    this.dirty = true;
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.disposed || this.applyTimer !== undefined) return;
    this.applyTimer = timeout(() => {
      this.applyTimer = undefined;
      this.flush().catch(() => undefined); // reported through onError; retried by flush itself
    }, delayMs);
  }

  /** Apply now if dirty; resolves after the attempt, rejects with the apply error. */
  flush(): Promise<void> {
    const next = this.busy.then(async () => {
      if (!this.dirty || this.disposed || !this.opts.ready()) return;
      this.dirty = false;
      const started = performance.now();
      try {
        const r = await this.opts.apply();
        this.lastApplyAt = new Date();
        this.backoff.reset();
        this.opts.onApplied?.({ ...r, durationMs: performance.now() - started });
      } catch (e) {
        this.dirty = true;
        this.opts.onError?.(e);
        this.schedule(this.backoff.next());
        throw e;
      }
    });
    this.busy = next.catch(() => undefined);
    return next;
  }

  /** Read back and repair drift now (serialised with applies). */
  resyncNow(): Promise<ResyncReport> {
    const next = this.busy.then(async () => {
      if (!this.opts.ready()) return { drift: [], repaired: false };
      // Clean as of the render the resync starts with: changes arriving while the read-back runs
      // mark it dirty again and the flush queued behind us applies them (clearing the flag after
      // the await lost them until some later change: at scale a policy write landing during a
      // resync went unapplied).
      // A resync that starts dirty programs the desired state: it is that apply (the flush
      // queued behind it finds nothing left to do). Reported as one, or an agent whose first
      // apply or retry a periodic resync overtook would stay unready, or failing, for good.
      const wasDirty = this.dirty;
      this.dirty = false;
      const started = performance.now();
      let r: ResyncReport;
      try {
        r = await this.opts.resync();
      } catch (e) {
        this.markDirty();
        throw e;
      }
      if (wasDirty) {
        this.lastApplyAt = new Date();
        this.backoff.reset();
        this.opts.onApplied?.({ operations: r.drift.length, detail: `resync (${r.drift.length} repair${r.drift.length === 1 ? '' : 's'})`, durationMs: performance.now() - started });
      }
      this.opts.onResync?.(r);
      return r;
    });
    this.busy = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  dispose(): void {
    this.disposed = true;
    this.applyTimer?.dispose();
    this.resyncTimer?.dispose();
    this.applyTimer = undefined;
    this.resyncTimer = undefined;
  }
}
