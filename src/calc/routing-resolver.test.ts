// The calc graph's routing resolvers: when BIRD runs, which own blocks the agent blackholes, the
// remote-block routes, VTEPs, host facts and encapsulation — as pure functions, and through the
// graph's flush (only changes queued, the sequencer's order, the same final state whatever the
// order and grouping of the inputs).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BGPConfiguration, IPPool, Node } from '../api/index.ts';
import { CalcGraph } from './calc-graph.ts';
import type { CalcMessage, HostMetadataUpdate, RouteUpdate } from './messages.ts';
import { agentBlackholes, bgpDecision, remoteBlockRoutes } from './route-resolver.ts';
import type { RoutingUpdate } from './routing-resolver.ts';
import { vtepMAC } from './routing-model.ts';
import type { BlockAffinityEntry, RoutingInputs } from './routing-model.ts';
import { resolveHosts } from './host-resolver.ts';
import { resolveEncapsulation, resolveVTEPs } from './vxlan-resolver.ts';

const V = 'projectcalico.org/v3';
const node = (name: string, ip: string | undefined, extra: NonNullable<Node['spec']> = {}, status?: Node['status']): Node => ({
  apiVersion: V,
  kind: 'Node',
  metadata: { name },
  spec: { ...(ip === undefined ? {} : { bgp: { ipv4Address: ip } }), ...extra },
  ...(status === undefined ? {} : { status }),
});
const pool = (name: string, cidr: string, spec: Partial<NonNullable<IPPool['spec']>> = {}): IPPool => ({ apiVersion: V, kind: 'IPPool', metadata: { name }, spec: { cidr, ...spec } });
const aff = (host: string, cidr: string, state = 'confirmed', deleted = false): BlockAffinityEntry => ({ host, cidr, state, deleted });
const pcr = (v: 'Enabled' | 'Disabled' | 'EnabledNoEncapOnly'): BGPConfiguration => ({ apiVersion: V, kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { programClusterRoutes: v } });

function inputs(over: Partial<RoutingInputs> = {}): RoutingInputs {
  return {
    nodeName: 'n1',
    nodes: [node('n1', '10.0.0.1/24'), node('n2', '10.0.0.2/24'), node('n3', '10.0.1.3/24')],
    pools: [pool('p', '10.244.0.0/16')],
    affinities: [aff('n1', '10.244.1.0/26'), aff('n2', '10.244.2.0/26'), aff('n1', '10.244.1.64/26', 'pending')],
    bgpConfigurations: [],
    felix: {},
    bgpMode: 'auto',
    ...over,
  };
}

void describe('BGP decision', () => {
  const cases: { name: string; over: Partial<RoutingInputs>; run: boolean; reason: RegExp }[] = [
    { name: 'no-encap pool, node with address', over: {}, run: true, reason: /BGP address/ },
    { name: 'disabled by flag', over: { bgpMode: 'disabled' }, run: false, reason: /disabled/ },
    { name: 'node missing', over: { nodes: [] }, run: false, reason: /not in the datastore/ },
    { name: 'node without BGP address', over: { nodes: [node('n1', undefined)] }, run: false, reason: /no spec\.bgp address/ },
    { name: 'every pool VXLAN', over: { pools: [pool('p', '10.244.0.0/16', { vxlanMode: 'Always' })] }, run: false, reason: /VXLAN/ },
    { name: 'VXLAN CrossSubnet too', over: { pools: [pool('p', '10.244.0.0/16', { vxlanMode: 'CrossSubnet' })] }, run: false, reason: /VXLAN/ },
    { name: 'VXLAN pool but enabled by flag', over: { pools: [pool('p', '10.244.0.0/16', { vxlanMode: 'Always' })], bgpMode: 'enabled' }, run: true, reason: /enabled/ },
    { name: 'one VXLAN and one plain pool', over: { pools: [pool('p', '10.244.0.0/16', { vxlanMode: 'Always' }), pool('q', '10.245.0.0/16')] }, run: true, reason: /pool without VXLAN/ },
    { name: 'disabled plain pool does not count', over: { pools: [pool('p', '10.244.0.0/16', { vxlanMode: 'Always' }), pool('q', '10.245.0.0/16', { disabled: true })] }, run: false, reason: /VXLAN/ },
    { name: 'no pools yet', over: { pools: [] }, run: true, reason: /BGP address/ },
  ];
  for (const c of cases) {
    void it(c.name, () => {
      const d = bgpDecision(inputs(c.over));
      assert.equal(d.run, c.run);
      assert.match(d.reason, c.reason);
    });
  }
});

