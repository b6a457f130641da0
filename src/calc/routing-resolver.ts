// The calc graph's routing node: holds the routing inputs (Nodes, IP pools, block affinities,
// BGPConfiguration, the merged FelixConfiguration, and the workload endpoints' addresses for the
// borrowed ones), and on each flush after they changed resolves
// encapsulation, hosts, VXLAN tunnels and routes (route-resolver.ts, vxlan-resolver.ts,
// host-resolver.ts) and queues only what differs from what was queued before into the event
// sequencer. Quiet until its first input, so a graph without routing inputs emits nothing here.

import type { BGPConfiguration, IPPool, Node } from '../api/index.ts';
import type { EventSequencer, SequencerCategory } from './event-sequencer.ts';
import { resolveHosts } from './host-resolver.ts';
import type { CalcMessage } from './messages.ts';
import { bgpDecision, resolveRoutes } from './route-resolver.ts';
import type { BGPDecision } from './route-resolver.ts';
import { isConfirmed } from './routing-model.ts';
import type { BGPMode, BlockAffinityEntry, FelixFields, RoutingInputs, WorkloadAddresses } from './routing-model.ts';
import { cidrContainsCIDR, tryParseCIDR } from '../net/index.ts';
import type { CIDR } from '../net/index.ts';
import { resolveEncapsulation, resolveVTEPs } from './vxlan-resolver.ts';

/** A routing input: a resource by name (undefined: deleted), or a block affinity by its key. */
export type RoutingUpdate =
  | { readonly kind: 'Node'; readonly name: string; readonly value: Node | undefined }
  | { readonly kind: 'IPPool'; readonly name: string; readonly value: IPPool | undefined }
  | { readonly kind: 'BGPConfiguration'; readonly name: string; readonly value: BGPConfiguration | undefined }
  | { readonly kind: 'BlockAffinity'; readonly key: string; readonly value: BlockAffinityEntry | undefined };

/** The last message queued per key, as JSON, to queue only changes. */
type Sent = Map<string, string>;

export class RoutingResolver {
  private readonly nodeName: string;
  private readonly bgpMode: BGPMode;
  private readonly seq: EventSequencer;
  private readonly nodes = new Map<string, Node>();
  private readonly pools = new Map<string, IPPool>();
  private readonly affinities = new Map<string, BlockAffinityEntry>();
  private readonly bgpConfigs = new Map<string, BGPConfiguration>();
  private readonly workloads = new Map<string, WorkloadAddresses>();
  /** Confirmed blocks per host, rebuilt after an affinity change (is an address borrowed?). */
  private blocksByHost: Map<string, CIDR[]> | undefined;
  /** A routing input (not only workloads) has arrived: until then the resolver stays quiet. */
  private started = false;
  private felix: FelixFields = {};
  private felixText = '{}';
  private dirty = false;
  private decision: BGPDecision | undefined;
  private readonly sent: Readonly<Record<'encap' | 'host' | 'vtep' | 'route', Sent>> = { encap: new Map(), host: new Map(), vtep: new Map(), route: new Map() };

  constructor(opts: { readonly nodeName: string; readonly bgpMode: BGPMode; readonly seq: EventSequencer }) {
    this.nodeName = opts.nodeName;
    this.bgpMode = opts.bgpMode;
    this.seq = opts.seq;
  }

  onUpdate(u: RoutingUpdate): void {
    const set = <T>(m: Map<string, T>, k: string, v: T | undefined): void => {
      if (v === undefined) m.delete(k);
      else m.set(k, v);
    };
    switch (u.kind) {
      case 'Node':
        set(this.nodes, u.name, u.value);
        break;
      case 'IPPool':
        set(this.pools, u.name, u.value);
        break;
      case 'BGPConfiguration':
        set(this.bgpConfigs, u.name, u.value);
        break;
      case 'BlockAffinity':
        set(this.affinities, u.key, u.value);
        this.blocksByHost = undefined;
        break;
    }
    this.started = true;
    this.dirty = true;
    this.decision = undefined;
  }

