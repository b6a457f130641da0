// The eBPF dataplane's apply loop (docs/design/bpf.md): the same calc messages and DataplaneState
// as the nftables dataplane, programmed as BPF maps behind tc programs on every workload interface.
//
// One apply: list the node's links → attach the two programs (clsact, `tc filter replace`, which
// swaps atomically and is idempotent) to every workload-prefixed interface, known or not (an
// unknown one drops everything) → one `bpftool batch` of the programmer's prefix-safe writes →
// the small `inet tricolor-bpf` nft table (attach-gap guard, workload→host action, natOutgoing)
// with the ready interfaces → on the first success, the nftables dataplane's `inet tricolor`
// table is deleted (a node switched from nft keeps double enforcement until BPF is in force).
//
// A failed batch leaves a safe prefix applied; the loop re-reads the kernel's maps (adopt), and
// the retry renders everything fresh into free space before flipping. Pins live on a per-node
// bpffs, so a restarted (even SIGKILLed) agent adopts the maps and attached programs: traffic
// never stops, and the first apply replaces the old agent's state without a window.

import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { RunOnceScheduler, TricolorError } from '../../../base/index.ts';
import type { CalcMessage } from '../../../calc/index.ts';
import type { ApplyStep } from '../../apply-loop.ts';
import type { DataplaneCounters, DataplaneOptions, ResyncReport } from '../../dataplane.ts';
import { LoopDataplane, type DataplaneStatusDetail } from '../../loop-dataplane.ts';
import { runCommand, runCommandRaw } from '../../io/exec.ts';
import type { RunOptions } from '../../io/exec.ts';
import { BpfProgrammer, commandText } from '../bpf-programmer.ts';
import type { KernelView } from '../bpf-programmer.ts';
import { BPF_NFT_TABLE, renderBpfNftTable } from '../bpf-nft-table.ts';
import { COUNTERS, MAPS, MAP_SIZES, cfgValue, decodeIf, decodePol, decodeSetKey, decodeIpportKey, u32Key } from '../encoding.ts';
import type { ConntrackTimeouts, CounterName, IfValue } from '../encoding.ts';
import { bpftoolBatch, bpftoolBatchOk, dumpEntries, sumPerCpu } from './bpftool.ts';
import { lastGoodObjects, loadObjects, mountBpffs } from './bpf-loader.ts';
import type { LoadedObjects } from './bpf-loader.ts';

/** Calico's bpfConntrackTimeouts defaults (TCPFinsSeen "Auto" = the kernel's time_wait, 120 s). */
export const DEFAULT_CT_TIMEOUTS: ConntrackTimeouts = {
  tcpSynSent: 20,
  tcpEstablished: 3600,
  tcpFinsSeen: 120,
  tcpResetSeen: 40,
  udp: 60,
  generic: 600,
  icmp: 5,
};

/** Maps whose fill is reported (felix_bpf_map_entries); the config and counter arrays are fixed. */
const FILL_MAPS = ['ct', 'ifs', 'rules', 'pol', 'sets', 'ipport', 'natFe', 'natBe', 'natAff'] as const;
const FILL_INTERVAL_MS = 5000;

export interface BpfDataplaneOptions extends DataplaneOptions {
  /** The node's own bpffs mount point (created and mounted if needed). */
  readonly bpffsDir?: string;
  readonly conntrackTimeouts?: ConntrackTimeouts;
  /** Delete the nftables dataplane's table once BPF is in force (default true). */
  readonly removeNftTable?: boolean;
}

/** Where pins go when the agent is not told: a bpffs of our own, never the host's /sys/fs/bpf. */
export const DEFAULT_BPFFS_DIR = '/var/run/tricolor/bpf';

export interface BpfStats {
  applies: number;
  failures: number;
  repairs: number;
  lastError: string | undefined;
  /** Map writes of the last apply. */
  lastCommands: number;
}

