// Calc graph → dataplane messages (node contract §4.3), in an internal, backend-neutral form.

import type { RuleSetIR } from './ir.ts';
import type { PolicyID } from './model.ts';

export interface IPPortMember {
  readonly ip: string;
  /** IANA protocol number (6 tcp, 17 udp, 132 sctp). */
  readonly protocol: number;
  readonly port: number;
}

/**
 * The full membership of an IP set (`members`, sorted) plus, from the calc graph, the change since
 * the previous IPSetUpdate of the same id that was flushed (`added` / `removed`, sorted; on the
 * first update after creation `added` equals `members`). A consumer that applied every earlier
 * update can apply just the delta: the calc graph never has to rebuild a list proportional to the
 * set on its incremental path beyond one array copy. `added`/`removed` are optional so hand-built
 * messages (tests) may leave them out; a consumer must then fall back to `members`.
 */
export type IPSetUpdate =
  | {
      readonly type: 'IPSetUpdate';
      readonly id: string;
      readonly ipsetType: 'net';
      readonly members: readonly string[];
      readonly added?: readonly string[];
      readonly removed?: readonly string[];
    }
  | {
      readonly type: 'IPSetUpdate';
      readonly id: string;
      readonly ipsetType: 'ip-port';
      readonly members: readonly IPPortMember[];
      readonly added?: readonly IPPortMember[];
      readonly removed?: readonly IPPortMember[];
    };

export interface IPSetRemove {
  readonly type: 'IPSetRemove';
  readonly id: string;
}

export interface ActivePolicyUpdate {
  readonly type: 'ActivePolicyUpdate';
  /** policyKey(id): `<kind>/<namespace>/<name>`. */
  readonly key: string;
  readonly id: PolicyID;
  readonly tier: string;
  readonly rules: RuleSetIR;
  readonly untracked: boolean;
  readonly preDNAT: boolean;
  readonly applyOnForward: boolean;
  /** IP set ids the rules reference (all sent before this message). */
  readonly ipSetIds: readonly string[];
}

export interface ActivePolicyRemove {
  readonly type: 'ActivePolicyRemove';
  readonly key: string;
}

export interface ActiveProfileUpdate {
  readonly type: 'ActiveProfileUpdate';
  readonly name: string;
  readonly rules: RuleSetIR;
  readonly ipSetIds: readonly string[];
}

export interface ActiveProfileRemove {
  readonly type: 'ActiveProfileRemove';
  readonly name: string;
}

export interface TierInfo {
  readonly name: string;
  readonly defaultAction: 'Deny' | 'Pass';
  /** Policy keys in evaluation order; an empty list means the tier does not apply that way. */
  readonly ingressPolicies: readonly string[];
  readonly egressPolicies: readonly string[];
}

export interface WorkloadEndpointUpdate {
  readonly type: 'WorkloadEndpointUpdate';
  /** `WorkloadEndpoint/<namespace>/<name>`. */
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly pod: string | undefined;
  readonly interfaceName: string | undefined;
  readonly mac: string | undefined;
  readonly ipv4Nets: readonly string[];
  readonly ipv6Nets: readonly string[];
  readonly profileIds: readonly string[];
  readonly tiers: readonly TierInfo[];
}

export interface WorkloadEndpointRemove {
  readonly type: 'WorkloadEndpointRemove';
  readonly key: string;
}

export interface HostEndpointUpdate {
  readonly type: 'HostEndpointUpdate';
  readonly key: string;
  readonly name: string;
  readonly interfaceName: string | undefined;
  readonly expectedIPs: readonly string[];
  readonly profileIds: readonly string[];
  /** Normal (conntracked) host policy. */
  readonly tiers: readonly TierInfo[];
  readonly untrackedTiers: readonly TierInfo[];
  readonly preDNATTiers: readonly TierInfo[];
  readonly forwardTiers: readonly TierInfo[];
}

export interface HostEndpointRemove {
  readonly type: 'HostEndpointRemove';
  readonly key: string;
}

export interface InSync {
  readonly type: 'InSync';
}

// ---- routing (route-resolver.ts, vxlan-resolver.ts, host-resolver.ts) ----------------------

/**
 * Node-wide encapsulation (Felix's EncapsulationUpdate, plus the VXLAN device settings from
 * FelixConfiguration). Sent once after the first complete snapshot and again on every change.
 */
