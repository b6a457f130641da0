// An nft command interpreter for tests: replays a batch on a fingerprint (the delta's own model
// of the table), so the delta can be property-tested without a kernel. The message builders
// every dataplane's tests share are in ../test-support.ts.

import type { RulesetFingerprint } from './nft-delta.ts';
import type { NftCommand } from './nft-json.ts';
import { elemKey } from './nft-json.ts';

interface MutableFingerprint {
  chains: Map<string, { base: string; ruleIds: string[] }>;
  sets: Map<string, { spec: string; keys: Set<string> }>;
  maps: Map<string, { spec: string; entries: Map<string, string> }>;
}

function fail(msg: string): never {
  throw new Error(`replay: ${msg}`);
}

/**
 * Replay a batch on a copy of `from` with nft's semantics for the commands the delta emits
 * (adding an existing object or element, or deleting a missing one, fails as nft does).
 */
export function replay(from: RulesetFingerprint | undefined, commands: readonly NftCommand[]): RulesetFingerprint | undefined {
  let fp: MutableFingerprint | undefined =
    from === undefined
      ? undefined
      : {
          chains: new Map([...from.chains].map(([k, v]) => [k, { base: v.base, ruleIds: [...v.ruleIds] }])),
          sets: new Map([...from.sets].map(([k, v]) => [k, { spec: v.spec, keys: new Set(v.keys) }])),
          maps: new Map([...from.maps].map(([k, v]) => [k, { spec: v.spec, entries: new Map(v.entries) }])),
        };
  const need = (): MutableFingerprint => fp ?? fail('no table');
  for (const cmd of commands) {
    const [verb, body] = Object.entries(cmd)[0] ?? fail('empty command');
    const [what, o] = Object.entries(body)[0] as [string, Record<string, unknown>];
    const name = String(o['name'] ?? o['chain']);
    if (what === 'table') {
      if (verb === 'add') fp ??= { chains: new Map(), sets: new Map(), maps: new Map() };
      else if (verb === 'delete') fp = undefined;
      continue;
    }
    const t = need();
    if (what === 'chain') {
      if (verb === 'add') {
        if (!t.chains.has(name)) {
          const base = o['hook'] === undefined ? '' : `${String(o['type'])}/${o['hook'] as string}/${String(o['prio'])}/${String(o['policy'])}`;
          t.chains.set(name, { base, ruleIds: [] });
        }
      } else if (verb === 'flush') (t.chains.get(name) ?? fail(`flush of missing chain ${name}`)).ruleIds = [];
      else if (verb === 'delete') {
        const c = t.chains.get(name) ?? fail(`delete of missing chain ${name}`);
        if (c.ruleIds.length > 0) fail(`delete of non-empty chain ${name}`);
        t.chains.delete(name);
      }
    } else if (what === 'rule') {
      const c = t.chains.get(name) ?? fail(`rule in missing chain ${name}`);
      const m = /^(tri:[A-Za-z0-9_-]{16})/.exec(String(o['comment']));
      c.ruleIds.push(m?.[1] ?? 'foreign');
    } else if (what === 'set') {
      if (verb === 'add') {
        if (t.sets.has(name)) fail(`set ${name} exists`);
        const flags = (o['flags'] as string[] | undefined) ?? [];
        const keys = new Set(((o['elem'] as unknown[] | undefined) ?? []).map(elemKey));
        t.sets.set(name, { spec: `${JSON.stringify(o['type'])}|${[...flags].sort().join(',')}`, keys });
      } else if (verb === 'delete') {
        if (!t.sets.delete(name)) fail(`delete of missing set ${name}`);
      }
    } else if (what === 'map') {
      if (verb === 'add') t.maps.set(name, { spec: `${String(o['type'])}:${String(o['map'])}`, entries: new Map() });
      else if (verb === 'delete' && !t.maps.delete(name)) fail(`delete of missing map ${name}`);
    } else if (what === 'element') {
      const elems = (o['elem'] as unknown[] | undefined) ?? [];
      const set = t.sets.get(name);
      const map = t.maps.get(name);
      for (const e of elems) {
        if (set !== undefined) {
          const k = elemKey(e);
          if (verb === 'add') {
            if (set.keys.has(k)) fail(`element ${k} exists in ${name}`);
            set.keys.add(k);
          } else if (!set.keys.delete(k)) fail(`delete of missing element ${k} in ${name}`);
        } else if (map !== undefined) {
          if (verb === 'add') {
            const [k, v] = e as [unknown, unknown];
            if (map.entries.has(elemKey(k))) fail(`map key ${elemKey(k)} exists in ${name}`);
            map.entries.set(elemKey(k), JSON.stringify(v));
          } else if (!map.entries.delete(elemKey(e))) fail(`delete of missing map key in ${name}`);
        } else fail(`element for missing set/map ${name}`);
      }
    }
  }
  return fp;
}
