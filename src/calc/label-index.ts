// Indexes for incremental selector matching. LabelIndex: label key=value → entity keys, so a new
// selector only evaluates entities carrying one of its required labels; a label key is indexed
// only once some selector's hint asks for it (most keys — orchestrator, namespace labels — never
// are, and indexing them would cost more than all the lookups it saves). HintIndex: the reverse,
// selector ids filed under one required key=value each (or "unindexed"), so a changed entity only
// re-evaluates selectors that could match it or that it matched before.

import { indexHints } from './selector-expr.ts';
import type { IndexHint, LabelView, SelExpr } from './selector-expr.ts';

export class LabelIndex {
  /** Indexed label key → value → entity keys. */
  private readonly byKV = new Map<string, Map<string, Set<string>>>();
  /** Every entity's current labels (the views are never mutated by their owner). */
  private readonly snapshot = new Map<string, LabelView>();

  /** Record an entity's current labels (undefined = entity gone). */
  set(key: string, labels: LabelView | undefined): void {
    const old = this.snapshot.get(key);
    if (old === labels) return;
    if (labels === undefined) this.snapshot.delete(key);
    else this.snapshot.set(key, labels);
    for (const [k, byV] of this.byKV) {
      const ov = old?.get(k);
      const nv = labels?.get(k);
      if (ov === nv) continue;
      if (ov !== undefined) {
        const s = byV.get(ov);
        s?.delete(key);
        if (s?.size === 0) byV.delete(ov);
      }
      if (nv !== undefined) addTo(byV, nv, key);
    }
  }

  private indexFor(k: string): Map<string, Set<string>> {
    let byV = this.byKV.get(k);
    if (byV === undefined) {
      byV = new Map();
      for (const [key, labels] of this.snapshot) {
        const v = labels.get(k);
        if (v !== undefined) addTo(byV, v, key);
      }
      this.byKV.set(k, byV);
    }
    return byV;
  }

  count(k: string, values: readonly string[]): number {
    const byV = this.indexFor(k);
    let n = 0;
    for (const v of values) n += byV.get(v)?.size ?? 0;
    return n;
  }

  /** The index of the most selective hint (fewest entities carry it). */
  bestHint(hints: readonly IndexHint[]): number {
    let best = 0;
    let bestCount = Infinity;
    hints.forEach((h, i) => {
      const c = this.count(h.key, h.values);
      if (c < bestCount) {
        best = i;
        bestCount = c;
      }
    });
    return best;
  }

  /** Entities that may match `sel`, or undefined when the selector gives no usable hint. */
  candidates(sel: SelExpr): Iterable<string> | undefined {
    const hints = indexHints(sel);
    const best = hints[this.bestHint(hints)];
    if (best === undefined) return undefined;
    const out: string[] = [];
    const byV = this.indexFor(best.key);
    for (const v of best.values) for (const e of byV.get(v) ?? []) out.push(e);
    return out;
  }
}

function addTo(byV: Map<string, Set<string>>, v: string, key: string): void {
  let s = byV.get(v);
  if (s === undefined) byV.set(v, (s = new Set()));
  s.add(key);
}

export class HintIndex {
  private readonly byKV = new Map<string, Map<string, Set<string>>>();
  private readonly unindexed = new Set<string>();
  private readonly filed = new Map<string, IndexHint | undefined>();

  /** File selector `id`; `choose` picks among the hints (default: the first). */
  add(id: string, sel: SelExpr, choose?: (hints: readonly IndexHint[]) => number): void {
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
    for (const v of h.values) addTo(byV, v, id);
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

  /** Selector ids that could match an entity with these labels (looked up per hinted key). */
  candidates(labels: LabelView | undefined, into: Set<string>): Set<string> {
    for (const id of this.unindexed) into.add(id);
    if (labels !== undefined) {
      for (const [k, byV] of this.byKV) {
        const v = labels.get(k);
        if (v === undefined) continue;
        const s = byV.get(v);
        if (s !== undefined) for (const id of s) into.add(id);
      }
    }
    return into;
  }
}
