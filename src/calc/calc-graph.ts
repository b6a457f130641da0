// The calculation graph for one node (node contract §4.2): ClusterState (validation filter,
// dispatcher, label inheritance) → active-rules calculation (which policies match local
// endpoints, which profiles they reference) → rule scanner (IP sets) → IP set membership via the
// label index → policy resolver (ordered tiers per endpoint) → EventSequencer. Every change is
// handled incrementally: an entity's label change re-evaluates only the selectors its labels could
// satisfy (plus the sets it was in); a policy edit re-scans that policy and re-matches it against
// local endpoints only. Output depends on current state only, never on update history.

import { ClusterState } from './cluster-state.ts';
import { EventSequencer } from './event-sequencer.ts';
import { HintIndex, LabelIndex } from './label-index.ts';
import type { CalcMessage, IPPortMember, TierInfo } from './messages.ts';
import type { CalcUpdate, NormEntity, NormPolicy, NormProfile } from './model.ts';
import { RoutingResolver } from './routing-resolver.ts';
import type { RoutingUpdate } from './routing-resolver.ts';
import type { BGPMode } from './routing-model.ts';
import { isHostCIDR, policyKey } from './model.ts';
import { resolveTiers } from './policy-sorter.ts';
import { scanRules } from './rule-scanner.ts';
import type { IPSetSpec, ScanResult } from './rule-scanner.ts';
import { evaluate } from './selector-expr.ts';
import type { LabelView } from './selector-expr.ts';

interface IPSetState {
  readonly spec: IPSetSpec;
  refs: number;
  /** member text → number of contributing entities. */
  readonly members: Map<string, number>;
  /** entity key → the members it contributes. */
  readonly contributors: Map<string, readonly string[]>;
  /**
   * Member texts kept sorted incrementally, so a flush copies instead of sorting; when many
   * members change at once (initial scan, a namespace relabel) `sortedValid` is dropped and the
   * next flush sorts once instead of splicing per member.
   */
  sorted: string[];
  /** ip-port sets: the member objects, parallel to `sorted`. */
  sortedPorts: IPPortMember[];
  sortedValid: boolean;
  /** Change since the last flushed IPSetUpdate (a member is in at most one of the two). */
  readonly added: Set<string>;
  readonly removed: Set<string>;
}