export class BpfDataplane extends LoopDataplane {
  readonly kind = 'bpf' as const;
  readonly programmer = new BpfProgrammer();
  readonly stats: BpfStats = { applies: 0, failures: 0, repairs: 0, lastError: undefined, lastCommands: 0 };
  private readonly opts: BpfDataplaneOptions;
  private readonly bpffsDir: string;
  private objs: LoadedObjects | undefined;
  /** ifindex → interface name with our programs attached. */
  private readonly attached = new Map<number, string>();
  private lastNft = '';
  private lastCfg = '';
  private nftRemoved = false;
  private needAdopt = true;
  /** Map fill from the kernel (status, felix_bpf_* metrics); refreshed after applies, throttled. */
  private mapFill: { name: string; entries: number; capacity: number }[] | undefined;
  /**
   * One read at a time, at most every FILL_INTERVAL_MS; one asked for too soon (or during a
   * read) runs when the interval has passed, so a change is never left uncounted.
   */
  private readonly fillReader = new RunOnceScheduler(() => this.readFill(), {
    delayMs: 0,
    minIntervalMs: FILL_INTERVAL_MS,
    unref: true,
    onError: () => undefined, // metrics only: the next apply or resync asks again
  });
  /** Why the programs in use are not the ones asked for (a refused object), if so. */
  private loadProblem: string | undefined;

  constructor(opts: BpfDataplaneOptions = {}) {
    super(opts);
    this.opts = opts;
    this.bpffsDir = opts.bpffsDir ?? DEFAULT_BPFFS_DIR;
  }

  protected async applyStep(): Promise<ApplyStep> {
    try {
      const r = await this.applyOnce();
      this.stats.applies++;
      return { operations: r.commands, detail: `${r.commands} bpf map writes, ${r.attached} interfaces` };
    } catch (e) {
      this.stats.failures++;
      this.stats.lastError = e instanceof Error ? e.message : String(e);
      throw e;
    }
  }

  private get run(): RunOptions {
    return this.opts.netnsPath === undefined ? {} : { netnsPath: this.opts.netnsPath };
  }

  /** Every batch schedules an apply, routing-only ones too (each apply also attaches the programs to workload interfaces that appeared). */
  override onMessages(msgs: Iterable<CalcMessage>): void {
    this.state.applyAll(msgs);
    this.loop.markDirty();
  }

  protected statusDetail(): DataplaneStatusDetail {
    return {
      ...(this.loadProblem === undefined ? {} : { problem: this.loadProblem }),
      ...(this.mapFill === undefined ? {} : { maps: this.mapFill }),
    };
  }

  counters(): DataplaneCounters {
    return { applies: this.stats.applies, failures: this.stats.failures, repairs: this.stats.repairs };
  }

  /**
   * Drift check: the kernel's interface entries and policy slots against our record. Any
   * difference (an entry deleted or rewritten behind our back) → adopt and re-apply everything
   * fresh, flip, delete the rest.
   */
  protected async resyncStep(): Promise<ResyncReport> {
    if (this.objs === undefined) return { drift: [], repaired: false };
    this.refreshFill();
    const k = await this.readKernel();
    const drift = this.programmer.drift(k);
    if (drift.length === 0) return { drift, repaired: false };
    this.programmer.adopt(k);
    this.needAdopt = false;
    await this.applyOnce();
    this.stats.repairs++;
    return { drift, repaired: true };
  }

  /**
   * Mount, load (or adopt) the programs and maps. When the kernel refuses the object (verifier,
   * loader) and an earlier agent left good programs pinned, those stay attached and in use, and
   * `status().problem` says why; with nothing to fall back on the error stands (nothing runs).
   */
  private async ensureLoaded(): Promise<LoadedObjects> {
    if (this.objs !== undefined) return this.objs;
    await mountBpffs(this.bpffsDir);
    try {
      this.objs = await loadObjects(this.bpffsDir, { ...this.run, ...(this.opts.bpfObject === undefined ? {} : { object: this.opts.bpfObject }) });
      this.loadProblem = undefined;
    } catch (e) {
      if (!(e instanceof TricolorError) || e.code !== 'ERR_BPF_LOAD') throw e;
      const good = lastGoodObjects(this.bpffsDir);
      if (good === undefined) throw e;
      this.loadProblem = `${e.message}\nrunning the last good programs (${basename(good.progDir)})`;
      this.objs = good;
    }
    return this.objs;
  }

