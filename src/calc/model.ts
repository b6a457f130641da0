// The normalised evaluation model (API contract §4.1–4.2) shared by the calc graph and the verdict
// oracle: tiers, policies flattened to (tier, order, one endpoint selector, rules per governed
// direction), profiles (explicit and synthesised `kns.` / `ksa.`), and selectable entities
// (workload/host endpoints, network sets) with their forced labels. ClusterState applies one
// update at a time (the validation filter + dispatcher stage) and reports what changed.

import type {
  ResourceKind,
  AnyResource,
  EntityRule,
  GlobalNetworkPolicySpec,
  HostEndpoint,
  K8sNetworkPolicy,
  NetworkPolicySpec,
  Port,
  ProtocolValue,
  Rule,
  WorkloadEndpoint,
} from '../api/index.ts';
import { TricolorError, quote } from '../base/index.ts';
import { formatCIDR, tryParseCIDR } from '../net/index.ts';
import type { CIDR } from '../net/index.ts';
import { PROTOCOL_NUMBERS } from './ir.ts';
import type { PortRange, RuleAction } from './ir.ts';
import { convertK8sNetworkPolicy } from './knp-convert.ts';
import { NAME_LABEL, NS_LABEL, ORCH_LABEL, SA_LABEL, and, globalPolicySelector, ruleNamespacePart, userSelector } from './selector-expr.ts';
import type { SelExpr } from './selector-expr.ts';

// ---------------------------------------------------------------------------------------------
// Input

/** One datastore change. `value` undefined = the object is absent (deleted or invalid). */
export interface CalcUpdate {
  readonly kind: ResourceKind;
  /** Needed to tell Kubernetes' NetworkPolicy from Calico's on deletion (value undefined). */
  readonly apiVersion?: string;
  readonly name: string;
  readonly namespace?: string;
  readonly value: AnyResource | undefined;
}

export function updateOf(r: AnyResource): CalcUpdate {
  const u: { kind: ResourceKind; apiVersion: string; name: string; namespace?: string; value: AnyResource } = {
    kind: r.kind,
    apiVersion: r.apiVersion,
    name: r.metadata.name,
    value: r,
  };
  if (r.metadata.namespace !== undefined) u.namespace = r.metadata.namespace;
  return u;
}

export function deletionOf(r: AnyResource): CalcUpdate {
  return { ...updateOf(r), value: undefined };
}

/** Kind name used internally; Kubernetes' NetworkPolicy becomes `KubernetesNetworkPolicy`. */
export function internalKind(kind: string, apiVersion: string | undefined): string {
  if (kind === 'NetworkPolicy' && apiVersion === 'networking.k8s.io/v1') return 'KubernetesNetworkPolicy';
  return kind;
}

// ---------------------------------------------------------------------------------------------
// Normalised model

export interface PolicyID {
  /** NetworkPolicy, GlobalNetworkPolicy, KubernetesNetworkPolicy, StagedNetworkPolicy, ... */
  readonly kind: string;
  /** '' for cluster-scoped kinds. */
  readonly namespace: string;
  readonly name: string;
}

export function policyKey(id: PolicyID): string {
  return `${id.kind}/${id.namespace}/${id.name}`;
}

/** Human name: `ns/name` for namespaced policies, `name` for global ones. */
export function policyDisplayName(id: PolicyID): string {
  return id.namespace === '' ? id.name : `${id.namespace}/${id.name}`;
}

export interface NormTier {
  readonly name: string;
  /** undefined = no order: sorts after every ordered tier. */
  readonly order: number | undefined;
  readonly defaultAction: 'Deny' | 'Pass';
}

/** A parsed, host-bit-masked block with its canonical text (members and IR carry the text). */
export interface NormCIDR extends CIDR {
  readonly text: string;
}

/** Parse a CIDR or bare IP (→ /32, /128), re-masking host bits as Calico does for rule nets. */
export function tryParseNormCIDR(text: string): NormCIDR | undefined {
  const c = tryParseCIDR(text.trim(), { allowBareIP: true });
  if (c === undefined) return undefined;
  return { family: c.family, network: c.network, prefixLength: c.prefixLength, text: formatCIDR(c) };
}

/** Whether the block is a single address (/32 or /128). */
export function isHostCIDR(c: CIDR): boolean {
  return c.prefixLength === (c.family === 4 ? 32 : 128);
}