void describe('blackholes', () => {
  const cases: { name: string; over: Partial<RoutingInputs>; bird: boolean; want: string[] }[] = [
    { name: 'BIRD runs, no-encap pool: BIRD installs it', over: {}, bird: true, want: [] },
    { name: 'no BIRD: the agent does', over: {}, bird: false, want: ['10.244.1.0/26'] },
    { name: 'VXLAN pool: the agent does even with BIRD', over: { pools: [pool('p', '10.244.0.0/16', { vxlanMode: 'Always' })] }, bird: true, want: ['10.244.1.0/26'] },
    { name: 'IPIP pool: the agent does even with BIRD', over: { pools: [pool('p', '10.244.0.0/16', { ipipMode: 'Always' })] }, bird: true, want: ['10.244.1.0/26'] },
    { name: 'programClusterRoutes Disabled: the agent does', over: { bgpConfigurations: [pcr('Disabled')] }, bird: true, want: ['10.244.1.0/26'] },
    { name: '/32 blocks are never blackholed', over: { affinities: [aff('n1', '10.244.3.7/32')] }, bird: false, want: [] },
    { name: 'legacy empty state counts as confirmed; deleted does not', over: { affinities: [aff('n1', '10.244.8.0/26', ''), aff('n1', '10.244.9.0/26', 'confirmed', true)] }, bird: false, want: ['10.244.8.0/26'] },
  ];
  for (const c of cases) void it(c.name, () => assert.deepEqual(agentBlackholes(inputs(c.over), c.bird), c.want));
});

const vx = (mode: 'Always' | 'CrossSubnet') => [pool('p', '10.244.0.0/16', { vxlanMode: mode })];
const withTunnels = [
  node('n1', '10.0.0.1/24', { ipv4VXLANTunnelAddr: '10.244.1.0' }),
  node('n2', '10.0.0.2/24', { ipv4VXLANTunnelAddr: '10.244.2.0', vxlanTunnelMACAddr: '66:aa:bb:cc:dd:ee' }),
  node('n3', '10.0.1.3/24', { ipv4VXLANTunnelAddr: '10.244.3.0' }),
];
const affs = [aff('n1', '10.244.1.0/26'), aff('n2', '10.244.2.0/26'), aff('n3', '10.244.3.0/26'), aff('n3', '10.244.3.64/26', 'pending')];
const vxInputs = (over: Partial<RoutingInputs> = {}) => inputs({ nodes: withTunnels, pools: vx('Always'), affinities: affs, ...over });
const summary = (rs: readonly RouteUpdate[]) =>
  rs.map((r) => `${r.dst} ${r.routeType} ${r.routeType === 'vxlan' || r.routeType === 'noEncap' ? r.via : r.routeType === 'unresolved' ? r.reason : ''}`.trim());