  /** Read the kernel's live slots, interfaces and set members (start-up and after a failure). */
  async readKernel(): Promise<KernelView> {
    const o = await this.ensureLoaded();
    const out = await bpftoolBatchOk([`map dump pinned ${o.maps.ifs}`, `map dump pinned ${o.maps.pol}`, `map dump pinned ${o.maps.sets}`, `map dump pinned ${o.maps.ipport}`], this.run);
    const ifs = new Map<number, IfValue>(dumpEntries(out[0]).map((e) => [le32(e.key), decodeIf(e.value)]));
    const pol = new Map(dumpEntries(out[1]).map((e) => [le32(e.key), decodePol(e.value)]));
    const sets = dumpEntries(out[2]);
    const ipports = dumpEntries(out[3]);
    const hex = (b: number[]): string => 'hex ' + b.map((x) => x.toString(16).padStart(2, '0')).join(' ');
    const maxSetId = Math.max(0, ...sets.map((e) => decodeSetKey(e.key).set), ...ipports.map((e) => decodeIpportKey(e.key).set));
    return { ifs, pol, setKeys: sets.map((e) => hex(e.key)), ipportKeys: ipports.map((e) => hex(e.key)), maxSetId };
  }

  private async links(): Promise<Map<string, number>> {
    const raw = JSON.parse(await runCommand(['ip', '-j', 'link', 'show'], this.run)) as { ifname: string; ifindex: number }[];
    return new Map(raw.map((l) => [l.ifname, l.ifindex]));
  }

  private async applyOnce(): Promise<{ commands: number; attached: number }> {
    const o = await this.ensureLoaded();
    if (this.needAdopt) {
      this.programmer.adopt(await this.readKernel());
      this.needAdopt = false;
    }
    const links = await this.links();
    const prefixes = this.state.config.interfacePrefixes;
    const wl = [...links].filter(([n]) => prefixes.some((p) => n.startsWith(p)));
    // 1. programs on every workload-prefixed interface (new ones, and all after a restart)
    const toAttach = wl.filter(([n, i]) => this.attached.get(i) !== n);
    if (toAttach.length > 0) {
      const script = toAttach
        .flatMap(([n]) => [`qdisc replace dev ${n} clsact`, `filter replace dev ${n} ingress pref 1 handle 1 bpf da object-pinned ${o.fromWep}`, `filter replace dev ${n} egress pref 1 handle 1 bpf da object-pinned ${o.toWep}`])
        .join('\n');
      await runCommand(['tc', '-batch', '-'], { ...this.run, input: script + '\n' });
      for (const [n, i] of toAttach) this.attached.set(i, n);
    }
    for (const [i, n] of [...this.attached]) if (links.get(n) !== i) this.attached.delete(i);
    for (const dir of o.stale) rmSync(dir, { recursive: true, force: true }); // old program versions, now replaced

    // 2. maps: config, then the programmer's ordered writes
    const cfg = cfgValue(this.opts.conntrackTimeouts ?? DEFAULT_CT_TIMEOUTS);
    const plan = this.programmer.plan(this.state, (name) => links.get(name));
    const cmds = plan.commands.map((c) => commandText(c, (m) => o.maps[m]));
    if (cfg !== this.lastCfg) cmds.unshift(`map update pinned ${o.maps.cfg} key ${u32Key(0)} value ${cfg}`);
    const r = await bpftoolBatch(cmds, this.run);
    if (r.failedAt !== undefined) {
      this.needAdopt = true;
      const full = /No space left|Argument list too long|E2BIG|ENOSPC/i.test(r.error ?? '');
      throw new TricolorError(
        full ? 'ERR_BPF_MAP_FULL' : 'ERR_IO',
        `bpf: map write ${r.failedAt + 1} of ${cmds.length} failed: ${r.error ?? ''}; the ${r.failedAt} writes before it are in force (each a safe prefix), the rest is retried${full ? ': a map is full, new flows to the endpoints still being changed fail closed' : ''}`,
      );
    }
    this.programmer.commit();
    this.lastCfg = cfg;
    this.stats.lastCommands = cmds.length;

    // 3. nft: ready interfaces (programs attached and endpoint programmed)
    const ready = [...this.programmer.programmedInterfaces()].flatMap((i) => {
      const n = this.attached.get(i);
      return n === undefined ? [] : [n];
    });
    const text = renderBpfNftTable(this.state.config, ready);
    if (text !== this.lastNft) {
      await nftApply(text, this.run);
      this.lastNft = text;
    }
    if (!this.nftRemoved && (this.opts.removeNftTable ?? true)) {
      await runCommandRaw(['nft', 'delete', 'table', 'inet', 'tricolor'], this.run);
      this.nftRemoved = true;
    }
    this.refreshFill();
    return { commands: cmds.length, attached: this.attached.size };
  }

