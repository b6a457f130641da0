// Leak detection for the controllers (node contract §2.12). An allocation is only released when
// it was seen leaked in two passes at least a grace period apart, every allocation of its handle
// is a confirmed leak (all or nothing per handle), it is still leaked when re-checked right
// before the release, and the release carries the sequence number and handle it was observed
// with, so an address re-allocated in between is never freed (Calico #5044, #3940).
// Empty affine blocks are handed back after two consecutive empty observations, never the
// node's last block; blocks of nodes that are gone lose their affinity.

import type { IPAMClient } from './ipam-client.ts';
import { type Allocation, allocationsOf, buildOwnerIndex, classify } from './check.ts';
import { affinityHost, isEmptyBlock } from './model.ts';
import { formatCIDR } from '../net/index.ts';

export interface LeakDetectorOptions {
  readonly client: IPAMClient;
  /** Minimum time between first and confirming observation (Calico default 15 min). */
  readonly gracePeriodMs: number;
  readonly now?: () => number;
  /** Bound on releases per pass; the rest roll over to the next pass. */
  readonly maxReleasesPerPass?: number;
}

export interface LeakPassResult {
  /** Leaked allocations seen this pass (first sighting or confirmed). */
  readonly candidates: number;
  readonly confirmed: number;
  readonly released: readonly string[];
  /** Confirmed leaks held back: handle not wholly leaked, or owner reappeared on re-check. */
  readonly skipped: number;
  readonly releasedBlocks: readonly string[];
}

interface Candidate {
  readonly firstSeenMs: number;
  seenPasses: number;
}

function keyOf(a: Allocation): string {
  return `${a.ip}|${a.sequenceNumber}|${a.handleId ?? ''}`;
}

export class LeakDetector {
  readonly #client: IPAMClient;
  readonly #grace: number;
  readonly #now: () => number;
  readonly #max: number;
  readonly #candidates = new Map<string, Candidate>();
  readonly #emptySeen = new Map<string, number>();

  constructor(opts: LeakDetectorOptions) {
    this.#client = opts.client;
    this.#grace = opts.gracePeriodMs;
    this.#now = opts.now ?? Date.now;
    this.#max = opts.maxReleasesPerPass ?? 10_000;
  }

  async pass(): Promise<LeakPassResult> {
    const now = this.#now();
    const r = this.#client.resources;
    const [blocks, nodes, weps] = await Promise.all([this.#client.listBlocks(), r.listNodes(), r.listWorkloadEndpoints()]);
    const idx = buildOwnerIndex(nodes, weps);
    const allocs = blocks.flatMap(allocationsOf);
    const leaked = new Map<string, Allocation>();
    for (const a of allocs) if (classify(a, idx).kind === 'leak') leaked.set(keyOf(a), a);
    for (const k of [...this.#candidates.keys()]) if (!leaked.has(k)) this.#candidates.delete(k);
    const confirmed: Allocation[] = [];
    for (const [k, a] of leaked) {
      const c = this.#candidates.get(k);
      if (c === undefined) {
        this.#candidates.set(k, { firstSeenMs: now, seenPasses: 1 });
        continue;
      }
      c.seenPasses++;
      if (now - c.firstSeenMs >= this.#grace) confirmed.push(a);
    }
    // all or nothing per handle
    const confirmedKeys = new Set(confirmed.map(keyOf));
    const byHandle = new Map<string, Allocation[]>();
    for (const a of allocs) {
      if (a.handleId === undefined || a.inCooldown) continue;
      const l = byHandle.get(a.handleId) ?? [];
      l.push(a);
      byHandle.set(a.handleId, l);
    }
    let skipped = 0;
    const toRelease: Allocation[] = [];
    for (const a of confirmed) {
      const siblings = a.handleId === undefined ? [a] : (byHandle.get(a.handleId) ?? [a]);
      if (siblings.every((s) => confirmedKeys.has(keyOf(s)))) toRelease.push(a);
      else skipped++;
    }
    const released: string[] = [];
    if (toRelease.length > 0) {
      // re-validate against fresh state immediately before releasing
      const fresh = buildOwnerIndex(await r.listNodes(), await r.listWorkloadEndpoints());
      const still = toRelease.filter((a) => classify(a, fresh).kind === 'leak');
      skipped += toRelease.length - still.length;
      const batch = still.slice(0, this.#max);
      const results = await this.#client.releaseIPs(
        batch.map((a) => ({ ip: a.ip, sequenceNumber: a.sequenceNumber, ...(a.handleId !== undefined ? { handleId: a.handleId } : {}) })),
      );
      results.forEach((res, i) => {
        const a = batch[i];
        if (a === undefined) return;
        // A refused release (the block's CAS saw one of its addresses re-allocated meanwhile,
        // which refuses every address of that block) keeps the sighting: the next pass re-checks
        // and releases what is still leaked, instead of waiting out another grace period.
        if (res.status !== 'error') this.#candidates.delete(keyOf(a));
        if (res.status === 'released') released.push(a.ip);
        else skipped++;
      });
    }

    // empty affine blocks: two consecutive empty sightings, never a live node's only block
    const releasedBlocks: string[] = [];
    const blocksPerHost = new Map<string, number>();
    for (const b of blocks) {
      const h = affinityHost(b.block.affinity);
      if (h !== undefined) blocksPerHost.set(h, (blocksPerHost.get(h) ?? 0) + 1);
    }
    const seenNow = new Set<string>();
    for (const b of blocks) {
      const host = affinityHost(b.block.affinity);
      if (host === undefined) continue;
      const c = formatCIDR(b.block.cidr);
      const nodeGone = !idx.nodes.has(host);
      if (!isEmptyBlock(b.block)) {
        if (nodeGone && this.#emptySeen.has(`gone|${c}`)) {
          // a gone node's non-empty block: drop the affinity, keep the allocations (borrowable)
          if ((await this.#client.releaseAffinity(host, b.block.cidr, { blockRevision: b.kv.modRevision })) === 'released') releasedBlocks.push(c);
        } else if (nodeGone) seenNow.add(`gone|${c}`);
        continue;
      }
      const k = `${c}|${b.kv.modRevision}`;
      seenNow.add(k);
      if (!this.#emptySeen.has(k)) continue;
      if (!nodeGone && (blocksPerHost.get(host) ?? 0) <= 1) continue;
      const out = await this.#client.releaseAffinity(host, b.block.cidr, { mustBeEmpty: true, blockRevision: b.kv.modRevision });
      if (out === 'released') {
        releasedBlocks.push(c);
        blocksPerHost.set(host, (blocksPerHost.get(host) ?? 1) - 1);
      }
    }
    this.#emptySeen.clear();
    for (const k of seenNow) this.#emptySeen.set(k, now);
    return { candidates: leaked.size, confirmed: confirmed.length, released, skipped, releasedBlocks };
  }
}
