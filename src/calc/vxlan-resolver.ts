// Encapsulation and VXLAN tunnel endpoints (node contract §2.13, §4.16, §4.19) as pure functions
// of the routing inputs: whether this node needs VXLAN (an enabled IPv4 VXLAN pool, not turned
// off by FelixConfiguration) or IPIP, the device settings, and one VTEP per node that has an
// IPv4 address and a VXLAN tunnel address.

import { tryParseCIDR } from '../net/index.ts';
import type { EncapsulationUpdate, VXLANTunnelUpdate } from './messages.ts';
import { DEFAULT_VXLAN_PORT, DEFAULT_VXLAN_VNI, addressOnly, enabledPools, isIPIPPool, isVXLANPool, nodeAddresses, vtepMAC } from './routing-model.ts';
import type { FelixFields, RoutingInputs } from './routing-model.ts';

function positive(felix: FelixFields, field: string): number | undefined {
  const v = felix[field];
  return typeof v === 'number' && v > 0 ? v : undefined;
}

export function resolveEncapsulation(i: Pick<RoutingInputs, 'pools' | 'felix'>): EncapsulationUpdate {
  const pools = enabledPools(i.pools);
  const vxlan = pools.filter(isVXLANPool);
  return {
    type: 'EncapsulationUpdate',
    vxlanEnabled: i.felix['vxlanEnabled'] !== false && vxlan.some((p) => tryParseCIDR(p.spec?.cidr ?? '')?.family === 4),
    vxlanPools: vxlan.map((p) => p.metadata.name).sort(),
    ipipEnabled: i.felix['ipipEnabled'] !== false && pools.some(isIPIPPool),
    vxlanVNI: positive(i.felix, 'vxlanVNI') ?? DEFAULT_VXLAN_VNI,
    vxlanPort: positive(i.felix, 'vxlanPort') ?? DEFAULT_VXLAN_PORT,
    vxlanMTU: positive(i.felix, 'vxlanMTU'),
  };
}

/** Every node's VTEP (this one's included), keyed by node name; none while VXLAN is off. */
export function resolveVTEPs(i: RoutingInputs, encap: EncapsulationUpdate): Map<string, VXLANTunnelUpdate> {
  const out = new Map<string, VXLANTunnelUpdate>();
  if (!encap.vxlanEnabled) return out;
  for (const n of i.nodes) {
    const nodeIP = nodeAddresses(n).ipv4;
    const tunnelIP = addressOnly(n.spec?.ipv4VXLANTunnelAddr, 4);
    if (nodeIP === undefined || tunnelIP === undefined) continue;
    const name = n.metadata.name;
    out.set(name, { type: 'VXLANTunnelUpdate', node: name, local: name === i.nodeName, nodeIP, tunnelIP, mac: (n.spec?.vxlanTunnelMACAddr ?? vtepMAC(name)).toLowerCase() });
  }
  return out;
}
