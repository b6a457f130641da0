// The verdict oracle: given the cluster model, a source and a destination (endpoint or bare IP),
// protocol and port, decide Allow/Deny exactly as Calico's tier algorithm does (API contract §4.4)
// and record the path that decided it. It matches rules by evaluating selectors on entity labels
// directly (no IP sets, no dataplane), so it can serve as the dataplane's test oracle.

import { PrefixTrie, cidrContainsIP, formatIP, tryParseIP } from '../net/index.ts';
import type { IPAddr } from '../net/index.ts';
import { ClusterState } from './cluster-state.ts';
import { HintIndex } from './label-index.ts';
import type { CalcUpdate, NormEntity, NormPolicy, NormRule, NormSide } from './model.ts';
import { isHostCIDR, policyDisplayName } from './model.ts';
import { comparePolicies, compareTiers } from './policy-sorter.ts';
import type { PortRange } from './ir.ts';
import { PROTOCOL_NUMBERS, protocolName } from './ir.ts';
import { evaluate } from './selector-expr.ts';
import type { SelExpr } from './selector-expr.ts';

export type Verdict = 'Allow' | 'Deny';

export type PeerSpec = { readonly endpoint: string } | { readonly ip: string };

export interface ExplainRequest {
  readonly from: PeerSpec;
  readonly to: PeerSpec;
  /** TCP, UDP, SCTP, ICMP, ICMPv6 or a number; default TCP. */
  readonly protocol?: string | number;
  readonly port?: number;
  /** Source port; default 40000 (an ephemeral port). */
  readonly sourcePort?: number;
  readonly icmpType?: number;
  readonly icmpCode?: number;
}

export interface TraceStep {
  readonly tier?: string;
  readonly policy?: string;
  readonly profile?: string;
  readonly ruleIndex?: number;
  /** What happened at this step: a rule's action, or `no-match`, `end-of-tier`, ... */
  readonly result: string;
}

export type DecisionKind =
  | 'rule'
  | 'end-of-tier'
  | 'profile'
  | 'no-profile-allowed'
  | 'not-an-endpoint';

export interface DirectionTrace {
  /** `ns/pod` for workloads, `hep:<name>` for host endpoints, null for a bare IP. */
  readonly endpoint: string | null;
  readonly verdict: Verdict;
  readonly decidedBy: DecisionKind;
  readonly tier?: string;
  readonly policy?: string;
  readonly profile?: string;
  readonly ruleIndex?: number;
  /** One line a person can read, e.g. `tier default, policy x/deny-all: end of tier: deny`. */
  readonly reason: string;
  readonly steps: readonly TraceStep[];
}

export interface ExplainResult {
  readonly verdict: Verdict;
  readonly from: string;
  readonly to: string;
  readonly protocol: string;
  readonly port: number | undefined;
  readonly egress: DirectionTrace;
  readonly ingress: DirectionTrace;
}

interface Packet {
  readonly family: 4 | 6;
  readonly src: IPAddr;
  readonly dst: IPAddr;
  /** Entities holding the source / destination address (what IP-set membership would see). */
  readonly srcHolders: readonly NormEntity[];
  readonly dstHolders: readonly NormEntity[];
  readonly protocol: number;
  readonly srcPort: number | undefined;
  readonly dstPort: number | undefined;
  readonly icmpType: number | undefined;
  readonly icmpCode: number | undefined;
}

function portCapable(proto: number): boolean {
  return proto === 6 || proto === 17 || proto === 132 || proto === 136;
}

/** An immutable snapshot of the cluster for verdict queries (indexes built once, memoised). */
export class PolicyModel {
  readonly state: ClusterState;
  private readonly sortedPolicies: NormPolicy[];
  /** Every entity address block (endpoint IPs and network-set nets) → the entities holding it. */
  private readonly blocks = new PrefixTrie<NormEntity[]>();
  private readonly matchCache = new Map<string, NormPolicy[]>();
  private readonly ingressPlans = new Map<string, readonly TierPlan[]>();
  private readonly egressPlans = new Map<string, readonly TierPlan[]>();
  private readonly containCache = new Map<string | number, NormEntity[]>();
  private readonly policyHints = new HintIndex();
  private readonly policyRank = new Map<string, number>();

