// Desired dataplane state → the complete content of our nft table `inet tricolor` (layout in
// docs/design/dataplane.md, after node contract §4.5–4.12, in our own names). Pure: the result
// is data (chains with rules, sets and verdict maps with their elements) that nft-delta turns into
// a minimal transaction. Every rule carries a comment `tri:<hash>` identifying its content, which
// is how a read-back recognises each rule without comparing nft's normalised expressions.

import { createHash } from 'node:crypto';
import type { HostEndpointUpdate, IPSetUpdate, RuleIR, TierInfo, WorkloadEndpointUpdate } from '../../calc/index.ts';
import type { DataplaneConfig, DataplaneState, FailsafePort, IPSetDelta, IPSetMember } from '../dataplane-state.ts';
import type { NftExpr } from './nft-json.ts';
import { encodeRuleId, nflogGroup } from '../../flows/index.ts';
import type { HitKind, RuleIdentity } from '../../flows/index.ts';
import {
  accept,
  addrElem,
  concat,
  ctState,
  drop,
  elemKey,
  goto,
  jump,
  log,
  markClear,
  markIs,
  markSet,
  masquerade,
  match,
  meta,
  payload,
  reject,
  ret,
  setRef,
} from './nft-json.ts';
import type { Family, RuleRenderContext, SetKind } from './rule-renderer.ts';
import { familyOf, mergeCIDRs, renderRule } from './rule-renderer.ts';

// ---------------------------------------------------------------------------------------------
// The rendered model

export interface BaseChainSpec {
  readonly type: 'filter' | 'nat';
  readonly hook: 'input' | 'forward' | 'output' | 'postrouting';
  readonly prio: number;
  readonly policy: 'accept';
}

export interface RenderedRule {
  readonly expr: readonly NftExpr[];
  /** `tri:<16 chars>` content hash, then a human note; at most 128 characters (nft's limit). */
  readonly comment: string;
  readonly id: string;
}

export interface RenderedChain {
  readonly name: string;
  readonly base: BaseChainSpec | undefined;
  readonly rules: readonly RenderedRule[];
}

export interface RenderedSet {
  readonly name: string;
  readonly type: string | readonly string[];
  readonly flags: readonly string[];
  /** elemKey → element. */
  readonly elems: ReadonlyMap<string, NftExpr>;
}

export interface RenderedMap {
  readonly name: string;
  readonly type: string;
  /** key → [key element, verdict]. */
  readonly elems: ReadonlyMap<string, readonly [NftExpr, NftExpr]>;
}

export interface Ruleset {
  readonly chains: ReadonlyMap<string, RenderedChain>;
  readonly sets: ReadonlyMap<string, RenderedSet>;
  readonly maps: ReadonlyMap<string, RenderedMap>;
}

// ---------------------------------------------------------------------------------------------
// Names

export const MARK_ACCEPT = 0x10000;
export const MARK_PASS = 0x20000;

export const CHAIN = {
  input: 'tri-input',
  forward: 'tri-forward',
  output: 'tri-output',
  natPostrouting: 'tri-nat-postrouting',
  natOutgoing: 'tri-nat-outgoing',
  fromWlDispatch: 'tri-from-wl-dispatch',
  toWlDispatch: 'tri-to-wl-dispatch',
  wlToHost: 'tri-wl-to-host',
  fromHepDispatch: 'tri-from-hep-dispatch',
  toHepDispatch: 'tri-to-hep-dispatch',
  fromHepFwdDispatch: 'tri-from-hepfw-dispatch',
  toHepFwdDispatch: 'tri-to-hepfw-dispatch',
  failsafeIn: 'tri-failsafe-in',
  failsafeOut: 'tri-failsafe-out',
} as const;

export const MAP = {
  fromWl: 'tri-from-wl-map',
  toWl: 'tri-to-wl-map',
  fromHep: 'tri-from-hep-map',
  toHep: 'tri-to-hep-map',
  fromHepFwd: 'tri-from-hepfw-map',
  toHepFwd: 'tri-to-hepfw-map',
} as const;

export const POOL_SETS = { all4: 'tri-pools4', all6: 'tri-pools6', masq4: 'tri-masq4', masq6: 'tri-masq6' } as const;

const KIND_SHORT: Readonly<Record<string, string>> = {
  NetworkPolicy: 'np',
  GlobalNetworkPolicy: 'gnp',
  KubernetesNetworkPolicy: 'knp',
  StagedNetworkPolicy: 'snp',
  StagedGlobalNetworkPolicy: 'sgnp',
  StagedKubernetesNetworkPolicy: 'sknp',
};

function shortHash(text: string, n = 16): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, n);
}

/** `prefix + id` when it is a safe nft identifier of sane length, else `prefix + hash(id)`. */
export function safeName(prefix: string, id: string): string {
  if (/^[A-Za-z0-9_./-]+$/.test(id) && prefix.length + id.length <= 200) return prefix + id;
  return `${prefix}_${shortHash(id, 40)}`;
}

/** `<kindShort>/<namespace>/<name>` (or `<kindShort>/<name>` for cluster-scoped kinds). */
export function policyChainId(key: string): string {
  const [kind = '', ns = '', ...rest] = key.split('/');
  const name = rest.join('/');
  const k = KIND_SHORT[kind] ?? kind.toLowerCase();
  return ns === '' ? `${k}/${name}` : `${k}/${ns}/${name}`;
}

