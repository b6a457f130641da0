// Recursive-descent parser for the selector grammar of API contract §5.2: n-ary || over n-ary &&
// over `!`-prefixed primaries. Throws SelectorSyntaxError with the offset of the offending token.

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
  setNode,
} from './ast.ts';
import { SelectorSyntaxError, type Token, type TokenKind, tokenize } from './lexer.ts';

const COMPARISON_TOKENS: Partial<Record<TokenKind, ComparisonOp>> = {
  eq: '==',
  ne: '!=',
  contains: 'contains',
  startswith: 'starts with',
  endswith: 'ends with',
};

export function parseSelectorAST(text: string): SelectorNode {
  const tokens = tokenize(text);
  let at = 0;
  const peek = (): Token => tokens[at] as Token; // tokenize always ends with eof
  const next = (): Token => tokens[at++] as Token;

  const orExpr = (): SelectorNode => {
    const operands = [andExpr()];
    while (peek().kind === 'or') {
      next();
      operands.push(andExpr());
    }
    return orNode(operands);
  };

  const andExpr = (): SelectorNode => {
    const operands = [unary()];
    while (peek().kind === 'and') {
      next();
      operands.push(unary());
    }
    return andNode(operands);
  };

  const unary = (): SelectorNode => {
    let negate = false;
    while (peek().kind === 'not') {
      next();
      negate = !negate;
    }
    const p = primary();
    return negate ? notNode(p) : p;
  };

  const primary = (): SelectorNode => {
    const t = next();
    switch (t.kind) {
      case 'has':
        return hasNode(t.value);
      case 'all':
        return allNode();
      case 'global':
        return globalNode();
      case 'lparen': {
        const inner = orExpr();
        const close = next();
        if (close.kind !== 'rparen') throw new SelectorSyntaxError(close.pos, 'expected ")"');
        return inner;
      }
      case 'label':
        return comparison(t.value);
      case 'string':
        throw new SelectorSyntaxError(t.pos, 'expected a label before the operator, found a string');
      case 'eof':
        throw new SelectorSyntaxError(t.pos, 'unexpected end of selector');
      default:
        throw new SelectorSyntaxError(t.pos, 'expected a label, has(), all(), global(), "!" or "("');
    }
  };

  const comparison = (label: string): SelectorNode => {
    const op = next();
    const cmp = COMPARISON_TOKENS[op.kind];
    if (cmp !== undefined) {
      const rhs = next();
      if (rhs.kind !== 'string') throw new SelectorSyntaxError(rhs.pos, 'expected string');
      return comparisonNode(label, cmp, rhs.value);
    }
    if (op.kind === 'in' || op.kind === 'notin') {
      return setNode(label, op.kind === 'in' ? 'in' : 'not in', setLiteral());
    }
    throw new SelectorSyntaxError(op.pos, 'expected operator after label');
  };

  const setLiteral = (): string[] => {
    const open = next();
    if (open.kind !== 'lbrace') throw new SelectorSyntaxError(open.pos, 'expected "{"');
    const values: string[] = [];
    if (peek().kind === 'rbrace') {
      next();
      return values;
    }
    for (;;) {
      const v = next();
      if (v.kind !== 'string') throw new SelectorSyntaxError(v.pos, 'expected string');
      values.push(v.value);
      const sep = next();
      if (sep.kind === 'rbrace') return values;
      if (sep.kind !== 'comma') throw new SelectorSyntaxError(sep.pos, 'expected "," or "}"');
      // A trailing comma before "}" is allowed; "{,}" is not (the first value is mandatory).
      if (peek().kind === 'rbrace') {
        next();
        return values;
      }
    }
  };

  if (peek().kind === 'eof') return allNode();
  const root = orExpr();
  const end = peek();
  if (end.kind !== 'eof') throw new SelectorSyntaxError(end.pos, 'unexpected content at end of selector');
  return root;
}
