// Validation and defaulting of one resource document (contract §1.6 layering: defaults, then
// field and cross-field rules), cross-object rules that need the other stored objects, the
// built-in tiers and the deletion guard. Pure: takes parsed documents, never touches the OS.

import { BugError, quote, TricolorError } from '../base/index.ts';
import { cidrsOverlap, tryParseCIDR } from '../net/index.ts';
import {
  bgpConfigurationSpec,
  bgpFilterSpec,
  bgpPeerSpec,
  calicoNodeStatusSpec,
  clusterInformationSpec,
  felixConfigurationSpec,
  ipamConfigurationSpec,
  kubeControllersConfigurationSpec,
} from './config-specs.ts';
import { k8sNetworkPolicySpec, namespaceSpec, podSpec, serviceAccountSpec, serviceSpec } from './k8s-specs.ts';
import type { KindSpec, Whole } from './kind-spec.ts';
import { type KindInfo, KIND_INFOS, kindInfoFor } from './kinds.ts';
import {
  hostEndpointSpec,
  ipPoolSpec,
  ipReservationSpec,
  networkSetSpec,
  nodeSpec,
  workloadEndpointSpec,
} from './network-specs.ts';
import {
  BUILTIN_TIER_SETTINGS,
  globalNetworkPolicySpec,
  networkPolicySpec,
  profileSpec,
  stagedGlobalNetworkPolicySpec,
  stagedKubernetesNetworkPolicySpec,
  stagedNetworkPolicySpec,
  tierSpec,
} from './policy-specs.ts';
import { annotationMap, labelMap, labelNameProblem, subdomainProblem } from './scalars.ts';
import { type Ctx, type Obj, anyJSON, arr, failField, fail, int, isObj, obj, str } from './schema.ts';
import { CALICO_API_VERSION, type AnyResource } from './types.ts';

const KIND_SPECS: Readonly<Record<string, KindSpec>> = {
  'projectcalico.org/v3/IPPool': ipPoolSpec,
  'projectcalico.org/v3/IPReservation': ipReservationSpec,
  'projectcalico.org/v3/Tier': tierSpec,
  'projectcalico.org/v3/NetworkPolicy': networkPolicySpec,
  'projectcalico.org/v3/GlobalNetworkPolicy': globalNetworkPolicySpec,
  'projectcalico.org/v3/StagedNetworkPolicy': stagedNetworkPolicySpec,
  'projectcalico.org/v3/StagedGlobalNetworkPolicy': stagedGlobalNetworkPolicySpec,
  'projectcalico.org/v3/StagedKubernetesNetworkPolicy': stagedKubernetesNetworkPolicySpec,
  'projectcalico.org/v3/NetworkSet': networkSetSpec,
  'projectcalico.org/v3/GlobalNetworkSet': networkSetSpec,
  'projectcalico.org/v3/HostEndpoint': hostEndpointSpec,
  'projectcalico.org/v3/Profile': profileSpec,
  'projectcalico.org/v3/Node': nodeSpec,
  'projectcalico.org/v3/WorkloadEndpoint': workloadEndpointSpec,
  'projectcalico.org/v3/BGPConfiguration': bgpConfigurationSpec,
  'projectcalico.org/v3/BGPPeer': bgpPeerSpec,
  'projectcalico.org/v3/BGPFilter': bgpFilterSpec,
  'projectcalico.org/v3/FelixConfiguration': felixConfigurationSpec,
  'projectcalico.org/v3/KubeControllersConfiguration': kubeControllersConfigurationSpec,
  'projectcalico.org/v3/ClusterInformation': clusterInformationSpec,
  'projectcalico.org/v3/IPAMConfiguration': ipamConfigurationSpec,
  'projectcalico.org/v3/CalicoNodeStatus': calicoNodeStatusSpec,
  'v1/Namespace': namespaceSpec,
  'v1/Pod': podSpec,
  'v1/ServiceAccount': serviceAccountSpec,
  'v1/Service': serviceSpec,
  'networking.k8s.io/v1/NetworkPolicy': k8sNetworkPolicySpec,
};

// Every registered kind must have a validator (a kind without one would be unvalidatable).
for (const info of KIND_INFOS) {
  if (KIND_SPECS[`${info.apiVersion}/${info.kind}`] === undefined) throw new Error(`validate: no spec for ${info.kind}`);
}

export interface ValidateOptions {
  /**
   * Allow names Calico reserves for its own writers (`knp.default.*` Calico NetworkPolicies).
   * For internal controllers only; user input never sets it.
   */
  readonly allowReservedNames?: boolean;
}

