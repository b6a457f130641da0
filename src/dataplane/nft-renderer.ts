// Desired dataplane state → the complete content of our nft table `inet tricolor` (layout in
// docs/design/dataplane.md, after node contract §4.5–4.12, in our own names). Pure: the result
// is data (chains with rules, sets and verdict maps with their elements) that nft-delta turns into
// a minimal transaction. Every rule carries a comment `tri:<hash>` identifying its content, which
// is how a read-back recognises each rule without comparing nft's normalised expressions.

import { createHash } from 'node:crypto';
import type { RuleIR, TierInfo } from '../calc/index.ts';
import type { DataplaneState, FailsafePort } from './dataplane-state.ts';
import type { NftExpr } from './nft-json.ts';
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

class ChainBuilder {
  readonly rules: RenderedRule[] = [];
  readonly name: string;
  constructor(name: string) {
    this.name = name;
  }
  add(expr: readonly NftExpr[], note = ''): void {
    const id = 'tri:' + shortHash(JSON.stringify(expr));
    const comment = (note === '' ? id : `${id} ${note}`).slice(0, 128);
    this.rules.push({ expr, comment, id });
  }
}

const CT_FIRST = (c: ChainBuilder): void => {
  c.add([match('in', ctState(), ['established', 'related']), accept()], 'conntrack: established/related');
  c.add([match('in', ctState(), ['invalid']), drop()], 'conntrack: invalid');
};

interface SetFlavours {
  interval(id: string, family: Family): boolean;
}