export const policyChain = (key: string, dir: 'in' | 'out'): string => safeName(dir === 'in' ? 'tri-pi-' : 'tri-po-', policyChainId(key));
export const profileChain = (name: string, dir: 'in' | 'out'): string => safeName(dir === 'in' ? 'tri-pri-' : 'tri-pro-', name);
export const workloadChain = (ifname: string, dir: 'to' | 'from'): string => safeName(dir === 'to' ? 'tri-tw-' : 'tri-fw-', ifname);
export const hostChain = (ifname: string, kind: 'fh' | 'th' | 'fhfw' | 'thfw'): string => safeName(`tri-${kind}-`, ifname);

/** IP set id → nft set name; `interval` selects the CIDR-capable flavour (a different name). */
export function ipSetName(id: string, family: Family, kind: SetKind, interval: boolean): string {
  const letter = kind === 'port' ? 'p' : interval ? 'n' : 's';
  return safeName(`tri-${letter}${family}-`, id.replaceAll(':', '-'));
}

// ---------------------------------------------------------------------------------------------
// Rendering

function makeRule(expr: readonly NftExpr[], note: string): RenderedRule {
  const id = 'tri:' + shortHash(JSON.stringify(expr));
  const comment = (note === '' ? id : `${id} ${note}`).slice(0, 128);
  return { expr, comment, id };
}

class ChainBuilder {
  readonly rules: RenderedRule[] = [];
  readonly name: string;
  constructor(name: string) {
    this.name = name;
  }
  add(expr: readonly NftExpr[], note = ''): void {
    this.rules.push(makeRule(expr, note));
  }
  /** A rule object shared with other chains (rules are immutable). */
  addShared(rule: RenderedRule): void {
    this.rules.push(rule);
  }
}

/**
 * The rules every endpoint chain repeats — "jump to policy P", "return if accepted", tier
 * starts and ends — built and hashed once and shared by every chain that uses them. With 250
 * endpoints each listing 100 policies that is 100k rules in endpoint chains but only a few
 * thousand distinct objects (render time and heap both drop). Entries depend on the config's
 * deny action, so a config change (which renders everything) clears the cache; a policy's or
 * profile's entries are dropped when it goes away.
 */
class SharedRules {
  private readonly m = new Map<string, RenderedRule>();
  get(key: string, expr: () => readonly NftExpr[], note: string): RenderedRule {
    let r = this.m.get(key);
    if (r === undefined) this.m.set(key, (r = makeRule(expr(), note)));
    return r;
  }
  forget(...keys: string[]): void {
    for (const k of keys) this.m.delete(k);
  }
  clear(): void {
    this.m.clear();
  }
}

const CT_FIRST = (c: ChainBuilder): void => {
  c.add([match('in', ctState(), ['established', 'related']), accept()], 'conntrack: established/related');
  c.add([match('in', ctState(), ['invalid']), drop()], 'conntrack: invalid');
};

/** What changed in a renderer's ruleset between two revisions (the hint that keeps a delta O(change)). */
export interface RulesetChanges {
  readonly from: number;
  readonly to: number;
  /** Anything may have changed (first render, config change, an IP family switched on or off). */
  readonly full: boolean;
  /** Chains added, rewritten or deleted. */
  readonly chains: ReadonlySet<string>;
  /** Sets: element keys added or removed, or 'all' when the set appeared, vanished or was rebuilt. */
  readonly sets: ReadonlyMap<string, ReadonlySet<string> | 'all'>;
  /** Verdict maps: keys whose entry was added, changed or removed. */
  readonly maps: ReadonlyMap<string, ReadonlySet<string>>;
}

interface FamilySet {
  interval: boolean;
  /** elemKey → element; shared with the RenderedSet when the set is programmed. */
  elems: Map<string, NftExpr>;
}

interface IpSetData {
  readonly type: 'net' | 'ip-port';
  readonly fam: Record<Family, FamilySet>;
}

interface EndpointOut {
  readonly chains: readonly string[];
  readonly entries: readonly (readonly [string, string])[];
  readonly policies: readonly string[];
  readonly profiles: readonly string[];
  readonly ifKey: string | undefined;
}

interface MutableRenderedMap {
  readonly name: string;
  readonly type: string;
  readonly elems: Map<string, readonly [NftExpr, NftExpr]>;
}

const FAMILIES = [4, 6] as const;
const addrType = (fam: Family): string => (fam === 4 ? 'ipv4_addr' : 'ipv6_addr');
const isHost = (cidr: string, fam: Family): boolean => !cidr.includes('/') || cidr.endsWith(fam === 4 ? '/32' : '/128');

function familySetsOf(msg: IPSetUpdate): IpSetData {
  const fam = { 4: { interval: false, elems: new Map() }, 6: { interval: false, elems: new Map() } } as Record<Family, FamilySet>;
  if (msg.ipsetType === 'net') {
    for (const f of FAMILIES) {
      const members = msg.members.filter((m) => familyOf(m) === f);
      const interval = members.some((m) => !isHost(m, f));
      fam[f].interval = interval;
      for (const m of interval ? mergeCIDRs(members) : members) {
        const e = addrElem(m);
        fam[f].elems.set(elemKey(e), e);
      }
    }
  } else {
    for (const m of msg.members) {
      const e = concat([m.ip, m.protocol, m.port]);
      fam[familyOf(m.ip)].elems.set(elemKey(e), e);
    }
  }
  return { type: msg.ipsetType, fam };
}

