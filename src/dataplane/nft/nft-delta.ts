// The minimal transaction between two states of our table. Both sides are reduced to a
// fingerprint — chains as ordered lists of rule ids (the `tri:<hash>` comments), sets and maps as
// element keys — so the "from" side can be either the last state we applied or what
// `nft -j list table` reads back (drift repair). Only changed objects are touched: new sets,
// chains and elements are added, changed chains are flushed and refilled, vanished elements and
// objects are deleted, all in an order nft accepts inside ONE atomic batch (docs/design/dataplane.md).

import type { NftCommand, NftExpr } from './nft-json.ts';
import { OWN_TABLE, TABLE_FAMILY, TABLE_NAME, elemKey } from './nft-json.ts';
import type { BaseChainSpec, RenderedChain, RenderedMap, RenderedSet, Ruleset, RulesetChanges } from './nft-renderer.ts';

export interface RulesetFingerprint {
  /** chain → base spec text ('' for regular chains) and rule ids in order. */
  readonly chains: ReadonlyMap<string, { readonly base: string; readonly ruleIds: readonly string[] }>;
  readonly sets: ReadonlyMap<string, { readonly spec: string; readonly keys: ReadonlySet<string> }>;
  /** map → spec and key → verdict text. */
  readonly maps: ReadonlyMap<string, { readonly spec: string; readonly entries: ReadonlyMap<string, string> }>;
}

const baseText = (b: BaseChainSpec | undefined): string => (b === undefined ? '' : `${b.type}/${b.hook}/${b.prio}/${b.policy}`);
const setSpec = (type: unknown, flags: readonly string[] | undefined): string =>
  `${JSON.stringify(type)}|${[...(flags ?? [])].sort().join(',')}`;

export function fingerprintOf(r: Ruleset): RulesetFingerprint {
  const chains = new Map<string, { base: string; ruleIds: string[] }>();
  for (const c of r.chains.values()) chains.set(c.name, { base: baseText(c.base), ruleIds: c.rules.map((x) => x.id) });
  const sets = new Map<string, { spec: string; keys: Set<string> }>();
  for (const s of r.sets.values()) sets.set(s.name, { spec: setSpec(s.type, s.flags), keys: new Set(s.elems.keys()) });
  const maps = new Map<string, { spec: string; entries: Map<string, string> }>();
  for (const m of r.maps.values()) {
    const entries = new Map<string, string>();
    for (const [k, [, v]] of m.elems) entries.set(k, JSON.stringify(v));
    maps.set(m.name, { spec: `${m.type}:verdict`, entries });
  }
  return { chains, sets, maps };
}

/**
 * Fingerprint of `nft -j list table inet tricolor` output. Rules without our `tri:` comment get
 * a sentinel id, so a foreign rule inserted into one of our chains reads as drift.
 */
export function fingerprintFromListing(listing: unknown): RulesetFingerprint | undefined {
  const items = (listing as { nftables?: unknown[] } | null)?.nftables;
  if (!Array.isArray(items)) return undefined;
  let sawTable = false;
  const chains = new Map<string, { base: string; ruleIds: string[] }>();
  const sets = new Map<string, { spec: string; keys: Set<string> }>();
  const maps = new Map<string, { spec: string; entries: Map<string, string> }>();
  const rules: { chain: string; id: string }[] = [];
  for (const item of items as Record<string, Record<string, unknown>>[]) {
    const table = item['table'];
    if (table !== undefined && table['family'] === TABLE_FAMILY && table['name'] === TABLE_NAME) sawTable = true;
    const chain = item['chain'];
    if (chain !== undefined) {
      const base =
        chain['hook'] === undefined
          ? ''
          : `${String(chain['type'])}/${chain['hook'] as string}/${String(chain['prio'])}/${String(chain['policy'])}`;
      chains.set(String(chain['name']), { base, ruleIds: [] });
    }
    const set = item['set'];
    if (set !== undefined) {
      const elems = (set['elem'] as unknown[] | undefined) ?? [];
      sets.set(String(set['name']), { spec: setSpec(set['type'], set['flags'] as string[] | undefined), keys: new Set(elems.map(elemKey)) });
    }
    const map = item['map'];
    if (map !== undefined) {
      const entries = new Map<string, string>();
      for (const e of (map['elem'] as [unknown, unknown][] | undefined) ?? []) entries.set(elemKey(e[0]), JSON.stringify(e[1]));
      maps.set(String(map['name']), { spec: `${String(map['type'])}:${String(map['map'])}`, entries });
    }
    const rule = item['rule'];
    if (rule !== undefined) {
      const comment = typeof rule['comment'] === 'string' ? rule['comment'] : '';
      const m = /^(tri:[A-Za-z0-9_-]{16})/.exec(comment);
      rules.push({ chain: String(rule['chain']), id: m?.[1] ?? 'foreign' });
    }
  }
  if (!sawTable) return undefined;
  for (const r of rules) chains.get(r.chain)?.ruleIds.push(r.id);
  return { chains, sets, maps };
}

