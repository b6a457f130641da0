// Kubernetes NetworkPolicy (networking.k8s.io/v1) → Calico NetworkPolicy, exactly as Calico's
// converter does it (API contract §4.7): name `knp.default.<name>`, tier default, order 1000,
// selectors prefixed with the k8s orchestrator term, one rule per (protocol, peer), ipBlock →
// nets/notNets, endPort → ranges, protocol defaulting to TCP.

import type {
  K8sNetworkPolicy,
  K8sNetworkPolicyPeer,
  K8sNetworkPolicyPort,
  LabelSelector,
  NetworkPolicy,
  Port,
  PolicyType,
  Rule,
  EntityRule,
} from '../api/index.ts';
import { formatCIDR, tryParseCIDR } from '../net/index.ts';

const ORCH_TERM = "projectcalico.org/orchestrator == 'k8s'";

function quoteValue(v: string): string {
  return `'${v}'`;
}

/** Calico's label-selector translation: matchLabels (keys sorted) then expressions in order. */
export function k8sSelectorTerms(sel: LabelSelector | undefined): string[] {
  if (sel === undefined) return [];
  const terms: string[] = [];
  const ml = sel.matchLabels ?? {};
  for (const k of Object.keys(ml).sort()) terms.push(`${k} == ${quoteValue(ml[k] ?? '')}`);
  for (const e of sel.matchExpressions ?? []) {
    const vals = (e.values ?? []).map(quoteValue).join(', ');
    switch (e.operator) {
      case 'In':
        terms.push(`${e.key} in { ${vals} }`);
        break;
      case 'NotIn':
        terms.push(`${e.key} not in { ${vals} }`);
        break;
      case 'Exists':
        terms.push(`has(${e.key})`);
        break;
      case 'DoesNotExist':
        terms.push(`! has(${e.key})`);
        break;
    }
  }
  return terms;
}

export function k8sPodSelector(sel: LabelSelector | undefined): string {
  return [ORCH_TERM, ...k8sSelectorTerms(sel)].join(' && ');
}

export function k8sNamespaceSelector(sel: LabelSelector | undefined): string {
  if (sel === undefined) return '';
  const terms = k8sSelectorTerms(sel);
  return terms.length === 0 ? 'all()' : terms.join(' && ');
}

function remask(cidr: string): string {
  const c = tryParseCIDR(cidr.trim(), { allowBareIP: true });
  return c === undefined ? cidr : formatCIDR(c);
}

function peerFields(peer: K8sNetworkPolicyPeer | undefined): EntityRule {
  if (peer === undefined) return {};
  if (peer.ipBlock !== undefined) {
    const e: EntityRule = { nets: [remask(peer.ipBlock.cidr)] };
    const except = peer.ipBlock.except ?? [];
    if (except.length > 0) e.notNets = except.map(remask);
    return e;
  }
  const e: EntityRule = {};
  if (peer.podSelector !== undefined || peer.namespaceSelector !== undefined) {
    e.selector = k8sPodSelector(peer.podSelector);
  }
  const ns = k8sNamespaceSelector(peer.namespaceSelector);
  if (ns !== '') e.namespaceSelector = ns;
  return e;
}

interface ProtoPorts {
  readonly protocol: string;
  /** undefined = every port of the protocol. */
  readonly ports: Port[] | undefined;
}

/** Group and merge ports per protocol (§4.7 step 3). undefined result = any protocol/any port. */
export function groupK8sPorts(ports: readonly K8sNetworkPolicyPort[] | undefined): ProtoPorts[] | undefined {
  if (ports === undefined || ports.length === 0) return undefined;
  const byProto = new Map<string, { all: boolean; named: string[]; ranges: Array<[number, number]> }>();
  for (const p of ports) {
    const proto = p.protocol ?? 'TCP';
    let g = byProto.get(proto);
    if (g === undefined) {
      g = { all: false, named: [], ranges: [] };
      byProto.set(proto, g);
    }
    if (p.port === undefined) {
      g.all = true;
    } else if (typeof p.port === 'string' && !/^\d+$/.test(p.port)) {
      if (!g.named.includes(p.port)) g.named.push(p.port);
    } else {
      const n = Number(p.port);
      g.ranges.push([n, p.endPort !== undefined && p.endPort > n ? p.endPort : n]);
    }
  }
  const out: ProtoPorts[] = [];
  for (const proto of [...byProto.keys()].sort()) {
    const g = byProto.get(proto);
    if (g === undefined) continue;
    if (g.all) {
      out.push({ protocol: proto, ports: undefined });
      continue;
    }
    g.ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const merged: Array<[number, number]> = [];
    for (const r of g.ranges) {
      const last = merged[merged.length - 1];
      if (last !== undefined && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
      else merged.push([r[0], r[1]]);
    }
    const list: Port[] = [...g.named, ...merged.map(([a, b]) => (a === b ? a : `${a}:${b}`))];
    out.push({ protocol: proto, ports: list });
  }
  return out;
}

function convertRules(
  peers: readonly K8sNetworkPolicyPeer[] | undefined,
  ports: readonly K8sNetworkPolicyPort[] | undefined,
  dir: 'ingress' | 'egress',
): Rule[] {
  const peerList: Array<K8sNetworkPolicyPeer | undefined> = peers === undefined || peers.length === 0 ? [undefined] : [...peers];
  const groups = groupK8sPorts(ports);
  const rules: Rule[] = [];
  const protoList: Array<ProtoPorts | undefined> = groups ?? [undefined];
  for (const g of protoList) {
    for (const peer of peerList) {
      const rule: Rule = { action: 'Allow' };
      if (g !== undefined) rule.protocol = g.protocol;
      const pf = peerFields(peer);
      const portList = g?.ports;
      if (dir === 'ingress') {
        if (Object.keys(pf).length > 0) rule.source = pf;
        if (portList !== undefined) rule.destination = { ports: portList };
      } else {
        const d: EntityRule = { ...pf };
        if (portList !== undefined) d.ports = portList;
        if (Object.keys(d).length > 0) rule.destination = d;
      }
      rules.push(rule);
    }
  }
  return rules;
}

/** The Calico NetworkPolicy Calico would derive from a Kubernetes NetworkPolicy. */
export function convertK8sNetworkPolicy(knp: K8sNetworkPolicy): NetworkPolicy {
  const spec = knp.spec ?? {};
  // Kubernetes' own API defaulting (policyTypes absent ⇒ Ingress, plus Egress when egress rules
  // exist) is applied first, since objects read from our datastore never went through kube-apiserver.
  const declared: PolicyType[] =
    spec.policyTypes !== undefined && spec.policyTypes.length > 0
      ? spec.policyTypes
      : (spec.egress ?? []).length > 0
        ? ['Ingress', 'Egress']
        : ['Ingress'];
  const types: PolicyType[] = [];
  if (declared.includes('Ingress')) types.push('Ingress');
  if (declared.includes('Egress')) types.push('Egress');
  if (types.length === 0) types.push('Ingress');
  const ingress = (spec.ingress ?? []).flatMap((r) => convertRules(r.from, r.ports, 'ingress'));
  const egress = (spec.egress ?? []).flatMap((r) => convertRules(r.to, r.ports, 'egress'));
  const out: NetworkPolicy = {
    apiVersion: 'projectcalico.org/v3',
    kind: 'NetworkPolicy',
    metadata: { name: `knp.default.${knp.metadata.name}`, namespace: knp.metadata.namespace ?? 'default' },
    spec: { tier: 'default', order: 1000, selector: k8sPodSelector(spec.podSelector), types, ingress, egress },
  };
  return out;
}