export interface EncapsulationUpdate {
  readonly type: 'EncapsulationUpdate';
  /** An enabled IPv4 VXLAN pool exists and FelixConfiguration does not turn VXLAN off. */
  readonly vxlanEnabled: boolean;
  /** Enabled VXLAN pools by name: where this node's tunnel address comes from. */
  readonly vxlanPools: readonly string[];
  /** An enabled IPIP pool exists and FelixConfiguration does not turn IPIP off. */
  readonly ipipEnabled: boolean;
  /** FelixConfiguration vxlanVNI / vxlanPort (Felix's defaults 4096 / 4789). */
  readonly vxlanVNI: number;
  readonly vxlanPort: number;
  /** FelixConfiguration vxlanMTU; undefined: the parent interface's MTU − 50. */
  readonly vxlanMTU: number | undefined;
}

/**
 * What a dataplane needs to know about one node (this one included): its addresses, its tunnel
 * addresses and VXLAN MAC as stored, its confirmed blocks and its WireGuard public key
 * (Felix's HostMetadataUpdate and WireguardEndpointUpdate folded into one).
 */
export interface HostMetadataUpdate {
  readonly type: 'HostMetadataUpdate';
  readonly name: string;
  /** This is the node the calc graph computes for. */
  readonly local: boolean;
  /** spec.bgp.ipv4Address / ipv6Address without the prefix length; ipv4Network its subnet. */
  readonly ipv4: string | undefined;
  readonly ipv4Network: string | undefined;
  readonly ipv6: string | undefined;
  readonly vxlanTunnelAddr: string | undefined;
  /** spec.vxlanTunnelMACAddr as stored (VXLANTunnelUpdate carries the effective MAC). */
  readonly vxlanTunnelMAC: string | undefined;
  readonly ipipTunnelAddr: string | undefined;
  readonly wireguardTunnelAddr: string | undefined;
  readonly wireguardPublicKey: string | undefined;
  /** Confirmed affine blocks (IPv4 and IPv6), sorted. */
  readonly blocks: readonly string[];
  /**
   * Addresses of the node's workload endpoints outside its confirmed blocks (borrowed from
   * another node's block), as /32 or /128, sorted: WireGuard's allowed IPs need them.
   */
  readonly borrowed: readonly string[];
}

export interface HostMetadataRemove {
  readonly type: 'HostMetadataRemove';
  readonly name: string;
}

/** A VXLAN tunnel endpoint (Felix's VXLANTunnelEndpointUpdate); only while VXLAN is enabled. */
export interface VXLANTunnelUpdate {
  readonly type: 'VXLANTunnelUpdate';
  readonly node: string;
  readonly local: boolean;
  /** The underlay address the tunnel's packets go to. */
  readonly nodeIP: string;
  readonly tunnelIP: string;
  /** spec.vxlanTunnelMACAddr, else Calico's deterministic MAC for the node name. */
  readonly mac: string;
}

export interface VXLANTunnelRemove {
  readonly type: 'VXLANTunnelRemove';
  readonly node: string;
}

/**
 * A route the node programs besides workload routes (proto 80): a blackhole for an own block
 * BIRD does not install; a remote VXLAN block via the node's tunnel address (device
 * `vxlan.calico`) or, CrossSubnet within our subnet, via its node address on the interface that
 * holds ours (`noEncap`); or a remote block that cannot be routed yet, and why (`unresolved`).
 */
export type RouteUpdate =
  | { readonly type: 'RouteUpdate'; readonly dst: string; readonly routeType: 'blackhole' }
  | { readonly type: 'RouteUpdate'; readonly dst: string; readonly routeType: 'vxlan' | 'noEncap'; readonly node: string; readonly via: string }
  | { readonly type: 'RouteUpdate'; readonly dst: string; readonly routeType: 'unresolved'; readonly node: string; readonly reason: string };

export interface RouteRemove {
  readonly type: 'RouteRemove';
  readonly dst: string;
}

/** The routing messages, for consumers that take only those. */
export type RoutingMessage = EncapsulationUpdate | HostMetadataUpdate | HostMetadataRemove | VXLANTunnelUpdate | VXLANTunnelRemove | RouteUpdate | RouteRemove;

export type CalcMessage =
  | InSync
  | IPSetUpdate
  | IPSetRemove
  | ActivePolicyUpdate
  | ActivePolicyRemove
  | ActiveProfileUpdate
  | ActiveProfileRemove
  | WorkloadEndpointUpdate
  | WorkloadEndpointRemove
  | HostEndpointUpdate
  | HostEndpointRemove
  | RoutingMessage;
