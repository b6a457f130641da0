// Writes service frontends/backends into the node's pinned BPF NAT maps (the eBPF dataplane's
// kube-proxy replacement, fed by the service proxy in bpf mode). Maps are the agent's: until it
// has loaded its programs the pins do not exist and an apply fails (retried by the caller). On
// the first apply, and after a failed batch, the kernel's frontends are adopted and replaced.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TricolorError } from '../../../base/index.ts';
import { commandText } from '../bpf-programmer.ts';
import { MAPS, decodeNatAff, decodeNatFe } from '../encoding.ts';
import type { MapName } from '../encoding.ts';
import { NatProgrammer } from '../nat-programmer.ts';
import type { NatFrontend } from '../nat-programmer.ts';
import { bpftoolBatch, bpftoolBatchOk, dumpEntries } from './bpftool.ts';

export class BpfNatDriver {
  private readonly nat = new NatProgrammer();
  private adopted = false;
  private readonly pathOf: (m: MapName) => string;

  constructor(bpffsDir: string) {
    this.pathOf = (m) => join(bpffsDir, 'maps', MAPS[m]);
  }

  async apply(frontends: readonly NatFrontend[]): Promise<void> {
    if (!existsSync(this.pathOf('natFe'))) {
      throw new TricolorError('ERR_IO', `bpf: ${this.pathOf('natFe')} is not pinned yet (the node agent has not loaded its eBPF programs)`);
    }
    if (!this.adopted) {
      const out = await bpftoolBatchOk([`map dump pinned ${this.pathOf('natFe')}`]);
      this.nat.adopt(dumpEntries(out[0]).map((e) => decodeNatFe(e.key, e.value)));
      this.adopted = true;
    }
    const cmds = this.nat.plan(frontends).map((c) => commandText(c, this.pathOf));
    const r = await bpftoolBatch(cmds);
    if (r.failedAt !== undefined) {
      this.adopted = false;
      throw new TricolorError('ERR_IO', `bpf NAT: write ${r.failedAt + 1} of ${cmds.length} failed: ${r.error ?? ''} (the writes before it are in force; retried)`);
    }
    this.nat.commit();
    if (this.nat.affinityCleanupDue) await this.dropStaleAffinity();
  }

  /**
   * After the frontends are flipped (no new pick can name a removed backend): delete the affinity
   * entries that pin clients to backends gone from their frontend. An entry may vanish meanwhile
   * (LRU eviction, or the program replacing an expired one): a failed delete is skipped, not fatal.
   */
  private async dropStaleAffinity(): Promise<void> {
    const out = await bpftoolBatchOk([`map dump pinned ${this.pathOf('natAff')}`]);
    let keys = this.nat.staleAffinity(dumpEntries(out[0]).map((e) => decodeNatAff(e.key, e.value)));
    while (keys.length > 0) {
      const cmds = keys.map((k) => `map delete pinned ${this.pathOf('natAff')} key ${k}`);
      const r = await bpftoolBatch(cmds);
      keys = r.failedAt === undefined ? [] : keys.slice(r.failedAt + 1);
    }
  }
}
