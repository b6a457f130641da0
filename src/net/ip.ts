// IPv4 and IPv6 addresses as immutable bigint values: strict parsing, canonical printing
// (RFC 5952 for IPv6), ordering and arithmetic. Everything that handles addresses (validation,
// IPAM, the policy engine, the dataplane renderers) goes through these so that "10.0.0.1" and
// "::ffff:10.0.0.1" are never confused and formatting is identical everywhere.

import { TricolorError, quote } from '../base/index.ts';

export type IPFamily = 4 | 6;

export interface IPAddr {
  readonly family: IPFamily;
  readonly value: bigint;
}

export function familyBits(f: IPFamily): 32 | 128 {
  return f === 4 ? 32 : 128;
}

const MAX_V4 = (1n << 32n) - 1n;
const MAX_V6 = (1n << 128n) - 1n;

/** Largest value an address of this family can hold. */
export function familyMax(f: IPFamily): bigint {
  return f === 4 ? MAX_V4 : MAX_V6;
}

/** Build an address from a family and a number; undefined when the number does not fit. */
export function tryIPFromBigInt(family: IPFamily, value: bigint): IPAddr | undefined {
  if (value < 0n || value > familyMax(family)) return undefined;
  return Object.freeze({ family, value });
}

export function ipFromBigInt(family: IPFamily, value: bigint): IPAddr {
  const ip = tryIPFromBigInt(family, value);
  if (ip === undefined) {
    throw new TricolorError('ERR_VALIDATION', `${value} is out of range for an IPv${family} address`, { value });
  }
  return ip;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** Strict dotted quad: four decimal octets, 0-255, no leading zeros (which some libcs read as octal). */
function parseV4Number(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (p.length === 0 || p.length > 3) return undefined;
    if (p.length > 1 && p.charCodeAt(0) === 0x30) return undefined;
    let v = 0;
    for (let i = 0; i < p.length; i++) {
      const c = p.charCodeAt(i);
      if (!isDigit(c)) return undefined;
      v = v * 10 + (c - 0x30);
    }
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

/** RFC 4291 section 2.2 text forms: groups of 1-4 hex digits, one "::", optional trailing dotted quad. */
function parseV6Value(text: string): bigint | undefined {
  if (text.length < 2 || text.length > 45) return undefined;
  const dbl = text.indexOf('::');
  if (dbl !== -1 && text.indexOf('::', dbl + 1) !== -1) return undefined;
  const parseGroups = (s: string, allowV4Tail: boolean): number[] | undefined => {
    if (s === '') return [];
    const parts = s.split(':');
    const out: number[] = [];
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] ?? '';
      if (allowV4Tail && i === parts.length - 1 && p.includes('.')) {
        const v4 = parseV4Number(p);
        if (v4 === undefined) return undefined;
        out.push(Math.floor(v4 / 65536), v4 % 65536);
        continue;
      }
      if (p.length === 0 || p.length > 4) return undefined;
      let v = 0;
      for (let j = 0; j < p.length; j++) {
        const h = hexValue(p.charCodeAt(j));
        if (h < 0) return undefined;
        v = v * 16 + h;
      }
      out.push(v);
    }
    return out;
  };
  let groups: number[];
  if (dbl === -1) {
    const g = parseGroups(text, true);
    if (g === undefined || g.length !== 8) return undefined;
    groups = g;
  } else {
    const head = parseGroups(text.slice(0, dbl), false);
    const tail = parseGroups(text.slice(dbl + 2), true);
    if (head === undefined || tail === undefined) return undefined;
    // "::" stands for at least one zero group (RFC 4291 2.2 item 2).
    if (head.length + tail.length > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  }
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(g);
  return v;
}

export function tryParseIP(text: string): IPAddr | undefined {
  if (typeof text !== 'string') return undefined;
  if (text.includes(':')) {
    const v = parseV6Value(text);
    return v === undefined ? undefined : Object.freeze({ family: 6 as const, value: v });
  }
  const n = parseV4Number(text);
  return n === undefined ? undefined : Object.freeze({ family: 4 as const, value: BigInt(n) });
}

export function parseIP(text: string): IPAddr {
  const ip = tryParseIP(text);
  if (ip === undefined) {
    throw new TricolorError('ERR_VALIDATION', `${quote(text)} is not a valid IP address`, { value: text });
  }
  return ip;
}

function formatV4(v: bigint): string {
  const n = Number(v);
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function formatV6(v: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((v >> BigInt(i * 16)) & 0xffffn));
  // RFC 5952 section 5: IPv4-mapped addresses keep the dotted-quad tail.
  if (v >> 32n === 0xffffn) return `::ffff:${formatV4(v & MAX_V4)}`;
  // RFC 5952 section 4.2: compress the longest run of two or more zero groups, the first on a tie.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number[]): string => g.map((x) => x.toString(16)).join(':');
  if (bestLen < 2) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

export function formatIP(ip: IPAddr): string {
  return ip.family === 4 ? formatV4(ip.value) : formatV6(ip.value);
}

/** Orders IPv4 before IPv6, then numerically. */
export function ipCompare(a: IPAddr, b: IPAddr): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

export function ipEquals(a: IPAddr, b: IPAddr): boolean {
  return a.family === b.family && a.value === b.value;
}

/** `ip + n` (n may be negative); throws ERR_VALIDATION when the result leaves the address space. */
export function ipAdd(ip: IPAddr, n: bigint): IPAddr {
  const v = ip.value + n;
  if (v < 0n || v > familyMax(ip.family)) {
    throw new TricolorError(
      'ERR_VALIDATION',
      `${quote(formatIP(ip))} + ${n} is outside the IPv${ip.family} address space`,
      { value: formatIP(ip) },
    );
  }
  return Object.freeze({ family: ip.family, value: v });
}

/** Whether an IPv6 address is an IPv4-mapped address (::ffff:a.b.c.d). */
export function isIPv4Mapped(ip: IPAddr): boolean {
  return ip.family === 6 && ip.value >> 32n === 0xffffn;
}
