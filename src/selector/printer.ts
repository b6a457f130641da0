// Canonical text and identity of a selector (API contract §5.5). The canonical form is what
// Calico stores and compares; the unique id is derived from it, so two selectors that print the
// same are the same selector everywhere (IP set names, label index, caches).

import { createHash } from 'node:crypto';
import { type SelectorNode, visitSelector } from './ast.ts';

/** Double quotes unless the value contains one (it then cannot contain a single quote). */
function quoteValue(v: string): string {
  return v.includes('"') ? `'${v}'` : `"${v}"`;
}

export function printCanonical(node: SelectorNode): string {
  return visitSelector<string>(node, {
    all: () => 'all()',
    global: () => 'global()',
    has: (n) => `has(${n.label})`,
    comparison: (n) => `${n.label} ${n.op} ${quoteValue(n.value)}`,
    set: (n) => `${n.label} ${n.op} {${n.values.map(quoteValue).join(', ')}}`,
    not: (n) => `!${printCanonical(n.operand)}`,
    and: (n) => `(${n.operands.map(printCanonical).join(' && ')})`,
    or: (n) => `(${n.operands.map(printCanonical).join(' || ')})`,
  });
}

/** `"s:" + base64url_nopad(SHA-224("s:" + canonical))`, as Calico's selector UniqueID. */
export function selectorUniqueId(canonical: string): string {
  return `s:${createHash('sha224').update(`s:${canonical}`, 'utf8').digest('base64url')}`;
}
