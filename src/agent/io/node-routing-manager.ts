// Programs this node's routing beyond workload routes (node contract §4.15, §4.16) from the calc
// graph's routing messages: the `vxlan.calico` device with its neighbour and FDB entries, and
// the proto-80 routes — blackholes for affine blocks BIRD does not cover and routes to remote
// VXLAN blocks. The io side only finds the interface holding the node's address; what to
// program is vxlanProgram's (pure). One reconcile at a time; requests during one run another
// right after it. The Node write-back (tunnel address, VTEP MAC) is NodeTunnelWriter's.

import { RerunningTask } from '../../base/index.ts';
import type { CalcMessage } from '../../calc/index.ts';
import { RoutingState, VXLAN_DEVICE, isRoutingMessage, vxlanProgram } from '../../dataplane/index.ts';
import {
  deleteVXLANDevice,
  ensureVXLANDevice,
  findInterfaceWithAddress,
  reconcileAgentRoutes,
  reconcileVXLANFDB,
  reconcileVXLANNeighbours,
} from '../../dataplane/io/index.ts';

export interface NodeRoutingOptions {
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
  private readonly routing = new RoutingState();
  private readonly pass = new RerunningTask(async () => {
    try {
      await this.reconcileOnce();
    } catch (e) {
      this.opts.onError(`routing: ${(e as Error).message}`);
    }
  });
  private lastReport = '';
  state: NodeRoutingState = { vxlanDevice: undefined, vxlanTunnelAddress: undefined, agentRoutes: 0, vxlanPeers: 0, waiting: [] };

  constructor(opts: NodeRoutingOptions) {
    this.opts = opts;
  }

  /** Take the routing messages of one calc flush; true when any arrived (reconcile then). */
  onMessages(msgs: readonly CalcMessage[]): boolean {
    let any = false;
    for (const m of msgs) {
      if (!isRoutingMessage(m)) continue;
      this.routing.apply(m);
      any = true;
    }
    return any;
  }

  /** Reconcile now (or right after the one in progress). */
  reconcile(): Promise<void> {
    return this.pass.run();
  }

  private async reconcileOnce(): Promise<void> {
    const myIP = this.routing.localHost()?.ipv4;
    const parent = myIP === undefined ? undefined : await findInterfaceWithAddress(myIP);
    const plan = vxlanProgram(this.routing, parent);

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
    const r = await reconcileAgentRoutes(plan.routes);
    errors.push(...r.errors);
    if (r.added + r.removed > 0) this.opts.log(`agent routes (proto 80): +${r.added}/-${r.removed}, ${plan.routes.length} in all`);
    for (const e of errors) this.opts.onError(`routing: ${e}`);
    this.state = {
      vxlanDevice: plan.device === undefined ? undefined : plan.device.name,
      vxlanTunnelAddress: plan.device?.address,
      agentRoutes: plan.routes.length,
      vxlanPeers: plan.neighbours.length,
      waiting: plan.waiting,
    };
    const report = JSON.stringify(this.state);
    if (report !== this.lastReport) {
      this.lastReport = report;
      this.opts.onChange();
    }
  }

  /** Wait for a reconcile in progress (tests, shutdown). */
  async settle(): Promise<void> {
    await this.pass.running;
  }
}
