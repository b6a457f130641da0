// The dataplane's desired state: the latest calc-graph message per object (IP sets, policies,
// profiles, workload and host endpoints) plus the node-level configuration the renderer needs
// (FelixConfiguration fields, IP pools). Applying a message is cheap bookkeeping (node contract
// §4.4: managers mark state dirty, a throttled apply programs the kernel later).

import { TricolorError } from '../base/index.ts';
import type {
  ActivePolicyUpdate,
  ActiveProfileUpdate,
  CalcMessage,
  HostEndpointUpdate,
  IPPortMember,
  IPSetUpdate,
  RoutingMessage,
  WorkloadEndpointUpdate,
} from '../calc/index.ts';
import { RoutingState, isRoutingMessage } from './routing-state.ts';

export interface FailsafePort {
  /** IANA protocol number: 6 tcp, 17 udp, 132 sctp. */
  readonly protocol: number;
  readonly port: number;
  /** Restrict to this peer CIDR (source inbound, destination outbound). */
  readonly net?: string;
}

export interface IPPoolInfo {
  readonly cidr: string;
  readonly natOutgoing: boolean;
}

export interface DataplaneConfig {
  /** Workload interface prefixes (FelixConfiguration interfacePrefix, default `cali`). */
  readonly interfacePrefixes: readonly string[];
  readonly defaultEndpointToHostAction: 'Drop' | 'Accept' | 'Return';
  readonly failsafeInbound: readonly FailsafePort[];
  readonly failsafeOutbound: readonly FailsafePort[];
  /** All enabled pools; natOutgoing ones are masqueraded to destinations outside every pool. */
  readonly ipPools: readonly IPPoolInfo[];
  /** nftablesFilterDenyAction. */
  readonly denyAction: 'Drop' | 'Reject';
  /** LogPrefix; `%t` tier, `%k` kind, `%n` name, `%p` namespace/name are substituted. */
  readonly logPrefix: string;
  /** Drop packets from workloads encapsulated as IPIP or VXLAN (to this UDP port). */
  readonly vxlanPort: number;
  /**
   * Flow logs on (FelixConfiguration flowLogsGoldmaneServer set, as in Calico): a verdict log
   * (NFLOG, Calico's prefix grammar) before each allow/deny/pass decision of a new connection.
   * Off: not one extra rule.
   */
  readonly flowLogs: boolean;
  /**
   * The UDP port WireGuard listens on when FelixConfiguration wireguardEnabled is true (node
   * contract §4.6 cali-INPUT 3 / cali-OUTPUT 3): accepted to and from this host's addresses
   * before host endpoint policy, so host endpoint policy cannot cut the tunnel. Absent: off.
   */
  readonly wireguardPort?: number;
}

const T = 6;
const U = 17;

/** Calico's default failsafe ports (FelixConfiguration failsafeInboundHostPorts / Outbound). */
export const DEFAULT_FAILSAFE_INBOUND: readonly FailsafePort[] = [
  { protocol: T, port: 22 },
  { protocol: U, port: 68 },
  { protocol: T, port: 179 },
  { protocol: T, port: 2379 },
  { protocol: T, port: 2380 },
  { protocol: T, port: 5473 },
  { protocol: T, port: 6443 },
  { protocol: T, port: 6666 },
  { protocol: T, port: 6667 },
];

export const DEFAULT_FAILSAFE_OUTBOUND: readonly FailsafePort[] = [
  { protocol: U, port: 53 },
  { protocol: U, port: 67 },
  { protocol: T, port: 179 },
  { protocol: T, port: 2379 },
  { protocol: T, port: 2380 },
  { protocol: T, port: 5473 },
  { protocol: T, port: 6443 },
  { protocol: T, port: 6666 },
  { protocol: T, port: 6667 },
];

export const DEFAULT_DATAPLANE_CONFIG: DataplaneConfig = {
  interfacePrefixes: ['cali'],
  defaultEndpointToHostAction: 'Drop',
  failsafeInbound: DEFAULT_FAILSAFE_INBOUND,
  failsafeOutbound: DEFAULT_FAILSAFE_OUTBOUND,
  ipPools: [],
  denyAction: 'Drop',
  logPrefix: 'calico-packet',
  vxlanPort: 4789,
  flowLogs: false,
};

