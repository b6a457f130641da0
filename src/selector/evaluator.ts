// Compiles a selector tree to nested closures once, so the policy engine's millions of
// evaluations do no tree walking or operator dispatch. Semantics per API contract §5.3: an absent
// label makes every test false except `!=` and `not in`, which it satisfies.

import { type SelectorNode, visitSelector } from './ast.ts';

/** Anything with `get(key)`; a `Map<string, string>` is one. */
export interface LabelLookup {
  get(key: string): string | undefined;
}

export type LabelPredicate = (labels: LabelLookup) => boolean;

const TRUE: LabelPredicate = () => true;
const FALSE: LabelPredicate = () => false;

// Below this many values a chain of === beats hashing the value for a Set lookup.
const SMALL_SET = 4;

function membership(label: string, values: readonly string[]): LabelPredicate {
  if (values.length === 0) return FALSE;
  if (values.length === 1) {
    const a = values[0];
    return (l) => l.get(label) === a;
  }
  if (values.length <= SMALL_SET) {
    const vs = [...values];
    return (l) => {
      const v = l.get(label);
      return v !== undefined && vs.includes(v);
    };
  }
  const set = new Set(values);
  return (l) => {
    const v = l.get(label);
    return v !== undefined && set.has(v);
  };
}

export function compileSelector(node: SelectorNode): LabelPredicate {
  return visitSelector<LabelPredicate>(node, {
    all: () => TRUE,
    // Plain evaluation: global() only means something after namespaceSelector rewriting (§4.1).
    global: () => TRUE,
    has: ({ label }) => (l) => l.get(label) !== undefined,
    comparison: ({ label, op, value }) => {
      switch (op) {
        case '==':
          return (l) => l.get(label) === value;
        case '!=':
          return (l) => l.get(label) !== value;
        case 'contains':
          return (l) => l.get(label)?.includes(value) ?? false;
        case 'starts with':
          return (l) => l.get(label)?.startsWith(value) ?? false;
        case 'ends with':
          return (l) => l.get(label)?.endsWith(value) ?? false;
      }
    },
    set: ({ label, op, values }) => {
      const isIn = membership(label, values);
      return op === 'in' ? isIn : (l) => !isIn(l);
    },
    not: ({ operand }) => {
      const p = compileSelector(operand);
      return (l) => !p(l);
    },
    and: ({ operands }) => {
      const ps = operands.map(compileSelector);
      if (ps.length === 2) {
        const [a, b] = ps as [LabelPredicate, LabelPredicate];
        return (l) => a(l) && b(l);
      }
      return (l) => {
        for (const p of ps) if (!p(l)) return false;
        return true;
      };
    },
    or: ({ operands }) => {
      const ps = operands.map(compileSelector);
      if (ps.length === 2) {
        const [a, b] = ps as [LabelPredicate, LabelPredicate];
        return (l) => a(l) || b(l);
      }
      return (l) => {
        for (const p of ps) if (p(l)) return true;
        return false;
      };
    },
  });
}

/** A lookup over a plain object; inherited properties (`constructor`, `__proto__`) are not labels. */
export function labelsOf(record: Readonly<Record<string, string>>): LabelLookup {
  return {
    get: (key) => (Object.hasOwn(record, key) ? record[key] : undefined),
  };
}
