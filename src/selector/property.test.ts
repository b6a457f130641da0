// Property tests: random selector trees printed with random (but legal) spacing, quoting, operator
// spellings, redundant parentheses, double negations and duplicate set values must parse back to
// the same canonical form, and the compiled evaluator must agree with a direct tree interpreter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type ComparisonOp,
  type SelectorNode,
  allNode,
  andNode,
  comparisonNode,
  globalNode,
  hasNode,
  notNode,
  orNode,
  parseSelector,
  selectorFromAST,
  setNode,
  visitSelector,
  type LabelLookup,
} from './index.ts';
import { seededInt } from '../base/index.ts';

const rng = seededInt;

const LABELS = ['a', 'b', 'in', 'not', 'has', 'all', 'contains', 'app.kubernetes.io/name', '1x', '-', 'k_8'];
const VALUES = ['', 'x', 'y', 'web', "it's", 'say "hi"', 'é', 'x y', '{}', '&&'];
const CMP: ComparisonOp[] = ['==', '!=', 'contains', 'starts with', 'ends with'];

function randomTree(r: (n: number) => number, depth: number): SelectorNode {
  const pick = <T>(xs: readonly T[]): T => xs[r(xs.length)] as T;
  const k = depth <= 0 ? r(5) : r(8);
  switch (k) {
    case 0:
      return r(10) === 0 ? (r(2) === 0 ? allNode() : globalNode()) : hasNode(pick(LABELS));
    case 1:
    case 2:
      return comparisonNode(pick(LABELS), pick(CMP), pick(VALUES));
    case 3:
    case 4:
      return setNode(pick(LABELS), r(2) === 0 ? 'in' : 'not in', Array.from({ length: r(4) }, () => pick(VALUES)));
    case 5:
      return notNode(randomTree(r, depth - 1));
    case 6:
      return andNode(Array.from({ length: 2 + r(2) }, () => randomTree(r, depth - 1)));
    default:
      return orNode(Array.from({ length: 2 + r(2) }, () => randomTree(r, depth - 1)));
  }
}

/** Print a tree as a human might have written it. */
function noisy(r: (n: number) => number, node: SelectorNode): string {
  const ws = (): string => ['', '', ' ', '\t', '  '][r(5)] as string;
  const ws1 = (): string => [' ', '\t', ' \t '][r(3)] as string;
  const q = (v: string): string => (v.includes('"') ? `'${v}'` : v.includes("'") || r(2) === 0 ? `"${v}"` : `'${v}'`);
  const group = (n: SelectorNode): string => {
    const s = noisy(r, n);
    return n.kind === 'and' || n.kind === 'or' || r(6) === 0 ? `(${ws()}${s}${ws()})` : s;
  };
  const body = visitSelector<string>(node, {
    all: () => `all(${ws()})`,
    global: () => `global(${ws()})`,
    has: (n) => `has(${ws()}${n.label}${ws()})`,
    comparison: (n) => {
      const op =
        n.op === 'starts with' ? (['starts with', 'startswith', 'starts\twith'][r(3)] as string)
        : n.op === 'ends with' ? (['ends with', 'endswith'][r(2)] as string)
        : n.op;
      const sepBefore = /^[a-z]/.test(op) ? ws1() : ws();
      return `${n.label}${sepBefore}${op}${ws()}${q(n.value)}`;
    },
    set: (n) => {
      const values = [...n.values, ...n.values.filter(() => r(3) === 0)].reverse();
      const op = n.op === 'in' ? 'in' : (['not in', 'notin', 'not  in'][r(3)] as string);
      const inner = values.map((v) => `${ws()}${q(v)}${ws()}`).join(',');
      const trailing = values.length > 0 && r(3) === 0 ? `,${ws()}` : '';
      return `${n.label}${ws1()}${op}${ws()}{${inner}${trailing}}`;
    },
    not: (n) => `!${ws()}${group(n.operand)}`,
    and: (n) => n.operands.map(group).join(`${ws()}&&${ws()}`),
    or: (n) => n.operands.map(group).join(`${ws()}||${ws()}`),
  });
  // Sprinkle double negations, which must vanish.
  return r(8) === 0 ? `!!${ws()}${node.kind === 'and' || node.kind === 'or' ? `(${body})` : body}` : body;
}

function interpret(node: SelectorNode, labels: ReadonlyMap<string, string>): boolean {
  return visitSelector<boolean>(node, {
    all: () => true,
    global: () => true,
    has: (n) => labels.has(n.label),
    comparison: (n) => {
      const v = labels.get(n.label);
      if (n.op === '!=') return v !== n.value;
      if (v === undefined) return false;
      if (n.op === '==') return v === n.value;
      if (n.op === 'contains') return v.includes(n.value);
      if (n.op === 'starts with') return v.startsWith(n.value);
      return v.endsWith(n.value);
    },
    set: (n) => {
      const v = labels.get(n.label);
      const member = v !== undefined && n.values.includes(v);
      return n.op === 'in' ? member : !member;
    },
    not: (n) => !interpret(n.operand, labels),
    and: (n) => n.operands.every((o) => interpret(o, labels)),
    or: (n) => n.operands.some((o) => interpret(o, labels)),
  });
}

void test('property: noisy text parses to the canonical form of its tree; canonical is a fixed point', () => {
  const r = rng(2024);
  for (let i = 0; i < 3000; i++) {
    const tree = randomTree(r, 3);
    const canonical = selectorFromAST(tree).canonical;
    const text = noisy(r, tree);
    const parsed = parseSelector(text, { cache: false });
    assert.equal(parsed.canonical, canonical, `input ${JSON.stringify(text)}`);
    assert.deepEqual(parsed.ast, tree, `input ${JSON.stringify(text)}`);
    assert.equal(parseSelector(canonical, { cache: false }).canonical, canonical);
  }
});

void test('property: compiled evaluation agrees with a tree interpreter', () => {
  const r = rng(99);
  for (let i = 0; i < 1500; i++) {
    const sel = selectorFromAST(randomTree(r, 3));
    for (let j = 0; j < 10; j++) {
      const labels = new Map<string, string>();
      for (const k of LABELS) if (r(2) === 0) labels.set(k, VALUES[r(VALUES.length)] as string);
      const lookup: LabelLookup = labels;
      assert.equal(sel.evaluate(lookup), interpret(sel.ast, labels), `${sel.canonical} on ${JSON.stringify([...labels])}`);
    }
  }
});
