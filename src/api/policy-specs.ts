// Tier, the policy kinds (NetworkPolicy, GlobalNetworkPolicy, the staged variants) and Profile:
// their name rules (§1.3), defaults (§2.3–§2.6, §3.6) and policy-level checks.

import type { KindSpec, Whole } from './kind-spec.ts';
import { ruleSchema } from './rule.ts';
import { labelMap, labelNameProblem, selectorSchema, subdomain, subdomainProblem } from './scalars.ts';
import { type Ctx, type Fields, type Obj, type Schema, anyJSON, arr, bool, fail, failField, join, num, obj, oneOf } from './schema.ts';
import { k8sNetworkPolicySpecFields, k8sPolicyTypesDefault } from './k8s-specs.ts';
import { POLICY_TYPES, STAGED_ACTIONS } from './types.ts';

export const TIER_LABEL = 'projectcalico.org/tier';
export const DEFAULT_TIER_ORDER = 1_000_000;

/** Calico's built-in tiers with their fixed order and default action (§2.3). */
export const BUILTIN_TIER_SETTINGS: Readonly<Record<string, { order: number; defaultAction: 'Deny' | 'Pass' }>> = {
  'kube-admin': { order: 1000, defaultAction: 'Pass' },
  default: { order: DEFAULT_TIER_ORDER, defaultAction: 'Deny' },
  'kube-baseline': { order: 10_000_000, defaultAction: 'Pass' },
};

export const tierSpec: KindSpec = {
  specDefaultsWhenAbsent: true,
  name: (n) => labelNameProblem(n),
  spec: obj({ order: num(), defaultAction: oneOf(['Deny', 'Pass'] as const) }),
  status: anyJSON,
  finish: (res, ctx) => {
    const spec = (res.spec ??= {});
    spec['order'] ??= DEFAULT_TIER_ORDER;
    spec['defaultAction'] ??= 'Deny';
    const fixed = BUILTIN_TIER_SETTINGS[res.metadata.name];
    if (fixed === undefined) return;
    if (spec['order'] !== fixed.order) {
      fail(ctx, 'spec.order', spec['order'], `is not allowed: the order of built-in tier "${res.metadata.name}" is fixed at ${fixed.order}`);
    }
    if (spec['defaultAction'] !== fixed.defaultAction) {
      fail(ctx, 'spec.defaultAction', spec['defaultAction'], `is not allowed: the defaultAction of built-in tier "${res.metadata.name}" is fixed at ${fixed.defaultAction}`);
    }
  },
};

// ---------------------------------------------------------------------------------------------
// Names (§1.3)

const LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const ONE_DOT_RE = new RegExp(`^${LABEL}(\\.${LABEL})?$`);
const RESERVED_NP_PREFIXES = ['knp.default.', 'ossg.default.'];
export const KNP_PREFIX = 'knp.default.';

function policyNameProblem(name: string, namespaced: boolean): string | undefined {
  if (name.length > 253) return `is too long by ${name.length - 253} bytes (at most 253)`;
  if (ONE_DOT_RE.test(name)) return undefined;
  if (namespaced) {
    for (const prefix of RESERVED_NP_PREFIXES) {
      if (name.startsWith(prefix) && subdomainProblem(name.slice(prefix.length)) === undefined) return undefined;
    }
  }
  return "is not a valid policy name: it must consist of lower case alphanumeric characters or '-', start and end with an alphanumeric character, and contain at most one '.'";
}

// ---------------------------------------------------------------------------------------------
// Policies

interface PolicyFlavour {
  readonly global: boolean;
  readonly staged: boolean;
}

function policyFields(f: PolicyFlavour): Fields {
  const fields: Record<string, Schema> = {
    tier: subdomain,
    order: num(),
    selector: selectorSchema({ noGlobal: true }),
    serviceAccountSelector: selectorSchema({ noGlobal: true }),
    // `types: []` is accepted and defaulted like an absent list, as Calico's defaulting does.
    types: arr(oneOf(POLICY_TYPES), { max: 2 }),
    ingress: arr(ruleSchema({ direction: 'ingress', global: f.global }), { max: 1024 }),
    egress: arr(ruleSchema({ direction: 'egress', global: f.global }), { max: 1024 }),
    performanceHints: arr(oneOf(['AssumeNeededOnEveryNode'] as const), { unique: true }),
  };
  if (f.global) {
    fields['namespaceSelector'] = selectorSchema({ noGlobal: true });
    fields['doNotTrack'] = bool;
    fields['preDNAT'] = bool;
    fields['applyOnForward'] = bool;
  }
  if (f.staged) fields['stagedAction'] = oneOf(STAGED_ACTIONS);
  return fields;
}

