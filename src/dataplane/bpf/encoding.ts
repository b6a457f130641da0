// Byte layouts of the eBPF dataplane's maps, mirrored by hand from src/dataplane/bpf/c/tricolor.h
// (the C header is the source of truth; the verdict tests in io/ catch a mismatch because every
// case writes its maps through these encoders and runs the compiled program). Keys and values
// are rendered as the hex byte lists `bpftool map update … key hex … value hex …` takes.
// Multi-byte fields are little-endian host order (x86-64) except addresses and the service
// ports, which the programs compare in network order as they appear in the packet.

import { TricolorError } from '../../base/index.ts';

export const LAYOUT = 1;

/** Map names as pinned (the kernel keeps 15 characters of an object name). */
export const MAPS = {
  ct: `tri${LAYOUT}_ct`,
  ifs: `tri${LAYOUT}_ifs`,
  rules: `tri${LAYOUT}_rules`,
  pol: `tri${LAYOUT}_pol`,
  sets: `tri${LAYOUT}_sets`,
  ipport: `tri${LAYOUT}_ipport`,
  natFe: `tri${LAYOUT}_nat_fe`,
  natBe: `tri${LAYOUT}_nat_be`,
  natAff: `tri${LAYOUT}_nat_aff`,
  cfg: `tri${LAYOUT}_cfg`,
  ctr: `tri${LAYOUT}_ctr`,
} as const;
export type MapName = keyof typeof MAPS;

/** Entry counts compiled into the object (tricolor.bpf.c); the renderer refuses to exceed them. */
export const MAP_SIZES: Readonly<Record<MapName, number>> = {
  ct: 65536,
  ifs: 4096,
  rules: 262144,
  pol: 65536,
  sets: 1048576,
  ipport: 262144,
  natFe: 65536,
  natBe: 262144,
  natAff: 65536,
  cfg: 1,
  ctr: 32,
};

export const PROGRAMS = { fromWep: 'tri_from_wep', toWep: 'tri_to_wep' } as const;

export const POL_NONE = 0xffffffff;

export const IF_F_WORKLOAD = 1;
export const IF_F_HOST = 2;

export const OP = {
  ALLOW: 1,
  DENY: 2,
  LOG: 3,
  PROTO: 4,
  SRC_NET: 5,
  DST_NET: 6,
  SRC_SET: 7,
  DST_SET: 8,
  SRC_PORT: 9,
  DST_PORT: 10,
  SRC_NAMED: 11,
  DST_NAMED: 12,
  ICMP: 13,
  CALL: 14,
  RET: 15,
  PASS: 16,
  GOTO: 17,
} as const;
export type OpName = keyof typeof OP;
export const OP_NAMES: ReadonlyMap<number, OpName> = new Map(Object.entries(OP).map(([k, v]) => [v, k as OpName]));

/** One interpreter instruction (struct rule_op, 24 bytes). Targets are absolute rule indexes. */
export interface RuleOp {
  readonly code: number;
  readonly ok: number;
  readonly fail: number;
  readonly a: number;
  readonly b: number;
  readonly c: number;
}

export const CT_FLAGS = {
  OPENER_A: 1 << 0,
  LEG_SRC: 1 << 1,
  LEG_DST: 1 << 2,
  REPLY_SEEN: 1 << 3,
  FIN_FWD: 1 << 4,
  FIN_REV: 1 << 5,
  RST: 1 << 6,
  NAT: 1 << 7,
} as const;

/** Counter indexes of tri1_ctr (enum in tricolor.h), with the names dumps and metrics use. */
export const COUNTERS = [
  'packets',
  'allowed_by_policy',
  'denied_by_policy',
  'established',
  'unknown_interface',
  'malformed',
  'conntrack_full',
  'nat_frontend_hit',
  'nat_no_backend',
  'not_ipv4',
  'arp',
  'fragment',
  'policy_step_limit',
  'reverse_unapproved',
  'log_rule',
  'bad_rule',
  'icmp_related',
  'nat_reverse',
  'conntrack_expired',
] as const;
export type CounterName = (typeof COUNTERS)[number];

// ---- byte helpers ------------------------------------------------------------------------------