void describe('encapsulation and VXLAN tunnels', () => {
  void it('deterministic VTEP MAC (0x66 + SHA-1 of the name)', () => {
    assert.match(vtepMAC('node-a'), /^66(:[0-9a-f]{2}){5}$/);
    assert.equal(vtepMAC('node-a'), vtepMAC('node-a'));
    assert.notEqual(vtepMAC('node-a'), vtepMAC('node-b'));
  });
  void it('no VXLAN pool: VXLAN off, no VTEPs, no remote routes', () => {
    const i = vxInputs({ pools: [pool('p', '10.244.0.0/16')] });
    const e = resolveEncapsulation(i);
    assert.equal(e.vxlanEnabled, false);
    assert.equal(resolveVTEPs(i, e).size, 0);
    assert.deepEqual(remoteBlockRoutes(i), []);
  });
  void it('FelixConfiguration vxlanEnabled false turns it off; IPIP pools turn IPIP on', () => {
    assert.equal(resolveEncapsulation(vxInputs({ felix: { vxlanEnabled: false } })).vxlanEnabled, false);
    const e = resolveEncapsulation(vxInputs({ pools: [...vx('Always'), pool('q', '10.245.0.0/16', { ipipMode: 'CrossSubnet' })] }));
    assert.equal(e.ipipEnabled, true);
    assert.deepEqual(e.vxlanPools, ['p']);
  });
  void it('VNI, port and MTU: Felix defaults, or FelixConfiguration', () => {
    assert.deepEqual(resolveEncapsulation(vxInputs()), { type: 'EncapsulationUpdate', vxlanEnabled: true, vxlanPools: ['p'], ipipEnabled: false, vxlanVNI: 4096, vxlanPort: 4789, vxlanMTU: undefined });
    const e = resolveEncapsulation(vxInputs({ felix: { vxlanVNI: 7, vxlanPort: 8472, vxlanMTU: 1400 } }));
    assert.deepEqual([e.vxlanVNI, e.vxlanPort, e.vxlanMTU], [7, 8472, 1400]);
  });
  void it('Always: a VTEP per node with a tunnel address, a route per remote confirmed block via its tunnel address', () => {
    const i = vxInputs();
    const vteps = resolveVTEPs(i, resolveEncapsulation(i));
    assert.deepEqual([...vteps.values()].map((v) => [v.node, v.local, v.nodeIP, v.tunnelIP, v.mac]), [
      ['n1', true, '10.0.0.1', '10.244.1.0', vtepMAC('n1')],
      ['n2', false, '10.0.0.2', '10.244.2.0', '66:aa:bb:cc:dd:ee'],
      ['n3', false, '10.0.1.3', '10.244.3.0', vtepMAC('n3')],
    ]);
    assert.deepEqual(summary(remoteBlockRoutes(i)).sort(), ['10.244.2.0/26 vxlan 10.244.2.0', '10.244.3.0/26 vxlan 10.244.3.0']);
  });
  void it('CrossSubnet: same subnet goes straight via the node address', () => {
    assert.deepEqual(summary(remoteBlockRoutes(vxInputs({ pools: vx('CrossSubnet') }))).sort(), ['10.244.2.0/26 noEncap 10.0.0.2', '10.244.3.0/26 vxlan 10.244.3.0']);
  });
  void it('no own tunnel address yet: remote routes wait for our device', () => {
    const i = vxInputs({ nodes: [node('n1', '10.0.0.1/24'), ...withTunnels.slice(1)] });
    assert.equal(resolveEncapsulation(i).vxlanEnabled, true);
    assert.deepEqual(summary(remoteBlockRoutes(i)).sort(), ['10.244.2.0/26 unresolved this node has no VXLAN device yet', '10.244.3.0/26 unresolved this node has no VXLAN device yet']);
  });
  void it('a remote node without a tunnel address: no VTEP, its block waits', () => {
    const i = vxInputs({ nodes: [...withTunnels.slice(0, 2), node('n3', '10.0.1.3/24')] });
    assert.deepEqual([...resolveVTEPs(i, resolveEncapsulation(i)).keys()], ['n1', 'n2']);
    assert.deepEqual(summary(remoteBlockRoutes(i)).sort(), ['10.244.2.0/26 vxlan 10.244.2.0', '10.244.3.0/26 unresolved node n3 has no VXLAN tunnel address yet']);
  });
  void it('a deleted node: its VTEP goes and its blocks wait (no address)', () => {
    const i = vxInputs({ nodes: withTunnels.slice(0, 2) });
    assert.deepEqual([...resolveVTEPs(i, resolveEncapsulation(i)).keys()], ['n1', 'n2']);
    assert.deepEqual(summary(remoteBlockRoutes(i)).sort(), ['10.244.2.0/26 vxlan 10.244.2.0', '10.244.3.0/26 unresolved node n3 has no IPv4 address']);
  });
});