export function fingerprintsEqual(a: RulesetFingerprint, b: RulesetFingerprint): boolean {
  return describeDrift(a, b).length === 0;
}

/** Human-readable differences from `expected` to `actual` (empty when equal). */
export function describeDrift(expected: RulesetFingerprint, actual: RulesetFingerprint): string[] {
  const out: string[] = [];
  for (const [n, c] of expected.chains) {
    const o = actual.chains.get(n);
    if (o === undefined) out.push(`chain ${n} missing`);
    else if (o.base !== c.base) out.push(`chain ${n} hook changed`);
    else if (!sameList(o.ruleIds, c.ruleIds)) out.push(`chain ${n} rules differ`);
  }
  for (const n of actual.chains.keys()) if (!expected.chains.has(n)) out.push(`chain ${n} unexpected`);
  for (const [n, s] of expected.sets) {
    const o = actual.sets.get(n);
    if (o === undefined) out.push(`set ${n} missing`);
    else if (o.spec !== s.spec) out.push(`set ${n} type changed`);
    else if (!sameSet(o.keys, s.keys)) out.push(`set ${n} elements differ`);
  }
  for (const n of actual.sets.keys()) if (!expected.sets.has(n)) out.push(`set ${n} unexpected`);
  for (const [n, m] of expected.maps) {
    const o = actual.maps.get(n);
    if (o === undefined) out.push(`map ${n} missing`);
    else if (o.spec !== m.spec) out.push(`map ${n} type changed`);
    else if (!sameMap(o.entries, m.entries)) out.push(`map ${n} elements differ`);
  }
  for (const n of actual.maps.keys()) if (!expected.maps.has(n)) out.push(`map ${n} unexpected`);
  return out;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
function sameMap(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Commands

const T = OWN_TABLE;
const ref = (name: string) => ({ family: T.family, table: T.table, name });

function chainObj(c: RenderedChain): Record<string, unknown> {
  return c.base === undefined ? ref(c.name) : { ...ref(c.name), ...c.base };
}
function setObj(s: RenderedSet, withElems: boolean): Record<string, unknown> {
  const o: Record<string, unknown> = { ...ref(s.name), type: s.type };
  if (s.flags.length > 0) o['flags'] = s.flags;
  if (withElems && s.elems.size > 0) o['elem'] = [...s.elems.values()];
  return o;
}
function mapObj(m: RenderedMap): Record<string, unknown> {
  return { ...ref(m.name), type: m.type, map: 'verdict' };
}
function ruleCmd(chain: string, r: RenderedChain['rules'][number]): NftCommand {
  return { add: { rule: { family: T.family, table: T.table, chain, expr: r.expr, comment: r.comment } } };
}
const elemCmd = (verb: 'add' | 'delete', name: string, elem: readonly unknown[]): NftCommand => ({
  [verb]: { element: { ...ref(name), elem } },
});

export interface Delta {
  readonly commands: readonly NftCommand[];
  /** True when the whole table is (re)built rather than patched. */
  readonly full: boolean;
  readonly chainsWritten: number;
  readonly chainsDeleted: number;
  readonly elementsAdded: number;
  readonly elementsDeleted: number;
}

/** Delete (if present) and rebuild the whole table in one batch: the Felix recovery doctrine. */
export function fullRebuild(to: Ruleset): Delta {
  const cmds: NftCommand[] = [
    // `add` first so the `delete` cannot fail on a missing table; both are atomic with the rest.
    { add: { table: { family: T.family, name: T.table } } },
    { delete: { table: { family: T.family, name: T.table } } },
    { add: { table: { family: T.family, name: T.table } } },
  ];
  let elems = 0;
  for (const s of to.sets.values()) {
    cmds.push({ add: { set: setObj(s, true) } });
    elems += s.elems.size;
  }
  for (const c of to.chains.values()) cmds.push({ add: { chain: chainObj(c) } });
  for (const m of to.maps.values()) {
    cmds.push({ add: { map: mapObj(m) } });
    if (m.elems.size > 0) cmds.push(elemCmd('add', m.name, [...m.elems.values()]));
    elems += m.elems.size;
  }
  for (const c of to.chains.values()) for (const r of c.rules) cmds.push(ruleCmd(c.name, r));
  return { commands: cmds, full: true, chainsWritten: to.chains.size, chainsDeleted: 0, elementsAdded: elems, elementsDeleted: 0 };
}

/**
 * Commands taking the table from `from` to `to`; a full rebuild when the table is absent or an
 * object changed in a way nft cannot patch in place (a set's type, a base chain's hook).
 *
 * With `changes` (from the renderer that produced `to`, relative to the ruleset `from` describes)
 * only the named chains, sets, set elements and map keys are compared: O(change), not O(table).
 */
export function diffRuleset(from: RulesetFingerprint | undefined, to: Ruleset, changes?: RulesetChanges): Delta {
  if (from === undefined) return fullRebuild(to);
  const hint = changes !== undefined && !changes.full ? changes : undefined;
  const pick = <T>(m: ReadonlyMap<string, T>, names: Iterable<string>): T[] => {
    const out: T[] = [];
    for (const n of names) {
      const v = m.get(n);
      if (v !== undefined) out.push(v);
    }
    return out;
  };
  const toChains = hint === undefined ? [...to.chains.values()] : pick(to.chains, hint.chains);
  const toSets = hint === undefined ? [...to.sets.values()] : pick(to.sets, hint.sets.keys());
  for (const c of toChains) {
    const o = from.chains.get(c.name);
    if (o !== undefined && o.base !== baseText(c.base)) return fullRebuild(to);
  }
  for (const s of toSets) {
    const o = from.sets.get(s.name);
    if (o !== undefined && o.spec !== setSpec(s.type, s.flags)) return fullRebuild(to);
  }
  for (const m of to.maps.values()) {
    const o = from.maps.get(m.name);
    if (o !== undefined && o.spec !== `${m.type}:verdict`) return fullRebuild(to);
  }

  const cmds: NftCommand[] = [];
  let elementsAdded = 0;
  let elementsDeleted = 0;
  // 1. Sets: new ones with their elements; in existing ones delete vanished elements before adding
  //    new ones (an interval set refuses an element overlapping one still present).
  for (const s of toSets) {
    const o = from.sets.get(s.name);
    if (o === undefined) {
      cmds.push({ add: { set: setObj(s, true) } });
      elementsAdded += s.elems.size;
      continue;
    }
    const touched = hint?.sets.get(s.name);
    const candidates = touched === undefined || touched === 'all' ? undefined : touched;
    const gone = [...(candidates ?? o.keys)].filter((k) => o.keys.has(k) && !s.elems.has(k));
    if (gone.length > 0) {
      cmds.push(elemCmd('delete', s.name, gone.map((k) => elementFromKey(k, s))));
      elementsDeleted += gone.length;
    }
    const added: NftExpr[] = [];
    for (const k of candidates ?? s.elems.keys()) {
      const e = s.elems.get(k);
      if (e !== undefined && !o.keys.has(k)) added.push(e);
    }
    if (added.length > 0) {
      cmds.push(elemCmd('add', s.name, added));
      elementsAdded += added.length;
    }
  }
  // 2. New chains (empty, so maps and jumps can reference them), new maps.
  for (const c of toChains) if (!from.chains.has(c.name)) cmds.push({ add: { chain: chainObj(c) } });
  for (const m of to.maps.values()) if (!from.maps.has(m.name)) cmds.push({ add: { map: mapObj(m) } });
  // 3. Map entries: changed ones are replaced, vanished ones deleted, new ones added.
  for (const m of to.maps.values()) {
    const o = from.maps.get(m.name);
    const del: string[] = [];
    const add: (readonly [NftExpr, NftExpr])[] = [];
    const keys = hint === undefined || o === undefined ? new Set([...m.elems.keys(), ...(o?.entries.keys() ?? [])]) : (hint.maps.get(m.name) ?? []);
    for (const k of keys) {
      const e = m.elems.get(k);
      const prev = o?.entries.get(k);
      if (e === undefined) {
        if (prev !== undefined) del.push(k);
        continue;
      }
      if (prev === JSON.stringify(e[1])) continue;
      if (prev !== undefined) del.push(k);
      add.push(e);
    }
    if (del.length > 0) cmds.push(elemCmd('delete', m.name, del));
    if (add.length > 0) cmds.push(elemCmd('add', m.name, add));
    elementsDeleted += del.length;
    elementsAdded += add.length;
  }
  // 4. Chain contents: new chains filled, changed chains flushed and refilled.
  let chainsWritten = 0;
  for (const c of toChains) {
    const o = from.chains.get(c.name);
    if (o !== undefined && sameList(o.ruleIds, c.rules.map((r) => r.id))) continue;
    if (o !== undefined) cmds.push({ flush: { chain: ref(c.name) } });
    for (const r of c.rules) cmds.push(ruleCmd(c.name, r));
    chainsWritten++;
  }
  // 5. Chains that are gone: flush all first (they may jump to each other), then delete.
  const goneChains = [...(hint?.chains ?? from.chains.keys())].filter((n) => from.chains.has(n) && !to.chains.has(n));
  for (const n of goneChains) cmds.push({ flush: { chain: ref(n) } });
  for (const n of goneChains) cmds.push({ delete: { chain: ref(n) } });
  // 6. Maps and sets that are gone, now that no rule references them.
  for (const n of from.maps.keys()) if (!to.maps.has(n)) cmds.push({ delete: { map: ref(n) } });
  for (const n of hint?.sets.keys() ?? from.sets.keys()) if (from.sets.has(n) && !to.sets.has(n)) cmds.push({ delete: { set: ref(n) } });
  return { commands: cmds, full: false, chainsWritten, chainsDeleted: goneChains.length, elementsAdded, elementsDeleted };
}

/**
 * Update a fingerprint (owned by the caller: from fingerprintOf / fingerprintFromListing) in place
 * to describe `to`, touching only what `changes` names; a full change rebuilds it.
 */
export function patchFingerprint(fp: RulesetFingerprint, to: Ruleset, changes: RulesetChanges): RulesetFingerprint {
  if (changes.full) return fingerprintOf(to);
  const chains = fp.chains as Map<string, { base: string; ruleIds: readonly string[] }>;
  for (const n of changes.chains) {
    const c = to.chains.get(n);
    if (c === undefined) chains.delete(n);
    else chains.set(n, { base: baseText(c.base), ruleIds: c.rules.map((x) => x.id) });
  }
  const sets = fp.sets as Map<string, { spec: string; keys: Set<string> }>;
  for (const [n, touched] of changes.sets) {
    const s = to.sets.get(n);
    const o = sets.get(n);
    if (s === undefined) sets.delete(n);
    else if (touched === 'all' || o === undefined) sets.set(n, { spec: setSpec(s.type, s.flags), keys: new Set(s.elems.keys()) });
    else {
      for (const k of touched) {
        if (s.elems.has(k)) o.keys.add(k);
        else o.keys.delete(k);
      }
    }
  }
  const maps = fp.maps as Map<string, { spec: string; entries: Map<string, string> }>;
  for (const [n, keys] of changes.maps) {
    const m = to.maps.get(n);
    if (m === undefined) {
      maps.delete(n);
      continue;
    }
    let o = maps.get(n);
    if (o === undefined) maps.set(n, (o = { spec: `${m.type}:verdict`, entries: new Map() }));
    for (const k of keys) {
      const e = m.elems.get(k);
      if (e === undefined) o.entries.delete(k);
      else o.entries.set(k, JSON.stringify(e[1]));
    }
  }
  return fp;
}

/** Rebuild an element from its key (for deletes, where only the key is known). */
function elementFromKey(key: string, s: RenderedSet): unknown {
  const part = (p: string, type: string): unknown => {
    if (type === 'inet_proto' || type === 'inet_service') return Number(p);
    const slash = p.indexOf('/');
    return slash === -1 ? p : { prefix: { addr: p.slice(0, slash), len: Number(p.slice(slash + 1)) } };
  };
  if (Array.isArray(s.type)) {
    const types = s.type as readonly string[];
    return { concat: key.split(' . ').map((p, i) => part(p, types[i] ?? '')) };
  }
  const t = s.type as string;
  const dash = key.indexOf('-');
  // Ranges only appear in read-backs of interval sets; addresses never contain '-'.
  if (dash > 0 && !key.includes('/')) return { range: [part(key.slice(0, dash), t), part(key.slice(dash + 1), t)] };
  return part(key, t);
}