class Bytes {
  private readonly b: number[] = [];
  u8(v: number): this {
    this.b.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.u8(v).u8(v >>> 8);
  }
  u32(v: number): this {
    return this.u16(v & 0xffff).u16(v >>> 16);
  }
  u64(v: bigint): this {
    return this.u32(Number(v & 0xffffffffn)).u32(Number((v >> 32n) & 0xffffffffn));
  }
  /** Bytes in the given order (addresses, network-order ports). */
  raw(bytes: readonly number[]): this {
    for (const x of bytes) this.u8(x);
    return this;
  }
  hex(): string {
    return 'hex ' + this.b.map((x) => x.toString(16).padStart(2, '0')).join(' ');
  }
  get bytes(): number[] {
    return this.b;
  }
}

/** IPv4 text → its 4 bytes in network order. */
export function ipv4Bytes(ip: string): number[] {
  const parts = ip.split('.');
  const out = parts.map(Number);
  if (parts.length !== 4 || out.some((n, i) => !/^\d{1,3}$/.test(parts[i] ?? '') || n > 255)) {
    throw new TricolorError('ERR_VALIDATION', `bpf: ${JSON.stringify(ip)} is not an IPv4 address`, { value: ip });
  }
  return out;
}

/** Network-order bytes as the u32 the program loads from the packet (little-endian host). */
export function ipv4Word(ip: string): number {
  const b = ipv4Bytes(ip);
  return ((b[0] ?? 0) | ((b[1] ?? 0) << 8) | ((b[2] ?? 0) << 16) | ((b[3] ?? 0) << 24)) >>> 0;
}

export function wordToIPv4(w: number): string {
  return [w & 0xff, (w >>> 8) & 0xff, (w >>> 16) & 0xff, (w >>> 24) & 0xff].join('.');
}

/** A CIDR as (network word, mask word) in the program's byte order. */
export function cidrWords(cidr: string): { net: number; mask: number; len: number } {
  const [ip = '', l] = cidr.split('/');
  const len = l === undefined ? 32 : Number(l);
  if (!Number.isInteger(len) || len < 0 || len > 32) {
    throw new TricolorError('ERR_VALIDATION', `bpf: ${JSON.stringify(cidr)} is not an IPv4 CIDR`, { value: cidr });
  }
  const hostMask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  const maskBytes = [hostMask >>> 24, (hostMask >>> 16) & 0xff, (hostMask >>> 8) & 0xff, hostMask & 0xff];
  const mask = ((maskBytes[0] ?? 0) | ((maskBytes[1] ?? 0) << 8) | ((maskBytes[2] ?? 0) << 16) | ((maskBytes[3] ?? 0) << 24)) >>> 0;
  return { net: (ipv4Word(ip) & mask) >>> 0, mask, len };
}

const portBE = (p: number): number[] => [(p >>> 8) & 0xff, p & 0xff];

// ---- keys and values ---------------------------------------------------------------------------

export const u32Key = (n: number): string => new Bytes().u32(n).hex();

export function ruleOpValue(op: RuleOp): string {
  return new Bytes().u8(op.code).u8(0).u16(0).u32(op.ok).u32(op.fail).u32(op.a).u32(op.b).u32(op.c).hex();
}

export interface IfValue {
  readonly flags: number;
  readonly ingress: number;
  readonly egress: number;
  readonly ingressLen: number;
  readonly egressLen: number;
  readonly id: number;
}

export function ifValue(v: IfValue): string {
  return new Bytes().u32(v.flags).u32(v.ingress).u32(v.egress).u32(v.ingressLen).u32(v.egressLen).u32(v.id).hex();
}

export const polValue = (base: number, len: number): string => new Bytes().u32(base).u32(len).hex();

/** An IP set member: the LPM key covers the set id (32 bits) and the CIDR's prefix. */
export function setKey(set: number, cidr: string): string {
  const { net, len } = cidrWords(cidr);
  return new Bytes().u32(32 + len).u32(set).u32(net).hex();
}

export function ipportKey(set: number, ip: string, protocol: number, port: number): string {
  return new Bytes().u32(set).raw(ipv4Bytes(ip)).u16(port).u8(protocol).u8(0).hex();
}