/**
 * Keeps the ruleset for one DataplaneState up to date: the first `update()` (and any config
 * change, or an IP family switching on/off) renders everything; later ones re-render only the
 * objects the state's journal names — an IP set's changed elements, a policy's chains, the
 * endpoints whose chains reference a policy that appeared or vanished — and record what changed
 * for `takeChanges()`, so the delta and the driver's bookkeeping are O(change) too.
 *
 * The ruleset is owned by the renderer and updated in place; `renderRuleset()` gives a fresh one.
 *
 * IP sets are programmed only for the families some IP set has members of: on an IPv4-only
 * cluster no IPv6 set (and no rule that could only match through one) exists. A set that is not
 * programmed is empty by definition, so rules on it render as `RuleRenderContext.setName` says.
 */
export class RulesetRenderer {
  private readonly chains = new Map<string, RenderedChain>();
  private readonly sets = new Map<string, RenderedSet>();
  private readonly maps = new Map<string, MutableRenderedMap>();
  readonly ruleset: Ruleset = { chains: this.chains, sets: this.sets, maps: this.maps };
  private revision = 0;
  private takenRevision = 0;
  private initialised = false;
  private renderingAll = false;

  private readonly ipsetData = new Map<string, IpSetData>();
  private readonly famCount: Record<Family, number> = { 4: 0, 6: 0 };
  private readonly famActive: Record<Family, boolean> = { 4: false, 6: false };
  /** 'p:'+policy key / 'r:'+profile name → chain names and IP set ids its rules reference. */
  private readonly ruleOwners = new Map<string, { chains: readonly string[]; setIds: ReadonlySet<string> }>();
  private readonly setUsers = new Map<string, Set<string>>();
  /** 'w:'+workload key / 'h:'+host endpoint key → what its render produced and referenced. */
  private readonly endpoints = new Map<string, EndpointOut>();
  private readonly policyUsers = new Map<string, Set<string>>();
  private readonly profileUsers = new Map<string, Set<string>>();
  /** 'w|'+ifname / 'h|'+ifname → endpoints claiming it (more than one: rendered as a whole). */
  private readonly ifUsers = new Map<string, Set<string>>();
  private readonly shared = new SharedRules();

  private chFull = false;
  private chChains = new Set<string>();
  private chSets = new Map<string, Set<string> | 'all'>();
  private chMaps = new Map<string, Set<string>>();

  /** Bring the ruleset up to `state` (consuming the state's change journal). */
  update(state: DataplaneState): void {
    const j = state.takeChanges();
    if (!this.initialised || j.config) {
      this.renderAll(state);
      return;
    }
    if (j.ipsets.size + j.policies.size + j.profiles.size + j.workloads.size + j.hosts.size === 0) return;
    this.revision++;
    const owners = new Set<string>();
    for (const [id, delta] of j.ipsets) this.updateIpSet(state, id, delta, owners);
    for (const f of FAMILIES) {
      if (this.famCount[f] > 0 !== this.famActive[f]) {
        this.renderAll(state);
        return;
      }
    }
    for (const k of j.policies) owners.add('p:' + k);
    for (const k of j.profiles) owners.add('r:' + k);
    const eps = new Set<string>();
    for (const o of owners) {
      const isPolicy = o.startsWith('p:');
      const key = o.slice(2);
      const existed = this.ruleOwners.has(o);
      if (isPolicy) this.renderPolicy(state, key);
      else this.renderProfile(state, key);
      if (existed !== this.ruleOwners.has(o)) for (const e of (isPolicy ? this.policyUsers : this.profileUsers).get(key) ?? []) eps.add(e);
    }
    for (const k of j.workloads) eps.add('w:' + k);
    for (const k of j.hosts) eps.add('h:' + k);
    for (const e of eps) {
      if (!this.renderEndpoint(state, e)) {
        this.renderAll(state);
        return;
      }
    }
  }

  /** Changes since the previous call (everything, the first time). */
  takeChanges(): RulesetChanges {
    const c: RulesetChanges = { from: this.takenRevision, to: this.revision, full: this.chFull, chains: this.chChains, sets: this.chSets, maps: this.chMaps };
    this.takenRevision = this.revision;
    this.chFull = false;
    this.chChains = new Set();
    this.chSets = new Map();
    this.chMaps = new Map();
    return c;
  }

  /** Render everything from scratch (does not consume the state's journal). */
  renderAll(state: DataplaneState): void {
    this.renderingAll = true;
    this.initialised = true;
    this.revision++;
    this.chFull = true;
    this.chains.clear();
    this.sets.clear();
    this.maps.clear();
    this.ipsetData.clear();
    this.ruleOwners.clear();
    this.setUsers.clear();
    this.endpoints.clear();
    this.policyUsers.clear();
    this.profileUsers.clear();
    this.ifUsers.clear();
    this.shared.clear();
    this.famCount[4] = this.famCount[6] = 0;
    for (const s of state.ipsets.values()) {
      const d = familySetsOf(s);
      this.ipsetData.set(s.id, d);
      for (const f of FAMILIES) this.famCount[f] += d.fam[f].elems.size;
    }
    for (const f of FAMILIES) this.famActive[f] = this.famCount[f] > 0;
    for (const [id, d] of this.ipsetData) for (const f of FAMILIES) if (this.famActive[f]) this.emitSet(id, d, f);
    for (const k of state.policies.keys()) this.renderPolicy(state, k);
    for (const k of state.profiles.keys()) this.renderProfile(state, k);
    for (const name of Object.values(MAP)) this.maps.set(name, { name, type: 'ifname', elems: new Map() });
    // Later endpoints win an interface name, as the Map order of the state says.
    for (const k of state.workloads.keys()) this.renderEndpoint(state, 'w:' + k);
    for (const k of state.hosts.keys()) this.renderEndpoint(state, 'h:' + k);
    this.renderStatic(state);
    this.renderingAll = false;
  }

