// Pure planning for workload routes (node contract §4.15, local workloads), shared by every
// dataplane: from the local workload endpoints (the calc graph's messages), the /32 (/128)
// routes that must point at each `cali*` interface, and — given what the kernel shows — which
// routes to add and which to remove.

import type { WorkloadEndpointUpdate } from '../calc/index.ts';
import { WORKLOAD_ROUTE_METRIC } from './dataplane.ts';

export interface WorkloadRoute {
  /** `10.0.0.5/32` or `fd00::5/128`. */
  readonly cidr: string;
  readonly ifName: string;
  readonly family: 4 | 6;
}

export interface ObservedRoute {
  /** As normaliseDst gives it: a host route without its /32 (/128). */
  readonly dst: string;
  readonly dev: string;
  readonly family: 4 | 6;
  readonly protocol: string | undefined;
  /** Absent means 0 (how iproute2 prints an IPv4 route without a metric). */
  readonly metric?: number | undefined;
}

export interface RoutePlan {
  readonly add: readonly WorkloadRoute[];
  readonly remove: readonly ObservedRoute[];
  /** Routes to the right interface with another metric: removed once ours is added. */
  readonly replace: readonly ObservedRoute[];
  /** Desired routes whose interface does not exist (yet): retried later. */
  readonly waiting: readonly WorkloadRoute[];
  /** Unexpected routes to workload interfaces still inside their grace period. */
  readonly deferred: readonly ObservedRoute[];
}

function hostDst(cidr: string): string {
  if (cidr.endsWith('/32') && !cidr.includes(':')) return cidr.slice(0, -3);
  if (cidr.endsWith('/128') && cidr.includes(':')) return cidr.slice(0, -4);
  return cidr;
}

/** A host route per address of every local workload endpoint that names its interface. */
export function desiredRoutes(workloads: Iterable<WorkloadEndpointUpdate>): Map<string, WorkloadRoute> {
  const out = new Map<string, WorkloadRoute>();
  for (const w of workloads) {
    if (w.interfaceName === undefined || w.interfaceName === '') continue;
    for (const net of w.ipv4Nets) out.set(hostDst(net), { cidr: net.includes('/') ? net : `${net}/32`, ifName: w.interfaceName, family: 4 });
    for (const net of w.ipv6Nets) out.set(hostDst(net), { cidr: net.includes('/') ? net : `${net}/128`, ifName: w.interfaceName, family: 6 });
  }
  return out;
}

export function routeKey(r: { readonly dst: string; readonly dev: string }): string {
  return `${r.dst} dev ${r.dev}`;
}

/**
 * Compare. A route to a workload interface that we do not want is removed at once when it was
 * ours (in `previouslyDesired`: its endpoint was deleted or moved) and otherwise only once it has
 * been unexpected for the grace period: the CNI plugin adds a pod's route a moment before it
 * writes the endpoint, and deleting that route in between would only make it flap.
 */
export function planRoutes(input: {
  readonly desired: ReadonlyMap<string, WorkloadRoute>;
  readonly observed: readonly ObservedRoute[];
  readonly links: ReadonlySet<string>;
  readonly interfacePrefixes: readonly string[];
  readonly previouslyDesired: ReadonlySet<string>;
  /** routeKey → when it was first seen unexpected (ms). */
  readonly unexpectedSince: ReadonlyMap<string, number>;
  readonly nowMs: number;
  readonly graceMs: number;
}): RoutePlan {
  const isWorkloadIf = (dev: string): boolean => input.interfacePrefixes.some((p) => dev.startsWith(p));
  const present = new Set<string>();
  const remove: ObservedRoute[] = [];
  const replace: ObservedRoute[] = [];
  const deferred: ObservedRoute[] = [];
  for (const r of input.observed) {
    if (!isWorkloadIf(r.dev) || r.protocol === 'kernel') continue;
    const want = input.desired.get(r.dst);
    if (want !== undefined && want.ifName === r.dev) {
      if ((r.metric ?? 0) === WORKLOAD_ROUTE_METRIC) present.add(r.dst);
      else replace.push(r);
      continue;
    }
    const key = routeKey(r);
    const since = input.unexpectedSince.get(key) ?? input.nowMs;
    if (input.previouslyDesired.has(key) || want !== undefined || input.nowMs - since >= input.graceMs) remove.push(r);
    else deferred.push(r);
  }
  const add: WorkloadRoute[] = [];
  const waiting: WorkloadRoute[] = [];
  for (const [dst, r] of input.desired) {
    if (present.has(dst)) continue;
    if (input.links.has(r.ifName)) add.push(r);
    else waiting.push(r);
  }
  return { add, remove, replace, waiting, deferred };
}
