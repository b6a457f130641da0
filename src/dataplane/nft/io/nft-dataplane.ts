// The nftables dataplane (node contract §4.4): calc messages update the desired state cheaply;
// the shared ApplyLoop (through LoopDataplane) coalesces changes into one apply at a time,
// retries failures with back-off and runs the periodic read-back; an apply re-renders what the state's journal says changed and
// programs the minimal delta in one `nft` transaction. Disposing stops timers only — nothing is
// flushed on exit.

import type { ApplyStep } from '../../apply-loop.ts';
import type { DataplaneCounters, DataplaneOptions, ResyncReport } from '../../dataplane.ts';
import { LoopDataplane, type DataplaneStatusDetail } from '../../loop-dataplane.ts';
import { RulesetRenderer, rulesetSize } from '../nft-renderer.ts';
import type { Ruleset } from '../nft-renderer.ts';
import { NftDriver } from './nft-driver.ts';
import type { NftDriverOptions } from './nft-driver.ts';

export interface NftDataplaneOptions extends DataplaneOptions, NftDriverOptions {}

export class NftDataplane extends LoopDataplane {
  readonly kind = 'nft' as const;
  readonly driver: NftDriver;
  /** Re-renders only what the state's journal says changed (docs/design/dataplane.md). */
  private readonly renderer = new RulesetRenderer();

  constructor(opts: NftDataplaneOptions = {}) {
    super(opts);
    this.driver = new NftDriver(opts);
  }

  protected async applyStep(): Promise<ApplyStep> {
    const desired = this.desired();
    const r = await this.driver.apply(desired, this.renderer.takeChanges());
    return { operations: r.commandCount, detail: `${r.commandCount} nft commands` };
  }

  protected resyncStep(): Promise<ResyncReport> {
    const desired = this.desired();
    return this.driver.resync(desired, this.renderer.takeChanges().to);
  }

  /** The ruleset for the current state (owned by the renderer: updated in place by later calls). */
  desired(): Ruleset {
    this.renderer.update(this.state);
    return this.renderer.ruleset;
  }

  protected statusDetail(): DataplaneStatusDetail {
    return { programmed: rulesetSize(this.renderer.ruleset) };
  }

  counters(): DataplaneCounters {
    const s = this.driver.stats;
    return { applies: s.applies, failures: s.failures, repairs: s.repairs };
  }

  /** Stop timers and remove temp files. The programmed table stays as it is. */
  override dispose(): void {
    super.dispose();
    this.driver.dispose();
  }
}
