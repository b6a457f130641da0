// The selector syntax tree: immutable nodes tagged with `kind`, constructors that keep the tree in
// the shape the canonical printer expects (set values sorted and unique, no double negation,
// no single-operand groups), and an exhaustive visitor so a new node kind fails to compile
// until every consumer handles it.

export const COMPARISON_OPS = ['==', '!=', 'contains', 'starts with', 'ends with'] as const;
export type ComparisonOp = (typeof COMPARISON_OPS)[number];
export const SET_OPS = ['in', 'not in'] as const;
export type SetOp = (typeof SET_OPS)[number];

export interface AllNode {
  readonly kind: 'all';
}
export interface GlobalNode {
  readonly kind: 'global';
}
export interface HasNode {
  readonly kind: 'has';
  readonly label: string;
}
export interface ComparisonNode {
  readonly kind: 'comparison';
  readonly label: string;
  readonly op: ComparisonOp;
  readonly value: string;
}
export interface SetNode {
  readonly kind: 'set';
  readonly label: string;
  readonly op: SetOp;
  /** Unique, in ascending UTF-8 byte order. */
  readonly values: readonly string[];
}
export interface NotNode {
  readonly kind: 'not';
  readonly operand: SelectorNode;
}
export interface AndNode {
  readonly kind: 'and';
  /** At least two operands. */
  readonly operands: readonly SelectorNode[];
}
export interface OrNode {
  readonly kind: 'or';
  /** At least two operands. */
  readonly operands: readonly SelectorNode[];
}

export type SelectorNode = AllNode | GlobalNode | HasNode | ComparisonNode | SetNode | NotNode | AndNode | OrNode;
export type SelectorNodeKind = SelectorNode['kind'];

export type SelectorVisitor<R> = {
  readonly [K in SelectorNodeKind]: (node: Extract<SelectorNode, { kind: K }>) => R;
};

export function visitSelector<R>(node: SelectorNode, visitor: SelectorVisitor<R>): R {
  // The cast is sound: the handler is looked up by the node's own kind.
  return (visitor[node.kind] as (n: SelectorNode) => R)(node);
}

/**
 * Order by UTF-8 bytes, which is code point order. Plain `<` on JS strings compares UTF-16 units,
 * which puts astral characters (surrogates, 0xD800-0xDFFF) before U+E000-U+FFFF.
 */
export function compareUTF8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800) x += x <= 0xdfff ? 0x2000 : -0x800;
    if (y >= 0xd800) y += y <= 0xdfff ? 0x2000 : -0x800;
    return x - y;
  }
  return a.length - b.length;
}

const ALL: AllNode = Object.freeze({ kind: 'all' });
const GLOBAL: GlobalNode = Object.freeze({ kind: 'global' });

export function allNode(): AllNode {
  return ALL;
}
export function globalNode(): GlobalNode {
  return GLOBAL;
}
export function hasNode(label: string): HasNode {
  return Object.freeze({ kind: 'has', label });
}
export function comparisonNode(label: string, op: ComparisonOp, value: string): ComparisonNode {
  return Object.freeze({ kind: 'comparison', label, op, value });
}
export function setNode(label: string, op: SetOp, values: Iterable<string>): SetNode {
  const sorted = Object.freeze([...new Set(values)].sort(compareUTF8));
  return Object.freeze({ kind: 'set', label, op, values: sorted });
}
/** Negation; a negated negation collapses to its operand (§5.5 "double negations disappear"). */
export function notNode(operand: SelectorNode): SelectorNode {
  return operand.kind === 'not' ? operand.operand : Object.freeze({ kind: 'not', operand });
}
export function andNode(operands: readonly SelectorNode[]): SelectorNode {
  if (operands.length === 0) return ALL;
  if (operands.length === 1) return operands[0] as SelectorNode;
  return Object.freeze({ kind: 'and', operands: Object.freeze([...operands]) });
}
export function orNode(operands: readonly SelectorNode[]): SelectorNode {
  if (operands.length === 0) return notNode(ALL);
  if (operands.length === 1) return operands[0] as SelectorNode;
  return Object.freeze({ kind: 'or', operands: Object.freeze([...operands]) });
}

/** Rebuild a tree with every label renamed (the prefix rewriting of §5.5). */
export function mapLabels(node: SelectorNode, f: (label: string) => string): SelectorNode {
  return visitSelector<SelectorNode>(node, {
    all: (n) => n,
    global: (n) => n,
    has: (n) => hasNode(f(n.label)),
    comparison: (n) => comparisonNode(f(n.label), n.op, n.value),
    set: (n) => setNode(f(n.label), n.op, n.values),
    not: (n) => notNode(mapLabels(n.operand, f)),
    and: (n) => andNode(n.operands.map((o) => mapLabels(o, f))),
    or: (n) => orNode(n.operands.map((o) => mapLabels(o, f))),
  });
}
