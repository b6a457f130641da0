// The agent's pure routing decisions: when BIRD runs, which blocks it originates, which blocks
// the agent blackholes itself, and the desired VXLAN state (device, routes, neighbours, FDB).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IPPool, Node } from '../api/index.ts';
import { renderBirdConfig } from '../bgp/index.ts';
import { decodeBlockAffinity } from '../datastore/index.ts';
import { agentBlackholes, bgpDecision, birdRenderInput, ownBlocks } from './routing-plan.ts';
import type { BlockAffinityEntry, RoutingInputs } from './routing-plan.ts';
import { VXLAN_DEVICE, desiredVXLAN, vtepMAC } from './vxlan-plan.ts';

const V = 'projectcalico.org/v3';
const node = (name: string, ip: string | undefined, extra: NonNullable<Node['spec']> = {}): Node => ({
  apiVersion: V,
  kind: 'Node',
  metadata: { name },
  spec: { ...(ip === undefined ? {} : { bgp: { ipv4Address: ip } }), ...extra },
});
const pool = (name: string, cidr: string, spec: Partial<NonNullable<IPPool['spec']>> = {}): IPPool => ({ apiVersion: V, kind: 'IPPool', metadata: { name }, spec: { cidr, ...spec } });
const aff = (host: string, cidr: string, state = 'confirmed', deleted = false): BlockAffinityEntry => ({ host, cidr, state, deleted });

