// Programs the routes and interface sysctls of local workloads (node contract §4.14, §4.15) in the
// network namespace this process runs in: the CNI plugin adds each pod's /32 route itself; we
// repair it when it is missing and remove the routes of deleted endpoints. One reconcile runs at
// a time; a request during one runs another right after.

import { RerunningTask } from '../../base/index.ts';
import type { WorkloadEndpointUpdate } from '../../calc/index.ts';
import { addHostRoute, deleteRoute, hostVethSysctls, normaliseDst, showLinks, showRoutes, writeSysctls } from '../../dataplane/io/index.ts';
import { WORKLOAD_ROUTE_METRIC, desiredRoutes, planRoutes, routeKey } from '../../dataplane/index.ts';
import type { ObservedRoute, WorkloadRoute } from '../../dataplane/index.ts';

export interface RouteReconcileResult {
  readonly added: number;
  readonly removed: number;
  readonly waiting: number;
  readonly errors: readonly string[];
}

export interface RouteManagerOptions {
  /** Grace before removing an unexpected route to a workload interface (default 10 s). */
  readonly graceMs?: number;
  readonly log?: (msg: string) => void;
}

export class RouteManager {
  private desired = new Map<string, WorkloadRoute>();
  private previouslyDesired = new Set<string>();
  private prefixes: readonly string[] = ['cali'];
  private readonly unexpectedSince = new Map<string, number>();
  /** interface name → ifindex its sysctls were written for (a recreated veth gets them again). */
  private readonly configured = new Map<string, number>();
  private readonly pass = new RerunningTask(() => this.reconcileOnce());
  private readonly opts: RouteManagerOptions;
  /** Routes we hold programmed (desired and present at the last reconcile). */
  programmed = 0;

  constructor(opts: RouteManagerOptions = {}) {
    this.opts = opts;
  }

  setDesired(workloads: Iterable<WorkloadEndpointUpdate>, interfacePrefixes: readonly string[]): void {
    for (const r of this.desired.values()) this.previouslyDesired.add(routeKey({ dst: normaliseDst(r.cidr), dev: r.ifName }));
    this.desired = desiredRoutes(workloads);
    this.prefixes = interfacePrefixes;
    for (const r of this.desired.values()) this.previouslyDesired.delete(routeKey({ dst: normaliseDst(r.cidr), dev: r.ifName }));
  }

  get desiredCount(): number {
    return this.desired.size;
  }

  /** Reconcile now (or right after the one in progress). */
  reconcile(): Promise<RouteReconcileResult> {
    return this.pass.run();
  }

  private async reconcileOnce(): Promise<RouteReconcileResult> {
    const errors: string[] = [];
    const links = await showLinks();
    const linkNames = new Set(links.map((l) => l.name));
    const wantIfs = new Map<string, { ipv4: boolean; ipv6: boolean }>();
    for (const r of this.desired.values()) {
      const f = wantIfs.get(r.ifName) ?? { ipv4: false, ipv6: false };
      if (r.family === 4) f.ipv4 = true;
      else f.ipv6 = true;
      wantIfs.set(r.ifName, f);
    }
    for (const l of links) {
      const fam = wantIfs.get(l.name);
      if (fam === undefined || this.configured.get(l.name) === l.index) continue;
      try {
        await writeSysctls(hostVethSysctls(l.name, fam));
        this.configured.set(l.name, l.index);
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    for (const name of this.configured.keys()) if (!linkNames.has(name)) this.configured.delete(name);

    const observed: ObservedRoute[] = [];
    for (const family of [4, 6] as const) {
      for (const r of await showRoutes(family)) {
        if (r.dev === undefined || r.gateway !== undefined) continue;
        observed.push({ dst: normaliseDst(r.dst), dev: r.dev, family, protocol: r.protocol, metric: r.metric });
      }
    }
    const now = performance.now();
    const plan = planRoutes({
      desired: this.desired,
      observed,
      links: linkNames,
      interfacePrefixes: this.prefixes,
      previouslyDesired: this.previouslyDesired,
      unexpectedSince: this.unexpectedSince,
      nowMs: now,
      graceMs: this.opts.graceMs ?? 10_000,
    });
    const stillUnexpected = new Set<string>();
    for (const r of plan.deferred) {
      const k = routeKey(r);
      stillUnexpected.add(k);
      if (!this.unexpectedSince.has(k)) this.unexpectedSince.set(k, now);
    }
    for (const k of this.unexpectedSince.keys()) if (!stillUnexpected.has(k)) this.unexpectedSince.delete(k);
    let removed = 0;
    for (const r of plan.remove) {
      try {
        const dst = r.dst.includes('/') ? r.dst : `${r.dst}/${r.family === 4 ? 32 : 128}`;
        if (await deleteRoute(dst, { dev: r.dev })) removed++;
        this.previouslyDesired.delete(routeKey(r));
        this.opts.log?.(`removed route ${dst} dev ${r.dev} (no local endpoint owns it)`);
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    // routes of deleted endpoints whose interface is gone went with it
    for (const k of [...this.previouslyDesired]) if (!observed.some((o) => routeKey(o) === k)) this.previouslyDesired.delete(k);
    let added = 0;
    const ours = new Set(observed.filter((o) => (o.metric ?? 0) === WORKLOAD_ROUTE_METRIC).map(routeKey));
    for (const r of plan.add) {
      try {
        await addHostRoute(r.cidr, r.ifName, { metric: WORKLOAD_ROUTE_METRIC });
        ours.add(routeKey({ dst: normaliseDst(r.cidr), dev: r.ifName }));
        added++;
        this.opts.log?.(`added route ${r.cidr} dev ${r.ifName} metric ${WORKLOAD_ROUTE_METRIC}`);
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    // the CNI plugin's route (metric 0) goes only once ours is in, so the pod is never unrouted
    for (const r of plan.replace) {
      if (!ours.has(routeKey(r))) continue;
      try {
        const dst = r.dst.includes('/') ? r.dst : `${r.dst}/${r.family === 4 ? 32 : 128}`;
        await deleteRoute(dst, { dev: r.dev, metric: r.metric ?? 0 });
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    this.programmed = this.desired.size - plan.waiting.length - (plan.add.length - added);
    return { added, removed, waiting: plan.waiting.length, errors };
  }
}
