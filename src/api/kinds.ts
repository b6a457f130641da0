// The kind registry: every kind Tricolor stores, its API group/version, plural, scope, the names
// the CLI accepts for it (calicoctl's alias table, contract §1.2) and where it lives in the
// datastore (node contract §1.2.1).
//
// Command-line naming choice: `networkpolicy`, `networkpolicies`, `policy`, `np`, `netpol`, ...
// mean Calico's NetworkPolicy, exactly as in calicoctl. The Kubernetes networking.k8s.io/v1
// NetworkPolicy is a different kind and is addressed only by its own names:
// `networkpolicies.networking.k8s.io` (kubectl's fully qualified resource name, also the
// singular form), `k8snetworkpolicy(ies)`, `kubernetesnetworkpolicy(ies)` and `knp`/`knps`.
// In files the two are told apart by apiVersion.

import { TricolorError, quote } from '../base/index.ts';
import { CALICO_API_VERSION, K8S_CORE_API_VERSION, K8S_NETWORKING_API_VERSION } from './types.ts';
import type { ApiVersion, KindRef, ResourceKind } from './types.ts';

export interface KindInfo extends KindRef {
  readonly kind: ResourceKind;
  readonly apiVersion: ApiVersion;
  readonly plural: string;
  readonly namespaced: boolean;
  readonly cliNames: readonly string[];
  readonly keyPrefix: string;
}

const CALICO_PREFIX = '/calico/resources/v3/projectcalico.org/';

function calico(kind: ResourceKind, plural: string, namespaced: boolean, aliases: readonly string[]): KindInfo {
  return Object.freeze({
    kind,
    apiVersion: CALICO_API_VERSION,
    plural,
    namespaced,
    cliNames: Object.freeze([...aliases]),
    keyPrefix: `${CALICO_PREFIX}${plural}/`,
  });
}

function k8s(
  apiVersion: ApiVersion,
  kind: ResourceKind,
  plural: string,
  namespaced: boolean,
  aliases: readonly string[],
): KindInfo {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? 'core' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  return Object.freeze({
    kind,
    apiVersion,
    plural,
    namespaced,
    cliNames: Object.freeze([...aliases]),
    keyPrefix: `/tricolor/k8s/${group}/${version}/${plural}/`,
  });
}

export const KIND_INFOS: readonly KindInfo[] = Object.freeze([
  calico('IPPool', 'ippools', false, ['ippool', 'ippools', 'ipp', 'ipps', 'pool', 'pools']),
  calico('IPReservation', 'ipreservations', false, ['ipreservation', 'ipreservations', 'reservation', 'reservations']),
  calico('Tier', 'tiers', false, ['tier', 'tiers']),
  calico('NetworkPolicy', 'networkpolicies', true, [
    'networkpolicy',
    'networkpolicies',
    'policy',
    'np',
    'policies',
    'pol',
    'pols',
    'netpol',
    'netpols',
    'cnp',
    'caliconetworkpolicy',
    'caliconetworkpolicies',
  ]),
  calico('GlobalNetworkPolicy', 'globalnetworkpolicies', false, [
    'globalnetworkpolicy',
    'globalnetworkpolicies',
    'gnp',
    'gnps',
    'cgnp',
  ]),
  calico('StagedNetworkPolicy', 'stagednetworkpolicies', true, [
    'stagednetworkpolicy',
    'stagednetworkpolicies',
    'stagedpolicy',
    'snp',
    'stagedpolicies',
    'spol',
    'spols',
    'scnp',
  ]),
  calico('StagedGlobalNetworkPolicy', 'stagedglobalnetworkpolicies', false, [
    'stagedglobalnetworkpolicy',
    'stagedglobalnetworkpolicies',
    'sgnp',
    'sgnps',
  ]),
  calico('StagedKubernetesNetworkPolicy', 'stagedkubernetesnetworkpolicies', true, [
    'stagedkubernetesnetworkpolicy',
    'stagedkubernetesnetworkpolicies',
    'stagedkubernetespolicy',
    'sknp',
    'stagedkubernetespolicies',
    'skpol',
    'skpols',
  ]),
  calico('NetworkSet', 'networksets', true, ['networkset', 'networksets', 'netsets', 'netset']),
  calico('GlobalNetworkSet', 'globalnetworksets', false, [
    'globalnetworkset',
    'globalnetworksets',
    'gnetsets',
    'gnetset',
    'gns',
  ]),
  calico('HostEndpoint', 'hostendpoints', false, ['hostendpoint', 'hostendpoints', 'hep', 'heps']),
  calico('Profile', 'profiles', false, ['profile', 'profiles', 'pro', 'pros']),
  calico('Node', 'nodes', false, ['node', 'nodes', 'no', 'nos']),
  calico('WorkloadEndpoint', 'workloadendpoints', true, ['workloadendpoint', 'workloadendpoints', 'wep', 'weps']),
  calico('BGPConfiguration', 'bgpconfigurations', false, [
    'bgpconfiguration',
    'bgpconfigurations',
    'bgpconfig',
    'bgpconfigs',
  ]),
  calico('BGPPeer', 'bgppeers', false, ['bgppeer', 'bgppeers', 'bgpp', 'bgpps', 'bp', 'bps']),
  calico('BGPFilter', 'bgpfilters', false, ['bgpfilter', 'bgpfilters', 'bgpf', 'bgpfs', 'bf', 'bfs']),
  calico('FelixConfiguration', 'felixconfigurations', false, [
    'felixconfiguration',
    'felixconfigurations',
    'felixconfig',
    'felixconfigs',
  ]),
  calico('KubeControllersConfiguration', 'kubecontrollersconfigurations', false, [
    'kubecontrollersconfiguration',
    'kubecontrollersconfigurations',
    'kubecontrollersconfig',
    'kubecontrollersconfigs',
    'kcc',
    'kccs',
  ]),
  calico('ClusterInformation', 'clusterinformations', false, [
    'clusterinformation',
    'clusterinformations',
    'clusterinfo',
    'clusterinfos',
  ]),
  calico('IPAMConfiguration', 'ipamconfigurations', false, [
    'ipamconfiguration',
    'ipamconfigurations',
    'ipamconfig',
    'ipamconfigs',
  ]),
  calico('CalicoNodeStatus', 'caliconodestatuses', false, [
    'caliconodestatus',
    'caliconodestatuses',
    'nodestatus',
    'nodestatuses',
  ]),
  k8s(K8S_CORE_API_VERSION, 'Namespace', 'namespaces', false, ['namespace', 'namespaces', 'ns']),
  k8s(K8S_CORE_API_VERSION, 'Pod', 'pods', true, ['pod', 'pods', 'po']),
  k8s(K8S_CORE_API_VERSION, 'ServiceAccount', 'serviceaccounts', true, ['serviceaccount', 'serviceaccounts', 'sa']),
  k8s(K8S_CORE_API_VERSION, 'Service', 'services', true, ['service', 'services', 'svc']),
  k8s(K8S_NETWORKING_API_VERSION, 'NetworkPolicy', 'networkpolicies', true, [
    'networkpolicies.networking.k8s.io',
    'networkpolicy.networking.k8s.io',
    'k8snetworkpolicy',
    'k8snetworkpolicies',
    'kubernetesnetworkpolicy',
    'kubernetesnetworkpolicies',
    'knp',
    'knps',
  ]),
]);

