// The backend-neutral rule IR the calc graph hands to the dataplane: immutable nodes tagged with
// `kind`, every selector / named port already replaced by an IP set id (Felix's "parsed rule",
// node contract §4.3). An exhaustive visitor lets a renderer (nftables next) fail to compile when
// a new node kind appears without a handler.

export type RuleAction = 'allow' | 'deny' | 'pass' | 'log';

/** Inclusive port range; a single port has min === max. */
export interface PortRange {
  readonly kind: 'PortRange';
  readonly min: number;
  readonly max: number;
}

/** ICMP type/code match (code only meaningful with a type). */
export interface ICMPMatch {
  readonly kind: 'ICMPMatch';
  readonly type: number;
  readonly code: number | undefined;
}

/** One side (source or destination) of a rule after scanning. */
export interface EntityMatch {
  readonly kind: 'EntityMatch';
  /** Address is in any of these CIDRs (empty = no constraint). */
  readonly nets: readonly string[];
  /** Address is in none of these CIDRs. */
  readonly notNets: readonly string[];
  /** Address is in every one of these IP sets (the side's combined selector). */
  readonly ipSetIds: readonly string[];
  /** Address is in none of these IP sets (notSelector). */
  readonly notIpSetIds: readonly string[];
  /** Port is in any range OR (address, protocol, port) is in any named-port set. Both empty = any port. */
  readonly ports: readonly PortRange[];
  readonly namedPortIpSetIds: readonly string[];
  /** Port is in no range and (address, protocol, port) in no named-port set. */
  readonly notPorts: readonly PortRange[];
  readonly notNamedPortIpSetIds: readonly string[];
}

export interface RuleIR {
  readonly kind: 'Rule';
  readonly action: RuleAction;
  /** 4 or 6 when the rule is restricted to one family (explicitly or by its CIDRs). */
  readonly ipVersion: 4 | 6 | undefined;
  /** IANA protocol number. */
  readonly protocol: number | undefined;
  readonly notProtocol: number | undefined;
  readonly icmp: ICMPMatch | undefined;
  readonly notICMP: ICMPMatch | undefined;
  readonly source: EntityMatch;
  readonly destination: EntityMatch;
  /** Rule position in the source list (stable even if rules are dropped by the scanner). */
  readonly index: number;
  /** True when the rule uses a feature this dataplane cannot enforce (services, http): it never matches. */
  readonly unsupported: boolean;
}

/** Rules of a policy or profile, per direction. */
export interface RuleSetIR {
  readonly kind: 'RuleSet';
  readonly inbound: readonly RuleIR[];
  readonly outbound: readonly RuleIR[];
}

export type IRNode = PortRange | ICMPMatch | EntityMatch | RuleIR | RuleSetIR;

/** One handler per node kind; a missing handler is a compile error. */
export type IRVisitor<R> = { readonly [K in IRNode['kind']]: (node: Extract<IRNode, { kind: K }>) => R };

export function visitIR<R>(node: IRNode, visitor: IRVisitor<R>): R {
  // The cast is sound: the key is the node's own kind, so the handler's parameter type matches.
  const handler = visitor[node.kind] as (n: IRNode) => R;
  return handler(node);
}

const EMPTY: readonly never[] = Object.freeze([]);

export function emptyEntityMatch(): EntityMatch {
  return {
    kind: 'EntityMatch',
    nets: EMPTY,
    notNets: EMPTY,
    ipSetIds: EMPTY,
    notIpSetIds: EMPTY,
    ports: EMPTY,
    namedPortIpSetIds: EMPTY,
    notPorts: EMPTY,
    notNamedPortIpSetIds: EMPTY,
  };
}

/** Deep-freeze an IR tree so consumers can share it safely. */
export function freezeIR<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) freezeIR(v);
  }
  return value;
}

export const PROTOCOL_NUMBERS: Readonly<Record<string, number>> = {
  tcp: 6,
  udp: 17,
  icmp: 1,
  icmpv6: 58,
  sctp: 132,
  udplite: 136,
};

const PROTOCOL_NAMES = new Map(Object.entries(PROTOCOL_NUMBERS).map(([k, v]) => [v, k]));

export function protocolName(n: number): string {
  return PROTOCOL_NAMES.get(n) ?? String(n);
}
