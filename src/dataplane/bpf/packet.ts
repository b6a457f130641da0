// Crafted Ethernet/IPv4 packets for the verdict tests and benches (BPF_PROG_TEST_RUN input), and
// a parser for what a program wrote back. Checksums are real, so a NAT rewrite's fix-up can be
// checked by recomputing them.

import { ipv4Bytes } from './encoding.ts';

export interface PacketSpec {
  readonly src: string;
  readonly dst: string;
  readonly proto: 'tcp' | 'udp' | 'icmp' | number;
  readonly sport?: number;
  readonly dport?: number;
  /** TCP flags byte (default SYN). */
  readonly tcpFlags?: number;
  readonly icmpType?: number;
  readonly icmpCode?: number;
  /** ICMP echo id. */
  readonly icmpId?: number;
  /** Raw bytes after the ICMP header (an embedded packet for errors). */
  readonly icmpBody?: readonly number[];
  readonly payload?: number;
  readonly ttl?: number;
}

export const TCP_FLAGS = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

const PROTO_NUM = { tcp: 6, udp: 17, icmp: 1 } as const;

function csum(bytes: readonly number[], start = 0): number {
  let s = start;
  for (let i = 0; i < bytes.length; i += 2) s += ((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

const be16 = (v: number): number[] => [(v >>> 8) & 0xff, v & 0xff];

/** IPv4 header + L4 (no Ethernet). */
export function ipv4Packet(p: PacketSpec): number[] {
  const proto = typeof p.proto === 'number' ? p.proto : PROTO_NUM[p.proto];
  const payload = Array<number>(p.payload ?? 0).fill(0x61);
  let l4: number[];
  if (proto === 6) {
    l4 = [...be16(p.sport ?? 40000), ...be16(p.dport ?? 80), 0, 0, 0, 1, 0, 0, 0, 0, 0x50, p.tcpFlags ?? TCP_FLAGS.SYN, 0xff, 0xff, 0, 0, 0, 0, ...payload];
  } else if (proto === 17) {
    l4 = [...be16(p.sport ?? 40000), ...be16(p.dport ?? 80), ...be16(8 + payload.length), 0, 0, ...payload];
  } else if (proto === 1) {
    const id = p.icmpId ?? 7;
    l4 = [p.icmpType ?? 8, p.icmpCode ?? 0, 0, 0, ...be16(id), 0, 1, ...(p.icmpBody ?? payload)];
    const c = csum(l4);
    l4[2] = c >>> 8;
    l4[3] = c & 0xff;
  } else {
    l4 = [...payload, 0, 0, 0, 0];
  }
  const total = 20 + l4.length;
  const ip = [0x45, 0, ...be16(total), 0, 1, 0, 0, p.ttl ?? 64, proto, 0, 0, ...ipv4Bytes(p.src), ...ipv4Bytes(p.dst)];
  const ic = csum(ip);
  ip[10] = ic >>> 8;
  ip[11] = ic & 0xff;
  if (proto === 6 || proto === 17) {
    const pseudo = [...ipv4Bytes(p.src), ...ipv4Bytes(p.dst), 0, proto, ...be16(l4.length)];
    const c = csum([...pseudo, ...l4]);
    const off = proto === 6 ? 16 : 6;
    l4[off] = c >>> 8;
    l4[off + 1] = c & 0xff;
  }
  return [...ip, ...l4];
}

/** Ethernet + IPv4 + L4. */
export function ethPacket(p: PacketSpec): Buffer {
  return Buffer.from([0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00, ...ipv4Packet(p)]);
}

export interface ParsedPacket {
  readonly src: string;
  readonly dst: string;
  readonly proto: number;
  readonly sport: number;
  readonly dport: number;
  /** IP header and L4 checksums verify. */
  readonly checksumsOk: boolean;
}

export function parseEthPacket(b: Buffer): ParsedPacket {
  const ip = [...b.subarray(14)];
  const ihl = ((ip[0] ?? 0) & 0xf) * 4;
  const proto = ip[9] ?? 0;
  const total = ((ip[2] ?? 0) << 8) | (ip[3] ?? 0);
  const l4 = ip.slice(ihl, total);
  const ipOk = csum(ip.slice(0, ihl)) === 0;
  let l4Ok = true;
  if (proto === 6 || proto === 17) {
    const pseudo = [...ip.slice(12, 20), 0, proto, ...be16(l4.length)];
    l4Ok = proto === 17 && l4[6] === 0 && l4[7] === 0 ? true : csum([...pseudo, ...l4]) === 0;
  }
  const addr = (o: number): string => ip.slice(o, o + 4).join('.');
  return {
    src: addr(12),
    dst: addr(16),
    proto,
    sport: ((l4[0] ?? 0) << 8) | (l4[1] ?? 0),
    dport: ((l4[2] ?? 0) << 8) | (l4[3] ?? 0),
    checksumsOk: ipOk && l4Ok,
  };
}