  /** Ask for a map-fill read (in the background, throttled by fillReader). */
  private refreshFill(): void {
    if (this.objs !== undefined) this.fillReader.schedule();
  }

  /**
   * Count the entries of every hash/LRU/LPM map (one bpftool call) for the map-fill metrics;
   * the rules array's fill is our allocator's.
   */
  private async readFill(): Promise<void> {
    const o = this.objs;
    if (o === undefined) return;
    const counted = FILL_MAPS.filter((m) => m !== 'rules');
    const out = await bpftoolBatchOk(counted.map((m) => `map dump pinned ${o.maps[m]}`), this.run);
    this.mapFill = FILL_MAPS.map((m) => ({
      name: MAPS[m],
      entries: m === 'rules' ? MAP_SIZES.rules - this.programmer.freeRuleOps : dumpEntries(out[counted.indexOf(m)]).length,
      capacity: MAP_SIZES[m],
    }));
  }

  /** Counters summed over CPUs, by name. */
  async packetCounters(): Promise<Map<CounterName, bigint>> {
    const o = await this.ensureLoaded();
    const out = await bpftoolBatchOk([`map dump pinned ${o.maps.ctr}`], this.run);
    const sums = sumPerCpu(out[0]);
    return new Map(COUNTERS.map((c, i) => [c, sums.get(i) ?? 0n]));
  }

  /** Map fill for metrics: entries in use vs. capacity. */
  fill(): { rulesUsed: number; rulesSize: number; endpoints: number } {
    return { rulesUsed: MAP_SIZES.rules - this.programmer.freeRuleOps, rulesSize: MAP_SIZES.rules, endpoints: this.programmer.endpointCount };
  }

  /**
   * Leave the eBPF dataplane (bpfEnabled switched off): detach the programs, drop the nft table
   * and every pin. Call it only once the nftables dataplane is in force, so there is no window.
   */
  async teardown(): Promise<void> {
    this.dispose();
    const links = await this.links().catch(() => new Map<string, number>());
    const prefixes = this.state.config.interfacePrefixes;
    const script = [...links.keys()].filter((n) => prefixes.some((p) => n.startsWith(p))).map((n) => `qdisc del dev ${n} clsact`);
    if (script.length > 0) await runCommandRaw(['tc', '-force', '-batch', '-'], { ...this.run, input: script.join('\n') + '\n' });
    await runCommandRaw(['nft', 'delete', 'table', 'inet', BPF_NFT_TABLE], this.run);
    if (existsSync(this.bpffsDir)) {
      for (const sub of readdirSync(this.bpffsDir)) if (sub === 'maps' || sub.startsWith('progs-')) rmSync(join(this.bpffsDir, sub), { recursive: true, force: true });
    }
    this.objs = undefined;
  }

  /** Stop timers. Programs and maps stay pinned and attached (a restart adopts them). */
  override dispose(): void {
    this.fillReader.dispose();
    super.dispose();
  }
}

const le32 = (b: readonly number[]): number => ((b[0] ?? 0) | ((b[1] ?? 0) << 8) | ((b[2] ?? 0) << 16) | ((b[3] ?? 0) << 24)) >>> 0;

async function nftApply(text: string, run: RunOptions): Promise<void> {
  // `nft -f -` fails when spawned from Node (platform notes): go through a temp file.
  const dir = mkdtempSync(join(tmpdir(), 'tri-bpf-nft-'));
  try {
    const file = join(dir, 'table.nft');
    writeFileSync(file, text);
    await runCommand(['nft', '-f', file], run);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
