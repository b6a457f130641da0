// The flow record: what one node agent saw of one aggregated connection key in one window, and
// what the aggregator stores and serves. A superset of Goldmane's Flow (FlowKey + statistics,
// observability contract §1.5): the same key parts, the enforced and pending policy traces, plus
// the IPs Whisker users ask for (as a bounded list beside the key, never part of it). Every
// dataplane (nftables today, eBPF later) produces this same record.

export const FLOW_ACTIONS = ['allow', 'deny', 'pass'] as const;
export type FlowAction = (typeof FLOW_ACTIONS)[number];

export const REPORTERS = ['src', 'dst'] as const;
export type Reporter = (typeof REPORTERS)[number];

/** wep = WorkloadEndpoint, hep = HostEndpoint, ns = (Global)NetworkSet, net = anything else. */
export const ENDPOINT_TYPES = ['wep', 'hep', 'ns', 'net'] as const;
export type EndpointType = (typeof ENDPOINT_TYPES)[number];

/** Policy kinds as they appear in a trace (Calico's kind names plus profiles and end of tier). */
export const HIT_KINDS = [
  'NetworkPolicy',
  'GlobalNetworkPolicy',
  'StagedNetworkPolicy',
  'StagedGlobalNetworkPolicy',
  'StagedKubernetesNetworkPolicy',
  'KubernetesNetworkPolicy',
  'KubernetesClusterNetworkPolicy',
  'Profile',
  'EndOfTier',
] as const;
export type HitKind = (typeof HIT_KINDS)[number];

export interface PolicyRef {
  readonly kind: HitKind;
  readonly namespace: string;
  readonly name: string;
}

/** One step of a policy trace (Goldmane's PolicyHit). */
export interface PolicyHit extends PolicyRef {
  readonly tier: string;
  readonly action: FlowAction;
  /** Position of the policy among the enforced policies evaluated for the endpoint (0-based). */
  readonly policyIndex: number;
  /** Rule position in the policy; −1 = the tier's default action (end of tier / no rule). */
  readonly ruleIndex: number;
  /** End-of-tier hits: the first policy in the tier that selected the endpoint. */
  readonly trigger?: PolicyRef;
}

export interface FlowEndpoint {
  readonly type: EndpointType;
  readonly namespace: string;
  /** Aggregated name: pod generate-name prefix + `*`, host endpoint / network-set name, `pub`/`pvt`. */
  readonly name: string;
  /** Label intersection as `k=v` strings, sorted. */
  readonly labels: readonly string[];
  /** Up to MAX_IPS distinct addresses seen (not part of the key). */
  readonly ips: readonly string[];
}

export interface FlowService {
  readonly namespace: string;
  readonly name: string;
  readonly portName: string;
  readonly port: number;
}

export interface FlowStats {
  readonly packetsIn: number;
  readonly packetsOut: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly started: number;
  readonly completed: number;
  readonly live: number;
}

export interface FlowRecord {
  /** Unix seconds. */
  readonly start: number;
  readonly end: number;
  readonly reporter: Reporter;
  /** The node whose agent reported it. */
  readonly node: string;
  readonly src: FlowEndpoint;
  readonly dst: FlowEndpoint;
  readonly destPort: number;
  /** tcp, udp, icmp, sctp, icmpv6 or a protocol number as text. */
  readonly proto: string;
  readonly service?: FlowService;
  readonly action: FlowAction;
  readonly policies: { readonly enforced: readonly PolicyHit[]; readonly pending: readonly PolicyHit[] };
  readonly stats: FlowStats;
}

export const MAX_IPS = 8;

export const ZERO_STATS: FlowStats = { packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0, started: 0, completed: 0, live: 0 };

export function addStats(a: FlowStats, b: FlowStats): FlowStats {
  return {
    packetsIn: a.packetsIn + b.packetsIn,
    packetsOut: a.packetsOut + b.packetsOut,
    bytesIn: a.bytesIn + b.bytesIn,
    bytesOut: a.bytesOut + b.bytesOut,
    started: a.started + b.started,
    completed: a.completed + b.completed,
    // live is a level, not a count: the latest window's value wins when windows merge.
    live: b.live,
  };
}

function hitKey(h: PolicyHit): string {
  const t = h.trigger === undefined ? '' : `>${h.trigger.kind}:${h.trigger.namespace}/${h.trigger.name}`;
  return `${h.policyIndex}|${h.tier}|${h.kind}:${h.namespace}/${h.name}|${h.action}|${h.ruleIndex}${t}`;
}

/**
 * The aggregation key: everything but time, statistics, labels and IPs. As in Goldmane the trace
 * is part of the key (the same pods under another rule path are another flow); the reporting node
 * is not (two nodes reporting the two halves of one connection stay two flows through `reporter`).
 */
export function flowKey(f: FlowRecord): string {
  const svc = f.service === undefined ? '' : `${f.service.namespace}/${f.service.name}/${f.service.portName}/${f.service.port}`;
  return [
    f.reporter,
    f.src.type,
    f.src.namespace,
    f.src.name,
    f.dst.type,
    f.dst.namespace,
    f.dst.name,
    f.destPort,
    f.proto,
    svc,
    f.action,
    f.policies.enforced.map(hitKey).join(','),
    f.policies.pending.map(hitKey).join(','),
  ].join('\u0001');
}

function mergeList(a: readonly string[], b: readonly string[], max: number): string[] {
  const out = [...a];
  for (const x of b) {
    if (out.length >= max) break;
    if (!out.includes(x)) out.push(x);
  }
  return out;
}

function intersect(a: readonly string[], b: readonly string[]): string[] {
  const s = new Set(b);
  return a.filter((x) => s.has(x));
}

/** Merge two records with the same key: widen the time range, add counters, intersect labels. */
export function mergeFlows(a: FlowRecord, b: FlowRecord): FlowRecord {
  const later = b.end >= a.end ? b : a;
  const stats = b.end >= a.end ? addStats(a.stats, b.stats) : addStats(b.stats, a.stats);
  return {
    ...later,
    start: Math.min(a.start, b.start),
    end: Math.max(a.end, b.end),
    src: { ...later.src, labels: intersect(a.src.labels, b.src.labels), ips: mergeList(a.src.ips, b.src.ips, MAX_IPS) },
    dst: { ...later.dst, labels: intersect(a.dst.labels, b.dst.labels), ips: mergeList(a.dst.ips, b.dst.ips, MAX_IPS) },
    stats,
  };
}

/** The verdict staged policies would give (the last hit of the pending trace), or the enforced one. */
export function pendingAction(f: FlowRecord): FlowAction {
  const last = f.policies.pending[f.policies.pending.length - 1];
  return last === undefined ? f.action : last.action;
}