  // ---- change bookkeeping ------------------------------------------------------------------

  private putChain(c: ChainBuilder, base?: BaseChainSpec): void {
    this.chains.set(c.name, { name: c.name, base, rules: c.rules });
    this.chChains.add(c.name);
  }
  private dropChain(name: string): void {
    if (this.chains.delete(name)) this.chChains.add(name);
  }
  private putSet(name: string, type: string | readonly string[], interval: boolean, elems: Map<string, NftExpr>): void {
    this.sets.set(name, { name, type, flags: interval ? ['interval'] : [], elems });
    this.chSets.set(name, 'all');
  }
  private dropSet(name: string): void {
    if (this.sets.delete(name)) this.chSets.set(name, 'all');
  }
  private touchElem(set: string, key: string): void {
    let c = this.chSets.get(set);
    if (c === 'all') return;
    if (c === undefined) this.chSets.set(set, (c = new Set()));
    c.add(key);
  }
  private putEntry(map: string, key: string, verdict: NftExpr): void {
    this.maps.get(map)?.elems.set(key, [key, verdict]);
    this.touchEntry(map, key);
  }
  private touchEntry(map: string, key: string): void {
    let c = this.chMaps.get(map);
    if (c === undefined) this.chMaps.set(map, (c = new Set()));
    c.add(key);
  }

  // ---- IP sets -----------------------------------------------------------------------------

  private setNameOf(id: string, d: IpSetData, f: Family): string {
    return ipSetName(id, f, d.type === 'net' ? 'addr' : 'port', d.fam[f].interval);
  }

  private emitSet(id: string, d: IpSetData, f: Family): void {
    const type = d.type === 'net' ? addrType(f) : [addrType(f), 'inet_proto', 'inet_service'];
    this.putSet(this.setNameOf(id, d, f), type, d.fam[f].interval, d.fam[f].elems);
  }

  private updateIpSet(state: DataplaneState, id: string, delta: IPSetDelta | undefined, owners: Set<string>): void {
    const msg = state.ipsets.get(id);
    const old = this.ipsetData.get(id);
    const usersChanged = (): void => {
      for (const u of this.setUsers.get(id) ?? []) owners.add(u);
    };
    const incremental =
      msg !== undefined &&
      old !== undefined &&
      delta !== undefined &&
      old.type === msg.ipsetType &&
      !old.fam[4].interval &&
      !old.fam[6].interval &&
      [...delta.added.values()].every((m) => typeof m !== 'string' || isHost(m, familyOf(m)));
    if (incremental) {
      // Host members only, hash flavour before and after: element by element.
      const elemOf = (m: IPSetMember): NftExpr => (typeof m === 'string' ? addrElem(m) : concat([m.ip, m.protocol, m.port]));
      const famOf = (m: IPSetMember): Family => familyOf(typeof m === 'string' ? m : m.ip);
      const change = (m: IPSetMember, add: boolean): void => {
        const f = famOf(m);
        const fs = old.fam[f];
        const e = elemOf(m);
        const k = elemKey(e);
        if (add === fs.elems.has(k)) return;
        if (add) fs.elems.set(k, e);
        else fs.elems.delete(k);
        this.famCount[f] += add ? 1 : -1;
        if (this.famActive[f]) this.touchElem(this.setNameOf(id, old, f), k);
      };
      for (const k of delta.removed) change(memberFromKey(k, old.type), false);
      for (const m of delta.added.values()) change(m, true);
      return;
    }
    if (old !== undefined) {
      for (const f of FAMILIES) {
        this.famCount[f] -= old.fam[f].elems.size;
        this.dropSet(this.setNameOf(id, old, f));
      }
      this.ipsetData.delete(id);
    }
    if (msg !== undefined) {
      const d = familySetsOf(msg);
      this.ipsetData.set(id, d);
      for (const f of FAMILIES) {
        this.famCount[f] += d.fam[f].elems.size;
        if (this.famActive[f]) this.emitSet(id, d, f);
      }
      if (old !== undefined && old.type === d.type && FAMILIES.every((f) => old.fam[f].interval === d.fam[f].interval)) return;
    }
    usersChanged();
  }

  // ---- policy and profile chains -----------------------------------------------------------