export function renderRuleset(state: DataplaneState): Ruleset {
  const cfg = state.config;
  const chains = new Map<string, RenderedChain>();
  const sets = new Map<string, RenderedSet>();
  const maps = new Map<string, RenderedMap>();
  const deny = (): NftExpr => (cfg.denyAction === 'Reject' ? reject() : drop());

  const addChain = (b: ChainBuilder, base?: BaseChainSpec): void => {
    chains.set(b.name, { name: b.name, base, rules: b.rules });
  };
  const addSet = (name: string, type: string | string[], interval: boolean, elems: NftExpr[]): void => {
    const m = new Map<string, NftExpr>();
    for (const e of elems) m.set(elemKey(e), e);
    sets.set(name, { name, type, flags: interval ? ['interval'] : [], elems: m });
  };

  // IP sets: one nft set per (id, family); net sets holding a non-host CIDR use the interval flavour.
  const intervalOf = new Map<string, boolean>();
  for (const s of state.ipsets.values()) {
    for (const fam of [4, 6] as const) {
      if (s.ipsetType === 'net') {
        const members = s.members.filter((m) => familyOf(m) === fam);
        const interval = members.some((m) => m.includes('/') && !m.endsWith(fam === 4 ? '/32' : '/128'));
        intervalOf.set(`${s.id}|${fam}`, interval);
        const elems = (interval ? mergeCIDRs(members) : members).map(addrElem);
        addSet(ipSetName(s.id, fam, 'addr', interval), fam === 4 ? 'ipv4_addr' : 'ipv6_addr', interval, elems);
      } else {
        const elems = s.members.filter((m) => familyOf(m.ip) === fam).map((m) => concat([m.ip, m.protocol, m.port]));
        addSet(ipSetName(s.id, fam, 'port', false), [fam === 4 ? 'ipv4_addr' : 'ipv6_addr', 'inet_proto', 'inet_service'], false, elems);
      }
    }
  }
  const flavours: SetFlavours = { interval: (id, fam) => intervalOf.get(`${id}|${fam}`) ?? false };
  const setName = (id: string, fam: Family, kind: SetKind): string => {
    const interval = kind === 'addr' && flavours.interval(id, fam);
    const name = ipSetName(id, fam, kind, interval);
    // A rule referencing a set the calc graph never sent still needs the set to exist: empty, so it matches nothing.
    if (!sets.has(name)) {
      const t = fam === 4 ? 'ipv4_addr' : 'ipv6_addr';
      addSet(name, kind === 'port' ? [t, 'inet_proto', 'inet_service'] : t, false, []);
    }
    return name;
  };

  // Policy and profile chains.
  const ruleChain = (name: string, rules: readonly RuleIR[], what: string, tier: string, kind: string, pname: string, ns: string): void => {
    const c = new ChainBuilder(name);
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
          action = [deny()];
          break;
        case 'log':
          action = [log(logPrefix(cfg.logPrefix, tier, kind, pname, ns))];
          break;
      }
      const ctx: RuleRenderContext = { setName, action };
      for (const expr of renderRule(r, ctx)) c.add(expr, `${what} rule ${r.index} ${r.action}`);
    }
    addChain(c);
  };
  for (const p of state.policies.values()) {
    const kind = KIND_SHORT[p.id.kind] ?? p.id.kind;
    ruleChain(policyChain(p.key, 'in'), p.rules.inbound, `policy ${p.id.name}`, p.tier, kind, p.id.name, p.id.namespace);
    ruleChain(policyChain(p.key, 'out'), p.rules.outbound, `policy ${p.id.name}`, p.tier, kind, p.id.name, p.id.namespace);
  }
  for (const p of state.profiles.values()) {
    ruleChain(profileChain(p.name, 'in'), p.rules.inbound, `profile ${p.name}`, '', 'pro', p.name, '');
    ruleChain(profileChain(p.name, 'out'), p.rules.outbound, `profile ${p.name}`, '', 'pro', p.name, '');
  }

  /** Tiers, then profiles, then (optionally) the final deny: node contract §4.7 steps 9–11. */
  const policyBody = (c: ChainBuilder, tiers: readonly TierInfo[], profileIds: readonly string[] | undefined, dir: 'in' | 'out'): void => {
    c.add([markClear(MARK_ACCEPT | MARK_PASS)], 'clear accept/pass marks');
    for (const t of tiers) {
      const keys = dir === 'in' ? t.ingressPolicies : t.egressPolicies;
      if (keys.length === 0) continue;
      c.add([markClear(MARK_PASS)], `start of tier ${t.name}`);
      for (const k of keys) {
        if (!state.policies.has(k)) {
          // Fail closed: an endpoint naming a policy we do not hold gets nothing through this tier.
          c.add([markIs(MARK_PASS, false), deny()], `unknown policy ${k}`);
          continue;
        }
        c.add([markIs(MARK_PASS, false), jump(policyChain(k, dir))], `policy ${k}`);
        c.add([markIs(MARK_ACCEPT, true), ret()], 'return if policy accepted');
      }
      if (t.defaultAction === 'Deny') c.add([markIs(MARK_PASS, false), deny()], `end of tier ${t.name}: deny`);
    }
    if (profileIds === undefined) return;
    for (const p of profileIds) {
      if (!state.profiles.has(p)) continue;
      c.add([jump(profileChain(p, dir))], `profile ${p}`);
      c.add([markIs(MARK_ACCEPT, true), ret()], 'return if profile accepted');
    }
    c.add([deny()], 'no policy or profile allowed the packet');
  };

  // Workload endpoints.
  const fromWl = new Map<string, readonly [NftExpr, NftExpr]>();
  const toWl = new Map<string, readonly [NftExpr, NftExpr]>();
  for (const w of state.workloads.values()) {
    const ifname = w.interfaceName;
    if (ifname === undefined || ifname === '') continue;
    const tw = new ChainBuilder(workloadChain(ifname, 'to'));
    policyBody(tw, w.tiers, w.profileIds, 'in');
    addChain(tw);
    const fw = new ChainBuilder(workloadChain(ifname, 'from'));
    // Tunnelled packets from a workload would bypass policy on the far side (Calico drops them too).
    fw.add([match('==', meta('l4proto'), 4), drop()], 'drop IPIP from workloads');
    fw.add([match('==', payload('udp', 'dport'), cfg.vxlanPort), drop()], 'drop VXLAN from workloads');
    policyBody(fw, w.tiers, w.profileIds, 'out');
    addChain(fw);
    fromWl.set(ifname, [ifname, goto(fw.name)]);
    toWl.set(ifname, [ifname, goto(tw.name)]);
  }
  maps.set(MAP.fromWl, { name: MAP.fromWl, type: 'ifname', elems: fromWl });
  maps.set(MAP.toWl, { name: MAP.toWl, type: 'ifname', elems: toWl });

  // Host endpoints: normal policy on input/output (failsafes first), forward policy when any applies.
  const fromHep = new Map<string, readonly [NftExpr, NftExpr]>();
  const toHep = new Map<string, readonly [NftExpr, NftExpr]>();
  const fromHepFwd = new Map<string, readonly [NftExpr, NftExpr]>();
  const toHepFwd = new Map<string, readonly [NftExpr, NftExpr]>();
  for (const h of state.hosts.values()) {
    const ifname = h.interfaceName;
    if (ifname === undefined || ifname === '' || ifname === '*') continue;
    const fh = new ChainBuilder(hostChain(ifname, 'fh'));
    fh.add([jump(CHAIN.failsafeIn)], 'failsafe ports');
    policyBody(fh, h.tiers, h.profileIds, 'in');
    addChain(fh);
    const th = new ChainBuilder(hostChain(ifname, 'th'));
    th.add([jump(CHAIN.failsafeOut)], 'failsafe ports');
    policyBody(th, h.tiers, h.profileIds, 'out');
    addChain(th);
    fromHep.set(ifname, [ifname, goto(fh.name)]);
    toHep.set(ifname, [ifname, goto(th.name)]);
    if (h.forwardTiers.some((t) => t.ingressPolicies.length > 0)) {
      const c = new ChainBuilder(hostChain(ifname, 'fhfw'));
      policyBody(c, h.forwardTiers, undefined, 'in');
      addChain(c);
      fromHepFwd.set(ifname, [ifname, goto(c.name)]);
    }
    if (h.forwardTiers.some((t) => t.egressPolicies.length > 0)) {
      const c = new ChainBuilder(hostChain(ifname, 'thfw'));
      policyBody(c, h.forwardTiers, undefined, 'out');
      addChain(c);
      toHepFwd.set(ifname, [ifname, goto(c.name)]);
    }
  }
  maps.set(MAP.fromHep, { name: MAP.fromHep, type: 'ifname', elems: fromHep });
  maps.set(MAP.toHep, { name: MAP.toHep, type: 'ifname', elems: toHep });
  maps.set(MAP.fromHepFwd, { name: MAP.fromHepFwd, type: 'ifname', elems: fromHepFwd });
  maps.set(MAP.toHepFwd, { name: MAP.toHepFwd, type: 'ifname', elems: toHepFwd });

  // Failsafes (host endpoints only; node contract §4.11).
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
    addChain(c);
  };
  failsafeChain(CHAIN.failsafeIn, cfg.failsafeInbound, 'in');
  failsafeChain(CHAIN.failsafeOut, cfg.failsafeOutbound, 'out');

  // Dispatch chains: verdict maps keyed by interface; an unknown workload interface is dropped.
  const fromWlD = new ChainBuilder(CHAIN.fromWlDispatch);
  fromWlD.add([{ vmap: { key: meta('iifname'), data: setRef(MAP.fromWl) } }], 'dispatch to from-workload chains');
  fromWlD.add([drop()], 'unknown workload interface');
  addChain(fromWlD);
  const toWlD = new ChainBuilder(CHAIN.toWlDispatch);
  toWlD.add([{ vmap: { key: meta('oifname'), data: setRef(MAP.toWl) } }], 'dispatch to to-workload chains');
  toWlD.add([drop()], 'unknown workload interface');
  addChain(toWlD);
  const hepDispatch = (name: string, key: 'iifname' | 'oifname', map: string): void => {
    const c = new ChainBuilder(name);
    c.add([{ vmap: { key: meta(key), data: setRef(map) } }], 'dispatch to host endpoint chains');
    addChain(c);
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
  addChain(wlToHost);

  // Base chains.
  const fwd = new ChainBuilder(CHAIN.forward);
  CT_FIRST(fwd);
  fwd.add([jump(CHAIN.fromHepFwdDispatch)], 'forward policy of the ingress host endpoint');
  for (const w of wildcards) fwd.add([match('==', meta('iifname'), w), jump(CHAIN.fromWlDispatch)], 'from workloads');
  for (const w of wildcards) fwd.add([match('==', meta('oifname'), w), jump(CHAIN.toWlDispatch)], 'to workloads');
  fwd.add([jump(CHAIN.toHepFwdDispatch)], 'forward policy of the egress host endpoint');
  addChain(fwd, { type: 'filter', hook: 'forward', prio: 0, policy: 'accept' });

  const input = new ChainBuilder(CHAIN.input);
  CT_FIRST(input);
  for (const w of wildcards) input.add([match('==', meta('iifname'), w), jump(CHAIN.wlToHost)], 'workload to host');
  input.add([jump(CHAIN.fromHepDispatch)], 'host endpoint ingress policy');
  addChain(input, { type: 'filter', hook: 'input', prio: 0, policy: 'accept' });

  const output = new ChainBuilder(CHAIN.output);
  CT_FIRST(output);
  // Host-to-local-workload traffic is not policed (as Calico: kubelet probes must reach pods).
  for (const w of wildcards) output.add([match('==', meta('oifname'), w), accept()], 'host to workload');
  output.add([jump(CHAIN.toHepDispatch)], 'host endpoint egress policy');
  addChain(output, { type: 'filter', hook: 'output', prio: 0, policy: 'accept' });

  // NAT outgoing (node contract §4.12): from a natOutgoing pool to anywhere outside every pool.
  const pools = cfg.ipPools;
  for (const fam of [4, 6] as const) {
    const all = mergeCIDRs(pools.filter((p) => familyOf(p.cidr) === fam).map((p) => p.cidr)).map(addrElem);
    const masq = mergeCIDRs(pools.filter((p) => p.natOutgoing && familyOf(p.cidr) === fam).map((p) => p.cidr)).map(addrElem);
    const t = fam === 4 ? 'ipv4_addr' : 'ipv6_addr';
    addSet(fam === 4 ? POOL_SETS.all4 : POOL_SETS.all6, t, true, all);
    addSet(fam === 4 ? POOL_SETS.masq4 : POOL_SETS.masq6, t, true, masq);
  }
  const natOut = new ChainBuilder(CHAIN.natOutgoing);
  for (const fam of [4, 6] as const) {
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
  addChain(natOut);
  const natPost = new ChainBuilder(CHAIN.natPostrouting);
  natPost.add([jump(CHAIN.natOutgoing)], 'pool masquerade');
  // srcnat + 10, as Calico: after kube-proxy's masquerade at srcnat.
  addChain(natPost, { type: 'nat', hook: 'postrouting', prio: 110, policy: 'accept' });

  return { chains, sets, maps };
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