function inputs(over: Partial<RoutingInputs> = {}): RoutingInputs {
  return {
    nodeName: 'n1',
    nodes: [node('n1', '10.0.0.1/24'), node('n2', '10.0.0.2/24'), node('n3', '10.0.1.3/24')],
    pools: [pool('p', '10.244.0.0/16')],
    affinities: [aff('n1', '10.244.1.0/26'), aff('n2', '10.244.2.0/26'), aff('n1', '10.244.1.64/26', 'pending')],
    bgpConfigurations: [],
    bgpPeers: [],
    bgpFilters: [],
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

void describe('blocks and blackholes', () => {
  void it('own blocks keep their state; deleted and other nodes dropped', () => {
    const blocks = ownBlocks('n1', [...inputs().affinities, aff('n1', '10.244.9.0/26', 'confirmed', true), aff('n1', '10.244.8.0/26', '')]);
    assert.deepEqual(blocks, [
      { cidr: '10.244.1.0/26', state: 'confirmed' },
      { cidr: '10.244.1.64/26', state: 'pending' },
      { cidr: '10.244.8.0/26', state: 'confirmed' },
    ]);
  });
  void it('BIRD originates the confirmed block (rendered and exported)', () => {
    const text = renderBirdConfig(birdRenderInput(inputs())).text;
    assert.match(text, /route 10\.244\.1\.0\/26 blackhole;/);
    assert.match(text, /Mesh_10_0_0_2/);
  });
  const cases: { name: string; over: Partial<RoutingInputs>; bird: boolean; want: string[] }[] = [
    { name: 'BIRD runs, no-encap pool: BIRD installs it', over: {}, bird: true, want: [] },
    { name: 'no BIRD: the agent does', over: {}, bird: false, want: ['10.244.1.0/26'] },
    { name: 'VXLAN pool: the agent does even with BIRD', over: { pools: [pool('p', '10.244.0.0/16', { vxlanMode: 'Always' })] }, bird: true, want: ['10.244.1.0/26'] },
    {
      name: 'programClusterRoutes Disabled: the agent does',
      over: { bgpConfigurations: [{ apiVersion: V, kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { programClusterRoutes: 'Disabled' } }] },
      bird: true,
      want: ['10.244.1.0/26'],
    },
    { name: '/32 blocks are never blackholed', over: { affinities: [aff('n1', '10.244.3.7/32')] }, bird: false, want: [] },
  ];
  for (const c of cases) void it(c.name, () => assert.deepEqual(agentBlackholes(inputs(c.over), c.bird), c.want));
});

void describe('affinity decoding', () => {
  void it('key and value', () => {
    assert.deepEqual(decodeBlockAffinity('/calico/ipam/v2/host/n1/ipv4/block/10.244.1.0-26', '{"state":"confirmed","deleted":false}'), aff('n1', '10.244.1.0/26'));
    assert.deepEqual(decodeBlockAffinity('/calico/ipam/v2/host/n1/ipv4/block/10.244.1.0-26', ''), aff('n1', '10.244.1.0/26', ''));
    assert.equal(decodeBlockAffinity('/calico/resources/v3/projectcalico.org/nodes/n1', '{}'), undefined);
  });
});

void describe('VXLAN plan', () => {
  const vx = (mode: 'Always' | 'CrossSubnet') => [pool('p', '10.244.0.0/16', { vxlanMode: mode })];
  const withTunnels = [
    node('n1', '10.0.0.1/24', { ipv4VXLANTunnelAddr: '10.244.1.0' }),
    node('n2', '10.0.0.2/24', { ipv4VXLANTunnelAddr: '10.244.2.0', vxlanTunnelMACAddr: '66:aa:bb:cc:dd:ee' }),
    node('n3', '10.0.1.3/24', { ipv4VXLANTunnelAddr: '10.244.3.0' }),
  ];
  const affs = [aff('n1', '10.244.1.0/26'), aff('n2', '10.244.2.0/26'), aff('n3', '10.244.3.0/26'), aff('n3', '10.244.3.64/26', 'pending')];
  const parent = { name: 'eth0', mtu: 1500 };

  void it('deterministic VTEP MAC (0x66 + SHA-1 of the name)', () => {
    assert.match(vtepMAC('node-a'), /^66(:[0-9a-f]{2}){5}$/);
    assert.equal(vtepMAC('node-a'), vtepMAC('node-a'));
    assert.notEqual(vtepMAC('node-a'), vtepMAC('node-b'));
  });
  void it('no VXLAN pool: nothing', () => {
    const p = desiredVXLAN({ nodeName: 'n1', nodes: withTunnels, pools: [pool('p', '10.244.0.0/16')], affinities: affs, felix: {}, parent });
    assert.equal(p.needed, false);
    assert.equal(p.device, undefined);
    assert.deepEqual(p.routes, []);
  });
  void it('Always: device, a route per remote block, neighbour and FDB per remote VTEP', () => {
    const p = desiredVXLAN({ nodeName: 'n1', nodes: withTunnels, pools: vx('Always'), affinities: affs, felix: {}, parent });
    assert.deepEqual(p.device, { name: VXLAN_DEVICE, vni: 4096, port: 4789, localIP: '10.0.0.1', parent: 'eth0', mtu: 1450, mac: vtepMAC('n1'), address: '10.244.1.0' });
    assert.deepEqual(p.routes, [
      { dst: '10.244.2.0/26', via: '10.244.2.0', dev: VXLAN_DEVICE },
      { dst: '10.244.3.0/26', via: '10.244.3.0', dev: VXLAN_DEVICE },
    ]);
    assert.deepEqual(p.neighbours, [
      { ip: '10.244.2.0', mac: '66:aa:bb:cc:dd:ee' },
      { ip: '10.244.3.0', mac: vtepMAC('n3') },
    ]);
    assert.deepEqual(p.fdb, [
      { mac: '66:aa:bb:cc:dd:ee', dst: '10.0.0.2' },
      { mac: vtepMAC('n3'), dst: '10.0.1.3' },
    ].sort((a, b) => (a.mac < b.mac ? -1 : 1)));
  });
  void it('CrossSubnet: same subnet goes straight via the node address on the parent', () => {
    const p = desiredVXLAN({ nodeName: 'n1', nodes: withTunnels, pools: vx('CrossSubnet'), affinities: affs, felix: {}, parent });
    assert.deepEqual(p.routes, [
      { dst: '10.244.2.0/26', via: '10.0.0.2', dev: 'eth0' },
      { dst: '10.244.3.0/26', via: '10.244.3.0', dev: VXLAN_DEVICE },
    ]);
  });
  void it('FelixConfiguration VNI, port and MTU', () => {
    const p = desiredVXLAN({ nodeName: 'n1', nodes: withTunnels, pools: vx('Always'), affinities: affs, felix: { vxlanVNI: 7, vxlanPort: 8472, vxlanMTU: 1400 }, parent });
    assert.equal(p.device?.vni, 7);
    assert.equal(p.device?.port, 8472);
    assert.equal(p.device?.mtu, 1400);
  });
  void it('no own tunnel address yet: needed, no device, remote routes wait', () => {
    const nodes = [node('n1', '10.0.0.1/24'), ...withTunnels.slice(1)];
    const p = desiredVXLAN({ nodeName: 'n1', nodes, pools: vx('Always'), affinities: affs, felix: {}, parent });
    assert.equal(p.needed, true);
    assert.equal(p.device, undefined);
    assert.deepEqual(p.routes, []);
    assert.equal(p.waiting.length, 2);
  });
  void it('a remote node without a tunnel address gets no route, neighbour or FDB entry', () => {
    const nodes = [...withTunnels.slice(0, 2), node('n3', '10.0.1.3/24')];
    const p = desiredVXLAN({ nodeName: 'n1', nodes, pools: vx('Always'), affinities: affs, felix: {}, parent });
    assert.deepEqual(p.routes.map((r) => r.dst), ['10.244.2.0/26']);
    assert.deepEqual(p.neighbours.map((n) => n.ip), ['10.244.2.0']);
    assert.match(p.waiting.join(), /n3 has no VXLAN tunnel address/);
  });
  void it('a deleted node: its blocks and VTEP go', () => {
    const p = desiredVXLAN({ nodeName: 'n1', nodes: withTunnels.slice(0, 2), pools: vx('Always'), affinities: affs, felix: {}, parent });
    assert.deepEqual(p.routes.map((r) => r.dst), ['10.244.2.0/26']);
    assert.deepEqual(p.fdb.map((f) => f.dst), ['10.0.0.2']);
  });
  void it('order of inputs does not matter', () => {
    const a = desiredVXLAN({ nodeName: 'n1', nodes: withTunnels, pools: vx('Always'), affinities: affs, felix: {}, parent });
    const b = desiredVXLAN({ nodeName: 'n1', nodes: [...withTunnels].reverse(), pools: vx('Always'), affinities: [...affs].reverse(), felix: {}, parent });
    assert.deepEqual(a, b);
  });
});
