// The routing messages a dataplane holds (encapsulation, hosts, VXLAN tunnels, routes: the calc
// graph's routing resolvers), and the VXLAN programme they make on this node once the io side
// has found the interface holding the node's address (node contract §4.15, §4.16, §4.19): the
// `vxlan.calico` device, a permanent neighbour and an FDB entry per remote VTEP, and the proto-80
// routes (blackholes, remote VXLAN blocks). Shared by every dataplane; pure.

import { TricolorError } from '../base/index.ts';
import type { EncapsulationUpdate, HostMetadataUpdate, RouteUpdate, RoutingMessage, VXLANTunnelUpdate } from '../calc/index.ts';

export const VXLAN_DEVICE = 'vxlan.calico';
/** IPv4 VXLAN overhead: outer IP 20 + UDP 8 + VXLAN 8 + inner Ethernet 14. */
export const VXLAN_OVERHEAD_BYTES = 50;

/** The VXLAN device as the io driver programs it. */
export interface VXLANDeviceSpec {
  readonly name: string;
  readonly vni: number;
  readonly port: number;
  readonly localIP: string;
  readonly parent: string;
  readonly mtu: number;
  readonly mac: string;
  /** IPv4 tunnel address, assigned as /32. */
  readonly address: string;
}

/** A proto-80 route as the io driver programs it. */
export type AgentRoute = { readonly dst: string; readonly blackhole: true } | { readonly dst: string; readonly via: string; readonly dev: string };

export interface ParentInterface {
  readonly name: string;
  readonly mtu: number;
}

export interface VXLANProgram {
  readonly device: VXLANDeviceSpec | undefined;
  readonly routes: readonly AgentRoute[];
  readonly neighbours: readonly { readonly ip: string; readonly mac: string }[];
  readonly fdb: readonly { readonly mac: string; readonly dst: string }[];
  /** Remote blocks with no route yet, and why. */
  readonly waiting: readonly string[];
}

const isRoutingType = new Set<string>(['EncapsulationUpdate', 'HostMetadataUpdate', 'HostMetadataRemove', 'VXLANTunnelUpdate', 'VXLANTunnelRemove', 'RouteUpdate', 'RouteRemove']);

export function isRoutingMessage(m: { readonly type: string }): m is RoutingMessage {
  return isRoutingType.has(m.type);
}

/** Latest routing message per object. */
export class RoutingState {
  encapsulation: EncapsulationUpdate | undefined;
  readonly hosts = new Map<string, HostMetadataUpdate>();
  readonly vteps = new Map<string, VXLANTunnelUpdate>();
  readonly routes = new Map<string, RouteUpdate>();

  apply(msg: RoutingMessage): void {
    switch (msg.type) {
      case 'EncapsulationUpdate':
        this.encapsulation = msg;
        return;
      case 'HostMetadataUpdate':
        this.hosts.set(msg.name, msg);
        return;
      case 'HostMetadataRemove':
        this.hosts.delete(msg.name);
        return;
      case 'VXLANTunnelUpdate':
        this.vteps.set(msg.node, msg);
        return;
      case 'VXLANTunnelRemove':
        this.vteps.delete(msg.node);
        return;
      case 'RouteUpdate':
        this.routes.set(msg.dst, msg);
        return;
      case 'RouteRemove':
        this.routes.delete(msg.dst);
        return;
      default: {
        const never: never = msg;
        throw new TricolorError('ERR_INTERNAL', `routing: unknown message ${JSON.stringify(never)}`);
      }
    }
  }

  /** This node's own facts. */
  localHost(): HostMetadataUpdate | undefined {
    for (const h of this.hosts.values()) if (h.local) return h;
    return undefined;
  }
}

const byKey =
  <T>(key: (t: T) => string) =>
  (a: T, b: T): number =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;

/** What to program for VXLAN and proto-80 routes, given the interface holding our address. */
export function vxlanProgram(s: RoutingState, parent: ParentInterface | undefined): VXLANProgram {
  const encap = s.encapsulation;
  let device: VXLANDeviceSpec | undefined;
  let local: VXLANTunnelUpdate | undefined;
  for (const v of s.vteps.values()) if (v.local) local = v;
  if (encap?.vxlanEnabled === true && local !== undefined && parent !== undefined) {
    device = {
      name: VXLAN_DEVICE,
      vni: encap.vxlanVNI,
      port: encap.vxlanPort,
      localIP: local.nodeIP,
      parent: parent.name,
      mtu: encap.vxlanMTU ?? parent.mtu - VXLAN_OVERHEAD_BYTES,
      mac: local.mac,
      address: local.tunnelIP,
    };
  }
  const routes: AgentRoute[] = [];
  const waiting: string[] = [];
  const noDevice = (dst: string) => waiting.push(`${dst}: this node has no VXLAN device yet`);
  for (const r of s.routes.values()) {
    switch (r.routeType) {
      case 'blackhole':
        routes.push({ dst: r.dst, blackhole: true });
        break;
      case 'noEncap':
        if (parent === undefined) noDevice(r.dst);
        else routes.push({ dst: r.dst, via: r.via, dev: parent.name });
        break;
      case 'vxlan':
        if (device === undefined) noDevice(r.dst);
        else routes.push({ dst: r.dst, via: r.via, dev: VXLAN_DEVICE });
        break;
      case 'unresolved':
        waiting.push(`${r.dst}: ${r.reason}`);
        break;
    }
  }
  const neighbours: { ip: string; mac: string }[] = [];
  const fdb: { mac: string; dst: string }[] = [];
  if (device !== undefined) {
    for (const v of s.vteps.values()) {
      if (v.local) continue;
      neighbours.push({ ip: v.tunnelIP, mac: v.mac });
      fdb.push({ mac: v.mac, dst: v.nodeIP });
    }
  }
  return {
    device,
    routes: routes.sort(byKey((r) => r.dst)),
    neighbours: neighbours.sort(byKey((n) => n.ip)),
    fdb: fdb.sort(byKey((f) => f.mac)),
    waiting: waiting.sort(),
  };
}
