// Policy traces for a flow, computed with the `policy explain` oracle (src/calc/explain.ts): the
// enforced trace (what the policies in force decide) and the pending trace (what they would
// decide with the staged policies in force). Felix needs a second, userspace evaluator for the
// pending trace; Tricolor already has the oracle, so both traces come from the same code that
// the conformance suite checks the dataplane against.

import { PolicyModel, explain } from '../calc/index.ts';
import type { DirectionTrace, NormPolicy, NormRule, ExplainResult } from '../calc/index.ts';
import type { FlowAction, HitKind, PolicyHit, PolicyRef, Reporter } from './flow.ts';

export interface FlowTuple {
  readonly srcIP: string;
  readonly dstIP: string;
  /** tcp, udp, icmp, sctp, or a protocol number. */
  readonly proto: string | number;
  readonly dstPort?: number;
  readonly srcPort?: number;
}

/** The enforced model and the pending one (staged policies in force), built from one state. */
export interface TraceModels {
  readonly enforced: PolicyModel;
  readonly pending: PolicyModel;
}

export function traceModels(enforced: PolicyModel): TraceModels {
  return { enforced, pending: new PolicyModel(enforced.state, { staged: 'pending' }) };
}

function policyIndexer(model: PolicyModel): Map<string, NormPolicy> {
  const byTierAndName = new Map<string, NormPolicy>();
  for (const p of model.enforcedPolicies()) {
    const display = p.id.namespace === '' ? p.id.name : `${p.id.namespace}/${p.id.name}`;
    byTierAndName.set(`${p.tier}|${display}`, p);
  }
  return byTierAndName;
}

const indexCache = new WeakMap<PolicyModel, Map<string, NormPolicy>>();

function lookupPolicy(model: PolicyModel, tier: string, display: string): NormPolicy | undefined {
  let idx = indexCache.get(model);
  if (idx === undefined) {
    idx = policyIndexer(model);
    indexCache.set(model, idx);
  }
  return idx.get(`${tier}|${display}`);
}

function refOf(p: NormPolicy | undefined, display: string): PolicyRef {
  if (p === undefined) {
    const slash = display.indexOf('/');
    return slash < 0
      ? { kind: 'GlobalNetworkPolicy', namespace: '', name: display }
      : { kind: 'NetworkPolicy', namespace: display.slice(0, slash), name: display.slice(slash + 1) };
  }
  return { kind: p.id.kind as HitKind, namespace: p.id.namespace, name: p.id.name };
}

function actionOf(result: string): FlowAction | undefined {
  if (result === 'allow' || result === 'deny' || result === 'pass') return result;
  return undefined;
}

/**
 * A direction trace as policy hits: the rules that decided something (pass, allow, deny), end of
 * tier with the policy that triggered it, and profiles; rule index −1 for a tier's default action.
 */
export function hitsOf(model: PolicyModel, t: DirectionTrace): PolicyHit[] {
  const hits: PolicyHit[] = [];
  let policyIndex = -1;
  let lastPolicy = '';
  const firstInTier = new Map<string, PolicyRef>();
  for (const s of t.steps) {
    if (s.policy !== undefined && s.tier !== undefined) {
      const key = `${s.tier}|${s.policy}`;
      if (key !== lastPolicy) {
        policyIndex++;
        lastPolicy = key;
      }
      const ref = refOf(lookupPolicy(model, s.tier, s.policy), s.policy);
      if (!firstInTier.has(s.tier)) firstInTier.set(s.tier, ref);
      const action = actionOf(s.result);
      if (action !== undefined) hits.push({ ...ref, tier: s.tier, action, policyIndex, ruleIndex: s.ruleIndex ?? -1 });
      continue;
    }
    if (s.tier !== undefined && s.result.startsWith('end-of-tier')) {
      const action: FlowAction = s.result.endsWith('pass') ? 'pass' : 'deny';
      const trigger = firstInTier.get(s.tier);
      hits.push({
        kind: 'EndOfTier',
        namespace: '',
        name: '__NO_MATCH__',
        tier: s.tier,
        action,
        policyIndex: Math.max(policyIndex, 0),
        ruleIndex: -1,
        ...(trigger === undefined ? {} : { trigger }),
      });
      continue;
    }
    if (s.profile !== undefined) {
      const action = actionOf(s.result);
      if (action !== undefined) {
        hits.push({ kind: 'Profile', namespace: '', name: s.profile, tier: '__PROFILE__', action, policyIndex: policyIndex + 1, ruleIndex: s.ruleIndex ?? -1 });
      }
    }
  }
  if (t.decidedBy === 'no-profile-allowed') {
    hits.push({ kind: 'Profile', namespace: '', name: '__NO_MATCH__', tier: '__PROFILE__', action: 'deny', policyIndex: policyIndex + 1, ruleIndex: -1 });
  }
  return hits;
}