  /**
   * A workload endpoint's node and addresses (undefined: gone). Only a change that involves an
   * address outside its node's confirmed blocks (borrowed) makes the hosts resolve again, so pod
   * churn inside blocks costs one comparison per address.
   */
  onWorkload(key: string, w: WorkloadAddresses | undefined): void {
    const before = this.workloads.get(key);
    if (before === undefined && w === undefined) return;
    if (before !== undefined && w !== undefined && before.node === w.node && before.addrs.length === w.addrs.length && before.addrs.every((a, k) => a === w.addrs[k])) return;
    if (w === undefined) this.workloads.delete(key);
    else this.workloads.set(key, w);
    if (this.started && ((before !== undefined && this.hasBorrowed(before)) || (w !== undefined && this.hasBorrowed(w)))) this.dirty = true;
  }

  private hasBorrowed(w: WorkloadAddresses): boolean {
    if (this.blocksByHost === undefined) {
      const m = new Map<string, CIDR[]>();
      for (const a of this.affinities.values()) {
        if (!isConfirmed(a)) continue;
        const c = tryParseCIDR(a.cidr);
        if (c === undefined) continue;
        const l = m.get(a.host);
        if (l === undefined) m.set(a.host, [c]);
        else l.push(c);
      }
      this.blocksByHost = m;
    }
    const own = this.blocksByHost.get(w.node) ?? [];
    return w.addrs.some((t) => {
      const c = tryParseCIDR(t);
      return c !== undefined && !own.some((b) => cidrContainsCIDR(b, c));
    });
  }

  /** FelixConfiguration `default` merged with `node.<name>` (VXLAN/IPIP switches and settings). */
  setFelixConfig(felix: FelixFields): void {
    const text = JSON.stringify(felix);
    if (text === this.felixText) return;
    this.felix = felix;
    this.felixText = text;
    this.started = true;
    this.dirty = true;
  }

  get nodeCount(): number {
    return this.nodes.size;
  }

  inputs(): RoutingInputs {
    return {
      nodeName: this.nodeName,
      nodes: [...this.nodes.values()],
      pools: [...this.pools.values()],
      affinities: [...this.affinities.values()],
      bgpConfigurations: [...this.bgpConfigs.values()],
      felix: this.felix,
      bgpMode: this.bgpMode,
      workloads: this.workloads,
    };
  }

  /** Whether this node runs BIRD, and why (the blackholes depend on it). */
  bgpDecision(): BGPDecision {
    this.decision ??= bgpDecision(this.inputs());
    return this.decision;
  }

  /** Resolve after a change and queue the differences (called by the graph's flush). */
  queueChanges(): void {
    if (!this.dirty) return;
    this.dirty = false;
    const i = this.inputs();
    const encap = resolveEncapsulation(i);
    this.queue('encap', new Map([['encap', encap]]), () => undefined);
    this.queue('host', resolveHosts(i), (name) => ({ type: 'HostMetadataRemove', name }));
    this.queue('vtep', resolveVTEPs(i, encap), (node) => ({ type: 'VXLANTunnelRemove', node }));
    this.queue('route', resolveRoutes(i, this.bgpDecision().run), (dst) => ({ type: 'RouteRemove', dst }));
  }

  private queue(cat: SequencerCategory & keyof RoutingResolver['sent'], want: ReadonlyMap<string, CalcMessage>, removal: (key: string) => CalcMessage | undefined): void {
    const sent = this.sent[cat];
    for (const [k, msg] of want) {
      const text = JSON.stringify(msg);
      if (sent.get(k) === text) continue;
      sent.set(k, text);
      this.seq.update(cat, k, () => msg);
    }
    for (const k of [...sent.keys()]) {
      if (want.has(k)) continue;
      sent.delete(k);
      const r = removal(k);
      if (r !== undefined) this.seq.remove(cat, k, () => r);
    }
  }
}
