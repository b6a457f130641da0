// Programs this node's routing beyond workload routes (node contract §2.13, §4.15, §4.16): the
// VXLAN tunnel address (allocated from IPAM and written into the Node, released when no VXLAN
// pool is left), the `vxlan.calico` device with its neighbour and FDB entries, and the proto-80
// routes — blackholes for affine blocks BIRD does not cover and routes to remote VXLAN blocks.
// One reconcile at a time; requests during one run another right after it.

import { kindInfoFor } from '../../api/index.ts';
import type { Node } from '../../api/index.ts';
import { nodeFacts } from '../../bgp/index.ts';
import { ResourceClient } from '../../datastore/index.ts';
import type { DatastoreBackend } from '../../datastore/index.ts';
import {
  deleteVXLANDevice,
  ensureVXLANDevice,
  findInterfaceWithAddress,
  reconcileAgentRoutes,
  reconcileVXLANFDB,
  reconcileVXLANNeighbours,
} from '../../dataplane/io/index.ts';
import type { AgentRoute } from '../../dataplane/io/index.ts';
import { IPAMClient, ensureTunnelAddress, releaseTunnelAddress } from '../../ipam/index.ts';
import type { FelixSpec } from '../agent-config.ts';
import { agentBlackholes, isVXLANPool } from '../routing-plan.ts';
import type { RoutingInputs } from '../routing-plan.ts';
import { VXLAN_DEVICE, desiredVXLAN, vtepMAC } from '../vxlan-plan.ts';
import type { VXLANPlan } from '../vxlan-plan.ts';

export interface NodeRoutingInputs extends RoutingInputs {
  readonly felix: FelixSpec;
  readonly birdRunning: boolean;
}

export interface NodeRoutingOptions {
  readonly nodeName: string;
  readonly backend: DatastoreBackend;
  readonly log: (msg: string) => void;
  readonly onError: (msg: string) => void;
  readonly onChange: () => void;
}

export interface NodeRoutingState {
  readonly vxlanDevice: string | undefined;
  readonly vxlanTunnelAddress: string | undefined;
  readonly agentRoutes: number;
  readonly vxlanPeers: number;
  readonly waiting: readonly string[];
}

export class NodeRoutingManager {
  private readonly opts: NodeRoutingOptions;
  private inputs: NodeRoutingInputs | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private lastReport = '';
  private tunnelWork: Promise<void> | undefined;
  state: NodeRoutingState = { vxlanDevice: undefined, vxlanTunnelAddress: undefined, agentRoutes: 0, vxlanPeers: 0, waiting: [] };

  constructor(opts: NodeRoutingOptions) {
    this.opts = opts;
  }

  setInputs(i: NodeRoutingInputs): void {
    this.inputs = i;
  }

  /** Reconcile now (or right after the one in progress). */
  reconcile(): Promise<void> {
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    const run = async (): Promise<void> => {
      do {
        this.again = false;
        try {
          await this.reconcileOnce();
        } catch (e) {
          this.opts.onError(`routing: ${(e as Error).message}`);
        }
      } while (this.again);
    };
    this.running = run().finally(() => (this.running = undefined));
    return this.running;
  }