  private ruleChain(state: DataplaneState, owner: string, name: string, rules: readonly RuleIR[], what: string, names: LogNames, setIds: Set<string>, chainDir: 'in' | 'out'): void {
    const cfg = state.config;
    const c = new ChainBuilder(name);
    const setName = (id: string, fam: Family, kind: SetKind): string | undefined => {
      setIds.add(id);
      let users = this.setUsers.get(id);
      if (users === undefined) this.setUsers.set(id, (users = new Set()));
      users.add(owner);
      const d = this.ipsetData.get(id);
      if (!this.famActive[fam] || d === undefined || (d.type === 'net') !== (kind === 'addr')) return undefined;
      return this.setNameOf(id, d, fam);
    };
    for (const r of rules) {
      let action: NftExpr[];
      switch (r.action) {
        case 'allow':
          action = [markSet(MARK_ACCEPT), ret()];
          break;
        case 'pass':
          action = [markSet(MARK_PASS), ret()];
          break;
        case 'deny':
          action = [denyOf(cfg)];
          break;
        case 'log':
          action = [log(logPrefix(cfg.logPrefix, names.tier, names.kind, names.name, names.ns))];
          break;
      }
      if (cfg.flowLogs && r.action !== 'log') {
        // The verdict log of flow logs, before the verdict (Felix renders NFLOG the same way).
        const direction = chainDir === 'in' ? 'ingress' : 'egress';
        const id: RuleIdentity =
          names.owner === 'profile'
            ? { owner: 'profile', action: r.action, direction, index: r.index, name: names.name }
            : { owner: 'policy', action: r.action, direction, index: r.index, kind: names.fullKind as HitKind, namespace: names.ns, name: names.name };
        action = [nflog(encodeRuleId(id), chainDir), ...action];
      }
      const ctx: RuleRenderContext = { setName, action };
      for (const expr of renderRule(r, ctx)) c.add(expr, `${what} rule ${r.index} ${r.action}`);
    }
    this.putChain(c);
  }

  private dropRuleOwner(owner: string): void {
    const prev = this.ruleOwners.get(owner);
    if (prev === undefined) return;
    for (const n of prev.chains) this.dropChain(n);
    for (const id of prev.setIds) this.setUsers.get(id)?.delete(owner);
    this.ruleOwners.delete(owner);
  }

  private renderPolicy(state: DataplaneState, key: string): void {
    const owner = 'p:' + key;
    this.dropRuleOwner(owner);
    const p = state.policies.get(key);
    if (p === undefined) {
      this.shared.forget(`p|in|${key}`, `p|out|${key}`, `u|in|${key}`, `u|out|${key}`);
      return;
    }
    const kind = KIND_SHORT[p.id.kind] ?? p.id.kind;
    const setIds = new Set<string>();
    const names: LogNames = { tier: p.tier, kind, name: p.id.name, ns: p.id.namespace, owner: 'policy', fullKind: p.id.kind };
    const chains = [policyChain(key, 'in'), policyChain(key, 'out')] as const;
    this.ruleChain(state, owner, chains[0], p.rules.inbound, `policy ${p.id.name}`, names, setIds, 'in');
    this.ruleChain(state, owner, chains[1], p.rules.outbound, `policy ${p.id.name}`, names, setIds, 'out');
    this.ruleOwners.set(owner, { chains, setIds });
  }

  private renderProfile(state: DataplaneState, name: string): void {
    const owner = 'r:' + name;
    this.dropRuleOwner(owner);
    const p = state.profiles.get(name);
    if (p === undefined) {
      this.shared.forget(`r|in|${name}`, `r|out|${name}`);
      return;
    }
    const setIds = new Set<string>();
    const names: LogNames = { tier: '', kind: 'pro', name, ns: '', owner: 'profile', fullKind: 'Profile' };
    const chains = [profileChain(name, 'in'), profileChain(name, 'out')] as const;
    this.ruleChain(state, owner, chains[0], p.rules.inbound, `profile ${name}`, names, setIds, 'in');
    this.ruleChain(state, owner, chains[1], p.rules.outbound, `profile ${name}`, names, setIds, 'out');
    this.ruleOwners.set(owner, { chains, setIds });
  }

  // ---- endpoints ---------------------------------------------------------------------------

