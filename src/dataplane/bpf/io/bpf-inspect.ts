// Reading the eBPF dataplane's pinned maps for `tricolor bpf … dump` (Calico's `calico-node
// -bpf` set) and for metrics: one bpftool batch per question, decoded with the encoders' layouts.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TricolorError } from '../../../base/index.ts';
import { COUNTERS, CT_FLAGS, MAPS, OP_NAMES, decodeCt, decodeIf, decodeIpportKey, decodeNatBe, decodeNatFe, decodePol, decodeRuleOp, decodeSetKey, u32Key } from '../encoding.ts';
import type { CtEntry, CounterName, MapName } from '../encoding.ts';
import { bpftoolBatchOk, dumpEntries, sumPerCpu } from './bpftool.ts';

export type DumpKind = 'conntrack' | 'nat' | 'routes' | 'ipsets' | 'policy' | 'counters' | 'ifstate';
export const DUMP_KINDS: readonly DumpKind[] = ['conntrack', 'nat', 'routes', 'ipsets', 'policy', 'counters', 'ifstate'];

const PROTO: Readonly<Record<number, string>> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 132: 'sctp' };

export class BpfInspector {
  private readonly dir: string;
  constructor(bpffsDir: string) {
    this.dir = join(bpffsDir, 'maps');
    if (!existsSync(join(this.dir, MAPS.ifs))) {
      throw new TricolorError('ERR_NOT_FOUND', `no eBPF dataplane maps under ${this.dir} (is the node running with bpfEnabled?)`, { value: bpffsDir });
    }
  }
  private path(m: MapName): string {
    return join(this.dir, MAPS[m]);
  }
  private async dump(...maps: MapName[]): Promise<unknown[]> {
    return [...(await bpftoolBatchOk(maps.map((m) => `map dump pinned ${this.path(m)}`)))];
  }

  async conntrack(): Promise<(CtEntry & { flagNames: string[] })[]> {
    const [out] = await this.dump('ct');
    return dumpEntries(out).map((e) => {
      const c = decodeCt(e.key, e.value);
      return { ...c, flagNames: Object.entries(CT_FLAGS).filter(([, bit]) => (c.flags & bit) !== 0).map(([n]) => n) };
    });
  }

  async counters(): Promise<Map<CounterName, bigint>> {
    const [out] = await this.dump('ctr');
    const sums = sumPerCpu(out);
    return new Map(COUNTERS.map((c, i) => [c, sums.get(i) ?? 0n]));
  }

  async nat(): Promise<{ frontend: string; svc: number; backends: string[]; affinitySecs: number }[]> {
    const [fe, be] = await this.dump('natFe', 'natBe');
    const backends = new Map<number, { ordinal: number; addr: string }[]>();
    for (const e of dumpEntries(be)) {
      const b = decodeNatBe(e.key, e.value);
      backends.set(b.svc, [...(backends.get(b.svc) ?? []), { ordinal: b.ordinal, addr: `${b.ip}:${b.port}` }]);
    }
    return dumpEntries(fe)
      .map((e) => decodeNatFe(e.key, e.value))
      .map((f) => ({
        frontend: `${f.ip}:${f.port}/${PROTO[f.protocol] ?? f.protocol}`,
        svc: f.svc,
        affinitySecs: f.affinitySecs,
        backends: (backends.get(f.svc) ?? []).filter((b) => b.ordinal < f.count).sort((a, b) => a.ordinal - b.ordinal).map((b) => b.addr),
      }))
      .sort((a, b) => (a.frontend < b.frontend ? -1 : 1));
  }

  async ipsets(): Promise<{ set: number; members: string[] }[]> {
    const [sets, ipport] = await this.dump('sets', 'ipport');
    const by = new Map<number, string[]>();
    for (const e of dumpEntries(sets)) {
      const k = decodeSetKey(e.key);
      by.set(k.set, [...(by.get(k.set) ?? []), k.cidr]);
    }
    for (const e of dumpEntries(ipport)) {
      const k = decodeIpportKey(e.key);
      by.set(k.set, [...(by.get(k.set) ?? []), `${k.ip},${PROTO[k.protocol] ?? k.protocol}:${k.port}`]);
    }
    return [...by].sort(([a], [b]) => a - b).map(([set, members]) => ({ set, members: members.sort() }));
  }

  async ifstate(): Promise<{ ifindex: number; id: number; ingress: string; egress: string }[]> {
    const [out] = await this.dump('ifs');
    return dumpEntries(out)
      .map((e) => ({ ifindex: (e.key[0] ?? 0) | ((e.key[1] ?? 0) << 8) | ((e.key[2] ?? 0) << 16), v: decodeIf(e.value) }))
      .map(({ ifindex, v }) => ({ ifindex, id: v.id, ingress: `ops ${v.ingress}+${v.ingressLen}`, egress: `ops ${v.egress}+${v.egressLen}` }))
      .sort((a, b) => a.ifindex - b.ifindex);
  }

  /** Every interface's two programs and every policy block they call, as interpreter ops. */
  async policy(): Promise<string[]> {
    const [ifs, pol] = await this.dump('ifs', 'pol');
    const regions: { title: string; base: number; len: number }[] = [];
    for (const e of dumpEntries(ifs)) {
      const v = decodeIf(e.value);
      const ifindex = (e.key[0] ?? 0) | ((e.key[1] ?? 0) << 8);
      regions.push({ title: `interface ${ifindex} ingress (to the workload)`, base: v.ingress, len: v.ingressLen }, { title: `interface ${ifindex} egress (from the workload)`, base: v.egress, len: v.egressLen });
    }
    for (const e of dumpEntries(pol)) {
      const p = decodePol(e.value);
      regions.push({ title: `policy slot ${(e.key[0] ?? 0) | ((e.key[1] ?? 0) << 8) | ((e.key[2] ?? 0) << 16)}`, base: p.base, len: p.len });
    }
    const lookups = regions.flatMap((r) => Array.from({ length: r.len }, (_, i) => `map lookup pinned ${this.path('rules')} key ${u32Key(r.base + i)}`));
    const out = lookups.length === 0 ? [] : await bpftoolBatchOk(lookups);
    const lines: string[] = [];
    let k = 0;
    for (const r of regions) {
      lines.push(`${r.title}:`);
      for (let i = 0; i < r.len; i++) {
        const v = out[k++] as { value?: string[] } | undefined;
        const op = decodeRuleOp((v?.value ?? []).map((s) => parseInt(s, 16)));
        lines.push(`  ${String(r.base + i).padStart(7)}  ${(OP_NAMES.get(op.code) ?? `op${op.code}`).padEnd(9)} a=${op.a} b=${op.b}  ok→${op.ok} fail→${op.fail}`);
      }
    }
    return lines;
  }
}