/** The FelixConfiguration fields this module reads (names as in projectcalico.org/v3). */
export interface FelixDataplaneFields {
  readonly defaultEndpointToHostAction?: 'Drop' | 'Accept' | 'Return';
  readonly interfacePrefix?: string;
  readonly failsafeInboundHostPorts?: readonly { protocol: string; port: number; net?: string }[];
  readonly failsafeOutboundHostPorts?: readonly { protocol: string; port: number; net?: string }[];
  readonly nftablesFilterDenyAction?: 'Drop' | 'Reject';
  readonly logPrefix?: string;
  readonly vxlanPort?: number;
  readonly flowLogsGoldmaneServer?: string;
  readonly wireguardEnabled?: boolean;
  readonly wireguardListeningPort?: number;
}

/** Felix's wireguardListeningPort default. */
export const DEFAULT_WIREGUARD_LISTENING_PORT = 51820;

const PROTO: Readonly<Record<string, number>> = { tcp: 6, udp: 17, sctp: 132 };

function failsafe(list: readonly { protocol: string; port: number; net?: string }[] | undefined, field: string): FailsafePort[] | undefined {
  if (list === undefined) return undefined;
  return list.map((p, i) => {
    const protocol = PROTO[p.protocol.toLowerCase()];
    if (protocol === undefined) {
      throw new TricolorError('ERR_VALIDATION', `FelixConfiguration: spec.${field}[${i}].protocol: ${JSON.stringify(p.protocol)} is not TCP, UDP or SCTP`, {
        field: `spec.${field}[${i}].protocol`,
        value: p.protocol,
      });
    }
    return p.net === undefined ? { protocol, port: p.port } : { protocol, port: p.port, net: p.net };
  });
}

/** Resolve FelixConfiguration fields (already merged global → node) and pools into a config. */
export function resolveDataplaneConfig(felix: FelixDataplaneFields = {}, ipPools: readonly IPPoolInfo[] = []): DataplaneConfig {
  const d = DEFAULT_DATAPLANE_CONFIG;
  return {
    interfacePrefixes: felix.interfacePrefix === undefined ? d.interfacePrefixes : felix.interfacePrefix.split(','),
    defaultEndpointToHostAction: felix.defaultEndpointToHostAction ?? d.defaultEndpointToHostAction,
    failsafeInbound: failsafe(felix.failsafeInboundHostPorts, 'failsafeInboundHostPorts') ?? d.failsafeInbound,
    failsafeOutbound: failsafe(felix.failsafeOutboundHostPorts, 'failsafeOutboundHostPorts') ?? d.failsafeOutbound,
    ipPools,
    denyAction: felix.nftablesFilterDenyAction ?? d.denyAction,
    logPrefix: felix.logPrefix ?? d.logPrefix,
    vxlanPort: felix.vxlanPort ?? d.vxlanPort,
    flowLogs: (felix.flowLogsGoldmaneServer ?? '').trim() !== '',
    ...(felix.wireguardEnabled === true ? { wireguardPort: felix.wireguardListeningPort ?? DEFAULT_WIREGUARD_LISTENING_PORT } : {}),
  };
}

/** An IP set member's identity (net members are CIDR text; ip-port members `ip|proto|port`). */
export type IPSetMember = string | IPPortMember;
export const memberKey = (m: IPSetMember): string => (typeof m === 'string' ? m : `${m.ip}|${m.protocol}|${m.port}`);

/** Net change of one IP set's membership since the journal was last taken. */
export interface IPSetDelta {
  readonly added: Map<string, IPSetMember>;
  readonly removed: Set<string>;
}

/**
 * What changed since the last `takeChanges()`: the incremental renderer re-renders only these.
 * An IP set maps to its member delta, or to undefined when only the full membership is usable
 * (the message carried no `added`/`removed`, the set was removed, or its type changed).
 */
export interface StateChanges {
  config: boolean;
  readonly ipsets: Map<string, IPSetDelta | undefined>;
  readonly policies: Set<string>;
  readonly profiles: Set<string>;
  readonly workloads: Set<string>;
  readonly hosts: Set<string>;
}

const emptyChanges = (): StateChanges => ({
  config: false,
  ipsets: new Map(),
  policies: new Set(),
  profiles: new Set(),
  workloads: new Set(),
  hosts: new Set(),
});