void describe('host facts', () => {
  void it('addresses, tunnel addresses, MAC as stored, confirmed blocks and the WireGuard key', () => {
    const n2 = node('n2', '10.0.0.2/24', { ipv4VXLANTunnelAddr: '10.244.2.0', vxlanTunnelMACAddr: '66:AA:BB:CC:DD:EE', wireguard: { interfaceIPv4Address: '10.244.2.1' } }, { wireguardPublicKey: 'k2=' });
    n2.spec!.bgp = { ipv4Address: '10.0.0.2/24', ipv6Address: 'fd00::2/64', ipv4IPIPTunnelAddr: '10.244.2.2' };
    const hosts = resolveHosts(inputs({ nodes: [node('n1', '10.0.0.1/24'), n2], affinities: [...affs, aff('n2', '10.244.2.64/26', 'pendingDeletion')] }));
    assert.deepEqual(hosts.get('n2'), {
      type: 'HostMetadataUpdate',
      name: 'n2',
      local: false,
      ipv4: '10.0.0.2',
      ipv4Network: '10.0.0.0/24',
      ipv6: 'fd00::2',
      vxlanTunnelAddr: '10.244.2.0',
      vxlanTunnelMAC: '66:aa:bb:cc:dd:ee',
      ipipTunnelAddr: '10.244.2.2',
      wireguardTunnelAddr: '10.244.2.1',
      wireguardPublicKey: 'k2=',
      blocks: ['10.244.2.0/26'],
      borrowed: [],
    } satisfies HostMetadataUpdate);
    assert.equal(hosts.get('n1')?.local, true);
    assert.equal(hosts.get('n1')?.vxlanTunnelMAC, undefined);
  });

  void it("borrowed: a workload's address outside its node's confirmed blocks, per node", () => {
    const workloads = new Map([
      ['WorkloadEndpoint/ns/a', { node: 'n2', addrs: ['10.244.2.5/32'] }], // inside n2's block
      ['WorkloadEndpoint/ns/b', { node: 'n2', addrs: ['10.244.1.9/32', 'fd00:1::9/128'] }], // in n1's block: borrowed
      ['WorkloadEndpoint/ns/c', { node: 'n1', addrs: ['10.244.1.7/32'] }],
    ]);
    const hosts = resolveHosts(inputs({ workloads }));
    assert.deepEqual(hosts.get('n2')?.borrowed, ['10.244.1.9/32', 'fd00:1::9/128']);
    assert.deepEqual(hosts.get('n1')?.borrowed, []);
  });

  void it('through the graph: only a borrowed workload resolves the hosts again; its node hears of it', () => {
    const g = new CalcGraph({ hostname: 'n1', bgpMode: 'disabled' });
    g.onRoutingUpdates([R('n1', node('n1', '10.0.0.1/24')), R('n2', node('n2', '10.0.0.2/24')), A(aff('n1', '10.244.1.0/26')), A(aff('n2', '10.244.2.0/26'))]);
    g.flush();
    g.routing.onWorkload('WorkloadEndpoint/ns/a', { node: 'n2', addrs: ['10.244.2.5/32'] });
    assert.deepEqual(g.flush(), [], 'inside its block: nothing to send');
    g.routing.onWorkload('WorkloadEndpoint/ns/b', { node: 'n2', addrs: ['10.244.1.9/32'] });
    const m = g.flush();
    assert.deepEqual(m.map((x) => (x.type === 'HostMetadataUpdate' ? [x.name, x.borrowed] : x.type)), [['n2', ['10.244.1.9/32']]]);
    g.routing.onWorkload('WorkloadEndpoint/ns/b', undefined);
    assert.deepEqual(g.flush().map((x) => (x.type === 'HostMetadataUpdate' ? [x.name, x.borrowed] : x.type)), [['n2', []]]);
  });
});

// ---- through the calc graph ----------------------------------------------------------------

const R = (name: string, value: Node | undefined): RoutingUpdate => ({ kind: 'Node', name, value });
const P = (p: IPPool, gone = false): RoutingUpdate => ({ kind: 'IPPool', name: p.metadata.name, value: gone ? undefined : p });
const A = (a: BlockAffinityEntry, gone = false): RoutingUpdate => ({ kind: 'BlockAffinity', key: `${a.host}/${a.cidr}`, value: gone ? undefined : a });

/** Fold routing messages into a keyed model, as a consumer would. */
function fold(model: Map<string, string>, msgs: readonly CalcMessage[]): Map<string, string> {
  for (const m of msgs) {
    switch (m.type) {
      case 'EncapsulationUpdate':
        model.set('encap', JSON.stringify(m));
        break;
      case 'HostMetadataUpdate':
        model.set(`host/${m.name}`, JSON.stringify(m));
        break;
      case 'HostMetadataRemove':
        model.delete(`host/${m.name}`);
        break;
      case 'VXLANTunnelUpdate':
        model.set(`vtep/${m.node}`, JSON.stringify(m));
        break;
      case 'VXLANTunnelRemove':
        model.delete(`vtep/${m.node}`);
        break;
      case 'RouteUpdate':
        model.set(`route/${m.dst}`, JSON.stringify(m));
        break;
      case 'RouteRemove':
        model.delete(`route/${m.dst}`);
        break;
      default:
        break;
    }
  }
  return model;
}

const STATE: readonly RoutingUpdate[] = [...withTunnels.map((n) => R(n.metadata.name, n)), ...vx('Always').map((p) => P(p)), ...affs.map((a) => A(a))];

