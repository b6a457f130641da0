// Which routes this node programs besides workload routes (node contract §4.15, §5.1, §5.6), as
// pure functions of the routing inputs: whether the node runs BIRD; blackholes for its own
// blocks that BIRD does not install; and a route per remote block of a VXLAN pool — via the
// node's tunnel address, or (CrossSubnet, same subnet) via its node address — or, when that is
// not possible yet, the reason. IPv4 only for VXLAN, like the lab.

import type { IPPool } from '../api/index.ts';
import { cidrContainsIP, formatCIDR, tryParseCIDR, tryParseIP } from '../net/index.ts';
import type { RouteUpdate } from './messages.ts';
import { addressOnly, enabledPoolOf, enabledPools, isConfirmed, isIPIPPool, isVXLANPool, nodeAddresses, poolOf } from './routing-model.ts';
import type { RoutingInputs } from './routing-model.ts';
import { resolveEncapsulation } from './vxlan-resolver.ts';

export interface BGPDecision {
  readonly run: boolean;
  /** Why not (or why), for the log and the status file. */
  readonly reason: string;
}

/**
 * Run BIRD? Calico runs it when the networking backend is `bird` and the node has a BGP address
 * (no address: confd has no router id). `auto` is our stand-in for CALICO_NETWORKING_BACKEND:
 * BGP unless every enabled pool is VXLAN — Calico's `vxlan` backend, where the agent programs all
 * pod routes and BIRD has nothing to carry.
 */
export function bgpDecision(i: RoutingInputs): BGPDecision {
  if (i.bgpMode === 'disabled') return { run: false, reason: 'BGP is disabled (--bgp disabled)' };
  const me = i.nodes.find((n) => n.metadata.name === i.nodeName);
  if (me === undefined) return { run: false, reason: `Node ${JSON.stringify(i.nodeName)} is not in the datastore` };
  const bgp = me.spec?.bgp;
  if ((bgp?.ipv4Address ?? '') === '' && (bgp?.ipv6Address ?? '') === '') {
    return { run: false, reason: `Node ${JSON.stringify(i.nodeName)} has no spec.bgp address` };
  }
  if (i.bgpMode === 'enabled') return { run: true, reason: 'BGP is enabled (--bgp enabled)' };
  const pools = enabledPools(i.pools);
  if (pools.length > 0 && pools.every(isVXLANPool)) {
    return { run: false, reason: 'every enabled IP pool uses VXLAN: the agent programs pod routes (no BIRD)' };
  }
  return { run: true, reason: 'the node has a BGP address and a pool without VXLAN' };
}

/** Whether BIRD's kernel filter installs this block's static blackhole (mirrors the renderer). */
function birdInstalls(pool: IPPool | undefined, programClusterRoutes: string): boolean {
  if (pool === undefined) return true; // outside every pool: the kernel filter accepts it
  if (isVXLANPool(pool) || isIPIPPool(pool)) return false;
  return programClusterRoutes === 'Enabled' || programClusterRoutes === 'EnabledNoEncapOnly';
}

/**
 * `blackhole <block>` routes the agent programs (proto 80, §4.15): every confirmed affine block
 * that is not a single address, except those BIRD installs itself when it runs (§5.6).
 */
export function agentBlackholes(i: RoutingInputs, birdRunning: boolean): string[] {
  const global = i.bgpConfigurations.find((c) => c.metadata.name === 'default')?.spec;
  const pcr = global?.programClusterRoutes ?? 'EnabledNoEncapOnly';
  const pools = enabledPools(i.pools);
  const out = new Set<string>();
  for (const a of i.affinities) {
    if (a.host !== i.nodeName || !isConfirmed(a)) continue;
    const c = tryParseCIDR(a.cidr);
    if (c === undefined || c.prefixLength === (c.family === 4 ? 32 : 128)) continue;
    if (birdRunning && birdInstalls(poolOf(c, pools), pcr)) continue;
    out.add(formatCIDR(c));
  }
  return [...out].sort();
}

/** Routes to remote blocks of VXLAN pools, keyed by destination (empty while VXLAN is off). */
export function remoteBlockRoutes(i: RoutingInputs): RouteUpdate[] {
  if (!resolveEncapsulation(i).vxlanEnabled) return [];
  const me = i.nodes.find((n) => n.metadata.name === i.nodeName);
  if (me === undefined) return [];
  const mine = nodeAddresses(me);
  if (mine.ipv4 === undefined) return [];
  const myTunnel = addressOnly(me.spec?.ipv4VXLANTunnelAddr, 4);
  const myNet = tryParseCIDR(mine.ipv4Network ?? '');
  const nodes = new Map(i.nodes.map((n) => [n.metadata.name, n]));
  const out = new Map<string, RouteUpdate>();
  for (const a of i.affinities) {
    if (a.host === i.nodeName || !isConfirmed(a)) continue;
    const pool = enabledPoolOf(a.cidr, i.pools);
    if (pool === undefined || !isVXLANPool(pool)) continue;
    const c = tryParseCIDR(a.cidr);
    if (c === undefined || c.family !== 4) continue;
    const dst = formatCIDR(c);
    const remote = nodes.get(a.host);
    const remoteIP = remote === undefined ? undefined : nodeAddresses(remote).ipv4;
    const base = { type: 'RouteUpdate', dst, node: a.host } as const;
    if (remote === undefined || remoteIP === undefined) {
      out.set(dst, { ...base, routeType: 'unresolved', reason: `node ${a.host} has no IPv4 address` });
      continue;
    }
    const rip = tryParseIP(remoteIP);
    const sameSubnet = pool.spec?.vxlanMode === 'CrossSubnet' && myNet !== undefined && rip !== undefined && cidrContainsIP(myNet, rip);
    const remoteTunnel = addressOnly(remote.spec?.ipv4VXLANTunnelAddr, 4);
    if (sameSubnet) out.set(dst, { ...base, routeType: 'noEncap', via: remoteIP });
    else if (myTunnel === undefined) out.set(dst, { ...base, routeType: 'unresolved', reason: 'this node has no VXLAN device yet' });
    else if (remoteTunnel === undefined) out.set(dst, { ...base, routeType: 'unresolved', reason: `node ${a.host} has no VXLAN tunnel address yet` });
    else out.set(dst, { ...base, routeType: 'vxlan', via: remoteTunnel });
  }
  return [...out.values()];
}

/** Every route this node programs besides workload routes, keyed by destination. */
export function resolveRoutes(i: RoutingInputs, birdRunning: boolean): Map<string, RouteUpdate> {
  const out = new Map<string, RouteUpdate>();
  for (const dst of agentBlackholes(i, birdRunning)) out.set(dst, { type: 'RouteUpdate', dst, routeType: 'blackhole' });
  for (const r of remoteBlockRoutes(i)) if (!out.has(r.dst)) out.set(r.dst, r);
  return out;
}
