// `tricolor controllers run`: calico-kube-controllers' role on our datastore (node contract §7,
// §2.12). While this process holds the controllers' lease (leader-election.ts) it runs, every
// pass: node cleanup (node-cleanup.ts), IPAM garbage collection (the leak detector of
// src/ipam: an address whose owner is gone is released after it was seen leaked in two passes a
// grace period apart, re-checked just before, all or nothing per handle, guarded by sequence
// numbers — so never the address of a live workload, Calico #5044/#3940), and the `ipam_*`
// metrics. A process that is not the leader does nothing but campaign.
//
// Pass timing follows Calico: a full pass every leakGracePeriod / 2 (15 min → 7.5 min).

import { type IDisposable, type MetricsRegistry, MutableDisposable, TricolorError, interval, quote, timeout } from '../base/index.ts';
import type { DatastoreBackend } from '../datastore/index.ts';
import { IPAMClient, IpamMetricsExporter, LeakDetector } from '../ipam/index.ts';
import { LeaderElector } from './leader-election.ts';
import { NodeCleanup } from './node-cleanup.ts';

export const DEFAULT_LEAK_GRACE_PERIOD_MS = 15 * 60_000;
const KCC_KEY = '/calico/resources/v3/projectcalico.org/kubecontrollersconfigurations/default';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration (`15m`, `1m30s`, `500ms`, `0`) in milliseconds. */
export function parseDurationMs(text: string, field: string): number {
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? 0);
    matched = re.lastIndex;
  }
  if (matched === 0 || matched !== text.length) throw new TricolorError('ERR_VALIDATION', `${field}: ${quote(text)} is not a duration (e.g. 15m, 90s, 500ms)`, { field, value: text });
  return total;
}

/** spec.controllers.node.leakGracePeriod of KubeControllersConfiguration `default`, if set. */
export async function leakGracePeriodFromConfig(backend: DatastoreBackend): Promise<number | undefined> {
  const kv = await backend.get(KCC_KEY);
  if (kv === undefined) return undefined;
  try {
    const o = JSON.parse(kv.value) as { spec?: { controllers?: { node?: { leakGracePeriod?: unknown } } } };
    const v = o.spec?.controllers?.node?.leakGracePeriod;
    return typeof v === 'string' ? parseDurationMs(v, 'KubeControllersConfiguration default: spec.controllers.node.leakGracePeriod') : undefined;
  } catch (e) {
    if (e instanceof TricolorError) throw e;
    return undefined;
  }
}

export interface ControllersOptions {
  readonly backend: DatastoreBackend;
  readonly identity: string;
  /** 0 disables leak GC (Calico). */
  readonly leakGracePeriodMs: number;
  /** Time between passes; default leakGracePeriod / 2 (at least 1 s). */
  readonly intervalMs?: number;
  readonly metrics?: MetricsRegistry;
  readonly leaseDurationMs?: number;
  readonly renewDeadlineMs?: number;
  readonly retryPeriodMs?: number;
  readonly now?: () => number;
  readonly log?: (line: string) => void;
  /** How often the leader refreshes the ipam_* gauges between passes (default 15 s, as kube-controllers keeps them current). */
  readonly metricsRefreshMs?: number;
  /** Called after each completed pass (tests, status). */
  readonly onPass?: (r: ControllersPassResult) => void;
}

export interface ControllersPassResult {
  readonly deletedEndpoints: number;
  readonly deletedAffinities: number;
  readonly gcCandidates: number;
  readonly released: readonly string[];
  readonly releasedBlocks: readonly string[];
}

export class Controllers {
  readonly #o: ControllersOptions;
  readonly #client: IPAMClient;
  readonly #elector: LeaderElector;
  readonly #cleanup: NodeCleanup;
  readonly #exporter: IpamMetricsExporter | undefined;
  readonly #reclaimed: { inc(by?: number): void } | undefined;
  readonly #candidates: { set(v: number): void } | undefined;
  #detector: LeakDetector;
  readonly #timer = new MutableDisposable<IDisposable>();
  /** The leader's ipam_* refresh between passes (a pass every 7.5 min would leave them stale). */
  readonly #metricsTimer = new MutableDisposable<IDisposable>();
  #pass: Promise<unknown> = Promise.resolve();
  #stopped = false;
  /** Completed passes while leading. */
  passes = 0;
  lastPass: ControllersPassResult | undefined;

