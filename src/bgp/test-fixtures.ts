// Builders for BGP test inputs (Nodes, BGPPeers, pools), shared by the unit tests here and the
// namespace tests in test/e2e. Not part of the public surface.

import type { BGPConfiguration, BGPConfigurationSpec, BGPFilter, BGPFilterSpec, BGPPeer, BGPPeerSpec, IPPool, Node, NodeBGPSpec } from '../api/index.ts';

const V = 'projectcalico.org/v3';

export function node(name: string, bgp: NodeBGPSpec, labels: Record<string, string> = {}): Node {
  return { apiVersion: V, kind: 'Node', metadata: { name, labels }, spec: { bgp } };
}

export function bgpPeer(name: string, spec: BGPPeerSpec): BGPPeer {
  return { apiVersion: V, kind: 'BGPPeer', metadata: { name }, spec };
}

export function bgpConfig(name: string, spec: BGPConfigurationSpec): BGPConfiguration {
  return { apiVersion: V, kind: 'BGPConfiguration', metadata: { name }, spec };
}

export function bgpFilter(name: string, spec: BGPFilterSpec): BGPFilter {
  return { apiVersion: V, kind: 'BGPFilter', metadata: { name }, spec };
}

export function ipPool(name: string, cidr: string, extra: Partial<NonNullable<IPPool['spec']>> = {}): IPPool {
  return { apiVersion: V, kind: 'IPPool', metadata: { name }, spec: { cidr, ...extra } };
}
