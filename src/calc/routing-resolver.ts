// The calc graph's routing node: holds the routing inputs (Nodes, IP pools, block affinities,
// BGPConfiguration, the merged FelixConfiguration), and on each flush after they changed resolves
// encapsulation, hosts, VXLAN tunnels and routes (route-resolver.ts, vxlan-resolver.ts,
// host-resolver.ts) and queues only what differs from what was queued before into the event
// sequencer. Quiet until its first input, so a graph without routing inputs emits nothing here.

import type { BGPConfiguration, IPPool, Node } from '../api/index.ts';
import type { EventSequencer, SequencerCategory } from './event-sequencer.ts';
import { resolveHosts } from './host-resolver.ts';
import type { CalcMessage } from './messages.ts';
import { bgpDecision, resolveRoutes } from './route-resolver.ts';
import type { BGPDecision } from './route-resolver.ts';
import type { BGPMode, BlockAffinityEntry, FelixFields, RoutingInputs } from './routing-model.ts';
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
        break;
    }
    this.dirty = true;
    this.decision = undefined;
  }

  /** FelixConfiguration `default` merged with `node.<name>` (VXLAN/IPIP switches and settings). */
  setFelixConfig(felix: FelixFields): void {
    const text = JSON.stringify(felix);
    if (text === this.felixText) return;
    this.felix = felix;
    this.felixText = text;
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