function explainTuple(model: PolicyModel, t: FlowTuple): ExplainResult {
  return explain(model, {
    from: { ip: t.srcIP },
    to: { ip: t.dstIP },
    protocol: t.proto,
    ...(t.dstPort === undefined ? {} : { port: t.dstPort }),
    ...(t.srcPort === undefined ? {} : { sourcePort: t.srcPort }),
  });
}

export interface FlowTraces {
  /** The verdict of the reporting side (egress for src, ingress for dst). */
  readonly action: FlowAction;
  readonly pendingAction: FlowAction;
  readonly enforced: PolicyHit[];
  readonly pending: PolicyHit[];
}

/** Both traces of one connection, as seen by one reporting side. */
export function flowTraces(models: TraceModels, t: FlowTuple, reporter: Reporter): FlowTraces {
  const pick = (r: ExplainResult): DirectionTrace => (reporter === 'src' ? r.egress : r.ingress);
  const e = pick(explainTuple(models.enforced, t));
  const p = pick(explainTuple(models.pending, t));
  return {
    action: e.verdict === 'Allow' ? 'allow' : 'deny',
    pendingAction: p.verdict === 'Allow' ? 'allow' : 'deny',
    enforced: hitsOf(models.enforced, e),
    pending: hitsOf(models.pending, p),
  };
}

const SOURCE_PORTS = new WeakMap<PolicyModel, boolean>();

/** Whether any policy or profile rule matches on source ports (then a flow's trace depends on its source port). */
export function sourcePortMatters(model: PolicyModel): boolean {
  let v = SOURCE_PORTS.get(model);
  if (v === undefined) {
    const uses = (rules: readonly NormRule[] | undefined): boolean =>
      (rules ?? []).some((r) => r.source.ports.length + r.source.namedPorts.length + r.source.notPorts.length + r.source.notNamedPorts.length > 0);
    v = false;
    for (const p of model.state.policies.values()) if (uses(p.ingress) || uses(p.egress)) v = true;
    const seen = new Set<string>();
    for (const e of model.state.entities.values()) {
      for (const name of e.profiles) {
        if (v || seen.has(name)) continue;
        seen.add(name);
        const pr = model.state.profile(name);
        if (pr !== undefined && (uses(pr.ingress) || uses(pr.egress))) v = true;
      }
    }
    SOURCE_PORTS.set(model, v);
  }
  return v;
}

/**
 * flowTraces, remembered per (reporter, addresses, protocol, destination port) for one set of
 * models: the many connections of one flush that differ only in their source port share one
 * oracle evaluation — unless some rule matches source ports, which puts the port in the key.
 * Made for one flush (the models do not change under it).
 */
export class TraceCache {
  private readonly memo = new Map<string, FlowTraces>();
  private readonly endpoints = new Map<string, unknown>();
  private readonly models: TraceModels;
  private readonly bySourcePort: boolean;

  constructor(models: TraceModels) {
    this.models = models;
    this.bySourcePort = sourcePortMatters(models.enforced) || sourcePortMatters(models.pending);
  }

  /** The endpoint behind an address, remembered likewise (the record's src/dst; never mutated). */
  endpoint<T>(ip: string, compute: () => T): T {
    let v = this.endpoints.get(ip);
    if (v === undefined) this.endpoints.set(ip, (v = compute()));
    return v as T;
  }

  get(t: FlowTuple, reporter: Reporter): FlowTraces {
    const k = `${reporter}|${t.srcIP}|${t.dstIP}|${String(t.proto)}|${t.dstPort ?? ''}|${this.bySourcePort ? (t.srcPort ?? '') : ''}`;
    let v = this.memo.get(k);
    if (v === undefined) this.memo.set(k, (v = flowTraces(this.models, t, reporter)));
    return v;
  }
}