export interface NamedPortRef {
  readonly name: string;
}

export interface NormSide {
  readonly nets: readonly NormCIDR[];
  readonly notNets: readonly NormCIDR[];
  /** Combined positive selector (namespace, service account and endpoint parts); undefined = none. */
  readonly selector: SelExpr | undefined;
  readonly notSelector: SelExpr | undefined;
  readonly ports: readonly PortRange[];
  readonly namedPorts: readonly string[];
  readonly notPorts: readonly PortRange[];
  readonly notNamedPorts: readonly string[];
}

export interface ICMPSpec {
  readonly type: number;
  readonly code: number | undefined;
}

export interface NormRule {
  readonly index: number;
  readonly action: RuleAction;
  readonly ipVersion: 4 | 6 | undefined;
  readonly protocol: number | undefined;
  readonly notProtocol: number | undefined;
  readonly icmp: ICMPSpec | undefined;
  readonly notICMP: ICMPSpec | undefined;
  readonly source: NormSide;
  readonly destination: NormSide;
  /** services / http matches: not enforceable here, the rule never matches. */
  readonly unsupported: boolean;
}

export interface NormPolicy {
  readonly id: PolicyID;
  readonly key: string;
  readonly tier: string;
  readonly order: number | undefined;
  readonly selector: SelExpr;
  /** undefined when the policy does not govern that direction. */
  readonly ingress: readonly NormRule[] | undefined;
  readonly egress: readonly NormRule[] | undefined;
  readonly staged: boolean;
  readonly applyOnForward: boolean;
  readonly preDNAT: boolean;
  readonly doNotTrack: boolean;
}

export interface NormProfile {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ingress: readonly NormRule[];
  readonly egress: readonly NormRule[];
}

export type EntityKind = 'WorkloadEndpoint' | 'HostEndpoint' | 'NetworkSet' | 'GlobalNetworkSet';

export interface EndpointPortSpec {
  readonly name: string;
  readonly protocol: number;
  readonly port: number;
}

export interface NormEntity {
  readonly key: string;
  readonly kind: EntityKind;
  readonly namespace: string;
  readonly name: string;
  /** Own labels with Calico's forced labels applied on top. */
  readonly ownLabels: Readonly<Record<string, string>>;
  /** The same as a Map (what selector evaluation reads). */
  readonly ownLabelMap: ReadonlyMap<string, string>;
  readonly profiles: readonly string[];
  readonly cidrs: readonly NormCIDR[];
  readonly ports: readonly EndpointPortSpec[];
  /** Node for endpoints, undefined for network sets. */
  readonly node: string | undefined;
  readonly pod: string | undefined;
  readonly serviceAccount: string | undefined;
  readonly interfaceName: string | undefined;
  readonly mac: string | undefined;
}

