// Desired dataplane state → an ordered list of bpftool map writes, and the agent's record of what
// the kernel holds (pure: no I/O). The order is the update protocol of docs/design/bpf.md:
//
//   1. IP set members added (new sets get fresh numeric ids);
//   2. changed policy/profile blocks written into FREE rule regions, then their slot flipped
//      (`tri1_pol[slot] = {base,len}`: one hash update, atomic for a packet);
//   3. changed endpoint programs written into free regions, then the interface flipped
//      (`tri1_ifs[ifindex]`: one hash update);
//   4. only then: members removed, vanished interfaces, slots and sets deleted.
//
// A prefix of the batch therefore never leaves a packet looking at a half-written program: every
// region it can reach is either the old one (still intact: freed regions are reused only by a
// later batch) or the complete new one. After a failed batch, or on start-up with state left by
// an earlier agent, `adopt()` takes the kernel's live slots and interfaces as garbage to replace:
// the next plan renders everything with fresh ids into free space, flips, then deletes the old.

import { TricolorError } from '../../base/index.ts';
import type { DataplaneState } from '../dataplane-state.ts';
import { MAP_SIZES, ONE_U32, IF_F_WORKLOAD, POL_NONE, cidrWords, ifValue, ipportKey, polValue, ruleOpValue, setKey, u32Key } from './encoding.ts';
import type { IfValue, MapName } from './encoding.ts';
import { compileBlock, compileEndpoint, place } from './policy-compiler.ts';
import type { RelOp } from './policy-compiler.ts';

/** A contiguous run of rule indexes. */
interface Region {
  readonly base: number;
  readonly len: number;
}

/** First-fit allocator over the rules array with coalescing frees. */
export class RegionAllocator {
  private free: { base: number; len: number }[];
  readonly size: number;
  constructor(size: number) {
    this.size = size;
    this.free = [{ base: 0, len: size }];
  }
  alloc(len: number): Region {
    const i = this.free.findIndex((f) => f.len >= len);
    const f = this.free[i];
    if (f === undefined) {
      throw new TricolorError('ERR_BPF_MAP_FULL', `bpf: the rules map is full (${this.size} ops): cannot place ${len} more; the previous policy stays in force`, {
        detail: { map: 'tri1_rules', size: this.size, wanted: len },
      });
    }
    const r = { base: f.base, len };
    if (f.len === len) this.free.splice(i, 1);
    else this.free[i] = { base: f.base + len, len: f.len - len };
    return r;
  }
  release(r: Region): void {
    if (r.len === 0) return;
    let i = this.free.findIndex((f) => f.base > r.base);
    if (i < 0) i = this.free.length;
    this.free.splice(i, 0, { base: r.base, len: r.len });
    // merge with neighbours
    const merged: { base: number; len: number }[] = [];
    for (const f of this.free) {
      const last = merged[merged.length - 1];
      if (last !== undefined && last.base + last.len === f.base) last.len += f.len;
      else merged.push({ ...f });
    }
    this.free = merged;
  }
  /** Mark a region as in use (adopting a live region found in the kernel). */
  reserve(r: Region): void {
    if (r.len === 0) return;
    const i = this.free.findIndex((f) => f.base <= r.base && f.base + f.len >= r.base + r.len);
    const f = this.free[i];
    if (f === undefined) return; // overlapping or already reserved: nothing to do
    const parts = [
      { base: f.base, len: r.base - f.base },
      { base: r.base + r.len, len: f.base + f.len - (r.base + r.len) },
    ].filter((p) => p.len > 0);
    this.free.splice(i, 1, ...parts);
  }
  get freeOps(): number {
    return this.free.reduce((n, f) => n + f.len, 0);
  }
}

interface SetBelief {
  readonly id: number;
  readonly type: 'net' | 'ip-port';
  /** member key → the map key (hex) */
  readonly members: Map<string, string>;
}

interface BlockBelief {
  readonly slot: number;
  readonly region: Region;
  readonly hash: string;
}

interface EndpointBelief {
  readonly key: string;
  readonly value: IfValue;
  readonly inRegion: Region;
  readonly outRegion: Region;
  readonly inHash: string;
  readonly outHash: string;
}

/** One bpftool command, still relative to the map directory. */
export interface MapCommand {
  readonly op: 'update' | 'delete';
  readonly map: MapName;
  readonly key: string;
  readonly value?: string;
}

export function commandText(c: MapCommand, pathOf: (m: MapName) => string): string {
  return c.op === 'update' ? `map update pinned ${pathOf(c.map)} key ${c.key} value ${c.value ?? ''}` : `map delete pinned ${pathOf(c.map)} key ${c.key}`;
}

