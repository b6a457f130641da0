// What a dataplane needs to know about every node (node contract §2.13, §4.16; WireGuard needs the
// public key from the Node's status): addresses, tunnel addresses, VXLAN MAC as stored, and the
// node's confirmed blocks, and its workloads' addresses outside them (borrowed) — a pure function
// of the routing inputs.

import { cidrContainsCIDR, formatCIDR, tryParseCIDR } from '../net/index.ts';
import type { CIDR } from '../net/index.ts';
import type { HostMetadataUpdate } from './messages.ts';
import { addressOnly, isConfirmed, nodeAddresses } from './routing-model.ts';
import type { RoutingInputs } from './routing-model.ts';

/** One HostMetadataUpdate per Node, keyed by name. */
export function resolveHosts(i: Pick<RoutingInputs, 'nodeName' | 'nodes' | 'affinities' | 'workloads'>): Map<string, HostMetadataUpdate> {
  const blocks = new Map<string, Set<string>>();
  const parsed = new Map<string, CIDR[]>();
  for (const a of i.affinities) {
    if (!isConfirmed(a)) continue;
    const c = tryParseCIDR(a.cidr);
    if (c === undefined) continue;
    let s = blocks.get(a.host);
    if (s === undefined) blocks.set(a.host, (s = new Set()));
    s.add(formatCIDR(c));
    let l = parsed.get(a.host);
    if (l === undefined) parsed.set(a.host, (l = []));
    l.push(c);
  }
  const borrowed = new Map<string, Set<string>>();
  for (const w of i.workloads?.values() ?? []) {
    const own = parsed.get(w.node) ?? [];
    for (const text of w.addrs) {
      const c = tryParseCIDR(text);
      if (c === undefined || own.some((b) => cidrContainsCIDR(b, c))) continue;
      let s = borrowed.get(w.node);
      if (s === undefined) borrowed.set(w.node, (s = new Set()));
      s.add(formatCIDR(c));
    }
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
      borrowed: [...(borrowed.get(name) ?? [])].sort(),
    });
  }
  return out;
}
