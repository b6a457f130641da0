// Tunnel address allocation for the node agent (node contract §2.13): exactly one address per
// (node, tunnel type), allocated for use `Tunnel` under the well-known handle and attributes,
// so GC treats it as valid while the node exists and never as a pod leak.

import type { IPFamily } from '../net/index.ts';
import { type TunnelType, tunnelHandleId } from './annotations.ts';
import type { IPAMClient } from './ipam-client.ts';

const FAMILY: Record<TunnelType, IPFamily> = {
  ipipTunnelAddress: 4,
  vxlanTunnelAddress: 4,
  vxlanV6TunnelAddress: 6,
  wireguardTunnelAddress: 4,
  wireguardV6TunnelAddress: 6,
};

export interface TunnelAddressRequest {
  readonly node: string;
  readonly type: TunnelType;
  /** Restrict to these pools (e.g. the IPIP pools selecting the node). */
  readonly pools?: readonly string[];
}

/** The node's tunnel address of this type, allocating it if it has none. Idempotent. */
export async function ensureTunnelAddress(client: IPAMClient, req: TunnelAddressRequest): Promise<string> {
  const handleId = tunnelHandleId(req.type, req.node);
  const existing = await client.ipsByHandle(handleId);
  if (existing.length > 0) {
    // more than one would be a bug elsewhere: keep the first, give the rest back
    if (existing.length > 1) await client.releaseIPs(existing.slice(1).map((ip) => ({ ip, handleId })));
    return existing[0] ?? '';
  }
  const v6 = FAMILY[req.type] === 6;
  const r = await client.autoAssign({
    num4: v6 ? 0 : 1,
    num6: v6 ? 1 : 0,
    handleId,
    hostname: req.node,
    intendedUse: 'Tunnel',
    attrs: { type: req.type, node: req.node },
    ...(req.pools !== undefined ? (v6 ? { ipv6Pools: req.pools } : { ipv4Pools: req.pools }) : {}),
  });
  const got = (v6 ? r.ipv6 : r.ipv4)[0] ?? '';
  return got.split('/')[0] ?? got;
}

export async function releaseTunnelAddress(client: IPAMClient, node: string, type: TunnelType): Promise<string[]> {
  return client.releaseByHandle(tunnelHandleId(type, node));
}
