// The pure IPAM object model: Calico's AllocationBlock, BlockAffinity, IPAMHandle and IPAMConfig
// values (node contract §1.2.2) and the block arithmetic on them (§2.2): ordinals, the FIFO
// free list, shared attribute entries, per-ordinal sequence numbers and release checks.
// Nothing here touches the datastore; every function returns a new block and leaves its input
// alone, so a failed compare-and-swap can never persist a half-applied mutation (Calico PR #12697).

import { BugError, quote, TricolorError } from '../base/index.ts';
import { type CIDR, type IPAddr, cidrContainsIP, formatCIDR, formatIP, ipFromBigInt, parseCIDR } from '../net/index.ts';

export interface AllocationAttribute {
  readonly handle_id?: string;
  readonly secondary?: Readonly<Record<string, string>>;
  readonly alternateOwnerAttrs?: Readonly<Record<string, string>>;
  /** Set on cooldown entries: the address was released at this time and awaits reuse. */
  readonly releasedAt?: string;
}

export interface AllocationBlock {
  readonly cidr: CIDR;
  /** `host:<node>`, `virtual:<name>` or null. */
  readonly affinity: string | null;
  readonly affinityClaimTime?: string;
  /** Index = ordinal; value = index into `attributes`; null = free. */
  readonly allocations: readonly (number | null)[];
  /** Free ordinals, FIFO: allocate from the head, release to the tail. */
  readonly unallocated: readonly number[];
  readonly attributes: readonly AllocationAttribute[];
  readonly sequenceNumber: bigint;
  readonly sequenceNumberForAllocation: Readonly<Record<string, bigint>>;
  readonly deleted: boolean;
  /** Fields we do not model, carried through unchanged so we never drop another writer's data. */
  readonly extra: Readonly<Record<string, unknown>>;
}

export const AFFINITY_STATES = ['pending', 'confirmed', 'pendingDeletion', ''] as const;
export type AffinityState = (typeof AFFINITY_STATES)[number];

export interface BlockAffinity {
  readonly state: AffinityState;
  readonly deleted: boolean;
}

export interface IPAMHandle {
  /** Block CIDR (`a.b.c.d/n`) → number of addresses this handle holds in it. */
  readonly block: Readonly<Record<string, number>>;
  readonly deleted: boolean;
}

export interface IPAMConfig {
  readonly strictAffinity: boolean;
  readonly autoAllocateBlocks: boolean;
  readonly maxBlocksPerHost: number;
  readonly kubeVirtVMAddressPersistence: 'Enabled' | 'Disabled';
  readonly ipCooldownSeconds: number;
}

export const DEFAULT_IPAM_CONFIG: IPAMConfig = {
  strictAffinity: false,
  autoAllocateBlocks: true,
  maxBlocksPerHost: 0,
  kubeVirtVMAddressPersistence: 'Enabled',
  ipCooldownSeconds: 0,
};

// ---------------------------------------------------------------------------------------------
// JSON (uint64 sequence numbers do not fit a double, so they travel as bigint)

type Reviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown;
const bigJSON = JSON as unknown as {
  parse(text: string, reviver: Reviver): unknown;
  rawJSON(text: string): unknown;
};

/** JSON.parse that keeps integers beyond 2^53 exact (as bigint). */
export function parseJSONBig(text: string): unknown {
  return bigJSON.parse(text, (_k, v, ctx) =>
    typeof v === 'number' && !Number.isSafeInteger(v) && ctx?.source !== undefined && /^-?\d+$/.test(ctx.source)
      ? BigInt(ctx.source)
      : v,
  );
}

/** JSON.stringify that writes bigint values as plain JSON integers. */
export function stringifyJSONBig(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? bigJSON.rawJSON(v.toString()) : v));
}

