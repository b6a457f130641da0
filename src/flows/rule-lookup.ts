// The rule-identity lookup built from the calc graph's state (Felix's PolicyLookupsCache): every
// policy rule that can log a verdict, every tier's end, every profile rule in use. The dataplane
// renders prefixes with encodeRuleId from the same identities, so any prefix it logs resolves
// here, hashed ones included, with the tier the prefix itself does not carry.

import type { ClusterState } from '../calc/index.ts';
import type { HitKind } from './flow.ts';
import { RuleIdLookup } from './rule-id.ts';
import type { Direction } from './rule-id.ts';

export function ruleLookupFromState(state: ClusterState): RuleIdLookup {
  const lookup = new RuleIdLookup();
  const tiers = new Set<string>(['default']);
  for (const p of state.policies.values()) {
    tiers.add(p.tier);
    for (const direction of ['ingress', 'egress'] as const) {
      for (const r of p[direction] ?? []) {
        if (r.action === 'log') continue;
        lookup.add({ owner: 'policy', action: r.action, direction, index: r.index, kind: p.id.kind as HitKind, namespace: p.id.namespace, name: p.id.name, tier: p.tier });
      }
    }
  }
  for (const t of state.tiers.keys()) tiers.add(t);
  for (const tier of tiers) {
    for (const direction of ['ingress', 'egress'] as const satisfies readonly Direction[]) {
      lookup.add({ owner: 'end-of-tier', action: 'deny', direction, tier });
      lookup.add({ owner: 'end-of-tier', action: 'pass', direction, tier });
    }
  }
  const profiles = new Set<string>();
  for (const e of state.entities.values()) for (const name of e.profiles) profiles.add(name);
  for (const name of profiles) {
    const prof = state.profileOrStandIn(name);
    for (const direction of ['ingress', 'egress'] as const) {
      for (const r of prof[direction]) if (r.action !== 'log') lookup.add({ owner: 'profile', action: r.action, direction, index: r.index, name });
    }
  }
  return lookup;
}
