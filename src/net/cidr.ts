// CIDR blocks as (family, masked network, prefix length) with containment, overlap and size
// math. Parsing masks host bits off, as Calico stores pools ("10.0.0.1/24" → 10.0.0.0/24);
// callers that must refuse host bits (the `net` validator, §1.5 of the API contract) ask
// cidrHasHostBits first.

import { TricolorError, quote } from '../base/index.ts';
import { type IPAddr, type IPFamily, familyBits, formatIP, tryParseIP } from './ip.ts';

export interface CIDR {
  readonly family: IPFamily;
  /** The network address with all host bits zero. */
  readonly network: bigint;
  readonly prefixLength: number;
}

export interface ParseCIDROptions {
  /** Accept a bare address as /32 (IPv4) or /128 (IPv6). */
  readonly allowBareIP?: boolean;
}

/** The netmask of a prefix length as a number (e.g. /24 in IPv4 → 0xffffff00). */
export function prefixMask(family: IPFamily, prefixLength: number): bigint {
  const bits = familyBits(family);
  return ((1n << BigInt(prefixLength)) - 1n) << BigInt(bits - prefixLength);
}

function hostMask(family: IPFamily, prefixLength: number): bigint {
  return (1n << BigInt(familyBits(family) - prefixLength)) - 1n;
}

interface RawCIDR {
  readonly ip: IPAddr;
  readonly prefixLength: number;
}

function splitCIDR(text: string, allowBareIP: boolean): RawCIDR | undefined {
  if (typeof text !== 'string') return undefined;
  const slash = text.indexOf('/');
  if (slash === -1) {
    if (!allowBareIP) return undefined;
    const ip = tryParseIP(text);
    return ip === undefined ? undefined : { ip, prefixLength: familyBits(ip.family) };
  }
  const ip = tryParseIP(text.slice(0, slash));
  if (ip === undefined) return undefined;
  const lenText = text.slice(slash + 1);
  // Decimal, no sign, no leading zeros (as Go's netip.ParsePrefix).
  if (!/^(0|[1-9][0-9]{0,2})$/.test(lenText)) return undefined;
  const prefixLength = Number(lenText);
  if (prefixLength > familyBits(ip.family)) return undefined;
  return { ip, prefixLength };
}

/** Build a CIDR from an address and a prefix length, masking host bits off. */
export function cidrFromIP(ip: IPAddr, prefixLength: number): CIDR {
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > familyBits(ip.family)) {
    throw new TricolorError(
      'ERR_VALIDATION',
      `prefix length ${prefixLength} is not valid for IPv${ip.family}`,
      { value: prefixLength },
    );
  }
  return Object.freeze({
    family: ip.family,
    network: ip.value & prefixMask(ip.family, prefixLength),
    prefixLength,
  });
}

export function tryParseCIDR(text: string, opts: ParseCIDROptions = {}): CIDR | undefined {
  const raw = splitCIDR(text, opts.allowBareIP === true);
  return raw === undefined ? undefined : cidrFromIP(raw.ip, raw.prefixLength);
}

export function parseCIDR(text: string, opts: ParseCIDROptions = {}): CIDR {
  const c = tryParseCIDR(text, opts);
  if (c === undefined) {
    throw new TricolorError('ERR_VALIDATION', `${quote(text)} is not a valid CIDR`, { value: text });
  }
  return c;
}

/** True when the text is a CIDR (or bare IP) whose address has bits set past the prefix. */
export function cidrHasHostBits(text: string): boolean {
  const raw = splitCIDR(text, true);
  if (raw === undefined) return false;
  return (raw.ip.value & hostMask(raw.ip.family, raw.prefixLength)) !== 0n;
}

export function formatCIDR(c: CIDR): string {
  return `${formatIP({ family: c.family, value: c.network })}/${c.prefixLength}`;
}

export function cidrEquals(a: CIDR, b: CIDR): boolean {
  return a.family === b.family && a.prefixLength === b.prefixLength && a.network === b.network;
}

export function cidrContainsIP(c: CIDR, ip: IPAddr): boolean {
  return c.family === ip.family && (ip.value & prefixMask(c.family, c.prefixLength)) === c.network;
}

export function cidrContainsCIDR(outer: CIDR, inner: CIDR): boolean {
  return (
    outer.family === inner.family &&
    outer.prefixLength <= inner.prefixLength &&
    (inner.network & prefixMask(outer.family, outer.prefixLength)) === outer.network
  );
}

/** Two blocks overlap exactly when one contains the other. */
export function cidrsOverlap(a: CIDR, b: CIDR): boolean {
  return cidrContainsCIDR(a, b) || cidrContainsCIDR(b, a);
}

/** Number of addresses in the block. */
export function cidrSize(c: CIDR): bigint {
  return 1n << BigInt(familyBits(c.family) - c.prefixLength);
}

export function cidrFirst(c: CIDR): IPAddr {
  return Object.freeze({ family: c.family, value: c.network });
}

export function cidrLast(c: CIDR): IPAddr {
  return Object.freeze({ family: c.family, value: c.network | hostMask(c.family, c.prefixLength) });
}

/** Orders by family, then network address, then prefix length (shorter first). */
export function cidrCompare(a: CIDR, b: CIDR): number {
  if (a.family !== b.family) return a.family - b.family;
  if (a.network !== b.network) return a.network < b.network ? -1 : 1;
  return a.prefixLength - b.prefixLength;
}

/**
 * The sub-blocks of `c` with the given (longer) prefix length, in address order, e.g. the
 * /26 IPAM blocks of a /24 pool. Lazy: a /8 split into /32s is not materialised.
 */
export function* cidrSubnets(c: CIDR, prefixLength: number): Generator<CIDR> {
  const bits = familyBits(c.family);
  if (!Number.isInteger(prefixLength) || prefixLength < c.prefixLength || prefixLength > bits) {
    throw new TricolorError(
      'ERR_VALIDATION',
      `cannot split ${quote(formatCIDR(c))} into /${prefixLength} blocks`,
      { value: prefixLength },
    );
  }
  const step = 1n << BigInt(bits - prefixLength);
  const count = 1n << BigInt(prefixLength - c.prefixLength);
  for (let i = 0n; i < count; i++) {
    yield Object.freeze({ family: c.family, network: c.network + i * step, prefixLength });
  }
}
