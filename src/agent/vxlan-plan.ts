// The desired VXLAN state of one node (node contract §4.15, §4.16, §4.19), as a pure function of
// the datastore and of the node's parent interface: the `vxlan.calico` device, and for every
// remote VTEP a permanent neighbour entry and an FDB entry, and for every remote block of a
// VXLAN pool a route via that node's tunnel address (or, CrossSubnet within our subnet, straight
// via its node address on the parent interface). IPv4 only, like the lab.

import { createHash } from 'node:crypto';
import type { IPPool, Node } from '../api/index.ts';
import { nodeFacts } from '../bgp/index.ts';
import type { VXLANDevice } from '../dataplane/io/index.ts';
import { cidrContainsIP, formatCIDR, tryParseCIDR, tryParseIP } from '../net/index.ts';
import type { FelixSpec } from './agent-config.ts';
import type { BlockAffinityEntry } from './routing-plan.ts';
import { enabledPoolOf, isVXLANPool } from './routing-plan.ts';

export const VXLAN_DEVICE = 'vxlan.calico';
/** Felix's VXLANVNI and VXLANPort defaults. */
export const DEFAULT_VXLAN_VNI = 4096;
export const DEFAULT_VXLAN_PORT = 4789;
/** IPv4 VXLAN overhead: outer IP 20 + UDP 8 + VXLAN 8 + inner Ethernet 14. */
export const VXLAN_OVERHEAD_BYTES = 50;
/** What MTU detection assumes when it finds no parent interface (§4.19). */
export const DEFAULT_HOST_MTU = 1460;

