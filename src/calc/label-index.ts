// Indexes for incremental selector matching. LabelIndex: label key=value → entity keys, so a new
// selector only evaluates entities carrying one of its required labels. HintIndex: the reverse,
// selector ids filed under one required key=value each (or "unindexed"), so a changed entity only
// re-evaluates selectors that could match it or that it matched before.

import { indexHints } from './selector-expr.ts';
import type { SelExpr } from './selector-expr.ts';

export class LabelIndex {
  // key → value → entity keys; nested maps avoid building a string per label.
  private readonly byKV = new Map<string, Map<string, Set<string>>>();
  private readonly snapshot = new Map<string, ReadonlyMap<string, string>>();

  /** Record an entity's current labels (undefined = entity gone). The map must not be mutated later. */
  set(key: string, labels: ReadonlyMap<string, string> | undefined): void {
    const old = this.snapshot.get(key);
    if (old === labels) return;
    if (old !== undefined) {
      for (const [k, v] of old) {
        const byV = this.byKV.get(k);
        const s = byV?.get(v);
        if (s === undefined || byV === undefined) continue;
        s.delete(key);
        if (s.size === 0) {
          byV.delete(v);
          if (byV.size === 0) this.byKV.delete(k);
        }
      }
    }
    if (labels === undefined) {
      this.snapshot.delete(key);
      return;
    }
    this.snapshot.set(key, labels);
    for (const [k, v] of labels) {
      let byV = this.byKV.get(k);
      if (byV === undefined) this.byKV.set(k, (byV = new Map()));
      let s = byV.get(v);
      if (s === undefined) byV.set(v, (s = new Set()));
      s.add(key);
    }
  }

  count(k: string, values: readonly string[]): number {
    const byV = this.byKV.get(k);
    if (byV === undefined) return 0;
    let n = 0;
    for (const v of values) n += byV.get(v)?.size ?? 0;
    return n;
  }

  /** Entities that may match `sel`, or undefined when the selector gives no usable hint. */
  candidates(sel: SelExpr): Iterable<string> | undefined {
    const hints = indexHints(sel);
    if (hints.length === 0) return undefined;
    let best = hints[0];
    let bestCount = Infinity;
    for (const h of hints) {
      const c = this.count(h.key, h.values);
      if (c < bestCount) {
        best = h;
        bestCount = c;
      }
    }
    if (best === undefined) return undefined;
    const out: string[] = [];
    const byV = this.byKV.get(best.key);
    for (const v of best.values) for (const e of byV?.get(v) ?? []) out.push(e);
    return out;
  }
}

export class HintIndex {
  private readonly byKV = new Map<string, Map<string, Set<string>>>();
  private readonly unindexed = new Set<string>();
  private readonly filed = new Map<string, { readonly key: string; readonly values: readonly string[] } | undefined>();

  /** File selector `id`; `choose` picks among the hints (default: the first). */
  add(id: string, sel: SelExpr, choose?: (hints: ReturnType<typeof indexHints>) => number): void {
    if (this.filed.has(id)) return;
    const hints = indexHints(sel);
    if (hints.length === 0) {
      this.unindexed.add(id);
      this.filed.set(id, undefined);
      return;
    }
    const h = hints[choose === undefined ? 0 : choose(hints)] ?? hints[0];
    if (h === undefined) return;
    let byV = this.byKV.get(h.key);
    if (byV === undefined) this.byKV.set(h.key, (byV = new Map()));
    for (const v of h.values) {
      let s = byV.get(v);
      if (s === undefined) byV.set(v, (s = new Set()));
      s.add(id);
    }
    this.filed.set(id, h);
  }

  remove(id: string): void {
    if (!this.filed.has(id)) return;
    const h = this.filed.get(id);
    this.filed.delete(id);
    this.unindexed.delete(id);
    if (h === undefined) return;
    const byV = this.byKV.get(h.key);
    if (byV === undefined) return;
    for (const v of h.values) {
      const s = byV.get(v);
      s?.delete(id);
      if (s?.size === 0) byV.delete(v);
    }
    if (byV.size === 0) this.byKV.delete(h.key);
  }

  /** Selector ids that could match an entity with these labels. */
  candidates(labels: ReadonlyMap<string, string> | undefined, into: Set<string>): Set<string> {
    for (const id of this.unindexed) into.add(id);
    if (labels !== undefined) {
      for (const [k, v] of labels) {
        const s = this.byKV.get(k)?.get(v);
        if (s !== undefined) for (const id of s) into.add(id);
      }
    }
    return into;
  }
}
