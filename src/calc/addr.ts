// Minimal address handling for the calc graph and the verdict oracle: parse IPs / CIDRs into
// (family, bigint) form, re-mask them, test containment. Kept local so the policy core has no
// dependency beyond the selector language; values are canonicalised the same way as src/net.

export interface CalcCIDR {
  readonly family: 4 | 6;
  readonly base: bigint;
  readonly prefix: number;
  /** Canonical network form, e.g. `10.0.0.0/8`, `fd00::/8`. */
  readonly text: string;
}

export interface CalcIP {
  readonly family: 4 | 6;
  readonly value: bigint;
  readonly text: string;
}

function parseV4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseV6(s: string): bigint | undefined {
  if (s.includes('.')) {
    // Embedded IPv4 tail (::ffff:1.2.3.4).
    const idx = s.lastIndexOf(':');
    const v4 = parseV4(s.slice(idx + 1));
    if (v4 === undefined) return undefined;
    const hi = (v4 >> 16n).toString(16);
    const lo = (v4 & 0xffffn).toString(16);
    s = `${s.slice(0, idx + 1)}${hi}:${lo}`;
  }
  const dbl = s.split('::');
  if (dbl.length > 2) return undefined;
  const head = dbl[0] === '' || dbl[0] === undefined ? [] : dbl[0].split(':');
  const tail = dbl.length === 2 ? (dbl[1] === '' || dbl[1] === undefined ? [] : dbl[1].split(':')) : [];
  const groups = dbl.length === 2 ? [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail] : head;
  if (groups.length !== 8 || (dbl.length === 2 && head.length + tail.length > 7)) return undefined;
  let v = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  return v;
}

function formatV4(v: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join('.');
}

function formatV6(v: bigint): string {
  const g: number[] = [];
  for (let i = 7; i >= 0; i--) g.push(Number((v >> BigInt(i * 16)) & 0xffffn));
  // RFC 5952: compress the longest run (≥2) of zero groups.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function tryParseCalcIP(text: string): CalcIP | undefined {
  const s = text.trim();
  if (s.includes(':')) {
    const v = parseV6(s);
    return v === undefined ? undefined : { family: 6, value: v, text: formatV6(v) };
  }
  const v = parseV4(s);
  return v === undefined ? undefined : { family: 4, value: v, text: formatV4(v) };
}

/** Parse a CIDR or bare IP (→ /32 or /128), re-masking host bits as Calico does for rule nets. */
export function tryParseCalcCIDR(text: string): CalcCIDR | undefined {
  const s = text.trim();
  const slash = s.indexOf('/');
  const ip = tryParseCalcIP(slash < 0 ? s : s.slice(0, slash));
  if (ip === undefined) return undefined;
  const width = ip.family === 4 ? 32 : 128;
  let prefix = width;
  if (slash >= 0) {
    const p = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return undefined;
    prefix = Number(p);
    if (prefix > width) return undefined;
  }
  const shift = BigInt(width - prefix);
  const base = (ip.value >> shift) << shift;
  const text2 = `${ip.family === 4 ? formatV4(base) : formatV6(base)}/${prefix}`;
  return { family: ip.family, base, prefix, text: text2 };
}

export function cidrHasIP(c: CalcCIDR, ip: CalcIP): boolean {
  if (c.family !== ip.family) return false;
  const width = c.family === 4 ? 32 : 128;
  const shift = BigInt(width - c.prefix);
  return ip.value >> shift === c.base >> shift;
}

/** The single address of a /32 or /128, else undefined. */
export function cidrSingleIP(c: CalcCIDR): CalcIP | undefined {
  const width = c.family === 4 ? 32 : 128;
  if (c.prefix !== width) return undefined;
  return { family: c.family, value: c.base, text: c.family === 4 ? formatV4(c.base) : formatV6(c.base) };
}
