// What the node agent reads from its UpdateSource (node contract §4.2): the kinds the calc graph
// consumes, the kinds the agent itself uses (dataplane configuration, routing, cluster counts),
// and every node's block affinities (this node's feed BIRD and the blackholes; the others, VXLAN
// routes). Decoding is the datastore codec's; here a decoded update only becomes calc input.

import type { ApiVersion, AnyResource, KindRef, ResourceKind } from '../api/index.ts';
import type { CalcUpdate } from '../calc/index.ts';
import { CALC_KINDS } from '../calc/index.ts';
import type { ResourceUpdate, UpdateSelection } from '../datastore/index.ts';

/** [apiVersion, kind] the agent itself consumes (dataplane configuration, cluster counts). */
export const CONFIG_KINDS: ReadonlyArray<readonly [ApiVersion, ResourceKind]> = [
  ['projectcalico.org/v3', 'IPPool'],
  ['projectcalico.org/v3', 'FelixConfiguration'],
  ['projectcalico.org/v3', 'Node'],
  ['projectcalico.org/v3', 'BGPConfiguration'],
  ['projectcalico.org/v3', 'BGPPeer'],
  ['projectcalico.org/v3', 'BGPFilter'],
  // flow logs name the service a connection was sent to before DNAT (Felix's service lookup cache)
  ['v1', 'Service'],
];

const refs = (list: ReadonlyArray<readonly [ApiVersion, ResourceKind]>): KindRef[] => list.map(([apiVersion, kind]) => ({ apiVersion, kind }));

/** Everything the agent's UpdateSource delivers. */
export const AGENT_SELECTION: UpdateSelection = { kinds: [...refs(CALC_KINDS), ...refs(CONFIG_KINDS)], blockAffinities: true };

const CALC_SET = new Set(CALC_KINDS.map(([v, k]) => `${v} ${k}`));

/** Whether the calc graph consumes this update's kind (else it is agent configuration). */
export function isCalcUpdate(u: ResourceUpdate): boolean {
  return CALC_SET.has(`${u.info.apiVersion} ${u.info.kind}`);
}

/** The calc-graph input for a decoded update (absent or invalid values become deletions). */
export function calcUpdateOf(u: ResourceUpdate): CalcUpdate {
  const out: { kind: ResourceKind; apiVersion: string; name: string; namespace?: string; value: AnyResource | undefined } = {
    kind: u.info.kind,
    apiVersion: u.info.apiVersion,
    name: u.name,
    value: u.value,
  };
  if (u.namespace !== undefined) out.namespace = u.namespace;
  return out;
}