  /**
   * `staged: 'pending'` builds the model of what staged policies *would* do: each staged policy
   * takes the place of the enforced policy it stages (same tier, namespace and name, as Calico's
   * pending-policy evaluation treats stagedAction Set), or joins as a new one. Used for the
   * pending trace of flow logs.
   */
  constructor(state: ClusterState, options: { readonly staged?: 'ignore' | 'pending' } = {}) {
    this.state = state;
    const pending = options.staged === 'pending';
    const replaced = new Set<string>();
    if (pending) for (const p of state.policies.values()) if (p.staged) replaced.add(stagedTargetKey(p));
    this.sortedPolicies = [...state.policies.values()]
      .filter((p) => (pending ? p.staged || !replaced.has(enforcedKey(p)) : !p.staged) && !p.doNotTrack && !p.preDNAT)
      .sort((a, b) => compareTiers(state.tier(a.tier), state.tier(b.tier)) || byTierName(a, b) || comparePolicies(a, b));
    this.sortedPolicies.forEach((p, i) => {
      this.policyRank.set(p.key, i);
      this.policyHints.add(p.key, p.selector);
    });
    for (const e of state.entities.values()) {
      for (const c of e.cidrs) {
        const list = this.blocks.getExact(c);
        if (list === undefined) this.blocks.insert(c, [e]);
        else if (!list.includes(e)) list.push(e);
      }
    }
  }

  static fromUpdates(updates: Iterable<CalcUpdate>, options: { readonly staged?: 'ignore' | 'pending' } = {}): PolicyModel {
    const s = new ClusterState();
    for (const u of updates) s.apply(u);
    return new PolicyModel(s, options);
  }

  /** The policies this model enforces, in evaluation order (staged ones only in a pending model). */
  enforcedPolicies(): readonly NormPolicy[] {
    return this.sortedPolicies;
  }

  /** Entities whose addresses (IPs or network-set nets) contain ip: Calico's IP-set membership. */
  entitiesContaining(ip: IPAddr): NormEntity[] {
    const k = ipKey(ip);
    const cached = this.containCache.get(k);
    if (cached !== undefined) return cached;
    const out: NormEntity[] = [];
    for (const entry of this.blocks.covering(ip)) for (const e of entry.value) if (!out.includes(e)) out.push(e);
    this.containCache.set(k, out);
    return out;
  }

  /** Non-staged policies whose selector matches the endpoint, in tier then policy order. */
  policiesFor(e: NormEntity): NormPolicy[] {
    let m = this.matchCache.get(e.key);
    if (m === undefined) {
      const labels = this.state.labelsOf(e);
      m = [];
      for (const key of this.policyHints.candidates(labels, new Set())) {
        const p = this.state.policies.get(key);
        if (p !== undefined && evaluate(p.selector, labels)) m.push(p);
      }
      m.sort((a, b) => (this.policyRank.get(a.key) ?? 0) - (this.policyRank.get(b.key) ?? 0));
      this.matchCache.set(e.key, m);
    }
    return m;
  }

  /**
   * The tiers and policies that apply to an endpoint in one direction, grouped and ordered:
   * computed once per endpoint and direction, so a verdict only walks rules.
   */
  plan(e: NormEntity, dir: Dir): readonly TierPlan[] {
    const cache = dir === 'ingress' ? this.ingressPlans : this.egressPlans;
    let plan = cache.get(e.key);
    if (plan === undefined) {
      const tiers: Array<{ name: string; defaultAction: 'Deny' | 'Pass'; policies: PolicyPlan[] }> = [];
      for (const p of this.policiesFor(e)) {
        const rules = p[dir];
        if (rules === undefined) continue;
        const last = tiers[tiers.length - 1];
        const step: PolicyPlan = { policy: p, name: policyDisplayName(p.id), rules };
        if (last !== undefined && last.name === p.tier) last.policies.push(step);
        else tiers.push({ name: p.tier, defaultAction: this.state.tier(p.tier).defaultAction, policies: [step] });
      }
      plan = tiers;
      cache.set(e.key, plan);
    }
    return plan;
  }

  /** The WorkloadEndpoint of pod `pod` in namespace `ns` (spec.pod), or by WEP name. */
  findWorkload(ns: string, pod: string): NormEntity | undefined {
    let byName: NormEntity | undefined;
    for (const e of this.state.entities.values()) {
      if (e.kind !== 'WorkloadEndpoint' || e.namespace !== ns) continue;
      if (e.pod === pod) return e;
      if (e.name === pod) byName = e;
    }
    return byName;
  }

