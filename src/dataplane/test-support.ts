// Builders for dataplane tests and benchmarks (every dataplane's): IR rules and calc messages
// written tersely. The nft command interpreter is in nft/test-support.ts.

import type {
  ActivePolicyUpdate,
  ActiveProfileUpdate,
  EntityMatch,
  RuleIR,
  TierInfo,
  WorkloadEndpointUpdate,
} from '../calc/index.ts';

export function entity(p: Partial<Omit<EntityMatch, 'kind'>> = {}): EntityMatch {
  return {
    kind: 'EntityMatch',
    nets: p.nets ?? [],
    notNets: p.notNets ?? [],
    ipSetIds: p.ipSetIds ?? [],
    notIpSetIds: p.notIpSetIds ?? [],
    ports: p.ports ?? [],
    namedPortIpSetIds: p.namedPortIpSetIds ?? [],
    notPorts: p.notPorts ?? [],
    notNamedPortIpSetIds: p.notNamedPortIpSetIds ?? [],
  };
}

export function ports(...rs: (number | [number, number])[]): EntityMatch['ports'] {
  return rs.map((r) => (typeof r === 'number' ? { kind: 'PortRange', min: r, max: r } : { kind: 'PortRange', min: r[0], max: r[1] }));
}

export function rule(p: Partial<Omit<RuleIR, 'kind'>> = {}): RuleIR {
  return {
    kind: 'Rule',
    action: p.action ?? 'allow',
    ipVersion: p.ipVersion,
    protocol: p.protocol,
    notProtocol: p.notProtocol,
    icmp: p.icmp,
    notICMP: p.notICMP,
    source: p.source ?? entity(),
    destination: p.destination ?? entity(),
    index: p.index ?? 0,
    unsupported: p.unsupported ?? false,
  };
}

export function policy(
  ns: string,
  name: string,
  inbound: readonly RuleIR[],
  outbound: readonly RuleIR[] = [],
  tier = 'default',
): ActivePolicyUpdate {
  const kind = ns === '' ? 'GlobalNetworkPolicy' : 'NetworkPolicy';
  const ipSetIds = new Set<string>();
  for (const r of [...inbound, ...outbound]) {
    for (const s of [r.source, r.destination]) {
      for (const id of [...s.ipSetIds, ...s.notIpSetIds, ...s.namedPortIpSetIds, ...s.notNamedPortIpSetIds]) ipSetIds.add(id);
    }
  }
  return {
    type: 'ActivePolicyUpdate',
    key: `${kind}/${ns}/${name}`,
    id: { kind, namespace: ns, name },
    tier,
    rules: { kind: 'RuleSet', inbound, outbound },
    untracked: false,
    preDNAT: false,
    applyOnForward: false,
    ipSetIds: [...ipSetIds],
  };
}

export function profile(name: string, inbound: readonly RuleIR[], outbound: readonly RuleIR[] = inbound): ActiveProfileUpdate {
  return { type: 'ActiveProfileUpdate', name, rules: { kind: 'RuleSet', inbound, outbound }, ipSetIds: [] };
}

export function tierInfo(name: string, ingress: readonly string[], egress: readonly string[] = [], defaultAction: 'Deny' | 'Pass' = 'Deny'): TierInfo {
  return { name, defaultAction, ingressPolicies: ingress, egressPolicies: egress };
}

export function workload(
  ns: string,
  pod: string,
  ifname: string,
  ip: string,
  tiers: readonly TierInfo[] = [],
  profileIds: readonly string[] = [`kns.${ns}`],
): WorkloadEndpointUpdate {
  return {
    type: 'WorkloadEndpointUpdate',
    key: `WorkloadEndpoint/${ns}/node1-k8s-${pod}-eth0`,
    namespace: ns,
    name: `node1-k8s-${pod}-eth0`,
    pod,
    interfaceName: ifname,
    mac: undefined,
    ipv4Nets: ip.includes(':') ? [] : [`${ip}/32`],
    ipv6Nets: ip.includes(':') ? [`${ip}/128`] : [],
    profileIds,
    tiers,
  };
}