export interface Plan {
  readonly commands: readonly MapCommand[];
  /** Counts for logs and metrics. */
  readonly stats: { sets: number; members: number; blocks: number; endpoints: number; ops: number };
}

/** What a kernel dump shows (for adopt). */
export interface KernelView {
  readonly ifs: ReadonlyMap<number, IfValue>;
  readonly pol: ReadonlyMap<number, Region>;
  /** Every set-member key present (hex, as commandText needs), by map. */
  readonly setKeys: readonly string[];
  readonly ipportKeys: readonly string[];
  readonly maxSetId: number;
}

const blockHash = (ops: readonly RelOp[]): string => ops.map((o) => `${o.code},${o.ok},${o.fail},${o.a},${o.b}`).join(';');

export class BpfProgrammer {
  private alloc = new RegionAllocator(MAP_SIZES.rules);
  private sets = new Map<string, SetBelief>();
  private blocks = new Map<string, BlockBelief>();
  private eps = new Map<number, EndpointBelief>();
  private nextSetId = 1;
  private nextSlot = 1;
  private nextEpId = 1;
  /** Left by an earlier agent or a failed batch: deleted by the next plan once replaced. */
  private garbage: { ifs: Set<number>; pol: Set<number>; setKeys: Set<string>; ipportKeys: Set<string>; regions: Region[] } = {
    ifs: new Set(),
    pol: new Set(),
    setKeys: new Set(),
    ipportKeys: new Set(),
    regions: [],
  };
  private pending: (() => void) | undefined;

  /** Forget our record and treat everything the kernel holds as garbage to replace. */
  adopt(k: KernelView): void {
    this.alloc = new RegionAllocator(MAP_SIZES.rules);
    const regions: Region[] = [];
    for (const [, v] of k.ifs) {
      if (v.ingress !== POL_NONE) regions.push({ base: v.ingress, len: v.ingressLen });
      if (v.egress !== POL_NONE) regions.push({ base: v.egress, len: v.egressLen });
    }
    for (const [, r] of k.pol) regions.push(r);
    for (const r of regions) this.alloc.reserve(r);
    this.garbage = { ifs: new Set(k.ifs.keys()), pol: new Set(k.pol.keys()), setKeys: new Set(k.setKeys), ipportKeys: new Set(k.ipportKeys), regions };
    this.nextSetId = Math.max(this.nextSetId, k.maxSetId + 1);
    this.nextSlot = Math.max(this.nextSlot, ...[...k.pol.keys()].map((s) => s + 1));
    this.nextEpId = Math.max(this.nextEpId, ...[...k.ifs.values()].map((v) => v.id + 1));
    this.sets.clear();
    this.blocks.clear();
    this.eps.clear();
    this.pending = undefined;
  }

  /** Numeric id of an IP set as programmed (for dumps). */
  setNumber(id: string): number | undefined {
    return this.sets.get(id)?.id;
  }
  get setNumbers(): ReadonlyMap<string, number> {
    return new Map([...this.sets].map(([k, v]) => [k, v.id]));
  }
  get blockSlots(): ReadonlyMap<string, number> {
    return new Map([...this.blocks].map(([k, v]) => [k, v.slot]));
  }
  get freeRuleOps(): number {
    return this.alloc.freeOps;
  }
  /** Differences between the kernel and our record (interface entries and policy slots). */
  drift(k: KernelView): string[] {
    const out: string[] = [];
    for (const [ifindex, e] of this.eps) {
      const v = k.ifs.get(ifindex);
      if (v === undefined) out.push(`interface ${ifindex}: entry missing`);
      else if (v.ingress !== e.value.ingress || v.egress !== e.value.egress) out.push(`interface ${ifindex}: points elsewhere`);
    }
    for (const ifindex of k.ifs.keys()) if (!this.eps.has(ifindex) && !this.garbage.ifs.has(ifindex)) out.push(`interface ${ifindex}: not ours`);
    for (const [bk, b] of this.blocks) {
      const v = k.pol.get(b.slot);
      if (v === undefined) out.push(`${bk}: slot ${b.slot} missing`);
      else if (v.base !== b.region.base) out.push(`${bk}: slot ${b.slot} points elsewhere`);
    }
    return out;
  }

  /** Interfaces whose endpoint programs are in force (per our record). */
  programmedInterfaces(): IterableIterator<number> {
    return this.eps.keys();
  }
  get endpointCount(): number {
    return this.eps.size;
  }

