// Writes the pod MTU file the CNI plugin reads (node contract §4.19: Felix writes
// /var/lib/calico/mtu, decimal, no newline; the plugin uses it when its netconf has `mtu: 0`),
// from the links of the agent's namespace and the encapsulations in use. Rewritten atomically
// only when the value changes; pods created after a change get the new MTU. Also finds out once
// whether the kernel has the `ipip` device, which decides whether IPIP pools are served here.

import { mkdirSync, readFileSync } from 'node:fs';
import { RerunningTask } from '../../base/index.ts';
import { writeFileAtomic } from '../../base/io/index.ts';
import { dirname } from 'node:path';
import type { IPPool } from '../../api/index.ts';
import { runCommandRaw, showLinks } from '../../dataplane/io/index.ts';
import type { FelixSpec } from '../agent-config.ts';
import { podMtuPlan } from '../mtu-plan.ts';
import type { PodMtuState } from '../mtu-plan.ts';
export type { PodMtuState } from '../mtu-plan.ts';

export interface PodMtuWriterOptions {
  /** null: compute and report, write nothing. */
  readonly file: string | null;
  readonly log: (msg: string) => void;
  readonly onError: (msg: string) => void;
}

/** Does this kernel have the ipip device? (tunl0 exists, or one can be made.) */
export async function kernelHasIPIP(): Promise<{ ok: boolean; detail: string }> {
  const show = await runCommandRaw(['ip', 'link', 'show', 'dev', 'tunl0']);
  if (show.status === 0) return { ok: true, detail: 'tunl0 exists' };
  const add = await runCommandRaw(['ip', 'link', 'add', 'name', 'tunl0', 'type', 'ipip']);
  if (add.status === 0) return { ok: true, detail: 'tunl0 created' };
  return { ok: false, detail: `the kernel has no ipip device (${add.stderr.trim() || `exit ${add.status}`})` };
}

export class PodMtuWriter {
  readonly #o: PodMtuWriterOptions;
  #inputs: { felix: FelixSpec; pools: readonly IPPool[] } | undefined;
  #ipip: { ok: boolean; detail: string } | undefined;
  #written: number | undefined;
  readonly #pass = new RerunningTask(async () => {
    try {
      await this.#once();
    } catch (e) {
      this.#o.onError(`pod MTU: ${(e as Error).message}`);
    }
  });
  state: PodMtuState | undefined;

  constructor(o: PodMtuWriterOptions) {
    this.#o = o;
  }

  setInputs(i: { felix: FelixSpec; pools: readonly IPPool[] }): void {
    this.#inputs = i;
  }

  reconcile(): Promise<void> {
    return this.#pass.run();
  }

  async #once(): Promise<void> {
    const i = this.#inputs;
    if (i === undefined) return;
    const ipipPools = i.pools.filter((p) => p.spec !== undefined && p.spec.disabled !== true && (p.spec.ipipMode ?? 'Never') !== 'Never').map((p) => p.metadata.name);
    if (ipipPools.length > 0 && this.#ipip === undefined) this.#ipip = await kernelHasIPIP();
    const ipipServed = this.#ipip?.ok === true;
    const links = (await showLinks()).map((l) => ({ name: l.name, mtu: l.mtuBytes, up: l.up && l.flags.includes('LOWER_UP') }));
    const plan = podMtuPlan({ felix: i.felix, pools: i.pools, links, ipipServed });
    const notServed = ipipServed ? [] : ipipPools;
    const before = this.state;
    this.state = { ...plan, file: this.#o.file, ipipNotServed: notServed, ipipReason: notServed.length === 0 ? undefined : this.#ipip?.detail };
    if (notServed.length > 0 && JSON.stringify(before?.ipipNotServed) !== JSON.stringify(notServed)) {
      this.#o.onError(
        `IPIP pool${notServed.length > 1 ? 's' : ''} ${notServed.map((n) => JSON.stringify(n)).join(', ')} NOT served on this node: ${this.#ipip?.detail ?? 'no ipip device'}; nothing is programmed for their blocks (use vxlanMode instead)`,
      );
    }
    if (this.#o.file === null) return;
    if (this.#written === undefined) {
      try {
        this.#written = Number(readFileSync(this.#o.file, 'utf8').trim());
      } catch {
        this.#written = undefined;
      }
    }
    if (this.#written === plan.podMtu) return;
    mkdirSync(dirname(this.#o.file), { recursive: true });
    writeFileAtomic(this.#o.file, String(plan.podMtu));
    this.#written = plan.podMtu;
    this.#o.log(`pod MTU ${plan.podMtu} written to ${this.#o.file} (host ${plan.hostMtu}${plan.encaps.length > 0 ? `; ${plan.encaps.join(', ')}` : ''})`);
  }
}