  /** Re-render one endpoint; false when its interface is shared with another (render all). */
  private renderEndpoint(state: DataplaneState, ep: string): boolean {
    const isWl = ep.startsWith('w:');
    const key = ep.slice(2);
    const msg = isWl ? state.workloads.get(key) : state.hosts.get(key);
    const ifname = msg?.interfaceName;
    const valid = ifname !== undefined && ifname !== '' && (isWl || ifname !== '*');
    const ifKey = valid ? `${isWl ? 'w' : 'h'}|${ifname}` : undefined;
    const prev = this.endpoints.get(ep);
    const shared = (k: string | undefined): boolean => k !== undefined && [...(this.ifUsers.get(k) ?? [])].some((o) => o !== ep);
    if (!this.renderingAll && (shared(prev?.ifKey) || shared(ifKey))) return false;
    if (prev !== undefined) {
      for (const c of prev.chains) if (!shared(prev.ifKey)) this.dropChain(c);
      for (const [m, k] of prev.entries) {
        if (shared(prev.ifKey)) continue;
        this.maps.get(m)?.elems.delete(k);
        this.touchEntry(m, k);
      }
      for (const p of prev.policies) this.policyUsers.get(p)?.delete(ep);
      for (const p of prev.profiles) this.profileUsers.get(p)?.delete(ep);
      if (prev.ifKey !== undefined) this.ifUsers.get(prev.ifKey)?.delete(ep);
      this.endpoints.delete(ep);
    }
    if (msg === undefined || !valid || ifKey === undefined) return true;
    const policies = new Set<string>();
    const profiles = new Set<string>();
    const body = (c: ChainBuilder, tiers: readonly TierInfo[], profileIds: readonly string[] | undefined, dir: 'in' | 'out'): void => {
      for (const t of tiers) for (const k of dir === 'in' ? t.ingressPolicies : t.egressPolicies) policies.add(k);
      for (const p of profileIds ?? []) profiles.add(p);
      policyBody(state, this.shared, c, tiers, profileIds, dir);
    };
    const chains: string[] = [];
    const entries: [string, string][] = [];
    const put = (c: ChainBuilder, map: string): void => {
      this.putChain(c);
      chains.push(c.name);
      this.putEntry(map, ifname, goto(c.name));
      entries.push([map, ifname]);
    };
    if (isWl) {
      const w = msg as WorkloadEndpointUpdate;
      const tw = new ChainBuilder(workloadChain(ifname, 'to'));
      body(tw, w.tiers, w.profileIds, 'in');
      const fw = new ChainBuilder(workloadChain(ifname, 'from'));
      // Tunnelled packets from a workload would bypass policy on the far side (Calico drops them too).
      fw.add([match('==', meta('l4proto'), 4), drop()], 'drop IPIP from workloads');
      fw.add([match('==', payload('udp', 'dport'), state.config.vxlanPort), drop()], 'drop VXLAN from workloads');
      body(fw, w.tiers, w.profileIds, 'out');
      put(tw, MAP.toWl);
      put(fw, MAP.fromWl);
    } else {
      const h = msg as HostEndpointUpdate;
      const fh = new ChainBuilder(hostChain(ifname, 'fh'));
      fh.add([jump(CHAIN.failsafeIn)], 'failsafe ports');
      body(fh, h.tiers, h.profileIds, 'in');
      const th = new ChainBuilder(hostChain(ifname, 'th'));
      th.add([jump(CHAIN.failsafeOut)], 'failsafe ports');
      body(th, h.tiers, h.profileIds, 'out');
      put(fh, MAP.fromHep);
      put(th, MAP.toHep);
      if (h.forwardTiers.some((t) => t.ingressPolicies.length > 0)) {
        const c = new ChainBuilder(hostChain(ifname, 'fhfw'));
        body(c, h.forwardTiers, undefined, 'in');
        put(c, MAP.fromHepFwd);
      }
      if (h.forwardTiers.some((t) => t.egressPolicies.length > 0)) {
        const c = new ChainBuilder(hostChain(ifname, 'thfw'));
        body(c, h.forwardTiers, undefined, 'out');
        put(c, MAP.toHepFwd);
      }
    }
    for (const p of policies) addTo(this.policyUsers, p, ep);
    for (const p of profiles) addTo(this.profileUsers, p, ep);
    addTo(this.ifUsers, ifKey, ep);
    this.endpoints.set(ep, { chains, entries, policies: [...policies], profiles: [...profiles], ifKey });
    return true;
  }

  // ---- config-only parts: dispatch, base chains, failsafes, NAT ------------------------------

