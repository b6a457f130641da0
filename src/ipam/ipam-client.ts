// The IPAM store: Calico's allocator (node contract §2.3–§2.9) over a DatastoreBackend, with
// Calico's keys and JSON. Where Calico writes several keys one after another and repairs the
// gaps later (handle then block; pending affinity then block then confirmed affinity), we write
// them in ONE backend transaction guarded by the mod revision of every key involved: an
// allocation is a single compare-and-swap (block + handle), a claim is a single CAS (affinity +
// block), a release is a single CAS (block + every affected handle). A process killed at any
// point therefore leaves either the old state or the new one, never a handle that disagrees with
// its block, and a CAS that loses simply retries from the current value the transaction
// returned (no extra read).

import { TricolorError, isTricolorError, quote, sleep } from '../base/index.ts';
import type { DatastoreBackend, KeyValue, TxnCompare, TxnOp, TxnResult } from '../datastore/index.ts';
import { type CIDR, type IPAddr, type IPFamily, cidrContainsCIDR, cidrContainsIP, formatCIDR, formatIP, parseCIDR, tryParseIP } from '../net/index.ts';
import {
  IPAM_CONFIG_KEY,
  affinityKey,
  blockKey,
  blockPrefix,
  cidrFromKey,
  handleKey,
  HANDLE_PREFIX,
  HOST_PREFIX,
  hostAffinityPrefix,
  parseAffinityKey,
} from './keys.ts';
import {
  type AllocationBlock,
  type BlockAffinity,
  type IPAMConfig,
  type IPAMHandle,
  type IsReserved,
  type ReleaseRequest,
  adjustHandle,
  affinityOwns,
  allocateInBlock,
  assignOrdinal,
  bumpSequence,
  collectCooldown,
  freeOrdinals,
  hostAffinity,
  ipAt,
  isEmptyBlock,
  newBlock,
  ordinalOf,
  ordinalsForHandle,
  parseAffinity,
  parseBlock,
  parseHandle,
  parseIPAMConfig,
  releaseInBlock,
  serializeAffinity,
  serializeBlock,
  serializeHandle,
  serializeIPAMConfig,
  validateIPAMConfig,
} from './model.ts';
import {
  type IPAMPool,
  type IntendedUse,
  type Labels,
  blockCIDRFor,
  blockCandidates,
  choosePools,
  fnv1,
  poolForIP,
  reservationsTouching,
  whollyReserved,
} from './pools.ts';
import { type IPAMResourceSource, backendResourceSource } from './sources.ts';
import type { IPAMCache } from './ipam-cache.ts';

/** Calico's datastoreRetries: the bound on CAS retries of one logical step. */
export const MAX_RETRIES = 100;
/** Block cap when neither the request nor IPAMConfig sets one (Calico's safety limit). */
export const DEFAULT_BLOCK_CAP = 20;
/** An empty block of another host may be taken over once its claim is this old (§2.4). */
export const EMPTY_BLOCK_MIN_RECLAIM_AGE_MS = 60_000;

export interface IPAMClientOptions {
  readonly backend: DatastoreBackend;
  /** Where pools, reservations, nodes and endpoints come from; defaults to the backend's v3 keys. */
  readonly resources?: IPAMResourceSource;
  readonly maxRetries?: number;
  /**
   * A watch-fed cache (ipam-cache.ts) for long-lived allocators: allocation then reads nothing
   * from the datastore before its compare-and-swap. Also the default resource source.
   */
  readonly cache?: IPAMCache;
  /** Clock, for claim times, cooldown and the initial sequence number. */
  readonly now?: () => number;
}

export interface AutoAssignRequest {
  readonly num4: number;
  readonly num6: number;
  readonly handleId: string;
  readonly attrs?: Readonly<Record<string, string>>;
  readonly hostname: string;
  /** Pool names or CIDRs; when given only these are used (selectors ignored). */
  readonly ipv4Pools?: readonly string[];
  readonly ipv6Pools?: readonly string[];
  /** The pod's namespace, for pools with a namespaceSelector. */
  readonly namespace?: { readonly labels: Labels };
  readonly intendedUse?: IntendedUse;
  /** Per-request block cap; the smaller of this and maxBlocksPerHost applies. */
  readonly maxBlocksPerHost?: number;
}

export interface AutoAssignResult {
  /** Assigned addresses with the block's prefix length, e.g. `10.65.0.7/26` (§2.3 step 8). */
  readonly ipv4: readonly string[];
  readonly ipv6: readonly string[];
}

export interface AssignIPRequest {
  readonly ip: string;
  readonly handleId: string;
  readonly attrs?: Readonly<Record<string, string>>;
  readonly hostname: string;
  readonly intendedUse?: IntendedUse;
}

export interface ReleaseItem {
  readonly ip: string;
  /** Only release when this handle still owns the address. */
  readonly handleId?: string;
  /** Only release when the address was allocated at this block sequence number (ABA guard). */
  readonly sequenceNumber?: bigint | string;
}

export interface ReleaseItemResult {
  readonly ip: string;
  readonly status: 'released' | 'unallocated' | 'error';
  readonly message?: string;
}

export interface AssignmentAttributes {
  readonly ip: string;
  readonly block: string;
  readonly handleId: string | undefined;
  readonly attrs: Readonly<Record<string, string>>;
  readonly alternateOwnerAttrs: Readonly<Record<string, string>> | undefined;
  readonly sequenceNumber: bigint | undefined;
  /** Set when the address is released and in cooldown. */
  readonly releasedAt: string | undefined;
}

