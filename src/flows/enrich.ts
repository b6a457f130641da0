// From a connection's addresses to a flow record: who the two sides are (workload, host endpoint,
// network set, or a public/private network), their labels, and both policy traces. Pure: the
// agent's collector calls it with the policy model it already maintains; any dataplane's
// collector (nftables log + conntrack today, eBPF events later) produces the same record.

import { formatIP, parseCIDR, cidrContainsIP, tryParseIP } from '../net/index.ts';
import type { PolicyModel } from '../calc/index.ts';
import type { FlowAction, FlowEndpoint, FlowRecord, FlowService, FlowStats, Reporter } from './flow.ts';
import { ZERO_STATS } from './flow.ts';
import { flowTraces } from './policy-trace.ts';
import type { TraceCache } from './policy-trace.ts';
import type { FlowTraces, FlowTuple, TraceModels } from './policy-trace.ts';

const PRIVATE = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16', '127.0.0.0/8', 'fc00::/7', 'fe80::/10', '::1/128'].map((c) => parseCIDR(c));

function isPrivate(ip: string): boolean {
  const a = tryParseIP(ip);
  return a !== undefined && PRIVATE.some((c) => c.family === a.family && cidrContainsIP(c, a));
}

/** The endpoint an address belongs to, as the flow record names it. */
export function endpointOf(model: PolicyModel, ip: string): FlowEndpoint {
  const addr = tryParseIP(ip);
  if (addr === undefined) return { type: 'net', namespace: '', name: 'pvt', labels: [], ips: [ip] };
  const holders = model.entitiesContaining(addr);
  const wep = holders.find((e) => e.kind === 'WorkloadEndpoint');
  const hep = holders.find((e) => e.kind === 'HostEndpoint');
  const set = holders.find((e) => e.kind === 'NetworkSet' || e.kind === 'GlobalNetworkSet');
  const e = wep ?? hep ?? set;
  const text = formatIP(addr);
  if (e === undefined) return { type: 'net', namespace: '', name: isPrivate(text) ? 'pvt' : 'pub', labels: [], ips: [text] };
  const labels = Object.entries(e.ownLabels)
    .map(([k, v]) => `${k}=${v}`)
    .sort();
  return {
    type: e.kind === 'WorkloadEndpoint' ? 'wep' : e.kind === 'HostEndpoint' ? 'hep' : 'ns',
    namespace: e.namespace,
    name: e.kind === 'WorkloadEndpoint' ? (e.pod ?? e.name) : e.name,
    labels,
    ips: [text],
  };
}

export interface FlowObservation {
  readonly tuple: FlowTuple;
  readonly reporter: Reporter;
  readonly node: string;
  readonly start: number;
  readonly end: number;
  readonly stats?: FlowStats;
  /** The service before DNAT, when the connection was addressed to one. */
  readonly service?: FlowService;
  /**
   * The verdict and enforced trace the dataplane logged, when known (the log's rule identities);
   * otherwise the oracle's enforced trace stands in.
   */
  readonly logged?: { readonly action: FlowAction; readonly enforced: FlowRecord['policies']['enforced'] };
}

/** Build the record for one observed connection (traces from the oracle unless the log gave them). */
export function buildFlowRecord(models: TraceModels, o: FlowObservation, cache?: TraceCache): FlowRecord {
  const traces: FlowTraces = cache === undefined ? flowTraces(models, o.tuple, o.reporter) : cache.get(o.tuple, o.reporter);
  const proto = typeof o.tuple.proto === 'number' ? String(o.tuple.proto) : o.tuple.proto.toLowerCase();
  return {
    start: o.start,
    end: o.end,
    reporter: o.reporter,
    node: o.node,
    src: cache === undefined ? endpointOf(models.enforced, o.tuple.srcIP) : cache.endpoint(o.tuple.srcIP, () => endpointOf(models.enforced, o.tuple.srcIP)),
    dst: cache === undefined ? endpointOf(models.enforced, o.tuple.dstIP) : cache.endpoint(o.tuple.dstIP, () => endpointOf(models.enforced, o.tuple.dstIP)),
    destPort: o.tuple.dstPort ?? 0,
    proto,
    ...(o.service === undefined ? {} : { service: o.service }),
    action: o.logged?.action ?? traces.action,
    policies: { enforced: o.logged?.enforced ?? traces.enforced, pending: traces.pending },
    stats: o.stats ?? ZERO_STATS,
  };
}