export function entityKey(kind: EntityKind, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

// ---------------------------------------------------------------------------------------------
// Normalisation

/** What is being normalised, for error messages; a thunk so the hot path never formats it. */
type What = string | (() => string);

function fail(what: What, field: string, value: unknown, why: string): never {
  const w = typeof what === 'string' ? what : what();
  throw new TricolorError('ERR_VALIDATION', `${w}: ${field}: ${quote(value)} ${why}`, { field, value });
}

export function protocolNumber(p: ProtocolValue | undefined, what: What, field: string): number | undefined {
  if (p === undefined) return undefined;
  if (typeof p === 'number') return p;
  if (/^\d+$/.test(p)) return Number(p);
  const n = PROTOCOL_NUMBERS[p.toLowerCase()];
  if (n === undefined) fail(what, field, p, 'is not a known protocol');
  return n;
}

function parsePorts(
  list: readonly Port[] | undefined,
  what: What,
  field: string,
): { ranges: PortRange[]; named: string[] } {
  const ranges: PortRange[] = [];
  const named: string[] = [];
  (list ?? []).forEach((p, i) => {
    if (typeof p === 'number') {
      ranges.push({ kind: 'PortRange', min: p, max: p });
      return;
    }
    const m = /^(\d+)(?::(\d+))?$/.exec(p.trim());
    if (m !== null) {
      const min = Number(m[1]);
      const max = m[2] === undefined ? min : Number(m[2]);
      if (min > max) fail(what, `${field}[${i}]`, p, 'is not a valid port range');
      ranges.push({ kind: 'PortRange', min, max });
    } else {
      named.push(p.trim());
    }
  });
  return { ranges, named };
}

function parseNets(list: readonly string[] | undefined, what: What, field: string): NormCIDR[] {
  return (list ?? []).map((n, i) => tryParseNormCIDR(n) ?? fail(what, `${field}[${i}]`, n, 'is not a valid CIDR'));
}

function given(s: string | undefined): s is string {
  return s !== undefined && s.trim() !== '';
}

/** Rule side selector (§4.1 "Rule side selector"); ns = policy namespace or ''. */
function normSide(e: EntityRule | undefined, ns: string, what: What, field: string): NormSide {
  const side = e ?? {};
  const ports = parsePorts(side.ports, what, `${field}.ports`);
  const notPorts = parsePorts(side.notPorts, what, `${field}.notPorts`);
  let N: SelExpr | undefined;
  if (given(side.namespaceSelector)) N = ruleNamespacePart(side.namespaceSelector);
  else if (ns !== '') N = { t: 'eq', key: NS_LABEL, value: ns };
  let A: SelExpr | undefined;
  const sa = side.serviceAccounts;
  if (sa !== undefined && (given(sa.selector) || (sa.names ?? []).length > 0)) {
    const parts: SelExpr[] = [];
    if (given(sa.selector)) parts.push(userSelector(sa.selector, 'pcsa.'));
    if ((sa.names ?? []).length > 0) parts.push({ t: 'in', key: SA_LABEL, values: [...new Set(sa.names)].sort() });
    A = and(...parts);
  }
  const hasE = side.selector !== undefined && side.selector.trim() !== '';
  const E = hasE ? userSelector(side.selector) : undefined;
  const cGiven = A !== undefined || E !== undefined;
  const C = cGiven ? and(...(A ? [A] : []), ...(E ? [E] : [])) : undefined;
  let selector: SelExpr | undefined;
  if (N !== undefined && (cGiven || given(side.notSelector) || given(side.namespaceSelector))) {
    selector = C === undefined ? N : and(N, C);
  } else {
    selector = C;
  }
  return {
    nets: parseNets(side.nets, what, `${field}.nets`),
    notNets: parseNets(side.notNets, what, `${field}.notNets`),
    selector,
    notSelector: given(side.notSelector) ? userSelector(side.notSelector) : undefined,
    ports: ports.ranges,
    namedPorts: ports.named,
    notPorts: notPorts.ranges,
    notNamedPorts: notPorts.named,
  };
}

const ACTIONS: Readonly<Record<string, RuleAction>> = { Allow: 'allow', Deny: 'deny', Pass: 'pass', Log: 'log' };

export function normRule(r: Rule, index: number, ns: string, what: What, field: string): NormRule {
  const action = ACTIONS[r.action] ?? fail(what, `${field}.action`, r.action, 'is not one of Allow, Deny, Log, Pass');
  const protocol = protocolNumber(r.protocol, what, `${field}.protocol`);
  const notProtocol = protocolNumber(r.notProtocol, what, `${field}.notProtocol`);
  const source = normSide(r.source, ns, what, `${field}.source`);
  const destination = normSide(r.destination, ns, what, `${field}.destination`);
  let ipVersion: 4 | 6 | undefined = r.ipVersion;
  if (ipVersion === undefined) {
    const fam = [...source.nets, ...source.notNets, ...destination.nets, ...destination.notNets][0]?.family;
    if (fam !== undefined) ipVersion = fam;
    else if (protocol === 1) ipVersion = 4;
    else if (protocol === 58) ipVersion = 6;
  }
  const icmp = r.icmp?.type !== undefined ? { type: r.icmp.type, code: r.icmp.code } : undefined;
  const notICMP = r.notICMP?.type !== undefined ? { type: r.notICMP.type, code: r.notICMP.code } : undefined;
  const unsupported = r.source?.services !== undefined || r.destination?.services !== undefined || r.http !== undefined;
  return { index, action, ipVersion, protocol, notProtocol, icmp, notICMP, source, destination, unsupported };
}

function normRules(rules: readonly Rule[] | undefined, ns: string, what: What, field: string): NormRule[] {
  return (rules ?? []).map((r, i) => normRule(r, i, ns, what, `${field}[${i}]`));
}

const POLICY_KINDS = [
  'NetworkPolicy',
  'GlobalNetworkPolicy',
  'StagedNetworkPolicy',
  'StagedGlobalNetworkPolicy',
  'KubernetesNetworkPolicy',
  'StagedKubernetesNetworkPolicy',
] as const;

export function isPolicyKind(kind: string): boolean {
  return (POLICY_KINDS as readonly string[]).includes(kind);
}

/** Flatten one policy resource (any policy kind) into the evaluation model. */
export function normalisePolicy(kind: string, r: AnyResource): NormPolicy {
  let res = r;
  const idKind = kind;
  if (kind === 'KubernetesNetworkPolicy' || kind === 'StagedKubernetesNetworkPolicy') {
    res = convertK8sNetworkPolicy(r as K8sNetworkPolicy);
  }
  const spec = (res.spec ?? {}) as GlobalNetworkPolicySpec;
  const ns = res.metadata.namespace ?? '';
  const namespaced = idKind !== 'GlobalNetworkPolicy' && idKind !== 'StagedGlobalNetworkPolicy';
  const id: PolicyID = { kind: idKind, namespace: namespaced ? ns : '', name: res.metadata.name };
  const what = (): string => `${idKind} ${quote(policyDisplayName(id))}`;
  let selector: SelExpr;
  if (namespaced) {
    selector = and(userSelector(spec.selector), { t: 'eq', key: NS_LABEL, value: id.namespace });
    if (given(spec.serviceAccountSelector)) selector = and(selector, userSelector(spec.serviceAccountSelector, 'pcsa.'));
  } else {
    selector = globalPolicySelector(spec.selector, spec.namespaceSelector, spec.serviceAccountSelector);
  }
  // A stored policy with no types at all governs both directions (dataplane back-compat, §3.6).
  const types = spec.types === undefined || spec.types.length === 0 ? ['Ingress', 'Egress'] : spec.types;
  const ruleNs = namespaced ? id.namespace : '';
  const ingress = types.includes('Ingress') ? normRules(spec.ingress, ruleNs, what, 'spec.ingress') : undefined;
  const egress = types.includes('Egress') ? normRules(spec.egress, ruleNs, what, 'spec.egress') : undefined;
  const np = spec as NetworkPolicySpec & { order?: number };
  return {
    id,
    key: policyKey(id),
    tier: spec.tier === undefined || spec.tier === '' ? 'default' : spec.tier,
    order: np.order ?? undefined,
    selector,
    ingress,
    egress,
    staged: kind.startsWith('Staged'),
    applyOnForward: spec.applyOnForward === true,
    preDNAT: spec.preDNAT === true,
    doNotTrack: spec.doNotTrack === true,
  };
}

const ALLOW_ALL: NormRule[] = [];

function allowAllRules(): NormRule[] {
  if (ALLOW_ALL.length === 0) ALLOW_ALL.push(normRule({ action: 'Allow' }, 0, '', 'Profile', 'rule'));
  return ALLOW_ALL;
}

export function namespaceProfile(nsName: string, labels: Readonly<Record<string, string>>): NormProfile {
  const l: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) l[`pcns.${k}`] = v;
  l[`pcns.${NAME_LABEL}`] = nsName;
  return { name: `kns.${nsName}`, labels: l, ingress: allowAllRules(), egress: allowAllRules() };
}