const metadataFields = {
  name: str(),
  namespace: str(),
  labels: labelMap,
  annotations: annotationMap,
  resourceVersion: str(),
  uid: str(),
  creationTimestamp: str(),
  generation: int(0),
  deletionTimestamp: str(),
  deletionGracePeriodSeconds: int(0),
  finalizers: arr(str(), { unique: true }),
  ownerReferences: arr(anyJSON),
};

interface Run {
  readonly errors: TricolorError[];
  readonly result: AnyResource | undefined;
}

function run(doc: unknown, options: ValidateOptions): Run {
  const errors: TricolorError[] = [];
  if (!isObj(doc)) {
    errors.push(new TricolorError('ERR_VALIDATION', `document: ${quote(doc)} is not an object with apiVersion, kind and metadata`, { value: doc }));
    return { errors, result: undefined };
  }
  const { apiVersion, kind } = doc;
  if (typeof kind !== 'string' || kind === '') {
    errors.push(new TricolorError('ERR_UNKNOWN_KIND', `document: kind: ${quote(kind)} is missing or not a string`, { field: 'kind', value: kind }));
    return { errors, result: undefined };
  }
  if (typeof apiVersion !== 'string' || apiVersion === '') {
    errors.push(new TricolorError('ERR_UNKNOWN_KIND', `${kind}: apiVersion: ${quote(apiVersion)} is missing or not a string`, { field: 'apiVersion', value: apiVersion }));
    return { errors, result: undefined };
  }
  const info = kindInfoFor(apiVersion, kind);
  const spec = info === undefined ? undefined : KIND_SPECS[`${info.apiVersion}/${info.kind}`];
  if (info === undefined || spec === undefined) {
    errors.push(
      new TricolorError('ERR_UNKNOWN_KIND', `unknown resource type (${kind}) and/or version (${apiVersion})`, {
        field: 'kind',
        value: kind,
      }),
    );
    return { errors, result: undefined };
  }
  const meta = doc['metadata'];
  const name = isObj(meta) && typeof meta['name'] === 'string' ? meta['name'] : undefined;
  const ctx: Ctx = {
    errors,
    subject: name === undefined ? kind : `${kind} ${quote(name)}`,
    allowReservedNames: options.allowReservedNames === true,
  };
  const out = validateWhole(doc, info, spec, ctx);
  return { errors, result: errors.length === 0 ? out : undefined };
}

function validateWhole(doc: Obj, info: KindInfo, ks: KindSpec, ctx: Ctx): AnyResource | undefined {
  for (const k of Object.keys(doc)) {
    if (k === 'apiVersion' || k === 'kind' || k === 'metadata') continue;
    if (k === 'spec' && ks.spec !== undefined) continue;
    if (k === 'status' && ks.status !== undefined) continue;
    failField(ctx, k, 'field is not recognized or is in the wrong location');
  }
  const metadata = obj<Whole['metadata']>(metadataFields, { required: ['name'] })(doc['metadata'] ?? {}, 'metadata', ctx);
  if (metadata !== undefined) checkNameAndNamespace(metadata, info, ks, ctx);

  let spec: Obj | undefined;
  const rawSpec = doc['spec'];
  if (ks.spec !== undefined && rawSpec !== undefined && rawSpec !== null) spec = ks.spec(rawSpec, 'spec', ctx);
  else if (ks.spec !== undefined && ks.specDefaultsWhenAbsent === true) spec = ks.spec({}, 'spec', ctx);

  let status: unknown;
  if (ks.status !== undefined && doc['status'] !== undefined && doc['status'] !== null) status = ks.status(doc['status'], 'status', ctx);

  if (ctx.errors.length > 0 || metadata === undefined) return undefined;
  const whole: Whole = { metadata };
  if (spec !== undefined) whole.spec = spec;
  if (status !== undefined) whole.status = status;
  ks.finish?.(whole, ctx);
  const res: Obj = { apiVersion: info.apiVersion, kind: info.kind, metadata: whole.metadata };
  if (whole.spec !== undefined) res['spec'] = whole.spec;
  if (whole.status !== undefined) res['status'] = whole.status;
  return res as unknown as AnyResource;
}

