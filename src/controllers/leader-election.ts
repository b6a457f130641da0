// Leader election over the datastore, so that two `tricolor controllers run` never race (one
// GC releasing what the other just validated). A lease is one key holding the fields of a
// Kubernetes coordination.k8s.io Lease spec (holderIdentity, leaseDurationSeconds, acquireTime,
// renewTime, leaseTransitions); every change is a compare-and-swap on the key's revision, so two
// candidates can never both win a round.
//
// Clocks: a candidate never trusts another process's clock. It takes over only when the lease
// it last observed has not changed (same revision) for a whole lease duration on its own clock,
// as client-go's leader election does. A leader that cannot renew within `renewDeadlineMs` of
// its last successful renewal steps down before the others may take over (renew deadline <
// lease duration), so there is never a moment with two leaders acting.

import { MutableDisposable, timeout, type IDisposable } from '../base/index.ts';
import type { DatastoreBackend, KeyValue } from '../datastore/index.ts';

/** Where the controllers' lease lives (outside Calico's key space: Calico keeps it in Kubernetes). */
export const CONTROLLERS_LEASE_KEY = '/tricolor/leases/kube-controllers';

export interface LeaseRecord {
  readonly holderIdentity: string;
  readonly leaseDurationSeconds: number;
  readonly acquireTime: string;
  readonly renewTime: string;
  readonly leaseTransitions: number;
}

export interface LeaderElectorOptions {
  readonly backend: DatastoreBackend;
  readonly identity: string;
  readonly key?: string;
  /** client-go defaults: 15 s, 10 s, 2 s. */
  readonly leaseDurationMs?: number;
  readonly renewDeadlineMs?: number;
  readonly retryPeriodMs?: number;
  readonly now?: () => number;
  readonly onStartedLeading: () => void;
  readonly onStoppedLeading: () => void;
  readonly log?: (line: string) => void;
}

function parseLease(v: string): LeaseRecord | undefined {
  try {
    const o = JSON.parse(v) as Partial<LeaseRecord>;
    if (typeof o.holderIdentity !== 'string' || typeof o.leaseDurationSeconds !== 'number') return undefined;
    return { holderIdentity: o.holderIdentity, leaseDurationSeconds: o.leaseDurationSeconds, acquireTime: String(o.acquireTime ?? ''), renewTime: String(o.renewTime ?? ''), leaseTransitions: Number(o.leaseTransitions ?? 0) };
  } catch {
    return undefined;
  }
}

export class LeaderElector {
  readonly #o: Required<Omit<LeaderElectorOptions, 'log'>> & { log: (line: string) => void };
  readonly #timer = new MutableDisposable<IDisposable>();
  #stopped = false;
  #leading = false;
  /** Revision of the lease as last observed, and when (our clock) it was first seen at that revision. */
  #observed: { revision: number; atMs: number } | undefined;
  #lastRenewMs = 0;
  #running: Promise<void> = Promise.resolve();

  constructor(opts: LeaderElectorOptions) {
    this.#o = {
      key: CONTROLLERS_LEASE_KEY,
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      now: Date.now,
      log: () => undefined,
      ...opts,
    };
  }

  get isLeader(): boolean {
    return this.#leading;
  }

  start(): void {
    const tick = (): void => {
      if (this.#stopped) return;
      this.#running = this.#round()
        .catch((e: unknown) => this.#o.log(`leader election: ${(e as Error).message}`))
        .finally(() => {
          if (!this.#stopped) this.#timer.value = timeout(tick, this.#o.retryPeriodMs);
        });
    };
    tick();
  }

  #setLeading(v: boolean): void {
    if (v === this.#leading) return;
    this.#leading = v;
    this.#o.log(v ? `leader election: ${this.#o.identity} is now the leader` : `leader election: ${this.#o.identity} stopped leading`);
    if (v) this.#o.onStartedLeading();
    else this.#o.onStoppedLeading();
  }

  async #round(): Promise<void> {
    const now = this.#o.now();
    // a leader that has not renewed in time steps down before anyone may take over
    if (this.#leading && now - this.#lastRenewMs > this.#o.renewDeadlineMs) this.#setLeading(false);
    let kv: KeyValue | undefined;
    try {
      kv = await this.#o.backend.get(this.#o.key);
    } catch (e) {
      if (this.#leading && this.#o.now() - this.#lastRenewMs > this.#o.renewDeadlineMs) this.#setLeading(false);
      throw e;
    }
    const cur = kv === undefined ? undefined : parseLease(kv.value);
    if (kv !== undefined && (this.#observed === undefined || this.#observed.revision !== kv.modRevision)) this.#observed = { revision: kv.modRevision, atMs: now };
    const mine = cur?.holderIdentity === this.#o.identity;
    const expired = kv === undefined || cur === undefined || cur.holderIdentity === '' || (this.#observed !== undefined && now - this.#observed.atMs >= cur.leaseDurationSeconds * 1000);
    if (!mine && !expired) {
      this.#setLeading(false);
      return;
    }
    const iso = new Date(now).toISOString();
    const next: LeaseRecord = {
      holderIdentity: this.#o.identity,
      leaseDurationSeconds: Math.ceil(this.#o.leaseDurationMs / 1000),
      acquireTime: mine && cur !== undefined ? cur.acquireTime : iso,
      renewTime: iso,
      leaseTransitions: (cur?.leaseTransitions ?? 0) + (mine ? 0 : 1),
    };
    const r = await this.#o.backend.txn([{ key: this.#o.key, modRevision: kv?.modRevision ?? 0 }], [{ op: 'put', key: this.#o.key, value: JSON.stringify(next) }]);
    if (r.succeeded) {
      this.#lastRenewMs = now;
      this.#observed = { revision: r.revision, atMs: now };
      this.#setLeading(true);
    } else {
      this.#setLeading(false);
    }
  }

  /** Stop campaigning; a leader gives the lease up (empty holder) so another takes over at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer.dispose();
    await this.#running;
    if (this.#leading) {
      const kv = await this.#o.backend.get(this.#o.key).catch(() => undefined);
      const cur = kv === undefined ? undefined : parseLease(kv.value);
      if (kv !== undefined && cur?.holderIdentity === this.#o.identity) {
        await this.#o.backend.txn([{ key: this.#o.key, modRevision: kv.modRevision }], [{ op: 'put', key: this.#o.key, value: JSON.stringify({ ...cur, holderIdentity: '' }) }]).catch(() => undefined);
      }
      this.#setLeading(false);
    }
  }
}
