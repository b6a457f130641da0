// The Selector value: parsed tree, canonical text, identity and a compiled evaluator, built once
// per distinct text and kept in a bounded cache because the same few hundred selectors are parsed
// over and over (every policy update, every validation).

import { TricolorError, quote } from '../base/index.ts';
import { type SelectorNode, mapLabels, visitSelector } from './ast.ts';
import { type LabelLookup, type LabelPredicate, compileSelector } from './evaluator.ts';
import { SelectorSyntaxError } from './lexer.ts';
import { parseSelectorAST } from './parser.ts';
import { printCanonical, selectorUniqueId } from './printer.ts';

export interface Selector {
  readonly ast: SelectorNode;
  /** Canonical text per §5.5. */
  readonly canonical: string;
  /** `s:` + base64url(SHA-224): equal for selectors with the same canonical text. */
  readonly uniqueId: string;
  evaluate(labels: LabelLookup): boolean;
  /** The selector contains global(). */
  readonly usesGlobal: boolean;
}

/** Detail carried by the ERR_VALIDATION error of a selector that does not parse. */
export interface SelectorErrorDetail {
  /** Byte offset into the UTF-8 text. */
  readonly position: number;
  readonly reason: string;
}

function containsGlobal(node: SelectorNode): boolean {
  return visitSelector<boolean>(node, {
    all: () => false,
    global: () => true,
    has: () => false,
    comparison: () => false,
    set: () => false,
    not: (n) => containsGlobal(n.operand),
    and: (n) => n.operands.some(containsGlobal),
    or: (n) => n.operands.some(containsGlobal),
  });
}

class CompiledSelector implements Selector {
  readonly ast: SelectorNode;
  readonly canonical: string;
  readonly usesGlobal: boolean;
  /** A bound closure, so `sel.evaluate` can be passed around detached. */
  readonly evaluate: LabelPredicate;
  #uniqueId: string | undefined;

  constructor(ast: SelectorNode) {
    this.ast = ast;
    this.canonical = printCanonical(ast);
    this.usesGlobal = containsGlobal(ast);
    this.evaluate = compileSelector(ast);
  }

  get uniqueId(): string {
    // Hashing is lazy: most parses (validation) never need the id.
    this.#uniqueId ??= selectorUniqueId(this.canonical);
    return this.#uniqueId;
  }

  toString(): string {
    return this.canonical;
  }
}

/** Build a Selector from a tree (e.g. one rewritten by the policy engine). */
export function selectorFromAST(ast: SelectorNode): Selector {
  return new CompiledSelector(ast);
}

const utf8 = new TextEncoder();

function syntaxError(text: string, e: SelectorSyntaxError): TricolorError {
  const position = utf8.encode(text.slice(0, e.pos)).length;
  const detail: SelectorErrorDetail = { position, reason: e.reason };
  return new TricolorError('ERR_VALIDATION', `selector ${quote(text)}: at position ${position}: ${e.reason}`, {
    value: text,
    detail,
  });
}

// Bounded insertion-ordered cache; a hit moves the entry to the back, the front is evicted.
const CACHE_LIMIT = 8192;
const cache = new Map<string, Selector>();

function build(text: string): Selector {
  if (typeof text !== 'string') {
    throw new TricolorError('ERR_VALIDATION', `selector ${quote(text)}: must be a string`, { value: text });
  }
  try {
    return new CompiledSelector(parseSelectorAST(text));
  } catch (e) {
    if (e instanceof SelectorSyntaxError) throw syntaxError(text, e);
    throw e;
  }
}

export interface ParseSelectorOptions {
  /** Use (and fill) the shared parse cache; default true. */
  readonly cache?: boolean;
}

/**
 * Parse selector text. Throws TricolorError ERR_VALIDATION, message
 * `selector "<text>": at position <byte offset>: <reason>`, detail SelectorErrorDetail.
 */
export function parseSelector(text: string, opts: ParseSelectorOptions = {}): Selector {
  if (opts.cache === false) return build(text);
  const hit = cache.get(text);
  if (hit !== undefined) {
    cache.delete(text);
    cache.set(text, hit);
    return hit;
  }
  const sel = build(text);
  if (cache.size >= CACHE_LIMIT) {
    const oldest = cache.keys().next();
    if (oldest.done !== true) cache.delete(oldest.value);
  }
  cache.set(text, sel);
  return sel;
}

export function tryParseSelector(text: string): Selector | undefined {
  try {
    return parseSelector(text);
  } catch (e) {
    if (e instanceof TricolorError && e.code === 'ERR_VALIDATION') return undefined;
    throw e;
  }
}

/** Calico's Normalise: trim, parse, return the canonical text; unparsable input comes back trimmed. */
export function normaliseSelector(text: string): string {
  const trimmed = text.trim();
  return tryParseSelector(trimmed)?.canonical ?? trimmed;
}

/**
 * Prefix every label of the selector (§5.5 prefix rewriting), as done for namespace selectors
 * (`pcns.`) and service-account selectors (`pcsa.`).
 */
export function withLabelPrefix(sel: Selector, prefix: string): Selector {
  return new CompiledSelector(mapLabels(sel.ast, (l) => prefix + l));
}
