// What a dataplane needs to know about every node (node contract §2.13, §4.16; WireGuard needs the
// public key from the Node's status): addresses, tunnel addresses, VXLAN MAC as stored, and the
// node's confirmed blocks — a pure function of the routing inputs.

import { formatCIDR, tryParseCIDR } from '../net/index.ts';
import type { HostMetadataUpdate } from './messages.ts';
import { addressOnly, isConfirmed, nodeAddresses } from './routing-model.ts';
import type { RoutingInputs } from './routing-model.ts';

/** One HostMetadataUpdate per Node, keyed by name. */
export function resolveHosts(i: Pick<RoutingInputs, 'nodeName' | 'nodes' | 'affinities'>): Map<string, HostMetadataUpdate> {
  const blocks = new Map<string, Set<string>>();
  for (const a of i.affinities) {
    if (!isConfirmed(a)) continue;
    const c = tryParseCIDR(a.cidr);
    if (c === undefined) continue;
    let s = blocks.get(a.host);
    if (s === undefined) blocks.set(a.host, (s = new Set()));
    s.add(formatCIDR(c));
  }
  const out = new Map<string, HostMetadataUpdate>();
  for (const n of i.nodes) {
    const name = n.metadata.name;
    const spec = n.spec ?? {};
    const key = n.status?.wireguardPublicKey;
    out.set(name, {
      type: 'HostMetadataUpdate',
      name,
      local: name === i.nodeName,
      ...nodeAddresses(n),
      vxlanTunnelAddr: addressOnly(spec.ipv4VXLANTunnelAddr, 4),
      vxlanTunnelMAC: spec.vxlanTunnelMACAddr === undefined || spec.vxlanTunnelMACAddr === '' ? undefined : spec.vxlanTunnelMACAddr.toLowerCase(),
      ipipTunnelAddr: addressOnly(spec.bgp?.ipv4IPIPTunnelAddr, 4),
      wireguardTunnelAddr: addressOnly(spec.wireguard?.interfaceIPv4Address, 4),
      wireguardPublicKey: key === undefined || key === '' ? undefined : key,
      blocks: [...(blocks.get(name) ?? [])].sort(),
    });
  }
  return out;
}
