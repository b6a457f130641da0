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
  | HostEndpointRemove;
