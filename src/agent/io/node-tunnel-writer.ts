// Calico's tunnel-address reconciler (node contract §2.13), as its own small writer: while VXLAN
// is enabled this node holds one VXLAN tunnel address from IPAM, written into its Node with the
// VTEP MAC; when no VXLAN pool is left the address is released and both fields cleared. Driven
// by the calc graph's EncapsulationUpdate and this node's HostMetadataUpdate; the Node update
// comes back through the datastore like any other. One write at a time; `check()` again after a
// failure (the agent's periodic route refresh does).

import { kindInfoFor } from '../../api/index.ts';
import type { Node } from '../../api/index.ts';
import { vtepMAC } from '../../calc/index.ts';
import type { CalcMessage, EncapsulationUpdate, HostMetadataUpdate } from '../../calc/index.ts';
import { ResourceClient } from '../../datastore/index.ts';
import type { DatastoreBackend } from '../../datastore/index.ts';
import { IPAMClient, ensureTunnelAddress, releaseTunnelAddress } from '../../ipam/index.ts';

export interface NodeTunnelWriterOptions {
  readonly nodeName: string;
  readonly backend: DatastoreBackend;
  readonly log: (msg: string) => void;
  readonly onError: (msg: string) => void;
}

/** What the writer should do for this node now (pure). */
export function tunnelAddressAction(encap: EncapsulationUpdate | undefined, me: HostMetadataUpdate | undefined): 'allocate' | 'release' | undefined {
  if (encap === undefined || me === undefined) return undefined;
  if (encap.vxlanEnabled && (me.vxlanTunnelAddr === undefined || me.vxlanTunnelMAC === undefined)) return 'allocate';
  if (!encap.vxlanEnabled && me.vxlanTunnelAddr !== undefined) return 'release';
  return undefined;
}

export class NodeTunnelWriter {
  private readonly opts: NodeTunnelWriterOptions;
  private encap: EncapsulationUpdate | undefined;
  private me: HostMetadataUpdate | undefined;
  private work: Promise<void> | undefined;

  constructor(opts: NodeTunnelWriterOptions) {
    this.opts = opts;
  }

  onMessages(msgs: readonly CalcMessage[]): void {
    let changed = false;
    for (const m of msgs) {
      if (m.type === 'EncapsulationUpdate') this.encap = m;
      else if (m.type === 'HostMetadataUpdate' && m.local) this.me = m;
      else if (m.type === 'HostMetadataRemove' && m.name === this.opts.nodeName) this.me = undefined;
      else continue;
      changed = true;
    }
    if (changed) this.check();
  }

  /** Start the write the current facts call for, unless one is running. */
  check(): void {
    if (this.work !== undefined) return;
    const encap = this.encap;
    const me = this.me;
    const action = tunnelAddressAction(encap, me);
    if (action === undefined || encap === undefined || me === undefined) return;
    const node = this.opts.nodeName;
    const run =
      action === 'allocate'
        ? async () => {
            const mac = me.vxlanTunnelMAC ?? vtepMAC(node);
            const ipam = new IPAMClient({ backend: this.opts.backend });
            const addr = await ensureTunnelAddress(ipam, { node, type: 'vxlanTunnelAddress', pools: [...encap.vxlanPools] });
            await this.updateNode((spec) => ({ ...spec, ipv4VXLANTunnelAddr: addr, vxlanTunnelMACAddr: mac }));
            this.opts.log(`VXLAN tunnel address ${addr} (MAC ${mac}) written to Node ${node}`);
          }
        : async () => {
            const ipam = new IPAMClient({ backend: this.opts.backend });
            const released = await releaseTunnelAddress(ipam, node, 'vxlanTunnelAddress');
            await this.updateNode((spec) => {
              const { ipv4VXLANTunnelAddr: _a, vxlanTunnelMACAddr: _m, ...rest } = spec;
              return rest;
            });
            this.opts.log(`no VXLAN pool left: tunnel address ${released.join(', ') || (me.vxlanTunnelAddr ?? '')} released`);
          };
    this.work = run()
      .catch((e: unknown) => this.opts.onError(`VXLAN tunnel address: ${(e as Error).message}`))
      .finally(() => (this.work = undefined));
  }

  private async updateNode(edit: (spec: NonNullable<Node['spec']>) => NonNullable<Node['spec']>): Promise<void> {
    const info = kindInfoFor('projectcalico.org/v3', 'Node');
    if (info === undefined) throw new Error('Node kind is not registered'); // a bug
    const client = new ResourceClient(this.opts.backend);
    for (let attempt = 0; ; attempt++) {
      const cur = (await client.get(info, this.opts.nodeName)) as Node;
      try {
        await client.update({ ...cur, spec: edit(cur.spec ?? {}) });
        return;
      } catch (e) {
        if (attempt >= 5 || (e as { code?: string }).code !== 'ERR_UPDATE_CONFLICT') throw e;
      }
    }
  }

  /** Wait for a write in progress (tests, shutdown). */
  async settle(): Promise<void> {
    await this.work;
  }
}