/** Index of the first element >= x in a sorted string array. */
function lowerBound(a: readonly string[], x: string): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((a[mid] as string) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function ipPortMember(k: string): IPPortMember {
  const [ip, proto, port] = k.split(',');
  return { ip: ip ?? '', protocol: Number(proto), port: Number(port) };
}

/** Beyond this many pending changes per flush, one sort is cheaper than splicing each. */
const SPLICE_LIMIT = 32;

function memberAdded(s: IPSetState, m: string): void {
  if (!s.removed.delete(m)) s.added.add(m);
  if (!s.sortedValid) return;
  if (s.added.size + s.removed.size > SPLICE_LIMIT) {
    s.sortedValid = false;
    return;
  }
  const i = lowerBound(s.sorted, m);
  s.sorted.splice(i, 0, m);
  if (s.spec.type === 'ip-port') s.sortedPorts.splice(i, 0, ipPortMember(m));
}

function memberRemoved(s: IPSetState, m: string): void {
  if (!s.added.delete(m)) s.removed.add(m);
  if (!s.sortedValid) return;
  if (s.added.size + s.removed.size > SPLICE_LIMIT) {
    s.sortedValid = false;
    return;
  }
  const i = lowerBound(s.sorted, m);
  if (s.sorted[i] === m) {
    s.sorted.splice(i, 1);
    if (s.spec.type === 'ip-port') s.sortedPorts.splice(i, 1);
  }
}

function sortedMembers(s: IPSetState): string[] {
  if (!s.sortedValid) {
    s.sorted = [...s.members.keys()].sort();
    if (s.spec.type === 'ip-port') s.sortedPorts = s.sorted.map(ipPortMember);
    s.sortedValid = true;
  }
  return s.sorted;
}

interface ActiveRules<T> {
  readonly source: T;
  readonly scan: ScanResult;
}

const NO_MEMBERS: readonly string[] = [];

function ipPortKey(ip: string, protocol: number, port: number): string {
  return `${ip},${protocol},${port}`;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export interface CalcGraphOptions {
  /** The node whose endpoints are programmed. */
  readonly hostname: string;
  /** Whether this node may run BIRD (`--bgp`; default auto): BIRD installs some blackholes itself. */
  readonly bgpMode?: BGPMode;
}

export class CalcGraph {
  readonly state = new ClusterState();
  readonly hostname: string;
  private readonly seq = new EventSequencer();
  private readonly labelIndex = new LabelIndex();
  private readonly ipsetHints = new HintIndex();
  private readonly policyHints = new HintIndex();
  private readonly ipsets = new Map<string, IPSetState>();
  private readonly entityIPSets = new Map<string, Set<string>>();
  private readonly localEndpoints = new Map<string, NormEntity>();
  private readonly endpointPolicies = new Map<string, Set<string>>();
  private readonly policyEndpoints = new Map<string, Set<string>>();
  private readonly activePolicies = new Map<string, ActiveRules<NormPolicy>>();
  private readonly activeProfiles = new Map<string, ActiveRules<NormProfile> & { refs: number }>();
  private readonly dirtyEndpoints = new Set<string>();
  private readonly lastEndpointMsg = new Map<string, string>();
  /** IP sets released since the last flush while the dataplane still has them. */
  private readonly releasedIPSets = new Map<string, IPSetState>();

  /** Routes, tunnels, encapsulation and host facts (routing-resolver.ts). */
  readonly routing: RoutingResolver;

  constructor(opts: CalcGraphOptions) {
    this.hostname = opts.hostname;
    this.routing = new RoutingResolver({ nodeName: opts.hostname, bgpMode: opts.bgpMode ?? 'auto', seq: this.seq });
  }

  /** Routing inputs: Nodes, IP pools, BGPConfiguration, block affinities. */
  onRoutingUpdates(updates: Iterable<RoutingUpdate>): void {
    for (const u of updates) this.routing.onUpdate(u);
  }

  onUpdates(updates: Iterable<CalcUpdate>): void {
    for (const u of updates) this.onUpdate(u);
  }

  onUpdate(u: CalcUpdate): void {
    const c = this.state.apply(u);
    switch (c.type) {
      case 'none':
        return;
      case 'entity':
        this.onEntity(c.key);
        return;
      case 'policy':
        this.onPolicy(c.key);
        return;
      case 'tier':
        for (const k of this.localEndpoints.keys()) this.dirtyEndpoints.add(k);
        return;
      case 'profile':
        if (c.labelsChanged) for (const k of [...this.state.profileUsersOf(c.name)]) this.onEntity(k);
        if (this.activeProfiles.has(c.name)) this.rescanProfile(c.name);
        return;
    }
  }

  /** Mark the initial snapshot complete: the next flush ends with InSync. */
  markInSync(): void {
    this.seq.markInSync();
  }

  /** Everything pending, in dependency order. */
  flush(): CalcMessage[] {
    for (const key of this.dirtyEndpoints) this.emitEndpoint(key);
    this.dirtyEndpoints.clear();
    this.releasedIPSets.clear();
    this.routing.queueChanges();
    return this.seq.flush();
  }

  // -------------------------------------------------------------------------------------------
  // Entities: label index, IP set membership, local endpoint policy matching

  private onEntity(key: string): void {
    const e = this.state.entities.get(key);
    const labels = e === undefined ? undefined : this.state.labelsOf(e);
    this.labelIndex.set(key, labels);
    const candidates = this.ipsetHints.candidates(labels, new Set(this.entityIPSets.get(key) ?? []));
    for (const id of candidates) this.updateMembership(id, key, e, labels);

    if (key.startsWith('WorkloadEndpoint/')) {
      // the routing side needs every workload's addresses for the borrowed ones (HostMetadataUpdate)
      const addrs = e?.node === undefined ? [] : e.cidrs.filter(isHostCIDR).map((c) => c.text);
      this.routing.onWorkload(key, e?.node === undefined || addrs.length === 0 ? undefined : { node: e.node, addrs });
    }
    const isLocal = e !== undefined && (e.kind === 'WorkloadEndpoint' || e.kind === 'HostEndpoint') && e.node === this.hostname;
    const before = this.localEndpoints.get(key);
    if (!isLocal && before === undefined) return;
    this.dirtyEndpoints.add(key);
    // Profiles: take references for the new list before dropping the old one.
    if (isLocal) for (const p of e.profiles) this.refProfile(p);
    if (before !== undefined) for (const p of before.profiles) this.unrefProfile(p);
    // Policy matches of this endpoint.
    const old = this.endpointPolicies.get(key) ?? new Set<string>();
    const now = new Set<string>();
    if (isLocal && labels !== undefined) {
      for (const pk of this.policyHints.candidates(labels, new Set())) {
        const p = this.state.policies.get(pk);
        if (p !== undefined && !p.staged && evaluate(p.selector, labels)) now.add(pk);
      }
    }
    for (const pk of old) {
      if (now.has(pk)) continue;
      this.policyEndpoints.get(pk)?.delete(key);
      this.updateActivePolicy(pk);
    }
    for (const pk of now) {
      if (old.has(pk)) continue;
      let s = this.policyEndpoints.get(pk);
      if (s === undefined) this.policyEndpoints.set(pk, (s = new Set()));
      s.add(key);
      this.updateActivePolicy(pk);
    }
    if (isLocal) {
      this.localEndpoints.set(key, e);
      this.endpointPolicies.set(key, now);
    } else {
      this.localEndpoints.delete(key);
      this.endpointPolicies.delete(key);
    }
  }

  private membersOf(spec: IPSetSpec, e: NormEntity): readonly string[] {
    if (spec.type === 'net') return e.cidrs.map((c) => c.text);
    const out: string[] = [];
    for (const c of e.cidrs) {
      if (!isHostCIDR(c)) continue;
      const ip = c.text.slice(0, c.text.indexOf('/'));
      for (const p of e.ports) {
        if (p.name !== spec.portName) continue;
        if (spec.protocol !== undefined && p.protocol !== spec.protocol) continue;
        out.push(ipPortKey(ip, p.protocol, p.port));
      }
    }
    return out;
  }

  private updateMembership(id: string, key: string, e: NormEntity | undefined, labels: LabelView | undefined): void {
    const s = this.ipsets.get(id);
    if (s === undefined) return;
    const oldMembers = s.contributors.get(key) ?? NO_MEMBERS;
    const matches = e !== undefined && labels !== undefined && evaluate(s.spec.selector, labels);
    const newMembers = matches ? this.membersOf(s.spec, e) : NO_MEMBERS;
    if (sameList(oldMembers, newMembers) && (matches || !s.contributors.has(key))) return;
    let changed = false;
    for (const m of oldMembers) {
      const n = (s.members.get(m) ?? 0) - 1;
      if (n <= 0) {
        s.members.delete(m);
        memberRemoved(s, m);
        changed = true;
      } else s.members.set(m, n);
    }
    for (const m of newMembers) {
      const n = s.members.get(m) ?? 0;
      if (n === 0) {
        memberAdded(s, m);
        changed = true;
      }
      s.members.set(m, n + 1);
    }
    let sets = this.entityIPSets.get(key);
    if (matches) {
      s.contributors.set(key, newMembers);
      if (sets === undefined) this.entityIPSets.set(key, (sets = new Set()));
      sets.add(id);
    } else {
      s.contributors.delete(key);
      sets?.delete(id);
      if (sets?.size === 0) this.entityIPSets.delete(key);
    }
    if (changed) this.queueIPSet(id);
  }

  private queueIPSet(id: string): void {
    this.seq.update('ipset', id, () => this.ipsetMessage(id));
  }

  /** Built at flush time: the full list is one array copy; the delta is what changed since. */
  private ipsetMessage(id: string): CalcMessage {
    const s = this.ipsets.get(id);
    if (s === undefined) throw new Error(`calc: IP set ${id} flushed after removal`);
    const added = [...s.added].sort();
    const removed = [...s.removed].sort();
    s.added.clear();
    s.removed.clear();
    const sorted = sortedMembers(s);
    if (s.spec.type === 'net') return { type: 'IPSetUpdate', id, ipsetType: 'net', members: sorted.slice(), added, removed };
    return {
      type: 'IPSetUpdate',
      id,
      ipsetType: 'ip-port',
      members: s.sortedPorts.slice(),
      added: added.map(ipPortMember),
      removed: removed.map(ipPortMember),
    };
  }

  private acquireIPSet(spec: IPSetSpec): void {
    const existing = this.ipsets.get(spec.id);
    if (existing !== undefined) {
      existing.refs++;
      return;
    }
    const s: IPSetState = {
      spec,
      refs: 1,
      members: new Map(),
      contributors: new Map(),
      sorted: [],
      sortedPorts: [],
      sortedValid: false,
      added: new Set(),
      removed: new Set(),
    };
    this.ipsets.set(spec.id, s);
    this.ipsetHints.add(spec.id, spec.selector, (hints) => this.labelIndex.bestHint(hints));
    const cands = this.labelIndex.candidates(spec.selector) ?? this.state.entities.keys();
    for (const key of cands) {
      const e = this.state.entities.get(key);
      if (e !== undefined) this.updateMembership(spec.id, key, e, this.state.labelsOf(e));
    }
    // Removed and re-created before a flush: the dataplane still holds the old members, so the
    // delta must be relative to those, not to an empty set.
    const old = this.releasedIPSets.get(spec.id);
    if (old !== undefined) {
      this.releasedIPSets.delete(spec.id);
      const had = new Set(old.members.keys());
      for (const m of old.added) had.delete(m);
      for (const m of old.removed) had.add(m);
      s.added.clear();
      s.removed.clear();
      s.sortedValid = false;
      for (const m of s.members.keys()) if (!had.has(m)) s.added.add(m);
      for (const m of had) if (!s.members.has(m)) s.removed.add(m);
    }
    this.queueIPSet(spec.id);
  }

  private releaseIPSet(id: string): void {
    const s = this.ipsets.get(id);
    if (s === undefined) return;
    if (--s.refs > 0) return;
    for (const key of s.contributors.keys()) {
      const sets = this.entityIPSets.get(key);
      sets?.delete(id);
      if (sets?.size === 0) this.entityIPSets.delete(key);
    }
    this.ipsetHints.remove(id);
    this.ipsets.delete(id);
    if (this.seq.isSent('ipset', id)) this.releasedIPSets.set(id, s);
    this.seq.remove('ipset', id, () => ({ type: 'IPSetRemove', id }));
  }

  private swapIPSets(next: ScanResult | undefined, prev: ScanResult | undefined): void {
    if (next !== undefined) for (const spec of next.ipsets.values()) this.acquireIPSet(spec);
    if (prev !== undefined) for (const id of prev.ipsets.keys()) this.releaseIPSet(id);
  }

  // -------------------------------------------------------------------------------------------
  // Policies

  private onPolicy(key: string): void {
    const p = this.state.policies.get(key);
    this.policyHints.remove(key);
    if (p !== undefined && !p.staged) this.policyHints.add(key, p.selector);
    const old = this.policyEndpoints.get(key) ?? new Set<string>();
    const now = new Set<string>();
    if (p !== undefined && !p.staged) {
      for (const [ek, e] of this.localEndpoints) if (evaluate(p.selector, this.state.labelsOf(e))) now.add(ek);
    }
    for (const ek of old) {
      this.dirtyEndpoints.add(ek);
      if (!now.has(ek)) this.endpointPolicies.get(ek)?.delete(key);
    }
    for (const ek of now) {
      this.dirtyEndpoints.add(ek);
      this.endpointPolicies.get(ek)?.add(key);
    }
    if (now.size > 0) this.policyEndpoints.set(key, now);
    else this.policyEndpoints.delete(key);
    this.updateActivePolicy(key);
  }

  private updateActivePolicy(key: string): void {
    const p = this.state.policies.get(key);
    const active = p !== undefined && (this.policyEndpoints.get(key)?.size ?? 0) > 0;
    const cur = this.activePolicies.get(key);
    if (active) {
      if (cur !== undefined && cur.source === p) return;
      const scan = scanRules(p.ingress ?? [], p.egress ?? []);
      this.swapIPSets(scan, cur?.scan);
      this.activePolicies.set(key, { source: p, scan });
      this.seq.update('policy', key, () => ({
        type: 'ActivePolicyUpdate',
        key,
        id: p.id,
        tier: p.tier,
        rules: scan.rules,
        untracked: p.doNotTrack,
        preDNAT: p.preDNAT,
        applyOnForward: p.applyOnForward,
        ipSetIds: [...scan.ipsets.keys()].sort(),
      }));
    } else if (cur !== undefined) {
      this.activePolicies.delete(key);
      this.swapIPSets(undefined, cur.scan);
      this.seq.remove('policy', key, () => ({ type: 'ActivePolicyRemove', key }));
    }
  }

  // -------------------------------------------------------------------------------------------
  // Profiles

  private refProfile(name: string): void {
    const cur = this.activeProfiles.get(name);
    if (cur !== undefined) {
      cur.refs++;
      return;
    }
    const prof = this.state.profileOrStandIn(name);
    const scan = scanRules(prof.ingress, prof.egress);
    this.swapIPSets(scan, undefined);
    this.activeProfiles.set(name, { source: prof, scan, refs: 1 });
    this.queueProfile(name);
  }

  private unrefProfile(name: string): void {
    const cur = this.activeProfiles.get(name);
    if (cur === undefined) return;
    if (--cur.refs > 0) return;
    this.activeProfiles.delete(name);
    this.swapIPSets(undefined, cur.scan);
    this.seq.remove('profile', name, () => ({ type: 'ActiveProfileRemove', name }));
  }

  private rescanProfile(name: string): void {
    const cur = this.activeProfiles.get(name);
    if (cur === undefined) return;
    const prof = this.state.profileOrStandIn(name);
    const scan = scanRules(prof.ingress, prof.egress);
    this.swapIPSets(scan, cur.scan);
    this.activeProfiles.set(name, { source: prof, scan, refs: cur.refs });
    this.queueProfile(name);
  }

  private queueProfile(name: string): void {
    this.seq.update('profile', name, () => {
      const cur = this.activeProfiles.get(name);
      if (cur === undefined) throw new Error(`calc: profile ${name} flushed after removal`);
      return { type: 'ActiveProfileUpdate', name, rules: cur.scan.rules, ipSetIds: [...cur.scan.ipsets.keys()].sort() };
    });
  }

  // -------------------------------------------------------------------------------------------
  // Endpoints (policy resolver)

  private tierInfos(policies: NormPolicy[]): TierInfo[] {
    return resolveTiers(policies, (n) => this.state.tier(n)).map((t) => ({
      name: t.tier.name,
      defaultAction: t.tier.defaultAction,
      ingressPolicies: t.ingress.map((p) => p.key),
      egressPolicies: t.egress.map((p) => p.key),
    }));
  }

  /** The message that describes a local endpoint now, or undefined if it is not local. */
  endpointMessage(key: string): CalcMessage | undefined {
    const e = this.localEndpoints.get(key);
    if (e === undefined) return undefined;
    const matched = [...(this.endpointPolicies.get(key) ?? [])]
      .map((k) => this.state.policies.get(k))
      .filter((p): p is NormPolicy => p !== undefined);
    const normal = matched.filter((p) => !p.doNotTrack && !p.preDNAT);
    if (e.kind === 'WorkloadEndpoint') {
      return {
        type: 'WorkloadEndpointUpdate',
        key,
        namespace: e.namespace,
        name: e.name,
        pod: e.pod,
        interfaceName: e.interfaceName,
        mac: e.mac,
        ipv4Nets: e.cidrs.filter((c) => c.family === 4).map((c) => c.text),
        ipv6Nets: e.cidrs.filter((c) => c.family === 6).map((c) => c.text),
        profileIds: e.profiles,
        tiers: this.tierInfos(normal),
      };
    }
    return {
      type: 'HostEndpointUpdate',
      key,
      name: e.name,
      interfaceName: e.interfaceName,
      expectedIPs: e.cidrs.map((c) => c.text),
      profileIds: e.profiles,
      tiers: this.tierInfos(normal),
      untrackedTiers: this.tierInfos(matched.filter((p) => p.doNotTrack)),
      preDNATTiers: this.tierInfos(matched.filter((p) => p.preDNAT)),
      forwardTiers: this.tierInfos(normal.filter((p) => p.applyOnForward)),
    };
  }

  private emitEndpoint(key: string): void {
    const cat = key.startsWith('WorkloadEndpoint/') ? 'wep' : 'hep';
    const msg = this.endpointMessage(key);
    if (msg === undefined) {
      this.lastEndpointMsg.delete(key);
      this.seq.remove(cat, key, () =>
        cat === 'wep' ? { type: 'WorkloadEndpointRemove', key } : { type: 'HostEndpointRemove', key },
      );
      return;
    }
    const text = JSON.stringify(msg);
    if (this.lastEndpointMsg.get(key) === text && this.seq.isSent(cat, key)) return;
    this.lastEndpointMsg.set(key, text);
    this.seq.update(cat, key, () => msg);
  }

  // -------------------------------------------------------------------------------------------
  // Introspection (for `policy show` and tests)

  /** Current members of an active IP set. */
  ipsetMembers(id: string): string[] | undefined {
    const s = this.ipsets.get(id);
    return s === undefined ? undefined : sortedMembers(s).slice();
  }

  activePolicyKeys(): string[] {
    return [...this.activePolicies.keys()].sort();
  }

  activePolicyIPSets(key: string): string[] {
    return [...(this.activePolicies.get(key)?.scan.ipsets.keys() ?? [])].sort();
  }

  activeProfileIPSets(name: string): string[] {
    return [...(this.activeProfiles.get(name)?.scan.ipsets.keys() ?? [])].sort();
  }

  localEndpointKeys(): string[] {
    return [...this.localEndpoints.keys()].sort();
  }
}

export { policyKey };
