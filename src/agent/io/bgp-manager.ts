// Runs BIRD for the node agent (node contract §5): takes the rendered configuration (or
// "no BIRD"), debounces bursts of datastore churn into one reload, starts/reloads/stops BIRD
// through the BirdSupervisor (which restarts it when it dies), and polls its BGP sessions for
// the status file. BIRD runs in the agent's own network namespace, with its files in the run dir.

import { MutableDisposable, RunOnceScheduler, timeout } from '../../base/index.ts';
import { BirdSupervisor } from '../../bgp/index.ts';
import type { BGPPeerStatus, BirdEvent } from '../../bgp/index.ts';

export interface BGPManagerOptions {
  readonly runDir: string;
  readonly birdPath?: string;
  /** Quiet time before a changed configuration is applied (default 200 ms). */
  readonly debounceMs?: number;
  /** How often BGP sessions are read for the status file (default 2 s). */
  readonly pollMs?: number;
  readonly log: (msg: string) => void;
  readonly onError: (msg: string) => void;
  /** Sessions or running state changed. */
  readonly onChange: () => void;
}

export interface BGPState {
  readonly running: boolean;
  readonly pid: number | undefined;
  readonly restarts: number;
  /** Why BIRD runs or not. */
  readonly reason: string;
  readonly peers: readonly BGPPeerStatus[] | undefined;
}

export class BGPManager {
  private readonly opts: BGPManagerOptions;
  private supervisor: BirdSupervisor | undefined;
  private desired: string | undefined;
  /** What BIRD last successfully got (undefined: stopped / never started; null: failed). */
  private applied: string | undefined | null;
  private reason = 'not decided yet';
  /** The quiet time before a changed configuration is applied: every change restarts it. */
  private readonly debounce: RunOnceScheduler;
  private readonly pollTimer = new MutableDisposable();
  private chain: Promise<void> = Promise.resolve();
  private peers: BGPPeerStatus[] | undefined;
  private lastPeersJSON = '';
  private restartsBefore = 0;
  private stopped = false;

  constructor(opts: BGPManagerOptions) {
    this.opts = opts;
    this.debounce = new RunOnceScheduler(() => void this.enqueue(() => this.applyNow()), { delayMs: opts.debounceMs ?? 200 });
  }

  /** The configuration BIRD should run (undefined: no BIRD), applied after the debounce. */
  setDesired(text: string | undefined, reason: string): void {
    if (this.stopped) return;
    const changedReason = reason !== this.reason;
    this.reason = reason;
    if (changedReason) this.opts.onChange();
    if (text === this.desired && (text === this.applied || this.debounce.pending)) return;
    this.desired = text;
    this.debounce.reschedule();
  }

  private enqueue(fn: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(fn).catch((e: unknown) => this.opts.onError(`BGP: ${(e as Error).message}`));
    return this.chain;
  }

  private async applyNow(): Promise<void> {
    if (this.stopped) return;
    const text = this.desired;
    this.applied = null;
    if (text === undefined) {
      if (this.supervisor !== undefined) {
        const s = this.supervisor;
        this.supervisor = undefined;
        await s.stop();
        this.opts.log('BIRD stopped (BGP not needed on this node)');
        this.setPeers(undefined);
      }
      this.applied = undefined;
      return;
    }
    this.supervisor ??= new BirdSupervisor({
      runDir: this.opts.runDir,
      ...(this.opts.birdPath === undefined ? {} : { birdPath: this.opts.birdPath }),
      onEvent: (e) => this.onEvent(e),
    });
    const what = await this.supervisor.apply(text);
    this.applied = text;
    if (what !== 'unchanged') this.opts.log(`BIRD ${what} (${this.supervisor.configPath})`);
    this.schedulePoll(0);
  }

  private onEvent(e: BirdEvent): void {
    switch (e.kind) {
      case 'log':
        this.opts.log(`bird: ${e.line}`);
        return;
      case 'exited':
        if (!this.stopped && this.supervisor !== undefined) this.opts.onError(`BIRD (pid ${e.pid}) exited (${e.code ?? e.signal ?? '?'}); restarting it`);
        this.setPeers(undefined);
        return;
      case 'started':
        this.opts.log(`BIRD started (pid ${e.pid})`);
        this.opts.onChange();
        this.schedulePoll(500);
        return;
      default:
        return;
    }
  }

  private schedulePoll(delayMs: number): void {
    if (this.stopped) return;
    this.pollTimer.value = timeout(() => void this.poll(), delayMs, { unref: true });
  }

  private async poll(): Promise<void> {
    const s = this.supervisor;
    if (s === undefined || this.stopped) return;
    try {
      this.setPeers(s.pid === undefined ? undefined : await s.showPeers(2000));
    } catch {
      this.setPeers(undefined); // not up (yet): the next poll tries again
    }
    this.schedulePoll(this.opts.pollMs ?? 2000);
  }

  private setPeers(p: BGPPeerStatus[] | undefined): void {
    const j = JSON.stringify(p ?? null);
    if (j === this.lastPeersJSON && this.supervisor?.restarts === this.restartsBefore) return;
    this.lastPeersJSON = j;
    this.restartsBefore = this.supervisor?.restarts ?? 0;
    this.peers = p;
    this.opts.onChange();
  }

  get state(): BGPState {
    const s = this.supervisor;
    return { running: s?.pid !== undefined, pid: s?.pid, restarts: s?.restarts ?? 0, reason: this.reason, peers: this.peers };
  }

  get socketPath(): string | undefined {
    return this.supervisor?.socketPath;
  }

  /**
   * Stop BIRD (the kernel keeps its routes: the kernel protocol is `persist`), or with
   * `leaveRunning` stop supervising it and leave it running for the next agent to adopt.
   * Resolves to the pid of a BIRD left running.
   */
  async stop(opts: { readonly leaveRunning?: boolean } = {}): Promise<number | undefined> {
    this.stopped = true;
    this.debounce.dispose();
    this.pollTimer.dispose();
    await this.chain;
    const s = this.supervisor;
    this.supervisor = undefined;
    if (s === undefined) return undefined;
    if (opts.leaveRunning === true) return s.release();
    await s.stop();
    return undefined;
  }
}
