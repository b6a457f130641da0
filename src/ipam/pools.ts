// Pool choice and block-candidate order (node contract §2.3 step 3, §2.4), pure. Pools arrive
// already read from their v3 JSON by a resource source; selectors are parsed once per text.

import { TricolorError, quote, seededRandom } from '../base/index.ts';
import { type CIDR, type IPAddr, type IPFamily, cidrContainsCIDR, cidrContainsIP, cidrFromIP, cidrsOverlap, formatCIDR, tryParseCIDR } from '../net/index.ts';
import { parseSelector } from '../selector/index.ts';

export const INTENDED_USES = ['Workload', 'Tunnel', 'LoadBalancer'] as const;
export type IntendedUse = (typeof INTENDED_USES)[number];

export interface IPAMPool {
  readonly name: string;
  readonly cidr: CIDR;
  readonly blockSize: number;
  readonly nodeSelector: string;
  readonly namespaceSelector: string;
  readonly disabled: boolean;
  readonly allowedUses: readonly IntendedUse[];
  readonly assignmentMode: 'Automatic' | 'Manual';
}

export type Labels = Readonly<Record<string, string>>;

const selectorCache = new Map<string, { evaluate(labels: { get(k: string): string | undefined }): boolean }>();

function selectorMatches(text: string, labels: Labels): boolean {
  const t = text.trim();
  if (t === '' || t === 'all()') return true;
  let sel = selectorCache.get(t);
  if (sel === undefined) {
    sel = parseSelector(t);
    selectorCache.set(t, sel);
  }
  return sel.evaluate({ get: (k) => labels[k] });
}

export function poolSelectsNode(p: IPAMPool, nodeLabels: Labels): boolean {
  return selectorMatches(p.nodeSelector, nodeLabels);
}

export interface PoolChoice {
  readonly family: IPFamily;
  /** Names or CIDRs the caller (annotation / CNI config) asked for; empty or absent = automatic. */
  readonly requested?: readonly string[] | undefined;
  readonly nodeName: string;
  readonly nodeLabels: Labels;
  /** Namespace labels for namespaceSelector; absent = no namespace (selectors with one don't match). */
  readonly namespaceLabels?: Labels | undefined;
  readonly use: IntendedUse;
}

function familyName(f: IPFamily): string {
  return f === 4 ? 'IPv4' : 'IPv6';
}

/** Resolve one requested pool reference (name or CIDR) against the known pools. */
export function findPool(pools: readonly IPAMPool[], ref: string): IPAMPool | undefined {
  const byName = pools.find((p) => p.name === ref);
  if (byName !== undefined) return byName;
  const c = tryParseCIDR(ref);
  return c === undefined ? undefined : pools.find((p) => formatCIDR(p.cidr) === formatCIDR(c));
}

/** The pools an allocation may use, in a stable order (§2.3 step 3). Throws with the reason when none. */
export function choosePools(pools: readonly IPAMPool[], c: PoolChoice): IPAMPool[] {
  let chosen: IPAMPool[];
  if (c.requested !== undefined && c.requested.length > 0) {
    chosen = [];
    for (const ref of c.requested) {
      const p = findPool(pools, ref);
      if (p === undefined || p.disabled) {
        throw new TricolorError('ERR_IPAM_INVALID_REQUEST', `the given pool (${ref}) does not exist, or is not enabled`, { value: ref });
      }
      if (p.cidr.family !== c.family) {
        throw new TricolorError('ERR_IPAM_INVALID_REQUEST', `the given pool (${ref}) is not an ${familyName(c.family)} pool`, { value: ref });
      }
      chosen.push(p);
    }
  } else {
    chosen = pools.filter(
      (p) =>
        p.cidr.family === c.family &&
        !p.disabled &&
        p.assignmentMode === 'Automatic' &&
        poolSelectsNode(p, c.nodeLabels) &&
        (p.namespaceSelector.trim() === '' || (c.namespaceLabels !== undefined && selectorMatches(p.namespaceSelector, c.namespaceLabels))),
    );
  }
  const usable = chosen.filter((p) => p.allowedUses.includes(c.use));
  if (usable.length === 0) {
    const tried = chosen.map((p) => p.name);
    throw new TricolorError(
      'ERR_IPAM_INVALID_REQUEST',
      tried.length === 0
        ? `no ${familyName(c.family)} pools are configured for node ${quote(c.nodeName)} (use ${c.use})`
        : `pools [${tried.join(', ')}] do not allow use ${quote(c.use)}`,
      { detail: { tried } },
    );
  }
  return usable;
}

/** The enabled pool containing an address, for AssignIP (§2.7). */
export function poolForIP(pools: readonly IPAMPool[], ip: IPAddr): IPAMPool | undefined {
  return pools.find((p) => !p.disabled && cidrContainsIP(p.cidr, ip));
}

/** 32-bit FNV-1 (multiply, then xor) of a string's UTF-8 bytes. */
export function fnv1(text: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(text)) {
    h = Math.imul(h, 0x01000193) >>> 0;
    h = (h ^ b) >>> 0;
  }
  return h;
}


/**
 * Every block CIDR of a pool exactly once, starting at a host-seeded pseudo-random index and
 * wrapping around, so one host tries blocks in a stable order and different hosts diverge.
 * /32 and /128 blocks use a time seed instead (§2.4).
 */
export function* blockCandidates(pool: IPAMPool, host: string, timeSeed: number): Generator<CIDR> {
  const bits = pool.cidr.family === 4 ? 32 : 128;
  const count = 1n << BigInt(pool.blockSize - pool.cidr.prefixLength);
  const step = 1n << BigInt(bits - pool.blockSize);
  const rand = seededRandom(pool.blockSize === bits ? timeSeed : fnv1(host));
  // 53 random bits are plenty to pick a start even among 2^58 IPv6 blocks
  const start = BigInt(Math.floor(rand() * 2 ** 26)) * (1n << 27n) + BigInt(Math.floor(rand() * 2 ** 27));
  const first = start % count;
  for (let i = 0n; i < count; i++) {
    const idx = (first + i) % count;
    yield { family: pool.cidr.family, network: pool.cidr.network + idx * step, prefixLength: pool.blockSize };
  }
}

/** The block an address falls in, for a pool's block size. */
export function blockCIDRFor(pool: IPAMPool, ip: IPAddr): CIDR {
  return cidrFromIP(ip, pool.blockSize);
}

/** True when every address of `block` lies in one of the reserved CIDRs. */
export function whollyReserved(block: CIDR, reserved: readonly CIDR[]): boolean {
  return reserved.some((r) => cidrContainsCIDR(r, block));
}

/** Reserved CIDRs that touch the block at all (per-ordinal checks only need these). */
export function reservationsTouching(block: CIDR, reserved: readonly CIDR[]): CIDR[] {
  return reserved.filter((r) => cidrsOverlap(r, block));
}
