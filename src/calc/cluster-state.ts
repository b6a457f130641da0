// The first calc-graph stages: validation filter (a resource that fails to normalise counts as
// absent, Felix's rule) and dispatcher (each kind into its own map), plus label inheritance:
// an entity's effective labels are its own (with forced labels) over the labelsToApply of its
// profiles, first profile winning (API contract §4.2). Namespaces and ServiceAccounts become the
// synthesised `kns.` / `ksa.` profiles. Pure: state in, change descriptions out.

import { isTricolorError } from '../base/index.ts';
import {
  BUILTIN_TIER_DEFAULTS,
  internalKind,
  isPolicyKind,
  missingProfile,
  namespaceProfile,
  normaliseEntity,
  normalisePolicy,
  normaliseProfile,
  normaliseTier,
  serviceAccountProfile,
} from './model.ts';
import type { CalcUpdate, EntityKind, NormEntity, NormPolicy, NormProfile, NormTier } from './model.ts';
import type { LabelView } from './selector-expr.ts';

export type Change =
  | { readonly type: 'none' }
  | { readonly type: 'tier'; readonly name: string }
  | { readonly type: 'policy'; readonly key: string; readonly before: NormPolicy | undefined; readonly after: NormPolicy | undefined }
  | { readonly type: 'profile'; readonly name: string; readonly labelsChanged: boolean }
  | { readonly type: 'entity'; readonly key: string; readonly before: NormEntity | undefined; readonly after: NormEntity | undefined };

const ENTITY_KINDS: readonly string[] = ['WorkloadEndpoint', 'HostEndpoint', 'NetworkSet', 'GlobalNetworkSet'];

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (a[k] !== b[k]) return false;
  return true;
}

export class ClusterState {
  readonly tiers = new Map<string, NormTier>();
  readonly policies = new Map<string, NormPolicy>();
  readonly entities = new Map<string, NormEntity>();
  /** Validation-filter rejections: source key → message. */
  readonly errors = new Map<string, string>();
  private readonly explicitProfiles = new Map<string, NormProfile>();
  private readonly synthProfiles = new Map<string, NormProfile>();
  /** source key (kind/ns/name of the update) → policy key (Kubernetes policies are renamed). */
  private readonly sourceToPolicy = new Map<string, string>();
  private readonly labelCache = new Map<string, EntityLabels>();
  /** Profile list (joined) → merged inherited labels; cleared when any profile's labels change. */
  private readonly inheritedCache = new Map<string, Map<string, string>>();
  /** profile name → keys of entities referencing it. */
  private readonly profileUsers = new Map<string, Set<string>>();

  /** Apply one update; returns what changed (for the incremental stages). */
  apply(u: CalcUpdate): Change {
    const kind = internalKind(u.kind, u.apiVersion ?? u.value?.apiVersion);
    const ns = u.namespace ?? u.value?.metadata.namespace ?? '';
    const sourceKey = `${kind}/${ns}/${u.name}`;
    try {
      const change = this.applyInner(kind, ns, sourceKey, u);
      this.errors.delete(sourceKey);
      return change;
    } catch (e) {
      if (!isTricolorError(e) || u.value === undefined) throw e;
      // Validation filter: an invalid resource is treated as absent.
      this.errors.set(sourceKey, e.message);
      return this.applyInner(kind, ns, sourceKey, { ...u, value: undefined });
    }
  }