export interface StoredBlock {
  readonly kv: KeyValue;
  readonly block: AllocationBlock;
}

export interface StoredAffinity {
  readonly kv: KeyValue;
  readonly host: string;
  readonly cidr: CIDR;
  readonly affinity: BlockAffinity;
}

export interface StoredHandle {
  readonly kv: KeyValue;
  readonly id: string;
  readonly handle: IPAMHandle;
}

export type AffinityReleaseOutcome = 'released' | 'not-empty' | 'conflict' | 'absent';

/** One allocation made during a call, kept so a failed call can undo exactly what it did. */
interface Allocated {
  readonly ip: IPAddr;
  readonly prefixLength: number;
  readonly sequenceNumber: bigint;
}

/** The handle as this call last saw it; `kv: undefined` with `known` = seen absent. */
interface HandleView {
  kv: KeyValue | undefined;
}


function familyName(f: IPFamily): string {
  return f === 4 ? 'IPv4' : 'IPv6';
}

function maxRetriesError(what: string): TricolorError {
  return new TricolorError('ERR_UPDATE_CONFLICT', `Max retries hit - excessive concurrent IPAM requests (${what})`);
}

function parseSeq(v: bigint | string | undefined): bigint | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'bigint') return v;
  if (!/^\d+$/.test(v)) throw new TricolorError('ERR_IPAM_INVALID_REQUEST', `sequenceNumber: ${quote(v)} is not an unsigned integer`, { field: 'sequenceNumber', value: v });
  return BigInt(v);
}

export class IPAMClient {
  readonly #backend: DatastoreBackend;
  readonly resources: IPAMResourceSource;
  readonly #maxRetries: number;
  readonly #now: () => number;
  readonly #cache: IPAMCache | undefined;
  /** Datastore round trips made by this client (reads, writes and transactions). */
  roundTrips = 0;
  /** Write transactions made by this client, successful or not. */
  writes = 0;
  /** Write transactions that lost a compare-and-swap and were retried. */
  conflicts = 0;

  constructor(opts: IPAMClientOptions) {
    this.#backend = opts.backend;
    this.#cache = opts.cache;
    this.resources = opts.resources ?? opts.cache?.resources() ?? backendResourceSource(opts.backend);
    this.#maxRetries = opts.maxRetries ?? MAX_RETRIES;
    this.#now = opts.now ?? Date.now;
  }

  // --- counted backend access ------------------------------------------------------------