  constructor(o: ControllersOptions) {
    this.#o = o;
    this.#client = new IPAMClient({ backend: o.backend, ...(o.now !== undefined ? { now: o.now } : {}) });
    this.#cleanup = new NodeCleanup(o.backend, this.#client);
    this.#detector = this.#newDetector();
    if (o.metrics !== undefined) {
      this.#exporter = new IpamMetricsExporter(this.#client, o.metrics);
      this.#candidates = o.metrics.gauge('ipam_allocations_gc_candidates', 'Allocations seen leaked and waiting out the grace period.');
      this.#reclaimed = o.metrics.counter('ipam_allocations_gc_reclamations', 'Leaked allocations released by the garbage collector.');
      o.metrics.gauge('tricolor_controllers_leader', 'Whether this process holds the controllers lease (1) or not (0).', () => (this.#elector.isLeader ? 1 : 0));
    }
    this.#elector = new LeaderElector({
      backend: o.backend,
      identity: o.identity,
      ...(o.leaseDurationMs !== undefined ? { leaseDurationMs: o.leaseDurationMs } : {}),
      ...(o.renewDeadlineMs !== undefined ? { renewDeadlineMs: o.renewDeadlineMs } : {}),
      ...(o.retryPeriodMs !== undefined ? { retryPeriodMs: o.retryPeriodMs } : {}),
      ...(o.now !== undefined ? { now: o.now } : {}),
      onStartedLeading: () => this.#lead(),
      onStoppedLeading: () => this.#follow(),
      ...(o.log !== undefined ? { log: o.log } : {}),
    });
  }

  #newDetector(): LeakDetector {
    return new LeakDetector({ client: this.#client, gracePeriodMs: this.#o.leakGracePeriodMs, ...(this.#o.now !== undefined ? { now: this.#o.now } : {}) });
  }

  get isLeader(): boolean {
    return this.#elector.isLeader;
  }

  get intervalMs(): number {
    return this.#o.intervalMs ?? Math.max(1000, (this.#o.leakGracePeriodMs || DEFAULT_LEAK_GRACE_PERIOD_MS) / 2);
  }

  start(): void {
    this.#elector.start();
  }

  #lead(): void {
    // a new term starts from nothing: leak sightings of an earlier term (or of another
    // leader) are not evidence for this one
    this.#detector = this.#newDetector();
    const exporter = this.#exporter;
    if (exporter !== undefined) {
      this.#metricsTimer.value = interval(() => {
        if (!this.#stopped && this.#elector.isLeader) exporter.refresh().catch((e: unknown) => this.#o.log?.(`controllers: ipam metrics: ${(e as Error).message}`));
      }, this.#o.metricsRefreshMs ?? 15_000);
    }
    const tick = (): void => {
      if (this.#stopped || !this.#elector.isLeader) return;
      this.#pass = this.runPass()
        .catch((e: unknown) => this.#o.log?.(`controllers: pass failed: ${(e as Error).message}`))
        .finally(() => {
          if (!this.#stopped && this.#elector.isLeader) this.#timer.value = timeout(tick, this.intervalMs);
        });
    };
    tick();
  }

  #follow(): void {
    this.#timer.clear();
    this.#metricsTimer.clear();
  }

  /** One pass of every controller (also callable directly, e.g. by the benchmark). */
  async runPass(): Promise<ControllersPassResult> {
    const cleaned = await this.#cleanup.pass();
    const leak = this.#o.leakGracePeriodMs > 0 ? await this.#detector.pass() : { candidates: 0, released: [], releasedBlocks: [] };
    this.#candidates?.set(leak.candidates);
    this.#reclaimed?.inc(leak.released.length);
    await this.#exporter?.refresh();
    const r: ControllersPassResult = {
      deletedEndpoints: cleaned.deletedEndpoints.length,
      deletedAffinities: cleaned.deletedAffinities.length,
      gcCandidates: leak.candidates,
      released: leak.released,
      releasedBlocks: leak.releasedBlocks,
    };
    if (r.deletedEndpoints + r.deletedAffinities + r.released.length + r.releasedBlocks.length > 0) {
      this.#o.log?.(`controllers: removed ${r.deletedEndpoints} endpoint(s) and ${r.deletedAffinities} affinity(ies) of deleted nodes; released ${r.released.length} leaked address(es) [${r.released.join(', ')}] and ${r.releasedBlocks.length} block(s)`);
    }
    this.passes++;
    this.lastPass = r;
    this.#o.onPass?.(r);
    return r;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#follow();
    await this.#pass;
    await this.#elector.stop();
  }
}