function toBig(v: unknown, what: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (v === undefined || v === null) return 0n;
  throw new TricolorError('ERR_PARSE', `${what}: ${quote(v)} is not an integer`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const BLOCK_FIELDS = new Set([
  'cidr', 'affinity', 'affinity_claim_time', 'allocations', 'unallocated', 'attributes',
  'sequenceNumber', 'sequenceNumberForAllocation', 'deleted',
]);

export function parseBlock(text: string, key = 'block'): AllocationBlock {
  const raw = parseJSONBig(text);
  if (!isRecord(raw)) throw new TricolorError('ERR_PARSE', `${key}: value is not a JSON object`);
  const cidrText = raw['cidr'];
  if (typeof cidrText !== 'string') throw new TricolorError('ERR_PARSE', `${key}: cidr: ${quote(cidrText)} is not a CIDR`);
  const cidr = parseCIDR(cidrText);
  const allocations = Array.isArray(raw['allocations'])
    ? raw['allocations'].map((a) => (typeof a === 'number' ? a : null))
    : [];
  const unallocated = Array.isArray(raw['unallocated'])
    ? raw['unallocated'].filter((a): a is number => typeof a === 'number')
    : [];
  const attributes = Array.isArray(raw['attributes']) ? raw['attributes'].map((a) => (isRecord(a) ? parseAttr(a) : {})) : [];
  const seqFor: Record<string, bigint> = {};
  if (isRecord(raw['sequenceNumberForAllocation'])) {
    for (const [k, v] of Object.entries(raw['sequenceNumberForAllocation'])) seqFor[k] = toBig(v, `${key}: sequenceNumberForAllocation`);
  }
  let affinity = typeof raw['affinity'] === 'string' ? raw['affinity'] : null;
  // [legacy] hostAffinity carried a bare hostname
  if (affinity === null && typeof raw['hostAffinity'] === 'string' && raw['hostAffinity'] !== '') affinity = `host:${raw['hostAffinity']}`;
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (!BLOCK_FIELDS.has(k)) extra[k] = v;
  const claim = raw['affinity_claim_time'];
  return {
    cidr,
    affinity,
    ...(typeof claim === 'string' ? { affinityClaimTime: claim } : {}),
    allocations,
    unallocated,
    attributes,
    sequenceNumber: toBig(raw['sequenceNumber'], `${key}: sequenceNumber`),
    sequenceNumberForAllocation: seqFor,
    deleted: raw['deleted'] === true,
    extra,
  };
}

function strMap(v: unknown): Record<string, string> | undefined {
  if (!isRecord(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

function parseAttr(a: Record<string, unknown>): AllocationAttribute {
  const secondary = strMap(a['secondary']);
  const alt = strMap(a['alternateOwnerAttrs']);
  return {
    ...(typeof a['handle_id'] === 'string' ? { handle_id: a['handle_id'] } : {}),
    ...(secondary ? { secondary } : {}),
    ...(alt ? { alternateOwnerAttrs: alt } : {}),
    ...(typeof a['releasedAt'] === 'string' ? { releasedAt: a['releasedAt'] } : {}),
  };
}

export function serializeBlock(b: AllocationBlock): string {
  return stringifyJSONBig({
    ...b.extra,
    cidr: formatCIDR(b.cidr),
    affinity: b.affinity,
    ...(b.affinityClaimTime !== undefined ? { affinity_claim_time: b.affinityClaimTime } : {}),
    allocations: b.allocations,
    unallocated: b.unallocated,
    attributes: b.attributes,
    deleted: b.deleted,
    sequenceNumber: b.sequenceNumber,
    sequenceNumberForAllocation: b.sequenceNumberForAllocation,
  });
}

export function parseAffinity(text: string): BlockAffinity {
  // older data may store an empty value: read it as {} (state "" ⇒ confirmed)
  if (text.trim() === '') return { state: '', deleted: false };
  const raw = JSON.parse(text) as unknown;
  if (!isRecord(raw)) return { state: '', deleted: false };
  const s = raw['state'];
  const state: AffinityState = (AFFINITY_STATES as readonly unknown[]).includes(s) ? (s as AffinityState) : '';
  return { state, deleted: raw['deleted'] === true };
}

export function serializeAffinity(a: BlockAffinity): string {
  return JSON.stringify({ state: a.state, deleted: a.deleted });
}

/** Confirmed (or the legacy empty state) and not soft-deleted: the only states that own a block. */
export function affinityOwns(a: BlockAffinity): boolean {
  return !a.deleted && (a.state === 'confirmed' || a.state === '');
}

export function parseHandle(text: string): IPAMHandle {
  const raw = JSON.parse(text) as unknown;
  const block: Record<string, number> = {};
  if (isRecord(raw) && isRecord(raw['block'])) {
    for (const [k, v] of Object.entries(raw['block'])) if (typeof v === 'number') block[k] = v;
  }
  return { block, deleted: isRecord(raw) && raw['deleted'] === true };
}

export function serializeHandle(h: IPAMHandle): string {
  return JSON.stringify({ block: h.block, deleted: h.deleted });
}

/** Add `delta` addresses in `blockCIDR` to a handle; undefined when it becomes empty (delete it). */
export function adjustHandle(h: IPAMHandle | undefined, blockCIDR: string, delta: number): IPAMHandle | undefined {
  const block: Record<string, number> = { ...(h?.block ?? {}) };
  const n = (block[blockCIDR] ?? 0) + delta;
  if (n > 0) block[blockCIDR] = n;
  else delete block[blockCIDR];
  return Object.keys(block).length === 0 ? undefined : { block, deleted: false };
}

export function parseIPAMConfig(text: string | undefined): IPAMConfig {
  if (text === undefined) return DEFAULT_IPAM_CONFIG;
  const raw = JSON.parse(text) as unknown;
  if (!isRecord(raw)) return DEFAULT_IPAM_CONFIG;
  const p = raw['kubeVirtVMAddressPersistence'];
  return {
    strictAffinity: raw['strict_affinity'] === true,
    autoAllocateBlocks: raw['auto_allocate_blocks'] !== false,
    maxBlocksPerHost: typeof raw['maxBlocksPerHost'] === 'number' ? raw['maxBlocksPerHost'] : 0,
    kubeVirtVMAddressPersistence: p === 'Disabled' ? 'Disabled' : 'Enabled',
    ipCooldownSeconds: typeof raw['ipCooldownSeconds'] === 'number' ? raw['ipCooldownSeconds'] : 0,
  };
}

/** Calico writes every field with `omitempty`, so false/0 fields are left out. */
export function serializeIPAMConfig(c: IPAMConfig): string {
  return JSON.stringify({
    ...(c.strictAffinity ? { strict_affinity: true } : {}),
    // auto_allocate_blocks is omitempty in Calico too, but absent must still read as true, so
    // always write it to make the value unambiguous for every reader
    auto_allocate_blocks: c.autoAllocateBlocks,
    ...(c.maxBlocksPerHost > 0 ? { maxBlocksPerHost: c.maxBlocksPerHost } : {}),
    ...(c.kubeVirtVMAddressPersistence !== 'Enabled' ? { kubeVirtVMAddressPersistence: c.kubeVirtVMAddressPersistence } : {}),
    ...(c.ipCooldownSeconds > 0 ? { ipCooldownSeconds: c.ipCooldownSeconds } : {}),
  });
}

/** Library-side cross-field rules (node contract §2.1). */
export function validateIPAMConfig(c: IPAMConfig): void {
  if (!c.strictAffinity && !c.autoAllocateBlocks) {
    throw new TricolorError('ERR_VALIDATION', 'IPAMConfig: strictAffinity=false is not allowed together with autoAllocateBlocks=false', { field: 'autoAllocateBlocks' });
  }
  if (c.maxBlocksPerHost < 0 || c.maxBlocksPerHost > 1_000_000 || !Number.isInteger(c.maxBlocksPerHost)) {
    throw new TricolorError('ERR_VALIDATION', `IPAMConfig: maxBlocksPerHost: ${quote(c.maxBlocksPerHost)} must be an integer between 0 and 1000000`, { field: 'maxBlocksPerHost' });
  }
  if (c.maxBlocksPerHost > 0 && !c.strictAffinity) {
    throw new TricolorError('ERR_VALIDATION', `IPAMConfig: maxBlocksPerHost: ${quote(c.maxBlocksPerHost)} requires strictAffinity=true`, { field: 'maxBlocksPerHost' });
  }
  if (c.ipCooldownSeconds < 0 || c.ipCooldownSeconds > 1200 || !Number.isInteger(c.ipCooldownSeconds)) {
    throw new TricolorError('ERR_VALIDATION', `IPAMConfig: ipCooldownSeconds: ${quote(c.ipCooldownSeconds)} must be an integer between 0 and 1200`, { field: 'ipCooldownSeconds' });
  }
}

// ---------------------------------------------------------------------------------------------
// Block arithmetic

export function blockSizeOf(cidr: CIDR): number {
  const bits = cidr.family === 4 ? 32 : 128;
  return 2 ** (bits - cidr.prefixLength);
}

export function hostAffinity(node: string): string {
  return `host:${node}`;
}

/** The node named by a `host:` affinity, else undefined. */
export function affinityHost(affinity: string | null): string | undefined {
  return affinity !== null && affinity.startsWith('host:') ? affinity.slice(5) : undefined;
}

export function newBlock(cidr: CIDR, affinity: string | null, nowNs: bigint, claimTime: string): AllocationBlock {
  const size = blockSizeOf(cidr);
  if (size > 65536) throw new BugError(`block ${formatCIDR(cidr)} is too large (${size} addresses)`);
  return {
    cidr,
    affinity,
    ...(affinity !== null ? { affinityClaimTime: claimTime } : {}),
    allocations: new Array<number | null>(size).fill(null),
    unallocated: Array.from({ length: size }, (_, i) => i),
    attributes: [],
    sequenceNumber: nowNs,
    sequenceNumberForAllocation: {},
    deleted: false,
    extra: {},
  };
}

export function ordinalOf(b: AllocationBlock, ip: IPAddr): number | undefined {
  if (!cidrContainsIP(b.cidr, ip)) return undefined;
  return Number(ip.value - b.cidr.network);
}

export function ipAt(b: AllocationBlock, ordinal: number): IPAddr {
  return ipFromBigInt(b.cidr.family, b.cidr.network + BigInt(ordinal));
}

/** Number of ordinals holding an allocation (cooldown entries included). */
export function allocatedCount(b: AllocationBlock): number {
  let n = 0;
  for (const a of b.allocations) if (a !== null) n++;
  return n;
}

export function isEmptyBlock(b: AllocationBlock): boolean {
  return allocatedCount(b) === 0;
}

function sameMap(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): boolean {
  const ak = Object.keys(a ?? {});
  const bk = Object.keys(b ?? {});
  if (ak.length !== bk.length) return false;
  return ak.every((k) => (a ?? {})[k] === (b ?? {})[k]);
}

export type IsReserved = (ip: IPAddr) => boolean;

/** Free, non-reserved ordinals in FIFO order. */
export function freeOrdinals(b: AllocationBlock, isReserved: IsReserved): number[] {
  return b.unallocated.filter((o) => b.allocations[o] === null && !isReserved(ipAt(b, o)));
}

export interface AllocateResult {
  readonly block: AllocationBlock;
  readonly ordinals: readonly number[];
}

/**
 * Take up to `count` free ordinals from the head of the free list, skipping reserved addresses
 * (which keep their place). All addresses of one call share one attribute entry.
 */
export function allocateInBlock(
  b: AllocationBlock,
  count: number,
  handleId: string | undefined,
  attrs: Readonly<Record<string, string>>,
  isReserved: IsReserved,
): AllocateResult {
  const take: number[] = [];
  for (const o of b.unallocated) {
    if (take.length >= count) break;
    if (b.allocations[o] !== null) continue; // corrupt list entry: never hand out a live ordinal
    if (isReserved(ipAt(b, o))) continue;
    take.push(o);
  }
  if (take.length === 0) return { block: b, ordinals: [] };
  return { block: markAllocated(b, take, handleId, attrs), ordinals: take };
}

function markAllocated(
  b: AllocationBlock,
  ordinals: readonly number[],
  handleId: string | undefined,
  attrs: Readonly<Record<string, string>>,
): AllocationBlock {
  const attributes = [...b.attributes];
  let idx = attributes.findIndex((a) => a.releasedAt === undefined && a.handle_id === handleId && sameMap(a.secondary, attrs));
  if (idx < 0) {
    idx = attributes.length;
    attributes.push({ ...(handleId !== undefined ? { handle_id: handleId } : {}), secondary: { ...attrs } });
  }
  const allocations = [...b.allocations];
  const seq = { ...b.sequenceNumberForAllocation };
  const taken = new Set(ordinals);
  for (const o of ordinals) {
    allocations[o] = idx;
    seq[String(o)] = b.sequenceNumber;
  }
  return {
    ...b,
    allocations,
    unallocated: b.unallocated.filter((o) => !taken.has(o)),
    attributes,
    sequenceNumberForAllocation: seq,
  };
}

/** Allocate one specific ordinal; throws ERR_IPAM_IN_USE when it is taken. */
export function assignOrdinal(
  b: AllocationBlock,
  ordinal: number,
  handleId: string | undefined,
  attrs: Readonly<Record<string, string>>,
): AllocationBlock {
  if (ordinal < 0 || ordinal >= b.allocations.length) {
    throw new BugError(`ordinal ${ordinal} outside block ${formatCIDR(b.cidr)}`);
  }
  if (b.allocations[ordinal] !== null) {
    throw new TricolorError('ERR_IPAM_IN_USE', `Address already assigned in block: ${quote(formatIP(ipAt(b, ordinal)))} in ${formatCIDR(b.cidr)}`, {
      value: formatIP(ipAt(b, ordinal)),
    });
  }
  return markAllocated(b, [ordinal], handleId, attrs);
}

/** Bump the sequence number: every persisted write does this before its CAS. */
export function bumpSequence(b: AllocationBlock): AllocationBlock {
  return { ...b, sequenceNumber: b.sequenceNumber + 1n };
}

export interface ReleaseRequest {
  readonly ordinal: number;
  readonly handleId?: string;
  readonly sequenceNumber?: bigint;
}

export type ReleaseOutcome = 'released' | 'unallocated';

export interface ReleaseInBlockResult {
  readonly block: AllocationBlock;
  readonly outcomes: readonly ReleaseOutcome[];
  /** Handle → number of addresses released from this block. */
  readonly handles: ReadonlyMap<string, number>;
}

/**
 * Release ordinals. A stale sequence number or a handle mismatch refuses the whole request
 * (ERR_UPDATE_CONFLICT): the caller computed it from a view in which the address belonged to
 * someone else, and freeing it now could hand a live address out twice (Calico #3940).
 */
export function releaseInBlock(
  b: AllocationBlock,
  reqs: readonly ReleaseRequest[],
  cooldown?: { readonly seconds: number; readonly now: string },
): ReleaseInBlockResult {
  const outcomes: ReleaseOutcome[] = [];
  const free: number[] = [];
  const handles = new Map<string, number>();
  for (const r of reqs) {
    const ip = formatIP(ipAt(b, r.ordinal));
    const a = b.allocations[r.ordinal];
    const attr = a === null || a === undefined ? undefined : b.attributes[a];
    if (a === null || a === undefined || attr?.releasedAt !== undefined || free.includes(r.ordinal)) {
      outcomes.push('unallocated');
      continue;
    }
    if (r.sequenceNumber !== undefined && b.sequenceNumberForAllocation[String(r.ordinal)] !== r.sequenceNumber) {
      throw new TricolorError('ERR_UPDATE_CONFLICT', `release of ${quote(ip)}: sequence number ${r.sequenceNumber} is stale (the address was re-allocated since)`, {
        value: ip,
        detail: { reason: 'BadSequenceNumber' },
      });
    }
    if (r.handleId !== undefined && attr?.handle_id !== r.handleId) {
      throw new TricolorError('ERR_UPDATE_CONFLICT', `release of ${quote(ip)}: handle ${quote(r.handleId)} does not own it (owner ${quote(attr?.handle_id ?? null)})`, {
        value: ip,
        detail: { reason: 'BadHandle' },
      });
    }
    free.push(r.ordinal);
    outcomes.push('released');
    if (attr?.handle_id !== undefined) handles.set(attr.handle_id, (handles.get(attr.handle_id) ?? 0) + 1);
  }
  if (free.length === 0) return { block: b, outcomes, handles };
  let block: AllocationBlock;
  if (cooldown !== undefined && cooldown.seconds > 0) {
    const attributes = [...b.attributes, { releasedAt: cooldown.now }];
    const allocations = [...b.allocations];
    const seq = { ...b.sequenceNumberForAllocation };
    for (const o of free) {
      allocations[o] = attributes.length - 1;
      seq[String(o)] = b.sequenceNumber;
    }
    block = compactAttributes({ ...b, allocations, attributes, sequenceNumberForAllocation: seq });
  } else {
    block = freeOrdinalsNow(b, free);
  }
  return { block, outcomes, handles };
}

function freeOrdinalsNow(b: AllocationBlock, free: readonly number[]): AllocationBlock {
  const allocations = [...b.allocations];
  const seq = { ...b.sequenceNumberForAllocation };
  for (const o of free) {
    allocations[o] = null;
    delete seq[String(o)];
  }
  return compactAttributes({ ...b, allocations, unallocated: [...b.unallocated, ...free], sequenceNumberForAllocation: seq });
}

/** Free cooldown entries older than `seconds` (stage two of release, §2.2). */
export function collectCooldown(b: AllocationBlock, seconds: number, nowMs: number): AllocationBlock {
  const expired: number[] = [];
  b.allocations.forEach((a, o) => {
    const r = a === null ? undefined : b.attributes[a]?.releasedAt;
    if (r !== undefined && Date.parse(r) + seconds * 1000 <= nowMs) expired.push(o);
  });
  return expired.length === 0 ? b : freeOrdinalsNow(b, expired);
}

/** Drop attribute entries no ordinal points at and renumber the rest. */
export function compactAttributes(b: AllocationBlock): AllocationBlock {
  const used = new Set<number>();
  for (const a of b.allocations) if (a !== null) used.add(a);
  if (used.size === b.attributes.length) return b;
  const remap = new Map<number, number>();
  const attributes: AllocationAttribute[] = [];
  b.attributes.forEach((attr, i) => {
    if (used.has(i)) {
      remap.set(i, attributes.length);
      attributes.push(attr);
    }
  });
  return { ...b, attributes, allocations: b.allocations.map((a) => (a === null ? null : (remap.get(a) ?? null))) };
}

/** Every ordinal whose attribute carries `handleId`. */
export function ordinalsForHandle(b: AllocationBlock, handleId: string): number[] {
  const out: number[] = [];
  b.allocations.forEach((a, o) => {
    if (a !== null && b.attributes[a]?.handle_id === handleId && b.attributes[a]?.releasedAt === undefined) out.push(o);
  });
  return out;
}

export interface BlockProblem {
  readonly block: string;
  readonly problem: string;
}

/** Structural checks of `ipam check` (§2.14). */
export function blockProblems(b: AllocationBlock, nowMs: number): BlockProblem[] {
  const name = formatCIDR(b.cidr);
  const size = blockSizeOf(b.cidr);
  const out: BlockProblem[] = [];
  const add = (problem: string): void => void out.push({ block: name, problem });
  if (b.allocations.length !== size) add(`allocations has ${b.allocations.length} entries, block size is ${size}`);
  const referenced = new Set<number>();
  b.allocations.forEach((a, o) => {
    if (a === null) return;
    if (a < 0 || a >= b.attributes.length) add(`ordinal ${o} points at nonexistent attribute ${a}`);
    referenced.add(a);
  });
  b.attributes.forEach((attr, i) => {
    if (!referenced.has(i)) add(`attribute ${i} is not referenced by any allocation`);
    if (attr.releasedAt !== undefined && Date.parse(attr.releasedAt) > nowMs) add(`attribute ${i} releasedAt ${attr.releasedAt} is in the future`);
  });
  const seen = new Set<number>();
  for (const o of b.unallocated) {
    if (o < 0 || o >= size) add(`unallocated ordinal ${o} is out of range`);
    else if (seen.has(o)) add(`unallocated ordinal ${o} is duplicated`);
    else if (b.allocations[o] !== null) add(`ordinal ${o} is both allocated and unallocated`);
    seen.add(o);
  }
  if (allocatedCount(b) + seen.size !== size) add(`allocated (${allocatedCount(b)}) + unallocated (${seen.size}) != block size (${size})`);
  return out;
}