export const ONE_U32 = new Bytes().u32(1).hex();

export function natFeKey(ip: string, port: number, protocol: number): string {
  return new Bytes().raw(ipv4Bytes(ip)).raw(portBE(port)).u8(protocol).u8(0).hex();
}

export function natFeValue(v: { svc: number; count: number; affinitySecs: number }): string {
  return new Bytes().u32(v.svc).u32(v.count).u32(v.affinitySecs).u32(0).hex();
}

export const natBeKey = (svc: number, ordinal: number): string => new Bytes().u32(svc).u32(ordinal).hex();

export function natBeValue(ip: string, port: number): string {
  return new Bytes().raw(ipv4Bytes(ip)).raw(portBE(port)).u16(0).hex();
}

/** ClientIP affinity (struct nat_aff_key): the frontend plus the client's address. */
export function natAffKey(ip: string, port: number, protocol: number, client: string): string {
  return new Bytes().raw(ipv4Bytes(ip)).raw(portBE(port)).u8(protocol).u8(0).raw(ipv4Bytes(client)).hex();
}

/** struct nat_aff_val: when the backend was chosen (CLOCK_MONOTONIC ns) and the backend. */
export function natAffValue(v: { tsNs: bigint; ip: string; port: number }): string {
  return new Bytes().u64(v.tsNs).raw(ipv4Bytes(v.ip)).raw(portBE(v.port)).u16(0).hex();
}

/** Conntrack idle timeouts in seconds (0 = the program's built-in Calico default). */
export interface ConntrackTimeouts {
  readonly tcpSynSent: number;
  readonly tcpEstablished: number;
  readonly tcpFinsSeen: number;
  readonly tcpResetSeen: number;
  readonly udp: number;
  readonly generic: number;
  readonly icmp: number;
}

export function cfgValue(t: ConntrackTimeouts): string {
  return new Bytes().u32(t.tcpSynSent).u32(t.tcpEstablished).u32(t.tcpFinsSeen).u32(t.tcpResetSeen).u32(t.udp).u32(t.generic).u32(t.icmp).u32(0).hex();
}

// ---- decoding (dumps) --------------------------------------------------------------------------

/** bpftool -j prints bytes as "0x0a" strings. */
export function bytesOf(raw: readonly string[]): number[] {
  return raw.map((s) => parseInt(s, 16));
}

const rd32 = (b: readonly number[], o: number): number => ((b[o] ?? 0) | ((b[o + 1] ?? 0) << 8) | ((b[o + 2] ?? 0) << 16) | ((b[o + 3] ?? 0) << 24)) >>> 0;
const rd16 = (b: readonly number[], o: number): number => (b[o] ?? 0) | ((b[o + 1] ?? 0) << 8);
const rd64 = (b: readonly number[], o: number): bigint => BigInt(rd32(b, o)) | (BigInt(rd32(b, o + 4)) << 32n);
const be16 = (b: readonly number[], o: number): number => ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);
const ipAt = (b: readonly number[], o: number): string => [b[o], b[o + 1], b[o + 2], b[o + 3]].map((x) => x ?? 0).join('.');

export interface CtEntry {
  readonly proto: number;
  readonly a: string;
  readonly pa: number;
  readonly b: string;
  readonly pb: number;
  readonly type: 'normal' | 'nat-fwd';
  readonly flags: number;
  readonly createdNs: bigint;
  readonly lastSeenNs: bigint;
  readonly natIP: string;
  readonly natPort: number;
  readonly packets: bigint;
  readonly bytes: bigint;
}

export function decodeCt(key: readonly number[], value: readonly number[]): CtEntry {
  return {
    a: ipAt(key, 0),
    b: ipAt(key, 4),
    pa: be16(key, 8),
    pb: be16(key, 10),
    proto: key[12] ?? 0,
    createdNs: rd64(value, 0),
    lastSeenNs: rd64(value, 8),
    flags: rd32(value, 16),
    type: value[20] === 1 ? 'nat-fwd' : 'normal',
    natIP: ipAt(value, 24),
    natPort: be16(value, 28),
    packets: rd64(value, 32),
    bytes: rd64(value, 40),
  };
}