  workloads(): NormEntity[] {
    return [...this.state.entities.values()]
      .filter((e) => e.kind === 'WorkloadEndpoint')
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  entity(key: string): NormEntity | undefined {
    return this.state.entities.get(key);
  }
}

type Dir = 'ingress' | 'egress';

interface PolicyPlan {
  readonly policy: NormPolicy;
  /** policyDisplayName, computed once. */
  readonly name: string;
  readonly rules: readonly NormRule[];
}

interface TierPlan {
  readonly name: string;
  readonly defaultAction: 'Deny' | 'Pass';
  readonly policies: readonly PolicyPlan[];
}

/** The enforced policy a staged one stands for: `StagedX` → `X`, a staged k8s policy → `knp.default.<name>`. */
function stagedTargetKey(p: NormPolicy): string {
  if (p.id.kind === 'StagedKubernetesNetworkPolicy') return `KubernetesNetworkPolicy/${p.id.namespace}/knp.default.${p.id.name}`;
  return `${p.id.kind.replace(/^Staged/, '')}/${p.id.namespace}/${p.id.name}`;
}

function enforcedKey(p: NormPolicy): string {
  return `${p.id.kind}/${p.id.namespace}/${p.id.name}`;
}

function ipKey(ip: IPAddr): string | number {
  return ip.family === 4 ? Number(ip.value) : `6:${ip.value}`;
}

function byTierName(a: NormPolicy, b: NormPolicy): number {
  return a.tier < b.tier ? -1 : a.tier > b.tier ? 1 : 0;
}

export function endpointDisplayName(e: NormEntity): string {
  switch (e.kind) {
    case 'WorkloadEndpoint':
      return `${e.namespace}/${e.pod ?? e.name}`;
    case 'HostEndpoint':
      return `hep:${e.name}`;
    default:
      return `${e.kind}:${e.namespace === '' ? e.name : `${e.namespace}/${e.name}`}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Rule matching

function inRanges(port: number | undefined, ranges: readonly PortRange[]): boolean {
  if (port === undefined) return false;
  for (const r of ranges) if (port >= r.min && port <= r.max) return true;
  return false;
}

/** Calico matches a selector through IP-set membership: any entity holding the address counts. */
function anyMatches(model: PolicyModel, sel: SelExpr, holders: readonly NormEntity[]): boolean {
  for (const e of holders) if (evaluate(sel, model.state.labelsOf(e))) return true;
  return false;
}

function namedPortMatches(
  model: PolicyModel,
  names: readonly string[],
  sel: SelExpr | undefined,
  ruleProto: number | undefined,
  ip: IPAddr,
  holders: readonly NormEntity[],
  pkt: Packet,
  port: number | undefined,
): boolean {
  if (names.length === 0 || port === undefined) return false;
  for (const e of holders) {
    // Named-port sets hold endpoint IPs only (network sets declare no ports).
    if (e.ports.length === 0) continue;
    if (!e.cidrs.some((c) => isHostCIDR(c) && cidrContainsIP(c, ip))) continue;
    if (sel !== undefined && !evaluate(sel, model.state.labelsOf(e))) continue;
    for (const p of e.ports) {
      if (!names.includes(p.name) || p.port !== port || p.protocol !== pkt.protocol) continue;
      if (ruleProto !== undefined && p.protocol !== ruleProto) continue;
      return true;
    }
  }
  return false;
}

function sideMatches(
  model: PolicyModel,
  rule: NormRule,
  side: NormSide,
  ip: IPAddr,
  holders: readonly NormEntity[],
  port: number | undefined,
  pkt: Packet,
): boolean {
  if (side.nets.length > 0 && !side.nets.some((c) => cidrContainsIP(c, ip))) return false;
  if (side.notNets.length > 0 && side.notNets.some((c) => cidrContainsIP(c, ip))) return false;
  if (side.selector !== undefined && !anyMatches(model, side.selector, holders)) return false;
  if (side.notSelector !== undefined && anyMatches(model, side.notSelector, holders)) return false;
  if (side.ports.length > 0 || side.namedPorts.length > 0) {
    const ok =
      (portCapable(pkt.protocol) && inRanges(port, side.ports)) ||
      namedPortMatches(model, side.namedPorts, side.selector, rule.protocol, ip, holders, pkt, port);
    if (!ok) return false;
  }
  if (side.notPorts.length > 0 || side.notNamedPorts.length > 0) {
    if (portCapable(pkt.protocol) && inRanges(port, side.notPorts)) return false;
    if (namedPortMatches(model, side.notNamedPorts, side.selector, rule.protocol, ip, holders, pkt, port)) return false;
  }
  return true;
}

function icmpMatches(m: { type: number; code: number | undefined }, pkt: Packet): boolean {
  if (pkt.protocol !== 1 && pkt.protocol !== 58) return false;
  if (pkt.icmpType !== m.type) return false;
  return m.code === undefined || pkt.icmpCode === m.code;
}

export function ruleMatches(model: PolicyModel, rule: NormRule, pkt: Packet): boolean {
  if (rule.unsupported) return false;
  if (rule.ipVersion !== undefined && rule.ipVersion !== pkt.family) return false;
  if (rule.protocol !== undefined && rule.protocol !== pkt.protocol) return false;
  if (rule.notProtocol !== undefined && rule.notProtocol === pkt.protocol) return false;
  if (rule.icmp !== undefined && !icmpMatches(rule.icmp, pkt)) return false;
  if (rule.notICMP !== undefined && icmpMatches(rule.notICMP, pkt)) return false;
  if (!sideMatches(model, rule, rule.source, pkt.src, pkt.srcHolders, pkt.srcPort, pkt)) return false;
  return sideMatches(model, rule, rule.destination, pkt.dst, pkt.dstHolders, pkt.dstPort, pkt);
}

// ---------------------------------------------------------------------------------------------
// The tier algorithm for one endpoint and direction

export function evaluateEndpoint(model: PolicyModel, e: NormEntity, dir: Dir, pkt: Packet): DirectionTrace {
  const endpoint = endpointDisplayName(e);
  const steps: TraceStep[] = [];
  const tiers = model.plan(e, dir);
  tierLoop: for (const t of tiers) {
    for (const { name: policy, rules } of t.policies) {
      for (const r of rules) {
        if (!ruleMatches(model, r, pkt)) continue;
        steps.push({ tier: t.name, policy, ruleIndex: r.index, result: r.action });
        if (r.action === 'log') continue;
        if (r.action === 'pass') continue tierLoop;
        const verdict: Verdict = r.action === 'allow' ? 'Allow' : 'Deny';
        return {
          endpoint,
          verdict,
          decidedBy: 'rule',
          tier: t.name,
          policy,
          ruleIndex: r.index,
          reason: `tier ${t.name}, policy ${policy}, ${dir} rule ${r.index}: ${verdict}`,
          steps,
        };
      }
      steps.push({ tier: t.name, policy, result: 'no-match' });
    }
    if (t.defaultAction === 'Pass') {
      steps.push({ tier: t.name, result: 'end-of-tier: pass' });
      continue;
    }
    steps.push({ tier: t.name, result: 'end-of-tier: deny' });
    return { endpoint, verdict: 'Deny', decidedBy: 'end-of-tier', tier: t.name, reason: `tier ${t.name}: end of tier: deny`, steps };
  }
  const lead = tiers.length === 0 ? 'no policy applied' : 'passed all tiers';
  for (const name of e.profiles) {
    const prof = model.state.profileOrStandIn(name);
    for (const r of prof[dir]) {
      if (!ruleMatches(model, r, pkt)) continue;
      steps.push({ profile: name, ruleIndex: r.index, result: r.action });
      if (r.action === 'log') continue;
      if (r.action === 'pass') break;
      const verdict: Verdict = r.action === 'allow' ? 'Allow' : 'Deny';
      const missing = !model.state.profileExists(name);
      return {
        endpoint,
        verdict,
        decidedBy: 'profile',
        profile: name,
        ruleIndex: r.index,
        reason: `${lead}: profile ${name}${missing ? ' (missing: deny)' : ''}, ${dir} rule ${r.index}: ${verdict}`,
        steps,
      };
    }
    steps.push({ profile: name, result: 'no-match' });
  }
  return {
    endpoint,
    verdict: 'Deny',
    decidedBy: 'no-profile-allowed',
    reason: `${lead}: no profile allowed: default deny`,
    steps,
  };
}

function resolvePeer(model: PolicyModel, p: PeerSpec, family: 4 | 6 | undefined): { entity: NormEntity | undefined; ip: IPAddr; name: string } {
  if ('ip' in p) {
    const ip = tryParseIP(p.ip);
    if (ip === undefined) throw new Error(`explain: ${JSON.stringify(p.ip)} is not an IP address`);
    // A bare IP that belongs to an endpoint is that endpoint (its policy applies).
    const owner = model.entitiesContaining(ip).find((e) => e.kind === 'WorkloadEndpoint' || e.kind === 'HostEndpoint');
    return { entity: owner, ip, name: owner ? endpointDisplayName(owner) : formatIP(ip) };
  }
  const e = model.entity(p.endpoint);
  if (e === undefined) throw new Error(`explain: endpoint ${JSON.stringify(p.endpoint)} not found`);
  let cidr = e.cidrs[0];
  if (family !== undefined && cidr !== undefined && cidr.family !== family) cidr = e.cidrs.find((c) => c.family === family) ?? cidr;
  if (cidr === undefined) throw new Error(`explain: endpoint ${JSON.stringify(endpointDisplayName(e))} has no IP address`);
  return { entity: e, ip: { family: cidr.family, value: cidr.network }, name: endpointDisplayName(e) };
}

function protoNumber(p: string | number | undefined): number {
  if (p === undefined) return 6;
  if (typeof p === 'number') return p;
  if (/^\d+$/.test(p)) return Number(p);
  const n = PROTOCOL_NUMBERS[p.toLowerCase()];
  if (n === undefined) throw new Error(`explain: unknown protocol ${JSON.stringify(p)}`);
  return n;
}

/** Verdict for one connection: the source's egress AND the destination's ingress must allow. */
export function explain(model: PolicyModel, req: ExplainRequest): ExplainResult {
  const preferFamily = 'ip' in req.from ? tryParseIP(req.from.ip)?.family : 'ip' in req.to ? tryParseIP(req.to.ip)?.family : undefined;
  const from = resolvePeer(model, req.from, preferFamily);
  const to = resolvePeer(model, req.to, preferFamily ?? from.ip.family);
  const protocol = protoNumber(req.protocol);
  const pkt: Packet = {
    family: from.ip.family,
    src: from.ip,
    dst: to.ip,
    srcHolders: model.entitiesContaining(from.ip),
    dstHolders: model.entitiesContaining(to.ip),
    protocol,
    srcPort: portCapable(protocol) ? (req.sourcePort ?? 40000) : undefined,
    dstPort: portCapable(protocol) ? req.port : undefined,
    icmpType: req.icmpType,
    icmpCode: req.icmpCode,
  };
  const noEndpoint = (ip: IPAddr): DirectionTrace => ({
    endpoint: null,
    verdict: 'Allow',
    decidedBy: 'not-an-endpoint',
    reason: `${formatIP(ip)} is not a Calico endpoint: no policy of its own`,
    steps: [],
  });
  const egress = from.entity !== undefined ? evaluateEndpoint(model, from.entity, 'egress', pkt) : noEndpoint(from.ip);
  const ingress = to.entity !== undefined ? evaluateEndpoint(model, to.entity, 'ingress', pkt) : noEndpoint(to.ip);
  return {
    verdict: egress.verdict === 'Allow' && ingress.verdict === 'Allow' ? 'Allow' : 'Deny',
    from: from.name,
    to: to.name,
    protocol: protocolName(protocol).toUpperCase(),
    port: req.port,
    egress,
    ingress,
  };
}

export interface PairResult {
  readonly from: string;
  readonly to: string;
  readonly verdict: Verdict;
}

/**
 * Every ordered pair of distinct workload endpoints (the `--all` truth table), or of the given
 * endpoint keys only (a probe matrix over part of the cluster).
 */
export function explainAll(
  model: PolicyModel,
  protocol: string | number,
  port: number | undefined,
  endpointKeys?: readonly string[],
): PairResult[] {
  const weps = endpointKeys === undefined ? model.workloads().map((e) => e.key) : endpointKeys;
  const out: PairResult[] = [];
  for (const a of weps) {
    const from = { endpoint: a };
    for (const b of weps) {
      if (a === b) continue;
      const r = explain(model, { from, to: { endpoint: b }, protocol, ...(port === undefined ? {} : { port }) });
      out.push({ from: r.from, to: r.to, verdict: r.verdict });
    }
  }
  return out;
}