/** Latest message per object; the renderer reads it, only `apply` writes it. */
export class DataplaneState {
  readonly ipsets = new Map<string, IPSetUpdate>();
  readonly policies = new Map<string, ActivePolicyUpdate>();
  readonly profiles = new Map<string, ActiveProfileUpdate>();
  readonly workloads = new Map<string, WorkloadEndpointUpdate>();
  readonly hosts = new Map<string, HostEndpointUpdate>();
  /** Encapsulation, host facts, VXLAN tunnels and routes (no part of the rendered policy). */
  readonly routing = new RoutingState();
  config: DataplaneConfig;
  inSync = false;
  /** Bumped on every change, so a loop can tell whether a render is stale. */
  generation = 0;

  private journal: StateChanges = emptyChanges();

  constructor(config: DataplaneConfig = DEFAULT_DATAPLANE_CONFIG) {
    this.config = config;
  }

  setConfig(config: DataplaneConfig): void {
    this.config = config;
    this.generation++;
    this.journal.config = true;
  }

  /** Changes since the previous call (for the one incremental renderer fed by this state). */
  takeChanges(): StateChanges {
    const j = this.journal;
    this.journal = emptyChanges();
    return j;
  }

  /** Fold one IPSetUpdate into the journal: O(added + removed) when the message carries them. */
  private journalIpSet(msg: IPSetUpdate): void {
    const j = this.journal.ipsets;
    const prev = this.ipsets.get(msg.id);
    const usable = msg.added !== undefined && msg.removed !== undefined && prev !== undefined && prev.ipsetType === msg.ipsetType;
    if (!usable || (j.has(msg.id) && j.get(msg.id) === undefined)) {
      j.set(msg.id, undefined);
      return;
    }
    let d = j.get(msg.id);
    if (d === undefined) {
      d = { added: new Map(), removed: new Set() };
      j.set(msg.id, d);
    }
    for (const m of msg.removed as readonly IPSetMember[]) {
      const k = memberKey(m);
      d.added.delete(k);
      d.removed.add(k);
    }
    for (const m of msg.added as readonly IPSetMember[]) {
      const k = memberKey(m);
      d.removed.delete(k);
      d.added.set(k, m);
    }
  }

  /** Fold one message in; false when it was a routing message (policy state unchanged). */
  apply(msg: CalcMessage): boolean {
    if (isRoutingMessage(msg)) {
      this.routing.apply(msg);
      return false;
    }
    this.applyPolicy(msg);
    return true;
  }

  private applyPolicy(msg: Exclude<CalcMessage, RoutingMessage>): void {
    this.generation++;
    switch (msg.type) {
      case 'InSync':
        this.inSync = true;
        return;
      case 'IPSetUpdate':
        this.journalIpSet(msg);
        this.ipsets.set(msg.id, msg);
        return;
      case 'IPSetRemove':
        this.journal.ipsets.set(msg.id, undefined);
        this.ipsets.delete(msg.id);
        return;
      case 'ActivePolicyUpdate':
        this.journal.policies.add(msg.key);
        this.policies.set(msg.key, msg);
        return;
      case 'ActivePolicyRemove':
        this.journal.policies.add(msg.key);
        this.policies.delete(msg.key);
        return;
      case 'ActiveProfileUpdate':
        this.journal.profiles.add(msg.name);
        this.profiles.set(msg.name, msg);
        return;
      case 'ActiveProfileRemove':
        this.journal.profiles.add(msg.name);
        this.profiles.delete(msg.name);
        return;
      case 'WorkloadEndpointUpdate':
        this.journal.workloads.add(msg.key);
        this.workloads.set(msg.key, msg);
        return;
      case 'WorkloadEndpointRemove':
        this.journal.workloads.add(msg.key);
        this.workloads.delete(msg.key);
        return;
      case 'HostEndpointUpdate':
        this.journal.hosts.add(msg.key);
        this.hosts.set(msg.key, msg);
        return;
      case 'HostEndpointRemove':
        this.journal.hosts.add(msg.key);
        this.hosts.delete(msg.key);
        return;
      default: {
        const never: never = msg;
        throw new TricolorError('ERR_INTERNAL', `dataplane: unknown calc message ${JSON.stringify(never)}`);
      }
    }
  }

  /** Fold messages in; true when any changed the policy state. */
  applyAll(msgs: Iterable<CalcMessage>): boolean {
    let changed = false;
    for (const m of msgs) if (this.apply(m)) changed = true;
    return changed;
  }
}
