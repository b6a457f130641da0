// Composite selectors built by policy normalisation (API contract §4.1): a user selector, possibly
// evaluated through a label prefix (`pcns.` / `pcsa.`), ANDed with the implicit namespace and
// service-account terms Calico adds. Prefixing is done by evaluating the user's selector through a
// prefixed label view, which is equivalent to Calico's textual rewrite. Each expression has a
// deterministic canonical text and an id derived from it (`s:` + base64url(SHA-224)), so identical
// selectors share one IP set; `indexTerms` gives label equalities every match must carry, which the
// label index uses to avoid scanning every endpoint.

import { createHash } from 'node:crypto';
import { parseSelector, requiredLabels, withLabelPrefix } from '../selector/index.ts';
import type { Selector } from '../selector/index.ts';

export interface LabelView {
  get(key: string): string | undefined;
}

export type SelExpr =
  | { readonly t: 'user'; readonly sel: Selector; readonly prefix: string }
  | { readonly t: 'all' }
  | { readonly t: 'has'; readonly key: string }
  | { readonly t: 'nothas'; readonly key: string }
  | { readonly t: 'eq'; readonly key: string; readonly value: string }
  | { readonly t: 'in'; readonly key: string; readonly values: readonly string[] }
  | { readonly t: 'and'; readonly parts: readonly SelExpr[] };

export const NS_LABEL = 'projectcalico.org/namespace';
export const SA_LABEL = 'projectcalico.org/serviceaccount';
export const ORCH_LABEL = 'projectcalico.org/orchestrator';
export const NAME_LABEL = 'projectcalico.org/name';

const ALL: SelExpr = { t: 'all' };

const parseCache = new Map<string, Selector>();

/** Parse (cached) a user selector; empty text is `all()`. Throws on invalid text. */
export function userSelector(text: string | undefined, prefix = ''): SelExpr {
  const s = (text ?? '').trim();
  if (s === '' || s === 'all()') return ALL;
  let sel = parseCache.get(s);
  if (sel === undefined) {
    sel = parseSelector(s);
    parseCache.set(s, sel);
  }
  if (sel.canonical === 'all()') return ALL;
  return { t: 'user', sel, prefix };
}

const prefixCache = new Map<string, string>();

/** prefix(text, p) rendered canonically (§5.5); throws on invalid text. */
export function prefixedCanonical(text: string, prefix: string): string {
  const k = `${prefix}\u0000${text}`;
  let c = prefixCache.get(k);
  if (c === undefined) {
    c = withLabelPrefix(parseSelector(text.trim()), prefix).canonical;
    prefixCache.set(k, c);
  }
  return c;
}

/**
 * The namespace part N of a rule side (§4.1 step 1): prefix(nsSel, "pcns."), then Calico's
 * textual replacements of every `all()` by `has(projectcalico.org/namespace)` and every
 * `global()` by `!has(projectcalico.org/namespace)` — anywhere in the text, also inside compound
 * expressions (`all() || x`, `!all()`), exactly as Calico's string replace does.
 */
export function ruleNamespacePart(nsSel: string): SelExpr {
  const text = prefixedCanonical(nsSel, 'pcns.')
    .replaceAll('all()', `has(${NS_LABEL})`)
    .replaceAll('global()', `!has(${NS_LABEL})`);
  return userSelector(text);
}

/**
 * GlobalNetworkPolicy selector (§4.1 policy selector table): the selector, ANDed textually with
 * prefix(namespaceSelector, "pcns.") after which every `all()` in the whole string becomes
 * `has(projectcalico.org/namespace)`; then the same with serviceAccountSelector / "pcsa." /
 * `has(projectcalico.org/serviceaccount)`.
 */
export function globalPolicySelector(selector: string | undefined, nsSel: string | undefined, saSel: string | undefined): SelExpr {
  let text = (selector ?? '').trim();
  const combine = (part: string | undefined, prefix: string, label: string): void => {
    if (part === undefined || part.trim() === '') return;
    const p = prefixedCanonical(part, prefix);
    text = text === '' ? p : `(${text}) && ${p}`;
    text = text.replaceAll('all()', `has(${label})`);
  };
  combine(nsSel, 'pcns.', NS_LABEL);
  combine(saSel, 'pcsa.', SA_LABEL);
  return userSelector(text);
}