  async #get(key: string): Promise<KeyValue | undefined> {
    this.roundTrips++;
    const kv = await this.#backend.get(key);
    if (kv !== undefined) this.#cache?.observe(kv);
    return kv;
  }

  /** From the cache when there is one and it mirrors `key`; else a datastore read. */
  async #cachedGet(key: string): Promise<KeyValue | undefined> {
    if (this.#cache?.covers(key) === true) return this.#cache.get(key);
    return this.#get(key);
  }

  async #cachedList(prefix: string): Promise<readonly KeyValue[]> {
    if (this.#cache?.covers(prefix) === true) return this.#cache.list(prefix);
    return this.#list(prefix);
  }

  async #list(prefix: string): Promise<readonly KeyValue[]> {
    this.roundTrips++;
    return (await this.#backend.list(prefix)).items;
  }

  async #txn(compares: readonly TxnCompare[], ops: readonly TxnOp[]): Promise<TxnResult> {
    this.roundTrips++;
    this.writes++;
    const r = await this.#backend.txn(compares, ops);
    this.#cache?.noteTxn(compares, ops, r);
    if (!r.succeeded) this.conflicts++;
    return r;
  }

  /**
   * Back off after a lost CAS so same-host contenders spread out: full jitter over a window that
   * doubles per attempt up to 500 ms. A 50 ms cap starved a contender of 8 under heavy load
   * (100 losses in a row on etcd), so the window has to outgrow a slow round trip.
   */
  async #backoff(attempt: number): Promise<void> {
    if (attempt === 0) return;
    await sleep(Math.random() * Math.min(5 * 2 ** attempt, 500));
  }

  #nowIso(): string {
    return new Date(this.#now()).toISOString();
  }

  // --- config ------------------------------------------------------------------------------

  async getConfig(): Promise<IPAMConfig> {
    const kv = await this.#cachedGet(IPAM_CONFIG_KEY);
    return parseIPAMConfig(kv?.value);
  }

  /** Read-modify-CAS the IPAMConfig singleton; returns the stored result. */
  async setConfig(patch: Partial<IPAMConfig>): Promise<IPAMConfig> {
    for (let attempt = 0; attempt < this.#maxRetries; attempt++) {
      const kv = await this.#get(IPAM_CONFIG_KEY);
      const next: IPAMConfig = { ...parseIPAMConfig(kv?.value), ...patch };
      validateIPAMConfig(next);
      const r = await this.#txn([{ key: IPAM_CONFIG_KEY, modRevision: kv?.modRevision ?? 0 }], [{ op: 'put', key: IPAM_CONFIG_KEY, value: serializeIPAMConfig(next) }]);
      if (r.succeeded) return next;
      await this.#backoff(attempt);
    }
    throw maxRetriesError('IPAMConfig update');
  }

  // --- reads used by the CLI, check and GC ------------------------------------------------

  async listBlocks(family?: IPFamily): Promise<StoredBlock[]> {
    const fams: IPFamily[] = family === undefined ? [4, 6] : [family];
    const out: StoredBlock[] = [];
    for (const f of fams) {
      for (const kv of await this.#list(blockPrefix(f))) {
        const block = parseBlock(kv.value, kv.key);
        if (!block.deleted) out.push({ kv, block });
      }
    }
    return out;
  }

  async listAffinities(): Promise<StoredAffinity[]> {
    const out: StoredAffinity[] = [];
    for (const kv of await this.#list(HOST_PREFIX)) {
      const k = parseAffinityKey(kv.key);
      if (k !== undefined) out.push({ kv, host: k.host, cidr: k.cidr, affinity: parseAffinity(kv.value) });
    }
    return out;
  }

  async listHandles(): Promise<StoredHandle[]> {
    return (await this.#list(HANDLE_PREFIX)).map((kv) => ({ kv, id: kv.key.slice(HANDLE_PREFIX.length), handle: parseHandle(kv.value) }));
  }

  async getHandle(handleId: string): Promise<StoredHandle | undefined> {
    const kv = await this.#get(handleKey(handleId));
    return kv === undefined ? undefined : { kv, id: handleId, handle: parseHandle(kv.value) };
  }

  /** Delete a handle object, only if it is unchanged since `revision` (report-driven cleanup). */
  async deleteHandle(handleId: string, revision: number): Promise<boolean> {
    const r = await this.#txn([{ key: handleKey(handleId), modRevision: revision }], [{ op: 'delete', key: handleKey(handleId) }]);
    return r.succeeded;
  }

  /** Delete an affinity key, only if unchanged since `revision` (repair of stale affinities). */
  async deleteAffinity(host: string, cidr: CIDR, revision: number): Promise<boolean> {
    const key = affinityKey(host, cidr);
    const r = await this.#txn([{ key, modRevision: revision }], [{ op: 'delete', key }]);
    return r.succeeded;
  }

  /** The stored block holding `ip`, found via the pools' block sizes or, failing that, a block scan. */
  async #findBlockFor(ip: IPAddr, pools: readonly IPAMPool[] | undefined): Promise<CIDR | undefined> {
    const ps = pools ?? (await this.resources.listPools());
    const pool = ps.find((p) => cidrContainsIP(p.cidr, ip));
    if (pool !== undefined) return blockCIDRFor(pool, ip);
    for (const kv of await this.#list(blockPrefix(ip.family))) {
      const c = cidrFromKey(kv.key);
      if (cidrContainsIP(c, ip)) return c;
    }
    return undefined;
  }

  async getAssignmentAttributes(ipText: string): Promise<AssignmentAttributes | undefined> {
    const ip = this.#parseIP(ipText);
    const cidr = await this.#findBlockFor(ip, undefined);
    if (cidr === undefined) return undefined;
    const kv = await this.#get(blockKey(cidr));
    if (kv === undefined) return undefined;
    const b = parseBlock(kv.value, kv.key);
    const o = ordinalOf(b, ip);
    const a = o === undefined ? null : (b.allocations[o] ?? null);
    if (o === undefined || a === null || b.deleted) return undefined;
    const attr = b.attributes[a];
    return {
      ip: formatIP(ip),
      block: formatCIDR(b.cidr),
      handleId: attr?.handle_id,
      attrs: attr?.secondary ?? {},
      alternateOwnerAttrs: attr?.alternateOwnerAttrs,
      sequenceNumber: b.sequenceNumberForAllocation[String(o)],
      releasedAt: attr?.releasedAt,
    };
  }

  /** The addresses (without prefix) a handle holds. */
  async ipsByHandle(handleId: string): Promise<string[]> {
    const h = await this.getHandle(handleId);
    if (h === undefined) return [];
    const out: string[] = [];
    for (const c of Object.keys(h.handle.block)) {
      const kv = await this.#get(blockKey(parseCIDR(c)));
      if (kv === undefined) continue;
      const b = parseBlock(kv.value, kv.key);
      for (const o of ordinalsForHandle(b, handleId)) out.push(formatIP(ipAt(b, o)));
    }
    return out;
  }

  #parseIP(text: string): IPAddr {
    const ip = tryParseIP(text);
    if (ip === undefined) throw new TricolorError('ERR_IPAM_INVALID_REQUEST', `ip: ${quote(text)} is not a valid IP address`, { field: 'ip', value: text });
    return ip;
  }

  // --- allocation --------------------------------------------------------------------------

  /**
   * Allocate `num4` IPv4 and `num6` IPv6 addresses for a handle (§2.3). All or nothing: if the
   * request cannot be met in full, whatever this call allocated is released again (with its
   * sequence numbers) and ERR_IPAM_EXHAUSTED names the pools tried.
   */
  async autoAssign(req: AutoAssignRequest): Promise<AutoAssignResult> {
    this.#validateAssign(req.handleId, req.hostname);
    for (const [n, f] of [[req.num4, 'num4'], [req.num6, 'num6']] as const) {
      if (!Number.isInteger(n) || n < 0) throw new TricolorError('ERR_IPAM_INVALID_REQUEST', `${f}: ${quote(n)} must be a non-negative integer`, { field: f, value: n });
    }
    if (req.num4 + req.num6 === 0) throw new TricolorError('ERR_IPAM_INVALID_REQUEST', 'autoAssign: at least one address must be requested (num4 + num6 = 0)');
    // independent reads go out together: one round-trip time instead of six
    const none = Promise.resolve<readonly KeyValue[]>([]);
    const [cfg, pools, reserved, node, aff4, aff6] = await Promise.all([
      this.getConfig(),
      this.resources.listPools(),
      this.resources.listReservations(),
      this.resources.getNode(req.hostname),
      req.num4 > 0 ? this.#cachedList(hostAffinityPrefix(req.hostname, 4)) : none,
      req.num6 > 0 ? this.#cachedList(hostAffinityPrefix(req.hostname, 6)) : none,
    ]);
    if (this.#cache === undefined) this.roundTrips += 3;
    const handle: HandleView = { kv: undefined };
    const done: Allocated[] = [];
    try {
      const v4 = await this.#assignFamily(4, req.num4, req, cfg, pools, reserved, node?.labels ?? {}, aff4, handle, done);
      const v6 = await this.#assignFamily(6, req.num6, req, cfg, pools, reserved, node?.labels ?? {}, aff6, handle, done);
      return { ipv4: v4, ipv6: v6 };
    } catch (e) {
      if (done.length > 0) {
        await this.releaseIPs(done.map((d) => ({ ip: formatIP(d.ip), handleId: req.handleId, sequenceNumber: d.sequenceNumber }))).catch(() => undefined);
      }
      throw e;
    }
  }

  #validateAssign(handleId: string, hostname: string): void {
    if (typeof handleId !== 'string' || handleId === '' || handleId.includes('/')) {
      throw new TricolorError('ERR_IPAM_INVALID_REQUEST', `handleId: ${quote(handleId)} must be a non-empty string without "/"`, { field: 'handleId', value: handleId });
    }
    if (typeof hostname !== 'string' || hostname === '' || hostname.includes('/')) {
      throw new TricolorError('ERR_IPAM_INVALID_REQUEST', `hostname: ${quote(hostname)} must be a non-empty node name without "/"`, { field: 'hostname', value: hostname });
    }
  }

  async #assignFamily(
    family: IPFamily,
    num: number,
    req: AutoAssignRequest,
    cfg: IPAMConfig,
    allPools: readonly IPAMPool[],
    allReserved: readonly CIDR[],
    nodeLabels: Labels,
    affinityKVs: readonly KeyValue[],
    handle: HandleView,
    done: Allocated[],
  ): Promise<string[]> {
    if (num === 0) return [];
    const pools = choosePools(allPools, {
      family,
      requested: family === 4 ? req.ipv4Pools : req.ipv6Pools,
      nodeName: req.hostname,
      nodeLabels,
      namespaceLabels: req.namespace?.labels,
      use: req.intendedUse ?? 'Workload',
    });
    const reserved = allReserved.filter((c) => c.family === family);
    const host = req.hostname;
    const attrs = req.attrs ?? {};
    const mine = hostAffinity(host);
    const out: string[] = [];
    const take = async (key: string, requireAffinity: string | undefined): Promise<'missing' | 'stale' | number> => {
      const r = await this.#allocFromBlock(key, num - out.length, req.handleId, attrs, requireAffinity, reserved, cfg, handle);
      if (typeof r === 'string') return r;
      for (const a of r) {
        done.push(a);
        out.push(`${formatIP(a.ip)}/${a.prefixLength}`);
      }
      return r.length;
    };

    // (a) blocks affine to this host, inside a usable pool
    const affinities = affinityKVs.map((kv) => ({ kv, cidr: cidrFromKey(kv.key), aff: parseAffinity(kv.value) }));
    let owned = affinities.length;
    for (const a of affinities) {
      if (out.length >= num) break;
      if (!pools.some((p) => cidrContainsCIDR(p.cidr, a.cidr)) || whollyReserved(a.cidr, reserved)) continue;
      const r = await take(blockKey(a.cidr), mine);
      if (r === 'missing') {
        // crash recovery: an affinity without its block (written by a two-phase Calico claim)
        if ((await this.#claimBlock(host, a.cidr)) !== undefined) await take(blockKey(a.cidr), mine);
      } else if (r === 'stale') {
        await this.#txn([{ key: a.kv.key, modRevision: a.kv.modRevision }], [{ op: 'delete', key: a.kv.key }]);
        owned--;
      }
    }

    // (b) claim new blocks while the cap allows
    const requestCap = req.maxBlocksPerHost ?? 0;
    const cap = requestCap > 0 && cfg.maxBlocksPerHost > 0 ? Math.min(requestCap, cfg.maxBlocksPerHost) : requestCap > 0 ? requestCap : cfg.maxBlocksPerHost > 0 ? cfg.maxBlocksPerHost : DEFAULT_BLOCK_CAP;
    let blockLimit = false;
    let noFreeBlocks = false;
    for (let attempt = 0; out.length < num && cfg.autoAllocateBlocks; attempt++) {
      if (owned >= cap) {
        blockLimit = true;
        break;
      }
      if (attempt >= this.#maxRetries) throw maxRetriesError(`claiming a block for ${quote(host)}`);
      const cidr = await this.#findBlockToClaim(pools, host, family, reserved);
      if (cidr === undefined) {
        noFreeBlocks = true;
        break;
      }
      const claimed = await this.#claimBlock(host, cidr);
      if (claimed === undefined) continue; // another host won this CIDR: search again
      if (!affinities.some((a) => a.cidr.network === cidr.network && a.cidr.prefixLength === cidr.prefixLength)) {
        affinities.push({ kv: claimed.affinity, cidr, aff: { state: 'confirmed', deleted: false } });
        owned++;
      }
      await take(blockKey(cidr), mine);
    }

    // (c) borrow from other hosts' blocks (never creates blocks)
    if (out.length < num && !cfg.strictAffinity) {
      const seed = fnv1(host);
      for (const pool of pools) {
        if (out.length >= num) break;
        const keys = (await this.#cachedList(blockPrefix(family))).map((kv) => ({ key: kv.key, cidr: cidrFromKey(kv.key) })).filter((k) => cidrContainsCIDR(pool.cidr, k.cidr) && !whollyReserved(k.cidr, reserved));
        for (let i = 0; i < keys.length && out.length < num; i++) {
          const k = keys[(seed + i) % keys.length];
          if (k !== undefined) await take(k.key, undefined);
        }
      }
    }

    if (out.length < num) {
      const names = pools.map((p) => p.name).join(', ');
      const why = blockLimit
        ? `cannot allocate new block due to per host block limit (${cap}) and no IPs available in pools: [${names}]`
        : `No IPs available in pools: [${names}]${noFreeBlocks ? ' (no free blocks)' : ''}`;
      throw new TricolorError('ERR_IPAM_EXHAUSTED', `Assigned ${out.length} out of ${num} requested ${familyName(family)} addresses; ${why}`, {
        detail: { pools: pools.map((p) => p.name), family, assigned: out.length, requested: num, blockLimit },
      });
    }
    return out;
  }

  /**
   * Allocate up to `need` addresses from one block in a single CAS of block + handle.
   * `requireAffinity` set: only allocate if the block is affine to that owner ('stale' if not).
   */
  async #allocFromBlock(
    key: string,
    need: number,
    handleId: string,
    attrs: Readonly<Record<string, string>>,
    requireAffinity: string | undefined,
    reserved: readonly CIDR[],
    cfg: IPAMConfig,
    handle: HandleView,
  ): Promise<Allocated[] | 'missing' | 'stale'> {
    // A cached "absent" is confirmed with the datastore before it counts (a block claimed by
    // another process a moment ago may not have reached the cache yet).
    let kv = (await this.#cachedGet(key)) ?? (this.#cache !== undefined ? await this.#get(key) : undefined);
    const hKey = handleKey(handleId);
    for (let attempt = 0; attempt < this.#maxRetries; attempt++) {
      if (kv === undefined) return 'missing';
      let b = parseBlock(kv.value, kv.key);
      if (b.deleted) return 'missing';
      if (requireAffinity !== undefined && b.affinity !== requireAffinity) return 'stale';
      if (requireAffinity === undefined && cfg.strictAffinity) return [];
      b = collectCooldown(b, cfg.ipCooldownSeconds, this.#now());
      const isReserved = reservedCheck(b.cidr, reserved);
      const { block, ordinals } = allocateInBlock(b, need, handleId, attrs, isReserved);
      if (ordinals.length === 0) return [];
      const next = bumpSequence(block);
      const c = formatCIDR(b.cidr);
      const h = adjustHandle(handle.kv === undefined ? undefined : parseHandle(handle.kv.value), c, ordinals.length);
      const ops: TxnOp[] = [{ op: 'put', key, value: serializeBlock(next) }];
      if (h !== undefined) ops.push({ op: 'put', key: hKey, value: serializeHandle(h) });
      const r = await this.#txn(
        [
          { key, modRevision: kv.modRevision },
          { key: hKey, modRevision: handle.kv?.modRevision ?? 0 },
        ],
        ops,
      );
      if (r.succeeded) {
        if (h !== undefined) handle.kv = { key: hKey, value: serializeHandle(h), modRevision: r.revision, createRevision: r.revision, version: 1 };
        return ordinals.map((o) => ({ ip: ipAt(b, o), prefixLength: b.cidr.prefixLength, sequenceNumber: b.sequenceNumber }));
      }
      kv = r.current.get(key);
      handle.kv = r.current.get(hKey);
      await this.#backoff(attempt);
    }
    throw maxRetriesError(`allocating from ${key}`);
  }

  /** First claimable block CIDR over the pools in host-seeded order (§2.4). */
  async #findBlockToClaim(pools: readonly IPAMPool[], host: string, family: IPFamily, reserved: readonly CIDR[]): Promise<CIDR | undefined> {
    const existing = new Map<string, KeyValue>();
    for (const kv of await this.#cachedList(blockPrefix(family))) existing.set(kv.key, kv);
    const mine = hostAffinity(host);
    const reclaim: { cidr: CIDR; kv: KeyValue; owner: string }[] = [];
    for (const pool of pools) {
      let budget = existing.size + reserved.length + 2;
      for (const cidr of blockCandidates(pool, host, this.#now())) {
        if (budget-- <= 0) break;
        if (whollyReserved(cidr, reserved)) {
          budget++;
          continue;
        }
        const kv = existing.get(blockKey(cidr));
        if (kv === undefined) return cidr;
        const b = parseBlock(kv.value, kv.key);
        if (b.deleted) return cidr;
        if (b.affinity === mine && freeOrdinals(b, reservedCheck(cidr, reserved)).length > 0) return cidr;
        if (isEmptyBlock(b) && b.affinity !== null && b.affinity.startsWith('host:')) {
          const claimed = b.affinityClaimTime === undefined ? 0 : Date.parse(b.affinityClaimTime);
          if (this.#now() - claimed >= EMPTY_BLOCK_MIN_RECLAIM_AGE_MS) reclaim.push({ cidr, kv, owner: b.affinity.slice(5) });
        }
      }
    }
    for (const r of reclaim) {
      if ((await this.releaseAffinity(r.owner, r.cidr, { mustBeEmpty: true, blockRevision: r.kv.modRevision })) === 'released') return r.cidr;
    }
    return undefined;
  }

  /**
   * Claim `cidr` for `host`: confirmed affinity and the new block in one CAS (absent → confirmed;
   * we never leave a pending affinity behind). Returns the affinity KV, or undefined when another
   * host owns the block (claim conflict).
   */
  async #claimBlock(host: string, cidr: CIDR): Promise<{ affinity: KeyValue } | undefined> {
    const aKey = affinityKey(host, cidr);
    const bKey = blockKey(cidr);
    const mine = hostAffinity(host);
    const confirmed = serializeAffinity({ state: 'confirmed', deleted: false });
    let aff = await this.#get(aKey);
    let blk = await this.#get(bKey);
    for (let attempt = 0; attempt < this.#maxRetries; attempt++) {
      if (blk !== undefined && !parseBlock(blk.value, blk.key).deleted) {
        const b = parseBlock(blk.value, blk.key);
        if (b.affinity !== mine) {
          // another host owns it; drop any affinity of ours that points at it
          if (aff !== undefined) await this.#txn([{ key: aKey, modRevision: aff.modRevision }], [{ op: 'delete', key: aKey }]);
          return undefined;
        }
        // same host won (or a previous claim lost its confirmation): make the affinity confirmed
        if (aff !== undefined && affinityOwns(parseAffinity(aff.value))) return { affinity: aff };
        const r = await this.#txn(
          [
            { key: aKey, modRevision: aff?.modRevision ?? 0 },
            { key: bKey, modRevision: blk.modRevision },
          ],
          [{ op: 'put', key: aKey, value: confirmed }],
        );
        if (r.succeeded) return { affinity: { key: aKey, value: confirmed, modRevision: r.revision, createRevision: r.revision, version: 1 } };
        aff = r.current.get(aKey);
        blk = r.current.get(bKey);
        await this.#backoff(attempt);
        continue;
      }
      const nowMs = this.#now();
      const block = newBlock(cidr, mine, BigInt(nowMs) * 1_000_000n, new Date(nowMs).toISOString());
      const r = await this.#txn(
        [
          { key: aKey, modRevision: aff?.modRevision ?? 0 },
          { key: bKey, modRevision: blk?.modRevision ?? 0 },
        ],
        [
          { op: 'put', key: aKey, value: confirmed },
          { op: 'put', key: bKey, value: serializeBlock(block) },
        ],
      );
      if (r.succeeded) return { affinity: { key: aKey, value: confirmed, modRevision: r.revision, createRevision: r.revision, version: 1 } };
      aff = r.current.get(aKey);
      blk = r.current.get(bKey);
      await this.#backoff(attempt);
    }
    throw maxRetriesError(`claiming block ${formatCIDR(cidr)}`);
  }

  /**
   * Allocate one specific address (§2.7): for the `ipAddrs` annotation and static IPs.
   * Refused with the reason when the address is outside every enabled pool, reserved, or taken.
   */
  async assignIP(req: AssignIPRequest): Promise<string> {
    this.#validateAssign(req.handleId, req.hostname);
    const ip = this.#parseIP(req.ip);
    const pools = await this.resources.listPools();
    this.roundTrips++;
    const pool = poolForIP(pools, ip);
    if (pool === undefined) {
      throw new TricolorError('ERR_IPAM_INVALID_REQUEST', `The provided IP address is not in a configured pool: ${quote(req.ip)}`, { field: 'ip', value: req.ip });
    }
    if (req.intendedUse !== undefined && !pool.allowedUses.includes(req.intendedUse)) {
      throw new TricolorError('ERR_IPAM_INVALID_REQUEST', `IP pool ${quote(pool.name)} does not allow use ${quote(req.intendedUse)} (address ${quote(req.ip)})`, { field: 'ip', value: req.ip });
    }
    const reserved = (await this.resources.listReservations()).filter((c) => c.family === ip.family);
    this.roundTrips++;
    if (reserved.some((c) => cidrContainsIP(c, ip))) {
      throw new TricolorError('ERR_IPAM_INVALID_REQUEST', `The provided IP address is reserved by an IPReservation: ${quote(req.ip)}`, { field: 'ip', value: req.ip });
    }
    const cfg = await this.getConfig();
    const cidr = blockCIDRFor(pool, ip);
    const key = blockKey(cidr);
    const hKey = handleKey(req.handleId);
    const mine = hostAffinity(req.hostname);
    let kv = await this.#get(key);
    let hkv = await this.#get(hKey);
    for (let attempt = 0; attempt < this.#maxRetries; attempt++) {
      if (kv === undefined || parseBlock(kv.value, kv.key).deleted) {
        await this.#claimBlock(req.hostname, cidr);
        kv = await this.#get(key);
        continue;
      }
      let b = collectCooldown(parseBlock(kv.value, kv.key), cfg.ipCooldownSeconds, this.#now());
      if (cfg.strictAffinity && b.affinity !== mine) {
        throw new TricolorError('ERR_IPAM_INVALID_REQUEST', `strictAffinity is on and block ${formatCIDR(b.cidr)} of ${quote(req.ip)} is affine to ${quote(b.affinity)}, not ${quote(mine)}`, {
          field: 'ip',
          value: req.ip,
        });
      }
      const o = ordinalOf(b, ip) ?? 0;
      b = bumpSequence(assignOrdinal(b, o, req.handleId, req.attrs ?? {}));
      const h = adjustHandle(hkv === undefined ? undefined : parseHandle(hkv.value), formatCIDR(cidr), 1);
      const ops: TxnOp[] = [{ op: 'put', key, value: serializeBlock(b) }];
      if (h !== undefined) ops.push({ op: 'put', key: hKey, value: serializeHandle(h) });
      const r = await this.#txn(
        [
          { key, modRevision: kv.modRevision },
          { key: hKey, modRevision: hkv?.modRevision ?? 0 },
        ],
        ops,
      );
      if (r.succeeded) return `${formatIP(ip)}/${cidr.prefixLength}`;
      kv = r.current.get(key);
      hkv = r.current.get(hKey);
      await this.#backoff(attempt);
    }
    throw maxRetriesError(`assigning ${req.ip}`);
  }

  // --- release -----------------------------------------------------------------------------

  /**
   * Release addresses (§2.9), one result per item. Each block is one CAS of block + affected
   * handles. A stale sequence number or wrong handle refuses every address of that block.
   */
  async releaseIPs(items: readonly ReleaseItem[]): Promise<ReleaseItemResult[]> {
    const results = new Map<number, ReleaseItemResult>();
    const byBlock = new Map<string, { cidr: CIDR; idx: number[]; reqs: ReleaseRequest[] }>();
    let pools: IPAMPool[] | undefined;
    for (const [i, item] of items.entries()) {
      const ip = tryParseIP(item.ip);
      if (ip === undefined) {
        results.set(i, { ip: item.ip, status: 'error', message: `ip: ${quote(item.ip)} is not a valid IP address` });
        continue;
      }
      let seq: bigint | undefined;
      try {
        seq = parseSeq(item.sequenceNumber);
      } catch (e) {
        results.set(i, { ip: item.ip, status: 'error', message: (e as Error).message });
        continue;
      }
      if (pools === undefined) {
        pools = await this.resources.listPools();
        this.roundTrips++;
      }
      const cidr = await this.#findBlockFor(ip, pools);
      if (cidr === undefined) {
        results.set(i, { ip: item.ip, status: 'unallocated' });
        continue;
      }
      const k = blockKey(cidr);
      let g = byBlock.get(k);
      if (g === undefined) byBlock.set(k, (g = { cidr, idx: [], reqs: [] }));
      g.idx.push(i);
      g.reqs.push({
        ordinal: Number(ip.value - cidr.network),
        ...(item.handleId !== undefined ? { handleId: item.handleId } : {}),
        ...(seq !== undefined ? { sequenceNumber: seq } : {}),
      });
    }
    const cfg = byBlock.size > 0 ? await this.getConfig() : undefined;
    for (const [key, g] of byBlock) {
      try {
        const outcomes = await this.#releaseInBlock(key, g.reqs, cfg ?? parseIPAMConfig(undefined));
        g.idx.forEach((i, j) => results.set(i, { ip: items[i]?.ip ?? '', status: outcomes[j] ?? 'unallocated' }));
      } catch (e) {
        if (!isTricolorError(e)) throw e;
        for (const i of g.idx) results.set(i, { ip: items[i]?.ip ?? '', status: 'error', message: e.message });
      }
    }
    return items.map((it, i) => results.get(i) ?? { ip: it.ip, status: 'unallocated' });
  }

  async #releaseInBlock(key: string, reqs: readonly ReleaseRequest[], cfg: IPAMConfig): Promise<('released' | 'unallocated')[]> {
    let kv = await this.#get(key);
    const handles = new Map<string, KeyValue | undefined>();
    for (let attempt = 0; attempt < this.#maxRetries; attempt++) {
      if (kv === undefined) return reqs.map(() => 'unallocated');
      const b = collectCooldown(parseBlock(kv.value, kv.key), cfg.ipCooldownSeconds, this.#now());
      if (b.deleted) return reqs.map(() => 'unallocated');
      const res = releaseInBlock(b, reqs, { seconds: cfg.ipCooldownSeconds, now: this.#nowIso() });
      if (res.handles.size === 0 && !res.outcomes.includes('released')) return [...res.outcomes];
      for (const h of res.handles.keys()) if (!handles.has(h)) handles.set(h, await this.#get(handleKey(h)));
      const r = await this.#writeRelease(kv, res.block, res.handles, handles);
      if (r.succeeded) return [...res.outcomes];
      kv = r.current.get(key);
      for (const h of res.handles.keys()) handles.set(h, r.current.get(handleKey(h)));
      await this.#backoff(attempt);
    }
    throw maxRetriesError(`releasing from ${key}`);
  }

  /** One CAS: the block (deleted when empty and not affine) and each handle's new count. */
  async #writeRelease(
    kv: KeyValue,
    block: AllocationBlock,
    released: ReadonlyMap<string, number>,
    handles: ReadonlyMap<string, KeyValue | undefined>,
    dropBlockFromHandle = false,
  ): Promise<TxnResult> {
    const compares: TxnCompare[] = [{ key: kv.key, modRevision: kv.modRevision }];
    const ops: TxnOp[] = [];
    if (isEmptyBlock(block) && block.affinity === null) ops.push({ op: 'delete', key: kv.key });
    else ops.push({ op: 'put', key: kv.key, value: serializeBlock(bumpSequence(block)) });
    const c = formatCIDR(block.cidr);
    for (const [id, n] of released) {
      const hk = handleKey(id);
      const cur = handles.get(id);
      compares.push({ key: hk, modRevision: cur?.modRevision ?? 0 });
      if (cur === undefined) continue;
      const h = parseHandle(cur.value);
      const next = dropBlockFromHandle ? adjustHandle(h, c, -(h.block[c] ?? 0)) : adjustHandle(h, c, -n);
      ops.push(next === undefined ? { op: 'delete', key: hk } : { op: 'put', key: hk, value: serializeHandle(next) });
    }
    return this.#txn(compares, ops);
  }

  /** Release every address a handle holds (§2.9); returns them. A missing handle is success. */
  async releaseByHandle(handleId: string): Promise<string[]> {
    const hKey = handleKey(handleId);
    let hkv = await this.#get(hKey);
    const out: string[] = [];
    const cfg = await this.getConfig();
    for (let guard = 0; hkv !== undefined && guard < this.#maxRetries * 4; guard++) {
      const h = parseHandle(hkv.value);
      const c = Object.keys(h.block)[0];
      if (c === undefined) {
        const r = await this.#txn([{ key: hKey, modRevision: hkv.modRevision }], [{ op: 'delete', key: hKey }]);
        hkv = r.succeeded ? undefined : r.current.get(hKey);
        continue;
      }
      const bKey = blockKey(parseCIDR(c));
      const kv = await this.#get(bKey);
      if (kv === undefined) {
        // the handle counts addresses in a block that no longer exists: drop that entry
        const next = adjustHandle(h, c, -(h.block[c] ?? 0));
        const r = await this.#txn([{ key: hKey, modRevision: hkv.modRevision }, { key: bKey, modRevision: 0 }], [next === undefined ? { op: 'delete', key: hKey } : { op: 'put', key: hKey, value: serializeHandle(next) }]);
        hkv = r.succeeded ? (next === undefined ? undefined : { ...hkv, value: serializeHandle(next), modRevision: r.revision }) : await this.#get(hKey);
        continue;
      }
      const b = collectCooldown(parseBlock(kv.value, kv.key), cfg.ipCooldownSeconds, this.#now());
      const ords = ordinalsForHandle(b, handleId);
      const res = releaseInBlock(b, ords.map((o) => ({ ordinal: o, handleId })), { seconds: cfg.ipCooldownSeconds, now: this.#nowIso() });
      const r = await this.#writeRelease(kv, res.block, new Map([[handleId, ords.length]]), new Map([[handleId, hkv]]), true);
      if (r.succeeded) {
        for (const o of ords) out.push(formatIP(ipAt(b, o)));
        hkv = await this.#get(hKey);
      } else {
        hkv = r.current.get(hKey);
        await this.#backoff(guard);
      }
    }
    return out;
  }

  // --- affinities --------------------------------------------------------------------------

  /**
   * Give up `host`'s affinity for a block (§2.5 release) in one CAS: an empty block is deleted,
   * a non-empty one keeps its allocations but loses its affinity (it can then be borrowed from).
   * `blockRevision` makes it conditional on the block being unchanged since the caller read it.
   */
  async releaseAffinity(host: string, cidr: CIDR, opts: { mustBeEmpty?: boolean; blockRevision?: number } = {}): Promise<AffinityReleaseOutcome> {
    const aKey = affinityKey(host, cidr);
    const bKey = blockKey(cidr);
    const mine = hostAffinity(host);
    for (let attempt = 0; attempt < this.#maxRetries; attempt++) {
      const aff = await this.#get(aKey);
      const blk = await this.#get(bKey);
      if (blk !== undefined && opts.blockRevision !== undefined && blk.modRevision !== opts.blockRevision) return 'conflict';
      if (blk === undefined) {
        if (aff === undefined) return 'absent';
        const r = await this.#txn([{ key: aKey, modRevision: aff.modRevision }, { key: bKey, modRevision: 0 }], [{ op: 'delete', key: aKey }]);
        if (r.succeeded) return 'released';
        continue;
      }
      const b = parseBlock(blk.value, blk.key);
      if (b.affinity !== mine) {
        if (aff !== undefined) await this.#txn([{ key: aKey, modRevision: aff.modRevision }], [{ op: 'delete', key: aKey }]);
        return 'conflict';
      }
      const empty = isEmptyBlock(b);
      if (opts.mustBeEmpty === true && !empty) return 'not-empty';
      const { affinityClaimTime: _drop, ...rest } = b;
      const ops: TxnOp[] = [empty ? { op: 'delete', key: bKey } : { op: 'put', key: bKey, value: serializeBlock(bumpSequence({ ...rest, affinity: null })) }];
      if (aff !== undefined) ops.push({ op: 'delete', key: aKey });
      const r = await this.#txn(
        [
          { key: bKey, modRevision: blk.modRevision },
          { key: aKey, modRevision: aff?.modRevision ?? 0 },
        ],
        ops,
      );
      if (r.succeeded) return 'released';
      if (opts.blockRevision !== undefined) return 'conflict';
      await this.#backoff(attempt);
    }
    throw maxRetriesError(`releasing affinity of ${formatCIDR(cidr)}`);
  }
}

function reservedCheck(block: CIDR, reserved: readonly CIDR[]): IsReserved {
  const touching = reservationsTouching(block, reserved);
  if (touching.length === 0) return () => false;
  return (ip) => touching.some((c) => cidrContainsIP(c, ip));
}
