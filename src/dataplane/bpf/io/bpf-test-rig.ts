// A rig for running the compiled programs on crafted packets (BPF_PROG_TEST_RUN through
// `bpftool prog run`), as Calico's felix/bpf/ut does: a throwaway network namespace with two veth
// pairs (their ifindexes stand for workload interfaces; nothing is attached to them), a private
// bpffs at a unique path, one fresh load of the object per scenario, and ONE bpftool batch per
// scenario: map writes, then each packet, then dumps of conntrack and the counters. Root only.
// Everything is removed in dispose(), also after failures.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand, runCommandRaw } from '../../io/exec.ts';
import { COUNTERS, decodeCt } from '../encoding.ts';
import type { CounterName, CtEntry, MapName } from '../encoding.ts';
import { ethPacket, parseEthPacket } from '../packet.ts';
import type { PacketSpec, ParsedPacket } from '../packet.ts';
import { bpftoolBatchOk, dumpEntries, sumPerCpu } from './bpftool.ts';
import { ensureBuilt, loadObjects, mountBpffs, unmountBpffs } from './bpf-loader.ts';
import type { LoadedObjects } from './bpf-loader.ts';

export interface RunCase {
  readonly hook: 'from' | 'to';
  /** Interface the packet is seen on (an ifindex of the rig's namespace). */
  readonly ifindex: number;
  readonly packet: PacketSpec | Buffer;
}

export interface RunResult {
  readonly verdict: 'allow' | 'drop' | number;
  readonly out: ParsedPacket | undefined;
}

export interface ScenarioResult {
  readonly runs: readonly RunResult[];
  readonly ct: readonly CtEntry[];
  readonly counters: ReadonlyMap<CounterName, bigint>;
}

/** Offset of `ifindex` in struct __sk_buff (uapi/linux/bpf.h). */
const SKB_IFINDEX_OFF = 40;
const SKB_SIZE = 192;

export class BpfTestRig {
  readonly netns: string;
  readonly netnsPath: string;
  readonly bpffs: string;
  private readonly tmp: string;
  private n = 0;
  /** Two interface indexes usable as endpoints (veth ends inside the rig's namespace). */
  ifindexes: number[] = [];

  private constructor(id: string) {
    this.netns = `tri-bpfut-${id}`;
    this.netnsPath = `/run/netns/${this.netns}`;
    this.bpffs = `/run/tricolor-bpfut-${id}`;
    this.tmp = mkdtempSync(join(tmpdir(), `tri-bpfut-${id}-`));
  }

  static async create(): Promise<BpfTestRig> {
    const rig = new BpfTestRig(randomBytes(4).toString('hex'));
    try {
      await ensureBuilt();
      await runCommand(['ip', 'netns', 'add', rig.netns]);
      await runCommand(['ip', '-n', rig.netns, '-batch', '-'], { input: 'link add ta type veth peer name tb\nlink add tc type veth peer name td\nlink set lo up\n' });
      const links = JSON.parse(await runCommand(['ip', '-n', rig.netns, '-j', 'link', 'show'])) as { ifname: string; ifindex: number }[];
      rig.ifindexes = ['ta', 'tc', 'tb', 'td'].map((n) => links.find((l) => l.ifname === n)?.ifindex ?? 0);
      await mountBpffs(rig.bpffs);
      return rig;
    } catch (e) {
      await rig.dispose();
      throw e;
    }
  }

  /** Load a fresh copy of the programs and maps (a clean state for one scenario). */
  async fresh(): Promise<LoadedObjects> {
    return loadObjects(join(this.bpffs, `s${this.n++}`), { netnsPath: this.netnsPath });
  }

  /** Map writes (bpftool commands) then the runs, in one batch; returns verdicts and state after. */
  async scenario(objs: LoadedObjects, writes: readonly string[], runs: readonly RunCase[]): Promise<ScenarioResult> {
    const files = runs.map((r, i) => {
      const inFile = join(this.tmp, `in-${this.n}-${i}`);
      const ctxFile = join(this.tmp, `ctx-${this.n}-${i}`);
      writeFileSync(inFile, Buffer.isBuffer(r.packet) ? r.packet : ethPacket(r.packet));
      const ctx = Buffer.alloc(SKB_SIZE);
      ctx.writeUInt32LE(r.ifindex, SKB_IFINDEX_OFF);
      writeFileSync(ctxFile, ctx);
      return { inFile, ctxFile, outFile: join(this.tmp, `out-${this.n}-${i}`) };
    });
    const runCmds = runs.map((r, i) => {
      const f = files[i];
      const prog = r.hook === 'from' ? objs.fromWep : objs.toWep;
      return `prog run pinned ${prog} data_in ${f?.inFile ?? ''} data_out ${f?.outFile ?? ''} ctx_in ${f?.ctxFile ?? ''} repeat 1`;
    });
    const outputs = await bpftoolBatchOk([...writes, ...runCmds, `map dump pinned ${objs.maps.ct}`, `map dump pinned ${objs.maps.ctr}`], { netnsPath: this.netnsPath });
    const runOuts = outputs.slice(writes.length, writes.length + runs.length) as { retval: number }[];
    const results = runOuts.map((o, i): RunResult => {
      let out: ParsedPacket | undefined;
      try {
        out = parseEthPacket(readFileSync(files[i]?.outFile ?? ''));
      } catch {
        out = undefined;
      }
      return { verdict: o.retval === 0 ? 'allow' : o.retval === 2 ? 'drop' : o.retval, out };
    });
    const ct = dumpEntries(outputs[outputs.length - 2]).map((e) => decodeCt(e.key, e.value));
    const sums = sumPerCpu(outputs[outputs.length - 1]);
    const counters = new Map<CounterName, bigint>(COUNTERS.map((c, i) => [c, sums.get(i) ?? 0n]));
    return { runs: results, ct, counters };
  }

  pathOf(objs: LoadedObjects): (m: MapName) => string {
    return (m) => objs.maps[m];
  }

  async dispose(): Promise<void> {
    await unmountBpffs(this.bpffs).catch(() => undefined);
    await runCommandRaw(['ip', 'netns', 'del', this.netns]);
    rmSync(this.tmp, { recursive: true, force: true });
  }
}
