// The nftables dataplane (node contract §4.4): calc messages update the desired state cheaply;
// the shared ApplyLoop coalesces changes into one apply at a time, retries failures with back-off
// and runs the periodic read-back; an apply re-renders what the state's journal says changed and
// programs the minimal delta in one `nft` transaction. Disposing stops timers only — nothing is
// flushed on exit.

import type { CalcMessage } from '../../../calc/index.ts';
import { ApplyLoop } from '../../apply-loop.ts';
import type { Dataplane, DataplaneCounters, DataplaneOptions, DataplaneStatus, ResyncReport } from '../../dataplane.ts';
import { DataplaneState } from '../../dataplane-state.ts';
import type { DataplaneConfig } from '../../dataplane-state.ts';
import { RulesetRenderer, rulesetSize } from '../nft-renderer.ts';
import type { Ruleset } from '../nft-renderer.ts';
import { NftDriver } from './nft-driver.ts';
import type { NftDriverOptions } from './nft-driver.ts';

export interface NftDataplaneOptions extends DataplaneOptions, NftDriverOptions {}

export class NftDataplane implements Dataplane {
  readonly kind = 'nft' as const;
  readonly state: DataplaneState;
  readonly driver: NftDriver;
  private readonly loop: ApplyLoop;
  /** Re-renders only what the state's journal says changed (docs/design/dataplane.md). */
  private readonly renderer = new RulesetRenderer();

  constructor(opts: NftDataplaneOptions = {}) {
    this.state = new DataplaneState(opts.config);
    this.driver = new NftDriver(opts);
    const waitForInSync = opts.waitForInSync ?? true;
    this.loop = new ApplyLoop({
      ready: () => !waitForInSync || this.state.inSync,
      apply: async () => {
        const desired = this.desired();
        const r = await this.driver.apply(desired, this.renderer.takeChanges());
        return { operations: r.commandCount, detail: `${r.commandCount} nft commands` };
      },
      resync: async () => {
        const desired = this.desired();
        return this.driver.resync(desired, this.renderer.takeChanges().to);
      },
      ...(opts.resyncIntervalMs === undefined ? {} : { resyncIntervalMs: opts.resyncIntervalMs }),
      ...(opts.retryMinMs === undefined ? {} : { retryMinMs: opts.retryMinMs }),
      ...(opts.retryMaxMs === undefined ? {} : { retryMaxMs: opts.retryMaxMs }),
      ...(opts.onApplied === undefined ? {} : { onApplied: opts.onApplied }),
      ...(opts.onError === undefined ? {} : { onError: opts.onError }),
      ...(opts.onResync === undefined ? {} : { onResync: opts.onResync }),
    });
  }

  /** Start the periodic resync; applies are scheduled by messages. */
  start(): void {
    this.loop.start();
  }

  onMessages(msgs: Iterable<CalcMessage>): void {
    // routing messages are kept (state.routing) but change no rule: no apply for them alone
    if (this.state.applyAll(msgs)) this.loop.markDirty();
  }

  setConfig(config: DataplaneConfig): void {
    this.state.setConfig(config);
    this.loop.markDirty();
  }

  /** The ruleset for the current state (owned by the renderer: updated in place by later calls). */
  desired(): Ruleset {
    this.renderer.update(this.state);
    return this.renderer.ruleset;
  }

  flush(): Promise<void> {
    return this.loop.flush();
  }

  resyncNow(): Promise<ResyncReport> {
    return this.loop.resyncNow();
  }

  get lastApplyAt(): Date | undefined {
    return this.loop.lastApplyAt;
  }

  status(): DataplaneStatus {
    const st = this.state;
    return {
      kind: this.kind,
      inSync: st.inSync,
      lastApplyAt: this.loop.lastApplyAt,
      workloadEndpoints: st.workloads.size,
      hostEndpoints: st.hosts.size,
      policies: st.policies.size,
      profiles: st.profiles.size,
      ipSets: st.ipsets.size,
      programmed: rulesetSize(this.renderer.ruleset),
    };
  }

  counters(): DataplaneCounters {
    const s = this.driver.stats;
    return { applies: s.applies, failures: s.failures, repairs: s.repairs };
  }

  /** Stop timers and remove temp files. The programmed table stays as it is. */
  dispose(): void {
    this.loop.dispose();
    this.driver.dispose();
  }
}