  private applyInner(kind: string, ns: string, sourceKey: string, u: CalcUpdate): Change {
    const v = u.value;
    if (isPolicyKind(kind)) {
      const oldKey = this.sourceToPolicy.get(sourceKey);
      const after = v === undefined ? undefined : normalisePolicy(kind, v);
      const key = after?.key ?? oldKey;
      if (key === undefined) return { type: 'none' };
      const before = this.policies.get(key);
      if (after === undefined) {
        this.policies.delete(key);
        this.sourceToPolicy.delete(sourceKey);
      } else {
        this.policies.set(key, after);
        this.sourceToPolicy.set(sourceKey, key);
      }
      return { type: 'policy', key, before, after };
    }
    if (ENTITY_KINDS.includes(kind)) {
      const after = v === undefined ? undefined : normaliseEntity(kind as EntityKind, v);
      const key = after?.key ?? `${kind}/${kind === 'WorkloadEndpoint' || kind === 'NetworkSet' ? ns : ''}/${u.name}`;
      const before = this.entities.get(key);
      if (before !== undefined) for (const p of before.profiles) this.profileUsers.get(p)?.delete(key);
      this.labelCache.delete(key);
      if (after === undefined) this.entities.delete(key);
      else {
        this.entities.set(key, after);
        for (const p of after.profiles) {
          let s = this.profileUsers.get(p);
          if (s === undefined) this.profileUsers.set(p, (s = new Set()));
          s.add(key);
        }
      }
      return { type: 'entity', key, before, after };
    }
    switch (kind) {
      case 'Tier':
        if (v === undefined) this.tiers.delete(u.name);
        else this.tiers.set(u.name, normaliseTier(v));
        return { type: 'tier', name: u.name };
      case 'Profile':
        return this.setProfile(this.explicitProfiles, u.name, v === undefined ? undefined : normaliseProfile(v));
      case 'Namespace':
        return this.setProfile(
          this.synthProfiles,
          `kns.${u.name}`,
          v === undefined ? undefined : namespaceProfile(u.name, v.metadata.labels ?? {}),
        );
      case 'ServiceAccount': {
        const name = `ksa.${ns === '' ? 'default' : ns}.${u.name}`;
        return this.setProfile(this.synthProfiles, name, v === undefined ? undefined : serviceAccountProfile(ns, u.name, v.metadata.labels ?? {}));
      }
      default:
        return { type: 'none' };
    }
  }

  private setProfile(map: Map<string, NormProfile>, name: string, p: NormProfile | undefined): Change {
    const before = this.profile(name);
    if (p === undefined) map.delete(name);
    else map.set(name, p);
    const after = this.profile(name);
    const labelsChanged = !sameLabels(before?.labels ?? {}, after?.labels ?? {});
    if (labelsChanged) {
      this.inheritedCache.clear();
      for (const k of this.profileUsers.get(name) ?? []) this.labelCache.delete(k);
    }
    return { type: 'profile', name, labelsChanged };
  }

  /** A profile by name: an explicit Profile wins over the synthesised one. */
  profile(name: string): NormProfile | undefined {
    return this.explicitProfiles.get(name) ?? this.synthProfiles.get(name);
  }

  /** The profile as the dataplane must program it: a missing one becomes a deny-all stand-in. */
  profileOrStandIn(name: string): NormProfile {
    return this.profile(name) ?? missingProfile(name);
  }

  profileExists(name: string): boolean {
    return this.profile(name) !== undefined;
  }

  /** Entities referencing a profile. */
  profileUsersOf(name: string): ReadonlySet<string> {
    return this.profileUsers.get(name) ?? new Set();
  }

  /** Tier object, or the built-in default, or the synthetic no-order/Deny tier (§4.3 edge case). */
  tier(name: string): NormTier {
    return (
      this.tiers.get(name) ??
      BUILTIN_TIER_DEFAULTS.find((t) => t.name === name) ?? { name, order: undefined, defaultAction: 'Deny' }
    );
  }

  /** Effective labels of an entity (own + forced over inherited profile labels); immutable. */
  labelsOf(e: NormEntity): EntityLabels {
    let l = this.labelCache.get(e.key);
    if (l === undefined) {
      l = new EntityLabels(e.ownLabelMap, this.inheritedLabels(e.profiles));
      this.labelCache.set(e.key, l);
    }
    return l;
  }

  /** Merged labelsToApply of a profile list, shared by every entity with the same list. */
  private inheritedLabels(profiles: readonly string[]): ReadonlyMap<string, string> | undefined {
    if (profiles.length === 0) return undefined;
    const k = profiles.length === 1 ? (profiles[0] as string) : profiles.join('\u0000');
    let m = this.inheritedCache.get(k);
    if (m === undefined) {
      m = new Map<string, string>();
      // Later profiles first so that earlier ones overwrite (first profile wins, §4.2).
      for (let i = profiles.length - 1; i >= 0; i--) {
        const p = this.profile(profiles[i] ?? '');
        if (p !== undefined) for (const [lk, v] of Object.entries(p.labels)) m.set(lk, v);
      }
      this.inheritedCache.set(k, m);
    }
    return m;
  }
}

/** Label lookup through an entity's own labels, then the inherited ones. */
export class EntityLabels implements LabelView {
  readonly own: ReadonlyMap<string, string>;
  readonly inherited: ReadonlyMap<string, string> | undefined;
  constructor(own: ReadonlyMap<string, string>, inherited: ReadonlyMap<string, string> | undefined) {
    this.own = own;
    this.inherited = inherited;
  }
  get(key: string): string | undefined {
    const v = this.own.get(key);
    return v !== undefined || this.inherited === undefined ? v : this.inherited.get(key);
  }
}