export function decodeRuleOp(value: readonly number[]): RuleOp {
  return { code: value[0] ?? 0, ok: rd32(value, 4), fail: rd32(value, 8), a: rd32(value, 12), b: rd32(value, 16), c: rd32(value, 20) };
}

export function decodeIf(value: readonly number[]): IfValue {
  return { flags: rd32(value, 0), ingress: rd32(value, 4), egress: rd32(value, 8), ingressLen: rd32(value, 12), egressLen: rd32(value, 16), id: rd32(value, 20) };
}

export function decodeSetKey(key: readonly number[]): { set: number; cidr: string } {
  return { set: rd32(key, 4), cidr: `${ipAt(key, 8)}/${rd32(key, 0) - 32}` };
}

export function decodeIpportKey(key: readonly number[]): { set: number; ip: string; port: number; protocol: number } {
  return { set: rd32(key, 0), ip: ipAt(key, 4), port: rd16(key, 8), protocol: key[10] ?? 0 };
}

export function decodeNatFe(key: readonly number[], value: readonly number[]): { ip: string; port: number; protocol: number; svc: number; count: number; affinitySecs: number } {
  return { ip: ipAt(key, 0), port: be16(key, 4), protocol: key[6] ?? 0, svc: rd32(value, 0), count: rd32(value, 4), affinitySecs: rd32(value, 8) };
}

export interface NatAffEntry {
  readonly ip: string;
  readonly port: number;
  readonly protocol: number;
  readonly client: string;
  readonly tsNs: bigint;
  readonly backendIP: string;
  readonly backendPort: number;
}

export function decodeNatAff(key: readonly number[], value: readonly number[]): NatAffEntry {
  return { ip: ipAt(key, 0), port: be16(key, 4), protocol: key[6] ?? 0, client: ipAt(key, 8), tsNs: rd64(value, 0), backendIP: ipAt(value, 8), backendPort: be16(value, 12) };
}

export function decodeNatBe(key: readonly number[], value: readonly number[]): { svc: number; ordinal: number; ip: string; port: number } {
  return { svc: rd32(key, 0), ordinal: rd32(key, 4), ip: ipAt(value, 0), port: be16(value, 4) };
}

export const decodePol = (value: readonly number[]): { base: number; len: number } => ({ base: rd32(value, 0), len: rd32(value, 4) });
export const decodeU32 = (b: readonly number[]): number => rd32(b, 0);
export const decodeU64 = (b: readonly number[]): bigint => rd64(b, 0);

/** A conntrack key for the flow src:sport → dst:dport (normalised as the programs do). */
export function ctKey(src: string, sport: number, dst: string, dport: number, proto: number): { key: string; srcIsA: boolean } {
  const s = ipv4Word(src);
  const d = ipv4Word(dst);
  const sp = ((sport & 0xff) << 8) | (sport >>> 8); // the u16 as loaded from the packet (network order)
  const dp = ((dport & 0xff) << 8) | (dport >>> 8);
  const srcIsA = s < d || (s === d && sp <= dp);
  const [a, pa, b, pb] = srcIsA ? [src, sport, dst, dport] : [dst, dport, src, sport];
  return { key: new Bytes().raw(ipv4Bytes(a)).raw(ipv4Bytes(b)).raw(portBE(pa)).raw(portBE(pb)).u8(proto).u8(0).u8(0).u8(0).hex(), srcIsA };
}

export function ctValue(v: { createdNs: bigint; lastSeenNs: bigint; flags: number; type?: 'normal' | 'nat-fwd'; natIP?: string; natPort?: number }): string {
  return new Bytes()
    .u64(v.createdNs)
    .u64(v.lastSeenNs)
    .u32(v.flags)
    .u8(v.type === 'nat-fwd' ? 1 : 0)
    .u8(0)
    .u16(0)
    .raw(ipv4Bytes(v.natIP ?? '0.0.0.0'))
    .raw(portBE(v.natPort ?? 0))
    .u16(0)
    .u64(0n)
    .u64(0n)
    .hex();
}