/** Calico's deterministic VTEP MAC: 0x66 then the first 5 bytes of SHA-1(node name). */
export function vtepMAC(nodeName: string): string {
  const d = createHash('sha1').update(nodeName).digest();
  return [0x66, ...d.subarray(0, 5)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export interface ParentInterface {
  readonly name: string;
  readonly mtu: number;
}

export interface VXLANInputs {
  readonly nodeName: string;
  readonly nodes: readonly Node[];
  readonly pools: readonly IPPool[];
  readonly affinities: readonly BlockAffinityEntry[];
  readonly felix: FelixSpec;
  /** The interface holding this node's IPv4 address (found by the io side). */
  readonly parent: ParentInterface | undefined;
}

/** The device the plan wants: the shape the io driver programs. */
export type VXLANDeviceSpec = VXLANDevice;

export interface ViaRoute {
  readonly dst: string;
  readonly via: string;
  readonly dev: string;
}

export interface VXLANPlan {
  /** An enabled VXLAN pool exists (so this node needs a tunnel address). */
  readonly needed: boolean;
  readonly device: VXLANDeviceSpec | undefined;
  readonly routes: readonly ViaRoute[];
  readonly neighbours: readonly { readonly ip: string; readonly mac: string }[];
  readonly fdb: readonly { readonly mac: string; readonly dst: string }[];
  /** Remote blocks with no route yet, and why (VTEP not known). */
  readonly waiting: readonly string[];
}

function num(spec: FelixSpec, field: string): number | undefined {
  const v = spec[field];
  return typeof v === 'number' && v > 0 ? v : undefined;
}

function ipOnly(text: string | undefined): string | undefined {
  if (text === undefined || text === '') return undefined;
  const ip = tryParseIP(text.split('/')[0] ?? '');
  return ip?.family === 4 ? text.split('/')[0] : undefined;
}

interface VTEP {
  readonly node: string;
  readonly nodeIP: string;
  readonly tunnelIP: string | undefined;
  readonly mac: string;
}

function vtepOf(n: Node): VTEP | undefined {
  const nodeIP = nodeFacts(n, []).ipv4;
  if (nodeIP === undefined) return undefined;
  return { node: n.metadata.name, nodeIP, tunnelIP: ipOnly(n.spec?.ipv4VXLANTunnelAddr), mac: (n.spec?.vxlanTunnelMACAddr ?? vtepMAC(n.metadata.name)).toLowerCase() };
}

const byKey = <T>(key: (t: T) => string) => (a: T, b: T) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

/** The VXLAN state this node should have. */
export function desiredVXLAN(i: VXLANInputs): VXLANPlan {
  const none: VXLANPlan = { needed: false, device: undefined, routes: [], neighbours: [], fdb: [], waiting: [] };
  const vxlanPools = i.pools.filter((p) => p.spec?.disabled !== true && isVXLANPool(p) && tryParseCIDR(p.spec?.cidr ?? '')?.family === 4);
  if (vxlanPools.length === 0 || i.felix['vxlanEnabled'] === false) return none;
  const me = i.nodes.find((n) => n.metadata.name === i.nodeName);
  const mine = me === undefined ? undefined : vtepOf(me);
  if (me === undefined || mine === undefined) return { ...none, needed: me !== undefined };
  const myNet = tryParseCIDR(nodeFacts(me, []).ipv4Network ?? '');

  const device: VXLANDeviceSpec | undefined =
    mine.tunnelIP === undefined || i.parent === undefined
      ? undefined
      : {
          name: VXLAN_DEVICE,
          vni: num(i.felix, 'vxlanVNI') ?? DEFAULT_VXLAN_VNI,
          port: num(i.felix, 'vxlanPort') ?? DEFAULT_VXLAN_PORT,
          localIP: mine.nodeIP,
          parent: i.parent.name,
          mtu: num(i.felix, 'vxlanMTU') ?? i.parent.mtu - VXLAN_OVERHEAD_BYTES,
          mac: mine.mac,
          address: mine.tunnelIP,
        };

  const remotes = new Map<string, VTEP>();
  for (const n of i.nodes) {
    if (n.metadata.name === i.nodeName) continue;
    const v = vtepOf(n);
    if (v !== undefined) remotes.set(v.node, v);
  }
  const routes: ViaRoute[] = [];
  const waiting: string[] = [];
  for (const a of i.affinities) {
    if (a.host === i.nodeName || a.deleted || (a.state !== 'confirmed' && a.state !== '')) continue;
    const pool = enabledPoolOf(a.cidr, i.pools);
    if (pool === undefined || !isVXLANPool(pool)) continue;
    const c = tryParseCIDR(a.cidr);
    if (c === undefined || c.family !== 4) continue;
    const dst = formatCIDR(c);
    const r = remotes.get(a.host);
    if (r === undefined) {
      waiting.push(`${dst}: node ${a.host} has no IPv4 address`);
      continue;
    }
    const remoteIP = tryParseIP(r.nodeIP);
    const sameSubnet = pool.spec?.vxlanMode === 'CrossSubnet' && myNet !== undefined && remoteIP !== undefined && cidrContainsIP(myNet, remoteIP);
    if (sameSubnet && i.parent !== undefined) {
      routes.push({ dst, via: r.nodeIP, dev: i.parent.name });
    } else if (device !== undefined && r.tunnelIP !== undefined) {
      routes.push({ dst, via: r.tunnelIP, dev: VXLAN_DEVICE });
    } else {
      waiting.push(`${dst}: ${device === undefined ? 'this node has no VXLAN device yet' : `node ${a.host} has no VXLAN tunnel address yet`}`);
    }
  }
  const neighbours: { ip: string; mac: string }[] = [];
  const fdb: { mac: string; dst: string }[] = [];
  if (device !== undefined) {
    for (const r of remotes.values()) {
      if (r.tunnelIP === undefined) continue;
      neighbours.push({ ip: r.tunnelIP, mac: r.mac });
      fdb.push({ mac: r.mac, dst: r.nodeIP });
    }
  }
  return {
    needed: true,
    device,
    routes: routes.sort(byKey((r) => r.dst)),
    neighbours: neighbours.sort(byKey((n) => n.ip)),
    fdb: fdb.sort(byKey((f) => f.mac)),
    waiting: waiting.sort(),
  };
}