void describe('routing through the calc graph', () => {
  void it('quiet without routing inputs', () => {
    const g = new CalcGraph({ hostname: 'n1' });
    g.markInSync();
    assert.deepEqual(g.flush(), [{ type: 'InSync' }]);
  });

  void it('flush order: encapsulation → hosts → tunnels → routes; then only what changed; removals in reverse', () => {
    const g = new CalcGraph({ hostname: 'n1', bgpMode: 'disabled' });
    g.onRoutingUpdates(STATE);
    const first = g.flush().map((m) => m.type);
    const rank = ['EncapsulationUpdate', 'HostMetadataUpdate', 'VXLANTunnelUpdate', 'RouteUpdate'];
    assert.deepEqual([...first].sort((a, b) => rank.indexOf(a) - rank.indexOf(b)), first);
    assert.deepEqual(new Set(first), new Set(rank));
    assert.deepEqual(g.flush(), [], 'nothing changed, nothing sent');
    // a node goes: its host, its VTEP, and its block's route changes to unresolved
    g.onRoutingUpdates([R('n3', undefined)]);
    const next = g.flush();
    assert.deepEqual(
      next.map((m) => m.type),
      ['RouteUpdate', 'VXLANTunnelRemove', 'HostMetadataRemove'],
    );
    assert.match(JSON.stringify(next[0]), /node n3 has no IPv4 address/);
    // VXLAN off: the remote routes, then the VTEPs, go (the own block stays blackholed)
    g.onRoutingUpdates([P(vx('Always')[0] as IPPool, true)]);
    const off = g.flush().map((m) => m.type);
    assert.deepEqual(off, ['EncapsulationUpdate', 'RouteRemove', 'RouteRemove', 'VXLANTunnelRemove', 'VXLANTunnelRemove']);
  });

  void it('own blocks: blackholed unless BIRD runs and installs them', () => {
    const g = new CalcGraph({ hostname: 'n1' });
    g.onRoutingUpdates([R('n1', node('n1', '10.0.0.1/24')), P(pool('p', '10.244.0.0/16')), A(aff('n1', '10.244.1.0/26'))]);
    assert.equal(g.routing.bgpDecision().run, true);
    assert.equal(g.flush().filter((m) => m.type === 'RouteUpdate').length, 0);
    g.onRoutingUpdates([{ kind: 'BGPConfiguration', name: 'default', value: pcr('Disabled') }]);
    assert.deepEqual(
      g.flush().filter((m) => m.type === 'RouteUpdate'),
      [{ type: 'RouteUpdate', dst: '10.244.1.0/26', routeType: 'blackhole' }],
    );
  });

  void it('FelixConfiguration changes reach the encapsulation message; an unchanged one sends nothing', () => {
    const g = new CalcGraph({ hostname: 'n1' });
    g.onRoutingUpdates(STATE);
    g.flush();
    g.routing.setFelixConfig({});
    assert.deepEqual(g.flush(), []);
    g.routing.setFelixConfig({ vxlanVNI: 9 });
    const m = g.flush();
    assert.equal(m.length, 1);
    assert.equal(m[0]?.type === 'EncapsulationUpdate' && m[0].vxlanVNI, 9);
  });

  void it('the same final state whatever the order and grouping of the updates (forward, reversed, squashed, with empty states)', () => {
    const run = (batches: readonly (readonly RoutingUpdate[])[]): Map<string, string> => {
      const g = new CalcGraph({ hostname: 'n1', bgpMode: 'disabled' });
      const model = new Map<string, string>();
      for (const b of batches) {
        g.onRoutingUpdates(b);
        fold(model, g.flush());
      }
      return model;
    };
    const empty: RoutingUpdate[] = [...withTunnels.map((n) => R(n.metadata.name, undefined)), ...vx('Always').map((p) => P(p, true)), ...affs.map((a) => A(a, true))];
    const want = run([STATE]);
    assert.ok(want.size > 0);
    assert.deepEqual(run(STATE.map((u) => [u])), want, 'one at a time');
    assert.deepEqual(run([...STATE].reverse().map((u) => [u])), want, 'reversed');
    assert.deepEqual(run([STATE, empty, STATE]), want, 'with an empty state between');
    assert.deepEqual(run([empty, STATE]), want, 'from an empty state');
    assert.deepEqual(
      [...run([STATE, empty]).keys()],
      ['encap'],
      'back to empty: every host, tunnel and route withdrawn (the node-wide encapsulation stays, VXLAN off)',
    );
    assert.match(run([STATE, empty]).get('encap') ?? '', /"vxlanEnabled":false/);
  });
});
