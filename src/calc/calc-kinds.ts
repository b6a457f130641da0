// The resource kinds the calc graph consumes, as [apiVersion, kind]: what the agent watches and
// what `policy explain` loads. One list, owned by the calc graph, so every consumer feeds it the same.

import type { ApiVersion, ResourceKind } from '../api/index.ts';

export const CALC_KINDS: ReadonlyArray<readonly [ApiVersion, ResourceKind]> = [
  ['projectcalico.org/v3', 'Tier'],
  ['projectcalico.org/v3', 'NetworkPolicy'],
  ['projectcalico.org/v3', 'GlobalNetworkPolicy'],
  ['projectcalico.org/v3', 'StagedNetworkPolicy'],
  ['projectcalico.org/v3', 'StagedGlobalNetworkPolicy'],
  ['projectcalico.org/v3', 'StagedKubernetesNetworkPolicy'],
  ['projectcalico.org/v3', 'NetworkSet'],
  ['projectcalico.org/v3', 'GlobalNetworkSet'],
  ['projectcalico.org/v3', 'HostEndpoint'],
  ['projectcalico.org/v3', 'Profile'],
  ['projectcalico.org/v3', 'WorkloadEndpoint'],
  ['v1', 'Namespace'],
  ['v1', 'ServiceAccount'],
  ['networking.k8s.io/v1', 'NetworkPolicy'],
];