function checkNameAndNamespace(m: Whole['metadata'], info: KindInfo, ks: KindSpec, ctx: Ctx): void {
  const problem = ks.name !== undefined ? ks.name(m.name, ctx) : subdomainProblem(m.name);
  if (m.name === '') failField(ctx, 'metadata.name', 'is required');
  else if (problem !== undefined) fail(ctx, 'metadata.name', m.name, problem);
  const ns = m.namespace;
  if (ns === undefined || ns === '') {
    delete m.namespace;
    return;
  }
  if (!info.namespaced) {
    fail(ctx, 'metadata.namespace', ns, `is not allowed: namespace should not be specified for a non-namespaced resource. ${info.kind} is not a namespaced resource`);
    return;
  }
  const nsProblem = labelNameProblem(ns);
  if (nsProblem !== undefined) fail(ctx, 'metadata.namespace', ns, nsProblem.replace('name', 'namespace'));
}

/**
 * Validates one document (already parsed from YAML/JSON, shape unknown) and returns a deep copy
 * with Calico's defaults filled. Throws the first problem as a TricolorError: ERR_VALIDATION
 * naming the field path and value, or ERR_UNKNOWN_KIND for an unknown apiVersion/kind. When
 * there are several problems, `detail` holds all of them (TricolorError[]).
 */
export function validateResource(doc: unknown, options: ValidateOptions = {}): AnyResource {
  const { errors, result } = run(doc, options);
  const first = errors[0];
  if (first !== undefined) {
    if (errors.length > 1) {
      // Same message as the first problem; the full list rides along in `detail`.
      throw new TricolorError(first.code, first.message, {
        ...(first.field === undefined ? {} : { field: first.field }),
        value: first.value,
        detail: errors,
      });
    }
    throw first;
  }
  if (result === undefined) throw new BugError('validateResource: no result and no error');
  return result;
}

/** All problems with a document, not just the first (empty when it is valid). */
export function collectValidationErrors(doc: unknown, options: ValidateOptions = {}): TricolorError[] {
  return run(doc, options).errors;
}

// ---------------------------------------------------------------------------------------------
// Cross-object rules

/**
 * Rules needing the other stored objects of the same kind. IPPool: the CIDR must not overlap
 * any other pool's (create-time rule in Calico; pools with the same name are skipped, so an
 * update of a pool never conflicts with itself).
 */
export function validateAgainstExisting(res: AnyResource, existing: readonly AnyResource[]): void {
  if (res.kind !== 'IPPool' || res.apiVersion !== CALICO_API_VERSION) return;
  const mine = tryParseCIDR(res.spec?.cidr ?? '', { allowBareIP: true });
  if (mine === undefined) return;
  for (const other of existing) {
    if (other.kind !== 'IPPool' || other.metadata.name === res.metadata.name) continue;
    const theirs = tryParseCIDR(other.spec?.cidr ?? '', { allowBareIP: true });
    if (theirs !== undefined && cidrsOverlap(mine, theirs)) {
      throw new TricolorError(
        'ERR_VALIDATION',
        `IPPool ${quote(res.metadata.name)}: spec.cidr: ${quote(res.spec?.cidr)} overlaps with IPPool(${other.metadata.name}) CIDR ${other.spec?.cidr ?? ''}`,
        { field: 'spec.cidr', value: res.spec?.cidr },
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Built-in tiers and deletion guard

/** `default`, `kube-admin` and `kube-baseline`, as created at datastore initialisation (§4.5). */
export const BUILTIN_TIERS: readonly AnyResource[] = Object.freeze(
  Object.entries(BUILTIN_TIER_SETTINGS).map(([name, s]) =>
    Object.freeze({
      apiVersion: CALICO_API_VERSION,
      kind: 'Tier' as const,
      metadata: Object.freeze({ name }),
      spec: Object.freeze({ order: s.order, defaultAction: s.defaultAction }),
    }),
  ),
);

/**
 * Why this object may never be deleted, or undefined. Emptiness of an ordinary tier needs the
 * policies and is the datastore client's check.
 */
export function isDeletionForbidden(res: AnyResource): string | undefined {
  if (res.apiVersion !== CALICO_API_VERSION) return undefined;
  if (res.kind === 'Tier' && BUILTIN_TIER_SETTINGS[res.metadata.name] !== undefined) {
    return `operation delete is not supported on Tier(${res.metadata.name}): Cannot delete ${res.metadata.name} tier`;
  }
  if (res.kind === 'ClusterInformation') {
    return `operation delete is not supported on ClusterInformation(${res.metadata.name})`;
  }
  return undefined;
}

/** The top-level spec field names Tricolor accepts for a kind (the Calico parity test reads them). */
export function specFieldNames(apiVersion: string, kind: string): readonly string[] | undefined {
  const spec = KIND_SPECS[`${apiVersion}/${kind}`]?.spec as { fields?: readonly string[] } | undefined;
  return spec?.fields;
}