  private renderStatic(state: DataplaneState): void {
    const cfg = state.config;
    const deny = (): NftExpr => denyOf(cfg);
    const failsafeChain = (name: string, ports: readonly FailsafePort[], dir: 'in' | 'out'): void => {
      const c = new ChainBuilder(name);
      for (const p of ports) {
        const expr: NftExpr[] = [];
        if (p.net !== undefined) {
          const fam = familyOf(p.net);
          expr.push(match('==', payload(fam === 4 ? 'ip' : 'ip6', dir === 'in' ? 'saddr' : 'daddr'), addrElem(p.net)));
        }
        expr.push(match('==', meta('l4proto'), p.protocol), match('==', payload('th', 'dport'), p.port), accept());
        c.add(expr, `failsafe ${dir} ${p.protocol}:${p.port}`);
      }
      this.putChain(c);
    };
    failsafeChain(CHAIN.failsafeIn, cfg.failsafeInbound, 'in');
    failsafeChain(CHAIN.failsafeOut, cfg.failsafeOutbound, 'out');

    // Dispatch chains: verdict maps keyed by interface; an unknown workload interface is dropped.
    const fromWlD = new ChainBuilder(CHAIN.fromWlDispatch);
    fromWlD.add([{ vmap: { key: meta('iifname'), data: setRef(MAP.fromWl) } }], 'dispatch to from-workload chains');
    fromWlD.add([drop()], 'unknown workload interface');
    this.putChain(fromWlD);
    const toWlD = new ChainBuilder(CHAIN.toWlDispatch);
    toWlD.add([{ vmap: { key: meta('oifname'), data: setRef(MAP.toWl) } }], 'dispatch to to-workload chains');
    toWlD.add([drop()], 'unknown workload interface');
    this.putChain(toWlD);
    const hepDispatch = (name: string, key: 'iifname' | 'oifname', map: string): void => {
      const c = new ChainBuilder(name);
      c.add([{ vmap: { key: meta(key), data: setRef(map) } }], 'dispatch to host endpoint chains');
      this.putChain(c);
    };
    hepDispatch(CHAIN.fromHepDispatch, 'iifname', MAP.fromHep);
    hepDispatch(CHAIN.toHepDispatch, 'oifname', MAP.toHep);
    hepDispatch(CHAIN.fromHepFwdDispatch, 'iifname', MAP.fromHepFwd);
    hepDispatch(CHAIN.toHepFwdDispatch, 'oifname', MAP.toHepFwd);

    const wildcards = cfg.interfacePrefixes.map((p) => `${p}*`);

    const wlToHost = new ChainBuilder(CHAIN.wlToHost);
    wlToHost.add([jump(CHAIN.fromWlDispatch)], 'workload egress policy');
    const e2h = cfg.defaultEndpointToHostAction;
    wlToHost.add([e2h === 'Accept' ? accept() : e2h === 'Return' ? ret() : deny()], `defaultEndpointToHostAction ${e2h}`);
    this.putChain(wlToHost);

    // Base chains.
    const fwd = new ChainBuilder(CHAIN.forward);
    CT_FIRST(fwd);
    fwd.add([jump(CHAIN.fromHepFwdDispatch)], 'forward policy of the ingress host endpoint');
    for (const w of wildcards) fwd.add([match('==', meta('iifname'), w), jump(CHAIN.fromWlDispatch)], 'from workloads');
    for (const w of wildcards) fwd.add([match('==', meta('oifname'), w), jump(CHAIN.toWlDispatch)], 'to workloads');
    fwd.add([jump(CHAIN.toHepFwdDispatch)], 'forward policy of the egress host endpoint');
    this.putChain(fwd, { type: 'filter', hook: 'forward', prio: 0, policy: 'accept' });

    // WireGuard on: its UDP port to/from this host is accepted ahead of host endpoint policy, so
    // no host endpoint policy (or failsafe list) can cut the tunnel (Calico's static rule, PR
    // #6250). Inbound it sits after the workload rules: a pod still meets its own egress policy
    // and defaultEndpointToHostAction on its way to the port (see docs/design/wireguard.md).
    const wgPort = cfg.wireguardPort;
    const fibLocal = (dir: 'saddr' | 'daddr'): NftExpr => match('==', { fib: { result: 'type', flags: [dir] } }, 'local');
    const input = new ChainBuilder(CHAIN.input);
    CT_FIRST(input);
    for (const w of wildcards) input.add([match('==', meta('iifname'), w), jump(CHAIN.wlToHost)], 'workload to host');
    if (wgPort !== undefined) {
      input.add([match('==', meta('nfproto'), 'ipv4'), match('==', payload('udp', 'dport'), wgPort), fibLocal('daddr'), accept()], 'allow incoming IPv4 WireGuard packets');
    }
    input.add([jump(CHAIN.fromHepDispatch)], 'host endpoint ingress policy');
    this.putChain(input, { type: 'filter', hook: 'input', prio: 0, policy: 'accept' });

    const output = new ChainBuilder(CHAIN.output);
    CT_FIRST(output);
    // Host-to-local-workload traffic is not policed (as Calico: kubelet probes must reach pods).
    for (const w of wildcards) output.add([match('==', meta('oifname'), w), accept()], 'host to workload');
    if (wgPort !== undefined) {
      output.add([match('==', meta('nfproto'), 'ipv4'), match('==', payload('udp', 'dport'), wgPort), fibLocal('saddr'), accept()], 'allow outgoing IPv4 WireGuard packets');
    }
    output.add([jump(CHAIN.toHepDispatch)], 'host endpoint egress policy');
    this.putChain(output, { type: 'filter', hook: 'output', prio: 0, policy: 'accept' });

    // NAT outgoing (node contract §4.12): from a natOutgoing pool to anywhere outside every pool.
    const pools = cfg.ipPools;
    const elemMap = (cidrs: string[]): Map<string, NftExpr> => new Map(mergeCIDRs(cidrs).map((c) => [elemKey(addrElem(c)), addrElem(c)]));
    for (const fam of FAMILIES) {
      const all = elemMap(pools.filter((p) => familyOf(p.cidr) === fam).map((p) => p.cidr));
      const masq = elemMap(pools.filter((p) => p.natOutgoing && familyOf(p.cidr) === fam).map((p) => p.cidr));
      this.putSet(fam === 4 ? POOL_SETS.all4 : POOL_SETS.all6, addrType(fam), true, all);
      this.putSet(fam === 4 ? POOL_SETS.masq4 : POOL_SETS.masq6, addrType(fam), true, masq);
    }
    const natOut = new ChainBuilder(CHAIN.natOutgoing);
    for (const fam of FAMILIES) {
      if (!pools.some((p) => p.natOutgoing && familyOf(p.cidr) === fam)) continue;
      const ip = fam === 4 ? 'ip' : 'ip6';
      natOut.add(
        [
          match('==', payload(ip, 'saddr'), setRef(fam === 4 ? POOL_SETS.masq4 : POOL_SETS.masq6)),
          match('!=', payload(ip, 'daddr'), setRef(fam === 4 ? POOL_SETS.all4 : POOL_SETS.all6)),
          masquerade(),
        ],
        `natOutgoing IPv${fam}`,
      );
    }
    this.putChain(natOut);
    const natPost = new ChainBuilder(CHAIN.natPostrouting);
    natPost.add([jump(CHAIN.natOutgoing)], 'pool masquerade');
    // srcnat + 10, as Calico: after kube-proxy's masquerade at srcnat.
    this.putChain(natPost, { type: 'nat', hook: 'postrouting', prio: 110, policy: 'accept' });
  }
}