const byCliName = new Map<string, KindInfo>();
const byVersionKind = new Map<string, KindInfo>();
for (const info of KIND_INFOS) {
  byVersionKind.set(`${info.apiVersion}\u0000${info.kind}`, info);
  for (const name of info.cliNames) {
    if (byCliName.has(name)) throw new Error(`kinds: duplicate CLI name ${name}`);
    byCliName.set(name, info);
  }
}

/** The kind identified by a document's apiVersion and kind (both exact, case-sensitive). */
export function kindInfoFor(apiVersion: string, kind: string): KindInfo | undefined {
  return byVersionKind.get(`${apiVersion}\u0000${kind}`);
}

/** The registered kind of a typed pair; an unregistered pair is a bug, not user input. */
export function kindInfo(ref: KindRef): KindInfo {
  const info = byVersionKind.get(`${ref.apiVersion}\u0000${ref.kind}`);
  if (info === undefined) throw new Error(`kinds: ${ref.apiVersion} ${ref.kind} is not a registered kind`);
  return info;
}

/** The kind a command-line resource type names (case-insensitive, as calicoctl). */
export function resolveResourceType(cliName: string): KindInfo {
  const info = byCliName.get(cliName.toLowerCase());
  if (info === undefined) {
    throw new TricolorError('ERR_UNKNOWN_KIND', `resource type ${quote(cliName)} is not supported`, {
      value: cliName,
    });
  }
  return info;
}

/** The datastore key of one object. Namespaced kinds need a namespace; cluster kinds refuse one. */
export function resourceKey(info: KindInfo, name: string, namespace?: string): string {
  if (info.namespaced) {
    if (namespace === undefined || namespace === '') {
      throw new TricolorError('ERR_USAGE', `${info.kind} ${quote(name)}: a namespace is required`, {
        field: 'metadata.namespace',
      });
    }
    return `${info.keyPrefix}${namespace}/${name}`;
  }
  if (namespace !== undefined && namespace !== '') {
    throw new TricolorError('ERR_USAGE', `${info.kind} ${quote(name)}: resource type ${info.kind} is not namespaced`, {
      field: 'metadata.namespace',
      value: namespace,
    });
  }
  return `${info.keyPrefix}${name}`;
}

/** The key prefix that lists a kind, optionally within one namespace. */
export function resourceKeyPrefix(info: KindInfo, namespace?: string): string {
  if (info.namespaced && namespace !== undefined && namespace !== '') return `${info.keyPrefix}${namespace}/`;
  return info.keyPrefix;
}

/** Inverse of resourceKey: which kind/name/namespace a datastore key belongs to. */
export function parseResourceKey(key: string): { info: KindInfo; name: string; namespace?: string } | undefined {
  for (const info of KIND_INFOS) {
    if (!key.startsWith(info.keyPrefix)) continue;
    const rest = key.slice(info.keyPrefix.length).split('/');
    if (info.namespaced && rest.length === 2 && rest[0] && rest[1]) {
      return { info, namespace: rest[0], name: rest[1] };
    }
    if (!info.namespaced && rest.length === 1 && rest[0]) return { info, name: rest[0] };
  }
  return undefined;
}