  private async reconcileOnce(): Promise<void> {
    const i = this.inputs;
    if (i === undefined) return;
    const me = i.nodes.find((n) => n.metadata.name === i.nodeName);
    const myIP = me === undefined ? undefined : nodeFacts(me, []).ipv4;
    const parent = myIP === undefined ? undefined : await findInterfaceWithAddress(myIP);
    const plan = desiredVXLAN({ nodeName: i.nodeName, nodes: i.nodes, pools: i.pools, affinities: i.affinities, felix: i.felix, parent });
    this.ensureTunnelAddress(i, me, plan);

    const errors: string[] = [];
    if (plan.device !== undefined) {
      const what = await ensureVXLANDevice(plan.device);
      if (what !== 'unchanged') this.opts.log(`${VXLAN_DEVICE} ${what}: VNI ${plan.device.vni}, port ${plan.device.port}, MTU ${plan.device.mtu}, local ${plan.device.localIP} dev ${plan.device.parent}, ${plan.device.address}/32`);
      const n = await reconcileVXLANNeighbours(VXLAN_DEVICE, plan.neighbours);
      const f = await reconcileVXLANFDB(VXLAN_DEVICE, plan.fdb);
      if (n.added + n.removed + f.added + f.removed > 0) this.opts.log(`${VXLAN_DEVICE}: neighbours +${n.added}/-${n.removed}, fdb +${f.added}/-${f.removed}`);
    } else if (await deleteVXLANDevice(VXLAN_DEVICE)) {
      this.opts.log(`${VXLAN_DEVICE} removed (no VXLAN pool, or no tunnel address yet)`);
    }
    const routes: AgentRoute[] = [
      ...agentBlackholes(i, i.birdRunning).map((dst) => ({ dst, blackhole: true as const })),
      ...plan.routes.map((r) => ({ dst: r.dst, via: r.via, dev: r.dev })),
    ];
    const r = await reconcileAgentRoutes(routes);
    errors.push(...r.errors);
    if (r.added + r.removed > 0) this.opts.log(`agent routes (proto 80): +${r.added}/-${r.removed}, ${routes.length} in all`);
    for (const e of errors) this.opts.onError(`routing: ${e}`);
    this.state = {
      vxlanDevice: plan.device === undefined ? undefined : plan.device.name,
      vxlanTunnelAddress: plan.device?.address,
      agentRoutes: routes.length,
      vxlanPeers: plan.neighbours.length,
      waiting: plan.waiting,
    };
    const report = JSON.stringify(this.state);
    if (report !== this.lastReport) {
      this.lastReport = report;
      this.opts.onChange();
    }
  }

  /**
   * Calico's tunnel-address reconciler (§2.13): one VXLAN address per node while any enabled
   * VXLAN pool exists, written to the Node with the VTEP MAC; released and cleared otherwise.
   * Runs in the background; the Node update comes back through the syncer.
   */
  private ensureTunnelAddress(i: NodeRoutingInputs, me: Node | undefined, plan: VXLANPlan): void {
    if (this.tunnelWork !== undefined || me === undefined) return;
    const have = me.spec?.ipv4VXLANTunnelAddr;
    const wantMac = me.spec?.vxlanTunnelMACAddr ?? vtepMAC(i.nodeName);
    const vxlanPools = i.pools.filter((p) => p.spec?.disabled !== true && isVXLANPool(p)).map((p) => p.metadata.name);
    let work: (() => Promise<void>) | undefined;
    if (plan.needed && (have === undefined || have === '' || me.spec?.vxlanTunnelMACAddr === undefined)) {
      work = async () => {
        const ipam = new IPAMClient({ backend: this.opts.backend });
        const addr = await ensureTunnelAddress(ipam, { node: i.nodeName, type: 'vxlanTunnelAddress', pools: vxlanPools });
        await this.updateNode((spec) => ({ ...spec, ipv4VXLANTunnelAddr: addr, vxlanTunnelMACAddr: wantMac }));
        this.opts.log(`VXLAN tunnel address ${addr} (MAC ${wantMac}) written to Node ${i.nodeName}`);
      };
    } else if (!plan.needed && have !== undefined && have !== '') {
      work = async () => {
        const ipam = new IPAMClient({ backend: this.opts.backend });
        const released = await releaseTunnelAddress(ipam, i.nodeName, 'vxlanTunnelAddress');
        await this.updateNode((spec) => {
          const { ipv4VXLANTunnelAddr: _a, vxlanTunnelMACAddr: _m, ...rest } = spec;
          return rest;
        });
        this.opts.log(`no VXLAN pool left: tunnel address ${released.join(', ') || have} released`);
      };
    }
    if (work === undefined) return;
    this.tunnelWork = work()
      .catch((e: unknown) => this.opts.onError(`VXLAN tunnel address: ${(e as Error).message}`))
      .finally(() => (this.tunnelWork = undefined));
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

  /** Wait for background work (tests, shutdown). */
  async settle(): Promise<void> {
    await this.running;
    await this.tunnelWork;
  }
}
