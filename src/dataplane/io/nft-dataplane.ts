// The nftables apply loop (node contract §4.4): calc messages update the desired state cheaply
// and mark it dirty; one coalesced apply at a time renders and programs the delta; a failed apply
// keeps the state dirty and is retried with exponential backoff; a periodic resync reads the table
// back and repairs drift. Disposing stops timers only — nothing is flushed on exit.

import type { CalcMessage } from '../../calc/index.ts';
import { DataplaneState } from '../dataplane-state.ts';
import type { DataplaneConfig } from '../dataplane-state.ts';
import { RulesetRenderer } from '../nft-renderer.ts';
import type { Ruleset } from '../nft-renderer.ts';
import { NftDriver } from './nft-driver.ts';
import type { ApplyResult, NftDriverOptions, ResyncResult } from './nft-driver.ts';

export interface NftDataplaneOptions extends NftDriverOptions {
  readonly config?: DataplaneConfig;
  /** Periodic read-back and repair; 0 disables (default 90 s, Felix's nftablesRefreshInterval). */
  readonly resyncIntervalMs?: number;
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  /** Do not program anything before the calc graph's InSync (default true), as Felix. */
  readonly waitForInSync?: boolean;
  readonly onApplied?: (r: ApplyResult & { readonly durationMs: number }) => void;
  readonly onError?: (e: unknown) => void;
  readonly onResync?: (r: ResyncResult) => void;
}

export class NftDataplane {
  readonly state: DataplaneState;
  readonly driver: NftDriver;
  private readonly opts: NftDataplaneOptions;
  private dirty = false;
  private busy: Promise<void> = Promise.resolve();
  private applyTimer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private retryMs: number;
  private disposed = false;
  /** Re-renders only what the state's journal says changed (docs/design/dataplane.md). */
  private readonly renderer = new RulesetRenderer();
  lastApplyAt: Date | undefined;

  constructor(opts: NftDataplaneOptions = {}) {
    this.opts = opts;
    this.state = new DataplaneState(opts.config);
    this.driver = new NftDriver(opts);
    this.retryMs = opts.retryMinMs ?? 50;
  }

  /** Start the periodic resync; applies are scheduled by messages. */
  start(): void {
    const every = this.opts.resyncIntervalMs ?? 90_000;
    if (every > 0) {
      this.resyncTimer = setInterval(() => {
        this.resyncNow().catch((e: unknown) => this.opts.onError?.(e));
      }, every);
      this.resyncTimer.unref();
    }
  }

  onMessages(msgs: Iterable<CalcMessage>): void {
    this.state.applyAll(msgs);
    this.markDirty();
  }

  setConfig(config: DataplaneConfig): void {
    this.state.setConfig(config);
    this.markDirty();
  }

  private markDirty(): void {
    this.dirty = true;
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.disposed || this.applyTimer !== undefined) return;
    this.applyTimer = setTimeout(() => {
      this.applyTimer = undefined;
      this.flush().catch(() => undefined); // reported through onError; retried by flush itself
    }, delayMs);
  }

  /** The ruleset for the current state (owned by the renderer: updated in place by later calls). */
  desired(): Ruleset {
    this.renderer.update(this.state);
    return this.renderer.ruleset;
  }

  /** Apply now if dirty; resolves after the attempt, rejects with the apply error. */
  flush(): Promise<void> {
    const next = this.busy.then(async () => {
      if (!this.dirty || this.disposed) return;
      if ((this.opts.waitForInSync ?? true) && !this.state.inSync) return;
      this.dirty = false;
      const started = performance.now();
      try {
        const desired = this.desired();
        const r = await this.driver.apply(desired, this.renderer.takeChanges());
        this.lastApplyAt = new Date();
        this.retryMs = this.opts.retryMinMs ?? 50;
        this.opts.onApplied?.({ ...r, durationMs: performance.now() - started });
      } catch (e) {
        this.dirty = true;
        this.opts.onError?.(e);
        this.schedule(this.retryMs);
        this.retryMs = Math.min(this.retryMs * 2, this.opts.retryMaxMs ?? 10_000);
        throw e;
      }
    });
    this.busy = next.catch(() => undefined);
    return next;
  }

  /** Read back and repair drift now (serialised with applies). */
  resyncNow(): Promise<ResyncResult> {
    const next = this.busy.then(async () => {
      if ((this.opts.waitForInSync ?? true) && !this.state.inSync) return { drift: [], repaired: false };
      // Clean as of this render: changes arriving while the read-back runs mark it dirty again and
      // the flush queued behind us applies them (clearing the flag after the await lost them
      // until some later change: at scale a policy write landing during a resync went unapplied).
      this.dirty = false;
      const desired = this.desired();
      let r: ResyncResult;
      try {
        r = await this.driver.resync(desired, this.renderer.takeChanges().to);
      } catch (e) {
        this.markDirty();
        throw e;
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

  /** Stop timers and remove temp files. The programmed table stays as it is. */
  dispose(): void {
    this.disposed = true;
    if (this.applyTimer !== undefined) clearTimeout(this.applyTimer);
    if (this.resyncTimer !== undefined) clearInterval(this.resyncTimer);
    this.driver.dispose();
  }
}