export function isAll(e: SelExpr): boolean {
  return e.t === 'all';
}

/** AND, flattening nested ANDs and dropping `all()`. */
export function and(...parts: SelExpr[]): SelExpr {
  const out: SelExpr[] = [];
  for (const p of parts) {
    if (p.t === 'all') continue;
    if (p.t === 'and') out.push(...p.parts);
    else out.push(p);
  }
  if (out.length === 0) return ALL;
  if (out.length === 1) return out[0] as SelExpr;
  return { t: 'and', parts: out };
}

function q(v: string): string {
  return v.includes('"') ? `'${v}'` : `"${v}"`;
}

export function canonical(e: SelExpr): string {
  switch (e.t) {
    case 'all':
      return 'all()';
    case 'user':
      return e.prefix === '' ? e.sel.canonical : `prefix(${e.sel.canonical}, ${q(e.prefix)})`;
    case 'has':
      return `has(${e.key})`;
    case 'nothas':
      return `!has(${e.key})`;
    case 'eq':
      return `${e.key} == ${q(e.value)}`;
    case 'in':
      return `${e.key} in {${[...new Set(e.values)].sort().map(q).join(', ')}}`;
    case 'and':
      return `(${e.parts.map(canonical).join(' && ')})`;
  }
}

const idCache = new Map<string, string>();

/** Calico-style unique id of a selector: `s:` + base64url(SHA-224("s:" + canonical)). */
export function selectorId(e: SelExpr): string {
  const c = canonical(e);
  let id = idCache.get(c);
  if (id === undefined) {
    id = 's:' + createHash('sha224').update('s:' + c).digest('base64url');
    idCache.set(c, id);
  }
  return id;
}

export function hashId(prefix: string, text: string): string {
  return prefix + createHash('sha224').update(text).digest('base64url');
}

class PrefixedView implements LabelView {
  readonly inner: LabelView;
  readonly prefix: string;
  constructor(inner: LabelView, prefix: string) {
    this.inner = inner;
    this.prefix = prefix;
  }
  get(key: string): string | undefined {
    return this.inner.get(this.prefix + key);
  }
}

export function evaluate(e: SelExpr, labels: LabelView): boolean {
  switch (e.t) {
    case 'all':
      return true;
    case 'user':
      return e.sel.evaluate(e.prefix === '' ? labels : new PrefixedView(labels, e.prefix));
    case 'has':
      return labels.get(e.key) !== undefined;
    case 'nothas':
      return labels.get(e.key) === undefined;
    case 'eq':
      return labels.get(e.key) === e.value;
    case 'in': {
      const v = labels.get(e.key);
      return v !== undefined && e.values.includes(v);
    }
    case 'and':
      for (const p of e.parts) if (!evaluate(p, labels)) return false;
      return true;
  }
}

/** A label key and the values a matching entity must carry one of. */
export interface IndexHint {
  readonly key: string;
  readonly values: readonly string[];
}

/**
 * Hints every entity matching `e` satisfies (label key has one of the values). Used only to narrow
 * candidates: the full selector is always evaluated on them.
 */
export function indexHints(e: SelExpr): IndexHint[] {
  switch (e.t) {
    case 'eq':
      return [{ key: e.key, values: [e.value] }];
    case 'in':
      return [{ key: e.key, values: e.values }];
    case 'user':
      return astHints(e.sel).map((h) => ({ key: e.prefix + h.key, values: h.values }));
    case 'and':
      return e.parts.flatMap(indexHints);
    default:
      return [];
  }
}

function astHints(sel: Selector): IndexHint[] {
  const out: IndexHint[] = [];
  for (const [key, values] of requiredLabels(sel)) if (values !== undefined) out.push({ key, values: [...values] });
  return out;
}