  /**
   * Plan the writes that take the kernel from our record to `state`. `ifindexOf` resolves a
   * workload's interface (undefined: not present, the endpoint is not programmed yet).
   * Call `commit()` after the batch succeeded, `adopt()` after it failed.
   */
  plan(state: DataplaneState, ifindexOf: (iface: string) => number | undefined): Plan {
    const cmds: MapCommand[] = [];
    const late: MapCommand[] = [];
    const frees: Region[] = [];
    const newSets = new Map(this.sets);
    const newBlocks = new Map<string, BlockBelief>();
    const newEps = new Map<number, EndpointBelief>();
    let nextSetId = this.nextSetId;
    let nextSlot = this.nextSlot;
    let nextEpId = this.nextEpId;
    let members = 0;
    let opsWritten = 0;
    const allocated: Region[] = [];
    const take = (len: number): Region => {
      const r = this.alloc.alloc(len);
      allocated.push(r);
      return r;
    };
    try {
      // 1. IP sets
      for (const [id, msg] of state.ipsets) {
        const prev = newSets.get(id);
        const belief: SetBelief = prev !== undefined && prev.type === msg.ipsetType ? { ...prev, members: new Map(prev.members) } : { id: nextSetId++, type: msg.ipsetType, members: new Map() };
        if (prev !== undefined && prev !== belief && prev.type !== msg.ipsetType) for (const k of prev.members.values()) late.push({ op: 'delete', map: prev.type === 'net' ? 'sets' : 'ipport', key: k });
        const want = new Map<string, string>();
        if (msg.ipsetType === 'net') {
          for (const m of msg.members) if (!m.includes(':')) want.set(m, setKey(belief.id, normCidr(m)));
        } else {
          for (const m of msg.members) if (!m.ip.includes(':')) want.set(`${m.ip}|${m.protocol}|${m.port}`, ipportKey(belief.id, m.ip, m.protocol, m.port));
        }
        const map: MapName = msg.ipsetType === 'net' ? 'sets' : 'ipport';
        for (const [mk, key] of want) {
          if (belief.members.has(mk)) continue;
          cmds.push({ op: 'update', map, key, value: ONE_U32 });
          belief.members.set(mk, key);
          members++;
        }
        for (const [mk, key] of [...belief.members]) {
          if (want.has(mk)) continue;
          late.push({ op: 'delete', map, key });
          belief.members.delete(mk);
        }
        newSets.set(id, belief);
      }
      for (const [id, s] of this.sets) {
        if (state.ipsets.has(id)) continue;
        for (const key of s.members.values()) late.push({ op: 'delete', map: s.type === 'net' ? 'sets' : 'ipport', key });
        newSets.delete(id);
      }
      const setCtx = { setId: (id: string) => newSets.get(id)?.id };

      // 2. policy and profile blocks
      const blockSources: [string, readonly import('../../calc/index.ts').RuleIR[]][] = [];
      for (const [k, p] of state.policies) blockSources.push([`p|in|${k}`, p.rules.inbound], [`p|out|${k}`, p.rules.outbound]);
      for (const [k, p] of state.profiles) blockSources.push([`r|in|${k}`, p.rules.inbound], [`r|out|${k}`, p.rules.outbound]);
      const blockWrites: MapCommand[] = [];
      const slotFlips: MapCommand[] = [];
      for (const [bk, rules] of blockSources) {
        const ops = compileBlock(rules, setCtx);
        const hash = blockHash(ops);
        const prev = this.blocks.get(bk);
        if (prev !== undefined && prev.hash === hash) {
          newBlocks.set(bk, prev);
          continue;
        }
        const region = take(ops.length);
        place(ops, region.base).forEach((op, i) => blockWrites.push({ op: 'update', map: 'rules', key: u32Key(region.base + i), value: ruleOpValue(op) }));
        opsWritten += ops.length;
        const slot = prev?.slot ?? nextSlot++;
        slotFlips.push({ op: 'update', map: 'pol', key: u32Key(slot), value: polValue(region.base, region.len) });
        if (prev !== undefined) frees.push(prev.region);
        newBlocks.set(bk, { slot, region, hash });
      }
      cmds.push(...blockWrites, ...slotFlips);
      for (const [bk, b] of this.blocks) {
        if (newBlocks.has(bk)) continue;
        late.push({ op: 'delete', map: 'pol', key: u32Key(b.slot) });
        frees.push(b.region);
      }
      const epCtx = {
        policySlot: (k: string, dir: 'in' | 'out') => newBlocks.get(`p|${dir}|${k}`)?.slot,
        profileSlot: (k: string, dir: 'in' | 'out') => newBlocks.get(`r|${dir}|${k}`)?.slot,
      };

      // 3. endpoint programs
      const epWrites: MapCommand[] = [];
      const ifFlips: MapCommand[] = [];
      const claimed = new Map<number, string>();
      for (const [key, w] of [...state.workloads].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        if (w.interfaceName === undefined) continue;
        const ifindex = ifindexOf(w.interfaceName);
        if (ifindex === undefined) continue;
        claimed.set(ifindex, key); // two endpoints on one interface: the later key wins, as nft
      }
      for (const [ifindex, key] of claimed) {
        const w = state.workloads.get(key);
        if (w === undefined) continue;
        const inOps = compileEndpoint(w.tiers, w.profileIds, 'in', epCtx);
        const outOps = compileEndpoint(w.tiers, w.profileIds, 'out', epCtx);
        const inHash = blockHash(inOps);
        const outHash = blockHash(outOps);
        const prev = this.eps.get(ifindex);
        if (prev !== undefined && prev.key === key && prev.inHash === inHash && prev.outHash === outHash) {
          newEps.set(ifindex, prev);
          continue;
        }
        const write = (ops: RelOp[]): Region => {
          const r = take(ops.length);
          place(ops, r.base).forEach((op, i) => epWrites.push({ op: 'update', map: 'rules', key: u32Key(r.base + i), value: ruleOpValue(op) }));
          opsWritten += ops.length;
          return r;
        };
        const inRegion = prev !== undefined && prev.inHash === inHash ? prev.inRegion : write(inOps);
        const outRegion = prev !== undefined && prev.outHash === outHash ? prev.outRegion : write(outOps);
        if (prev !== undefined) {
          if (prev.inRegion !== inRegion) frees.push(prev.inRegion);
          if (prev.outRegion !== outRegion) frees.push(prev.outRegion);
        }
        const value: IfValue = {
          flags: IF_F_WORKLOAD,
          ingress: inRegion.base,
          egress: outRegion.base,
          ingressLen: inRegion.len,
          egressLen: outRegion.len,
          id: prev?.value.id ?? nextEpId++,
        };
        ifFlips.push({ op: 'update', map: 'ifs', key: u32Key(ifindex), value: ifValue(value) });
        newEps.set(ifindex, { key, value, inRegion, outRegion, inHash, outHash });
      }
      cmds.push(...epWrites, ...ifFlips);
      for (const [ifindex, e] of this.eps) {
        if (newEps.has(ifindex)) continue;
        late.push({ op: 'delete', map: 'ifs', key: u32Key(ifindex) });
        frees.push(e.inRegion, e.outRegion);
      }

      // 4. garbage left by an earlier agent / failed batch: everything not re-rendered
      const g = this.garbage;
      for (const ifindex of g.ifs) if (!newEps.has(ifindex)) late.push({ op: 'delete', map: 'ifs', key: u32Key(ifindex) });
      const liveSlots = new Set([...newBlocks.values()].map((b) => b.slot));
      for (const slot of g.pol) if (!liveSlots.has(slot)) late.push({ op: 'delete', map: 'pol', key: u32Key(slot) });
      for (const k of g.setKeys) late.push({ op: 'delete', map: 'sets', key: k });
      for (const k of g.ipportKeys) late.push({ op: 'delete', map: 'ipport', key: k });
      frees.push(...g.regions);
    } catch (e) {
      for (const r of allocated) this.alloc.release(r);
      throw e;
    }
    cmds.push(...late);
    const sets = newSets;
    this.pending = () => {
      this.sets = sets;
      this.blocks = newBlocks;
      this.eps = newEps;
      this.nextSetId = nextSetId;
      this.nextSlot = nextSlot;
      this.nextEpId = nextEpId;
      this.garbage = { ifs: new Set(), pol: new Set(), setKeys: new Set(), ipportKeys: new Set(), regions: [] };
      for (const r of frees) this.alloc.release(r);
    };
    return { commands: cmds, stats: { sets: newSets.size, members, blocks: newBlocks.size, endpoints: newEps.size, ops: opsWritten } };
  }

  /** The planned batch ran completely: make it our record. */
  commit(): void {
    this.pending?.();
    this.pending = undefined;
  }
}

/** Canonical CIDR text (host bits cleared) for an IPv4 member. */
function normCidr(m: string): string {
  const { len } = cidrWords(m);
  const ip = m.split('/')[0] ?? m;
  return `${ip}/${len}`;
}