export function serviceAccountProfile(ns: string, sa: string, labels: Readonly<Record<string, string>>): NormProfile {
  const l: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) l[`pcsa.${k}`] = v;
  l[`pcsa.${NAME_LABEL}`] = sa;
  return { name: `ksa.${ns === '' ? 'default' : ns}.${sa}`, labels: l, ingress: [], egress: [] };
}

export function normaliseProfile(r: AnyResource): NormProfile {
  const spec = (r.spec ?? {}) as { ingress?: Rule[]; egress?: Rule[]; labelsToApply?: Record<string, string> };
  const what = (): string => `Profile ${quote(r.metadata.name)}`;
  return {
    name: r.metadata.name,
    labels: spec.labelsToApply ?? {},
    ingress: normRules(spec.ingress, '', what, 'spec.ingress'),
    egress: normRules(spec.egress, '', what, 'spec.egress'),
  };
}

/** Fail-closed stand-in for a profile an endpoint references but that does not exist. */
export function missingProfile(name: string): NormProfile {
  return { name, labels: {}, ingress: [normRule({ action: 'Deny' }, 0, '', 'Profile', 'rule')], egress: [normRule({ action: 'Deny' }, 0, '', 'Profile', 'rule')] };
}

function endpointPorts(
  ports: ReadonlyArray<{ name?: string; protocol: ProtocolValue; port: number }> | undefined,
  what: What,
): EndpointPortSpec[] {
  const out: EndpointPortSpec[] = [];
  (ports ?? []).forEach((p, i) => {
    if (p.name === undefined || p.name === '') return;
    out.push({ name: p.name, protocol: protocolNumber(p.protocol, what, `spec.ports[${i}].protocol`) ?? 6, port: p.port });
  });
  return out;
}