function checkPolicySpec(spec: Obj, ctx: Ctx, f: PolicyFlavour): void {
  const types = spec['types'] as string[] | undefined;
  if (types !== undefined && types.length === 2 && types[0] === types[1]) {
    fail(ctx, 'spec.types[1]', types[1], `is not allowed: '${types[1]}' type specified more than once`);
  }
  if (f.global) {
    const preDNAT = spec['preDNAT'] === true;
    const doNotTrack = spec['doNotTrack'] === true;
    if (preDNAT && doNotTrack) failField(ctx, 'spec.preDNAT', 'preDNAT and doNotTrack cannot both be true');
    if (preDNAT && Array.isArray(spec['egress']) && spec['egress'].length > 0) {
      failField(ctx, 'spec.egress', 'preDNAT policy cannot have any egress rules');
    }
    if (preDNAT && types?.includes('Egress') === true) failField(ctx, 'spec.types', "preDNAT policy cannot have 'Egress' type");
    if ((preDNAT || doNotTrack) && spec['applyOnForward'] !== true) {
      failField(ctx, 'spec.applyOnForward', 'applyOnForward must be true if either preDNAT or doNotTrack is true');
    }
  }
}

/** Policy `types` defaulting from the presence of rules (§3.6, non-empty-list rule). */
export function defaultPolicyTypes(spec: Obj): ('Ingress' | 'Egress')[] {
  const hasIngress = Array.isArray(spec['ingress']) && spec['ingress'].length > 0;
  const hasEgress = Array.isArray(spec['egress']) && spec['egress'].length > 0;
  if (hasEgress && !hasIngress) return ['Egress'];
  if (hasEgress) return ['Ingress', 'Egress'];
  return ['Ingress'];
}

function finishPolicy(res: Whole, ctx: Ctx, f: PolicyFlavour, kind: string): void {
  const spec = (res.spec ??= {});
  if (f.staged && spec['stagedAction'] === 'Delete') {
    // §2.6: a staged delete carries nothing but the tier.
    for (const [k, v] of Object.entries(spec)) {
      if (k === 'tier' || k === 'stagedAction' || isZero(v)) continue;
      fail(ctx, join('spec', k), v, 'is not allowed: Spec fields, except Tier, should all be zero-value if stagedAction is Delete');
    }
  }
  if (kind === 'NetworkPolicy' && res.metadata.name.startsWith(KNP_PREFIX) && !ctx.allowReservedNames) {
    fail(ctx, 'metadata.name', res.metadata.name, 'is reserved: kubernetes network policies must be managed through the kubernetes API');
  }
  checkPolicySpec(spec, ctx, f);
  if (spec['tier'] === undefined || spec['tier'] === '') spec['tier'] = 'default';
  if (f.staged) spec['stagedAction'] ??= 'Set';
  if (Array.isArray(spec['types']) && spec['types'].length === 0) delete spec['types'];
  if (spec['types'] === undefined && !(f.staged && spec['stagedAction'] === 'Delete')) {
    spec['types'] = defaultPolicyTypes(spec);
  }
  res.metadata.labels = { ...res.metadata.labels, [TIER_LABEL]: spec['tier'] as string };
}

function isZero(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v).length === 0;
  return false;
}

function policySpec(kind: string, f: PolicyFlavour): KindSpec {
  return {
    specDefaultsWhenAbsent: true,
    name: (n) => policyNameProblem(n, !f.global),
    spec: obj(policyFields(f)),
    finish: (res, ctx) => finishPolicy(res, ctx, f, kind),
  };
}

export const networkPolicySpec = policySpec('NetworkPolicy', { global: false, staged: false });
export const globalNetworkPolicySpec = policySpec('GlobalNetworkPolicy', { global: true, staged: false });
export const stagedNetworkPolicySpec = policySpec('StagedNetworkPolicy', { global: false, staged: true });
export const stagedGlobalNetworkPolicySpec = policySpec('StagedGlobalNetworkPolicy', { global: true, staged: true });

export const stagedKubernetesNetworkPolicySpec: KindSpec = {
  specDefaultsWhenAbsent: true,
  name: (n) => (n.length > 253 ? `is too long by ${n.length - 253} bytes (at most 253)` : subdomainProblem(n)),
  spec: obj({ ...k8sNetworkPolicySpecFields, stagedAction: oneOf(STAGED_ACTIONS) }),
  finish: (res, ctx) => {
    const spec = (res.spec ??= {});
    spec['stagedAction'] ??= 'Set';
    if (spec['stagedAction'] === 'Delete') {
      for (const [k, v] of Object.entries(spec)) {
        if (k === 'stagedAction' || isZero(v)) continue;
        fail(ctx, join('spec', k), v, 'is not allowed: all spec fields should be empty if stagedAction is Delete');
      }
      return;
    }
    spec['policyTypes'] ??= k8sPolicyTypesDefault(spec);
  },
};

// ---------------------------------------------------------------------------------------------
// Profile

export const profileSpec: KindSpec = {
  specDefaultsWhenAbsent: false,
  spec: obj({
    ingress: arr(ruleSchema({ direction: 'ingress', global: false }), { max: 1024 }),
    egress: arr(ruleSchema({ direction: 'egress', global: false }), { max: 1024 }),
    labelsToApply: labelMap,
  }),
};
