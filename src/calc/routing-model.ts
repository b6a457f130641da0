// The routing side of the calc graph's input (node contract §2.13, §4.15, §4.16, §5.1): the
// resources routing is resolved from (Nodes, IP pools, block affinities, BGPConfiguration, the
// merged FelixConfiguration), and the small pure facts every routing resolver shares.

import { createHash } from 'node:crypto';
import type { BGPConfiguration, IPPool, Node } from '../api/index.ts';
import type { StoredBlockAffinity } from '../datastore/index.ts';
import { cidrContainsCIDR, formatIP, tryParseCIDR, tryParseIP } from '../net/index.ts';
import type { CIDR, IPFamily } from '../net/index.ts';

/** `--bgp`: auto (BIRD unless every pool is VXLAN), enabled, disabled. */
export const BGP_MODES = ['auto', 'enabled', 'disabled'] as const;
export type BGPMode = (typeof BGP_MODES)[number];

/** One BlockAffinity as stored under `/calico/ipam/v2/host/<host>/ipv4/block/<cidr>` (the codec's decoding). */
export type BlockAffinityEntry = StoredBlockAffinity;

/** A FelixConfiguration spec (global merged with `node.<name>`), as stored. */
export type FelixFields = Readonly<Record<string, unknown>>;

/** Everything routing is resolved from, for one node. */
export interface RoutingInputs {
  readonly nodeName: string;
  readonly nodes: readonly Node[];
  readonly pools: readonly IPPool[];
  readonly affinities: readonly BlockAffinityEntry[];
  readonly bgpConfigurations: readonly BGPConfiguration[];
  readonly felix: FelixFields;
  readonly bgpMode: BGPMode;
  /** Workload endpoint addresses per endpoint (host CIDRs) with their node: borrowed addresses. */
  readonly workloads?: ReadonlyMap<string, WorkloadAddresses>;
}

/** One workload endpoint's node and addresses (/32 or /128 texts), as the routing side sees it. */
export interface WorkloadAddresses {
  readonly node: string;
  readonly addrs: readonly string[];
}

/** Felix's VXLANVNI and VXLANPort defaults. */
export const DEFAULT_VXLAN_VNI = 4096;
export const DEFAULT_VXLAN_PORT = 4789;

/** Calico's deterministic VTEP MAC: 0x66 then the first 5 bytes of SHA-1(node name). */
export function vtepMAC(nodeName: string): string {
  const d = createHash('sha1').update(nodeName).digest();
  return [0x66, ...d.subarray(0, 5)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function enabledPools(pools: readonly IPPool[]): IPPool[] {
  return pools.filter((p) => p.spec !== undefined && p.spec.disabled !== true);
}

export function isVXLANPool(p: IPPool): boolean {
  const m = p.spec?.vxlanMode;
  return m !== undefined && m !== 'Never';
}

export function isIPIPPool(p: IPPool): boolean {
  const m = p.spec?.ipipMode;
  return m !== undefined && m !== 'Never';
}

export function poolOf(c: CIDR, pools: readonly IPPool[]): IPPool | undefined {
  for (const p of pools) {
    const pc = tryParseCIDR(p.spec?.cidr ?? '');
    if (pc !== undefined && pc.family === c.family && cidrContainsCIDR(pc, c)) return p;
  }
  return undefined;
}

/** The pool a block belongs to, among enabled pools. */
export function enabledPoolOf(cidr: string, pools: readonly IPPool[]): IPPool | undefined {
  const c = tryParseCIDR(cidr);
  return c === undefined ? undefined : poolOf(c, enabledPools(pools));
}

/** A block affinity confd and Felix count as confirmed (legacy `` included), not being deleted. */
export function isConfirmed(a: BlockAffinityEntry): boolean {
  return !a.deleted && (a.state === 'confirmed' || a.state === '');
}

/** An address as stored (`10.0.0.5/24` or bare), normalised; undefined unless of `family`. */
export function addressOnly(text: string | undefined, family: IPFamily): string | undefined {
  if (text === undefined || text === '') return undefined;
  const slash = text.indexOf('/');
  const ip = tryParseIP(slash === -1 ? text : text.slice(0, slash));
  return ip === undefined || ip.family !== family ? undefined : formatIP(ip);
}

/** A node's BGP addresses (Calico's node IPs) and its IPv4 subnet. */
export function nodeAddresses(n: Node): { ipv4: string | undefined; ipv4Network: string | undefined; ipv6: string | undefined } {
  const bgp = n.spec?.bgp;
  const v4 = bgp?.ipv4Address;
  let ipv4Network: string | undefined;
  if (v4 !== undefined && v4.includes('/')) {
    const c = tryParseCIDR(v4);
    if (c !== undefined && c.family === 4) ipv4Network = `${formatIP({ family: 4, value: c.network })}/${c.prefixLength}`;
  }
  return { ipv4: addressOnly(v4, 4), ipv4Network, ipv6: addressOnly(bgp?.ipv6Address, 6) };
}

export const byKey =
  <T>(key: (t: T) => string) =>
  (a: T, b: T): number =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
