// Ordering (API contract §4.3): tiers by order (no order last) then name; policies within a tier
// by order (absent = +∞) then the byte-wise composite key `<name>/<namespace>/<kind>`.

import type { NormPolicy, NormTier } from './model.ts';

function byteCompare(a: string, b: string): number {
  // Names are ASCII (DNS rules), so UTF-16 order equals byte order.
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareOrder(a: number | undefined, b: number | undefined): number {
  if (a === undefined) return b === undefined ? 0 : 1;
  if (b === undefined) return -1;
  return a - b;
}

export function compareTiers(a: NormTier, b: NormTier): number {
  return compareOrder(a.order, b.order) || byteCompare(a.name, b.name);
}

export function policySortKey(p: NormPolicy): string {
  return `${p.id.name}/${p.id.namespace}/${p.id.kind}`;
}

export function comparePolicies(a: NormPolicy, b: NormPolicy): number {
  return compareOrder(a.order, b.order) || byteCompare(policySortKey(a), policySortKey(b));
}

export interface TierPolicies {
  readonly tier: NormTier;
  /** Policies governing ingress, in evaluation order (empty = tier not applicable to ingress). */
  readonly ingress: readonly NormPolicy[];
  readonly egress: readonly NormPolicy[];
}

/**
 * Group an endpoint's matching (non-staged) policies into sorted tiers. A tier appears when it has
 * at least one policy for either direction; per direction only non-empty lists participate.
 */
export function resolveTiers(matched: Iterable<NormPolicy>, tierOf: (name: string) => NormTier): TierPolicies[] {
  const byTier = new Map<string, { ingress: NormPolicy[]; egress: NormPolicy[] }>();
  for (const p of matched) {
    if (p.staged) continue;
    let t = byTier.get(p.tier);
    if (t === undefined) byTier.set(p.tier, (t = { ingress: [], egress: [] }));
    if (p.ingress !== undefined) t.ingress.push(p);
    if (p.egress !== undefined) t.egress.push(p);
  }
  const out: TierPolicies[] = [];
  for (const [name, t] of byTier) {
    if (t.ingress.length === 0 && t.egress.length === 0) continue;
    out.push({ tier: tierOf(name), ingress: t.ingress.sort(comparePolicies), egress: t.egress.sort(comparePolicies) });
  }
  return out.sort((a, b) => compareTiers(a.tier, b.tier));
}