export function normaliseEntity(kind: EntityKind, r: AnyResource): NormEntity {
  const ns = r.metadata.namespace ?? '';
  const name = r.metadata.name;
  const own: Record<string, string> = { ...(r.metadata.labels ?? {}) };
  const what = (): string => `${kind} ${quote(ns === '' ? name : `${ns}/${name}`)}`;
  const base = { key: '', kind, namespace: ns, name, pod: undefined, serviceAccount: undefined, interfaceName: undefined, mac: undefined };
  switch (kind) {
    case 'WorkloadEndpoint': {
      const spec = (r as WorkloadEndpoint).spec ?? {};
      const orch = spec.orchestrator ?? 'k8s';
      own[NS_LABEL] = ns;
      own[ORCH_LABEL] = orch;
      const sa = spec.serviceAccountName;
      if (sa !== undefined && sa !== '' && sa.length < 63) own[SA_LABEL] = sa;
      // Pod-derived endpoints reference their namespace and service-account profiles; a stored
      // k8s WEP without profiles gets the same pair CNI would have written.
      let profiles = spec.profiles ?? [];
      if (profiles.length === 0 && orch === 'k8s') {
        profiles = [`kns.${ns}`, ...(sa !== undefined && sa !== '' ? [`ksa.${ns}.${sa}`] : [])];
      }
      return {
        ...base,
        key: entityKey(kind, ns, name),
        ownLabels: own,
        ownLabelMap: new Map(Object.entries(own)),
        profiles,
        cidrs: parseNets(spec.ipNetworks, what, 'spec.ipNetworks'),
        ports: endpointPorts(spec.ports, what),
        node: spec.node,
        pod: spec.pod ?? spec.workload,
        serviceAccount: sa,
        interfaceName: spec.interfaceName,
        mac: spec.mac,
      };
    }
    case 'HostEndpoint': {
      const spec = (r as HostEndpoint).spec ?? {};
      return {
        ...base,
        key: entityKey(kind, '', name),
        ownLabels: own,
        ownLabelMap: new Map(Object.entries(own)),
        profiles: spec.profiles ?? [],
        cidrs: parseNets(spec.expectedIPs, what, 'spec.expectedIPs'),
        ports: endpointPorts(spec.ports, what),
        node: spec.node,
        interfaceName: spec.interfaceName,
      };
    }
    case 'NetworkSet':
    case 'GlobalNetworkSet': {
      const spec = (r.spec ?? {}) as { nets?: string[] };
      if (kind === 'NetworkSet') own[NS_LABEL] = ns;
      return {
        ...base,
        key: entityKey(kind, kind === 'NetworkSet' ? ns : '', name),
        ownLabels: own,
        ownLabelMap: new Map(Object.entries(own)),
        profiles: kind === 'NetworkSet' ? [`kns.${ns}`] : [],
        cidrs: parseNets(spec.nets, what, 'spec.nets'),
        ports: [],
        node: undefined,
      };
    }
  }
}

export function normaliseTier(r: AnyResource): NormTier {
  const spec = (r.spec ?? {}) as { order?: number; defaultAction?: 'Deny' | 'Pass' };
  return { name: r.metadata.name, order: spec.order, defaultAction: spec.defaultAction ?? 'Deny' };
}

/** Tiers every datastore has (§4.5), used when no Tier object was seen. */
export const BUILTIN_TIER_DEFAULTS: readonly NormTier[] = [
  { name: 'kube-admin', order: 1000, defaultAction: 'Pass' },
  { name: 'default', order: 1_000_000, defaultAction: 'Deny' },
  { name: 'kube-baseline', order: 10_000_000, defaultAction: 'Pass' },
];
