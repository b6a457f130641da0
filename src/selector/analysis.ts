// Cheap static facts about a selector for the policy engine's label index: which labels any
// matching entity must carry (and with which values), and which labels a selector reads at all.
// All answers are conservative: "required" facts are implied by the selector, never guessed.

import { type SelectorNode, visitSelector } from './ast.ts';
import type { Selector } from './selector.ts';

/** Label key → allowed values (undefined: any value, but the label must be present). */
export type RequiredLabels = ReadonlyMap<string, ReadonlySet<string> | undefined>;

type Req = Map<string, Set<string> | undefined>;

function intersect(a: Set<string> | undefined, b: Set<string> | undefined): Set<string> | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return new Set([...a].filter((v) => b.has(v)));
}

function required(node: SelectorNode): Req {
  return visitSelector<Req>(node, {
    all: () => new Map(),
    global: () => new Map(),
    has: (n) => new Map([[n.label, undefined]]),
    comparison: (n) => {
      if (n.op === '!=') return new Map();
      return new Map([[n.label, n.op === '==' ? new Set([n.value]) : undefined]]);
    },
    set: (n) => (n.op === 'in' ? new Map([[n.label, new Set(n.values)]]) : new Map()),
    not: (n) => {
      // Only negations that turn back into a positive test imply a label.
      const o = n.operand;
      if (o.kind === 'comparison' && o.op === '!=') return new Map([[o.label, new Set([o.value])]]);
      if (o.kind === 'set' && o.op === 'not in') return new Map([[o.label, new Set(o.values)]]);
      return new Map();
    },
    and: (n) => {
      const out: Req = new Map();
      for (const r of n.operands.map(required)) {
        for (const [k, vs] of r) out.set(k, out.has(k) ? intersect(out.get(k), vs) : vs);
      }
      return out;
    },
    or: (n) => {
      const [first, ...rest] = n.operands.map(required);
      const out: Req = new Map();
      if (first === undefined) return out;
      for (const [k, vs] of first) {
        if (!rest.every((r) => r.has(k))) continue;
        let union: Set<string> | undefined = vs === undefined ? undefined : new Set(vs);
        for (const r of rest) {
          const other = r.get(k);
          if (union === undefined || other === undefined) union = undefined;
          else for (const v of other) union.add(v);
        }
        out.set(k, union);
      }
      return out;
    },
  });
}

/** Labels every matching entity must have, with the values allowed (an empty set: nothing matches). */
export function requiredLabels(sel: Selector | SelectorNode): RequiredLabels {
  return required('ast' in sel ? sel.ast : sel);
}

/** The label key/value pairs every matching entity must have, e.g. for an exact-match index. */
export function requiredEqualities(sel: Selector | SelectorNode): ReadonlyMap<string, string> {
  const out = new Map<string, string>();
  for (const [k, vs] of requiredLabels(sel)) {
    if (vs !== undefined && vs.size === 1) out.set(k, vs.values().next().value as string);
  }
  return out;
}

/** Every label key the selector reads: an entity's match can only change when one of these does. */
export function labelKeys(sel: Selector | SelectorNode): ReadonlySet<string> {
  const out = new Set<string>();
  const walk = (n: SelectorNode): void => {
    visitSelector<void>(n, {
      all: () => undefined,
      global: () => undefined,
      has: (x) => void out.add(x.label),
      comparison: (x) => void out.add(x.label),
      set: (x) => void out.add(x.label),
      not: (x) => walk(x.operand),
      and: (x) => x.operands.forEach(walk),
      or: (x) => x.operands.forEach(walk),
    });
  };
  walk('ast' in sel ? sel.ast : sel);
  return out;
}
