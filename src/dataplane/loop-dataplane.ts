// What every loop-driven dataplane shares (docs/design/seams.md): the desired state
// (DataplaneState) that calc messages and config update cheaply, the ApplyLoop that programs it
// (coalesced, gated on InSync, retried with back-off, resync serialised with applies), and the
// Dataplane methods that only delegate to those two. A dataplane extends LoopDataplane and
// supplies its apply and resync steps, its counters and what its status adds to the counts.

import type { CalcMessage } from '../calc/index.ts';
import { ApplyLoop, type ApplyLoopOptions, type ApplyStep } from './apply-loop.ts';
import type { Dataplane, DataplaneCounters, DataplaneKind, DataplaneOptions, DataplaneStatus, ResyncReport } from './dataplane.ts';
import { DataplaneState, type DataplaneConfig } from './dataplane-state.ts';

/** What a dataplane's status may add to the counts every dataplane reports. */
export type DataplaneStatusDetail = Partial<Pick<DataplaneStatus, 'programmed' | 'problem' | 'maps'>>;

export abstract class LoopDataplane implements Dataplane {
  abstract readonly kind: DataplaneKind;
  readonly state: DataplaneState;
  protected readonly loop: ApplyLoop;

  protected constructor(opts: DataplaneOptions) {
    this.state = new DataplaneState(opts.config);
    const waitForInSync = opts.waitForInSync ?? true;
    const tuning: Partial<ApplyLoopOptions> = {
      ...(opts.resyncIntervalMs === undefined ? {} : { resyncIntervalMs: opts.resyncIntervalMs }),
      ...(opts.retryMinMs === undefined ? {} : { retryMinMs: opts.retryMinMs }),
      ...(opts.retryMaxMs === undefined ? {} : { retryMaxMs: opts.retryMaxMs }),
      ...(opts.onApplied === undefined ? {} : { onApplied: opts.onApplied }),
      ...(opts.onError === undefined ? {} : { onError: opts.onError }),
      ...(opts.onResync === undefined ? {} : { onResync: opts.onResync }),
    };
    this.loop = new ApplyLoop({
      ...tuning,
      ready: () => !waitForInSync || this.state.inSync,
      apply: () => this.applyStep(),
      resync: () => this.resyncStep(),
    });
  }

  /** Render and program the current desired state (ApplyLoopOptions.apply). */
  protected abstract applyStep(): Promise<ApplyStep>;
  /** Read back and repair; renders before its first await (ApplyLoopOptions.resync). */
  protected abstract resyncStep(): Promise<ResyncReport>;
  /** What this dataplane's status adds: the programmed size, map fill, a problem. */
  protected abstract statusDetail(): DataplaneStatusDetail;
  abstract counters(): DataplaneCounters;

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
      ...this.statusDetail(),
    };
  }

  /** Stop the loop's timers; what is programmed stays in force. */
  dispose(): void {
    this.loop.dispose();
  }
}