interface LogNames {
  readonly tier: string;
  readonly kind: string;
  readonly name: string;
  readonly ns: string;
  readonly owner: 'policy' | 'profile';
  /** Calico's kind name (NetworkPolicy, …), for the flow-log rule identity. */
  readonly fullKind: string;
}

/** The verdict log of flow logs: Calico's prefix grammar, group 1 inbound / 2 outbound, 80-byte snapshot. */
function nflog(prefix: string, dir: 'in' | 'out'): NftExpr {
  return { log: { prefix, group: nflogGroup(dir === 'in' ? 'ingress' : 'egress'), snaplen: 80 } };
}

const denyOf = (cfg: DataplaneConfig): NftExpr => (cfg.denyAction === 'Reject' ? reject() : drop());

function addTo(m: Map<string, Set<string>>, k: string, v: string): void {
  let s = m.get(k);
  if (s === undefined) m.set(k, (s = new Set()));
  s.add(v);
}

function memberFromKey(k: string, type: 'net' | 'ip-port'): IPSetMember {
  if (type === 'net') return k;
  const [ip = '', proto = '0', port = '0'] = k.split('|');
  return { ip, protocol: Number(proto), port: Number(port) };
}

/** Tiers, then profiles, then (optionally) the final deny: node contract §4.7 steps 9–11. */
function policyBody(
  state: DataplaneState,
  shared: SharedRules,
  c: ChainBuilder,
  tiers: readonly TierInfo[],
  profileIds: readonly string[] | undefined,
  dir: 'in' | 'out',
): void {
  const deny = (): NftExpr => denyOf(state.config);
  c.addShared(shared.get('clear', () => [markClear(MARK_ACCEPT | MARK_PASS)], 'clear accept/pass marks'));
  for (const t of tiers) {
    const keys = dir === 'in' ? t.ingressPolicies : t.egressPolicies;
    if (keys.length === 0) continue;
    c.addShared(shared.get(`t|${t.name}`, () => [markClear(MARK_PASS)], `start of tier ${t.name}`));
    for (const k of keys) {
      if (!state.policies.has(k)) {
        // Fail closed: an endpoint naming a policy we do not hold gets nothing through this tier.
        c.addShared(shared.get(`u|${dir}|${k}`, () => [markIs(MARK_PASS, false), deny()], `unknown policy ${k}`));
        continue;
      }
      c.addShared(shared.get(`p|${dir}|${k}`, () => [markIs(MARK_PASS, false), jump(policyChain(k, dir))], `policy ${k}`));
      c.addShared(shared.get('ret|p', () => [markIs(MARK_ACCEPT, true), ret()], 'return if policy accepted'));
    }
    if (t.defaultAction === 'Deny') {
      if (state.config.flowLogs) {
        const direction = dir === 'in' ? 'ingress' : 'egress';
        const prefix = encodeRuleId({ owner: 'end-of-tier', action: 'deny', direction, tier: t.name });
        c.addShared(shared.get(`e|${t.name}|${dir}|log`, () => [markIs(MARK_PASS, false), nflog(prefix, dir), deny()], `end of tier ${t.name}: deny (logged)`));
      } else {
        c.addShared(shared.get(`e|${t.name}`, () => [markIs(MARK_PASS, false), deny()], `end of tier ${t.name}: deny`));
      }
    }
  }
  if (profileIds === undefined) return;
  for (const p of profileIds) {
    if (!state.profiles.has(p)) continue;
    c.addShared(shared.get(`r|${dir}|${p}`, () => [jump(profileChain(p, dir))], `profile ${p}`));
    c.addShared(shared.get('ret|r', () => [markIs(MARK_ACCEPT, true), ret()], 'return if profile accepted'));
  }
  if (state.config.flowLogs) {
    const prefix = encodeRuleId({ owner: 'no-profile', action: 'deny', direction: dir === 'in' ? 'ingress' : 'egress' });
    c.addShared(shared.get(`deny|${dir}|log`, () => [nflog(prefix, dir), deny()], 'no policy or profile allowed the packet (logged)'));
  } else {
    c.addShared(shared.get('deny', () => [deny()], 'no policy or profile allowed the packet'));
  }
}

/** The complete ruleset for `state`, freshly rendered (pure; the state's journal is untouched). */
export function renderRuleset(state: DataplaneState): Ruleset {
  const r = new RulesetRenderer();
  r.renderAll(state);
  return r.ruleset;
}

function logPrefix(template: string, tier: string, kind: string, name: string, ns: string): string {
  const p = template
    .replaceAll('%t', tier)
    .replaceAll('%k', kind)
    .replaceAll('%n', name)
    .replaceAll('%p', ns === '' ? name : `${ns}/${name}`);
  // nft's log prefix limit is 127 characters.
  return `${p} `.slice(0, 127);
}

/** Summary figures of a rendered ruleset (for metrics and the benchmark). */
export function rulesetSize(r: Ruleset): { chains: number; rules: number; sets: number; setElements: number; mapElements: number } {
  let rules = 0;
  for (const c of r.chains.values()) rules += c.rules.length;
  let setElements = 0;
  for (const s of r.sets.values()) setElements += s.elems.size;
  let mapElements = 0;
  for (const m of r.maps.values()) mapElements += m.elems.size;
  return { chains: r.chains.size, rules, sets: r.sets.size, setElements, mapElements };
}
