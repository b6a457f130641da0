// The VXLAN programme a node derives from the calc graph's routing messages and the interface
// holding its address: the device, a neighbour and FDB entry per remote VTEP, and the proto-80
// routes with their devices — fed by a real calc graph.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IPPool, Node } from '../api/index.ts';
import { CalcGraph, vtepMAC } from '../calc/index.ts';
import type { BlockAffinityEntry, FelixFields, RoutingUpdate } from '../calc/index.ts';
import { RoutingState, VXLAN_DEVICE, vxlanProgram } from './routing-state.ts';
import type { ParentInterface, VXLANProgram } from './routing-state.ts';

const V = 'projectcalico.org/v3';
const node = (name: string, ip: string, extra: NonNullable<Node['spec']> = {}): Node => ({ apiVersion: V, kind: 'Node', metadata: { name }, spec: { bgp: { ipv4Address: ip }, ...extra } });
const pool = (mode: 'Always' | 'CrossSubnet' | 'Never'): IPPool => ({ apiVersion: V, kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '10.244.0.0/16', vxlanMode: mode } });
const aff = (host: string, cidr: string, state = 'confirmed'): BlockAffinityEntry => ({ host, cidr, state, deleted: false });
const withTunnels = [
  node('n1', '10.0.0.1/24', { ipv4VXLANTunnelAddr: '10.244.1.0' }),
  node('n2', '10.0.0.2/24', { ipv4VXLANTunnelAddr: '10.244.2.0', vxlanTunnelMACAddr: '66:aa:bb:cc:dd:ee' }),
  node('n3', '10.0.1.3/24', { ipv4VXLANTunnelAddr: '10.244.3.0' }),
];
const affs = [aff('n1', '10.244.1.0/26'), aff('n2', '10.244.2.0/26'), aff('n3', '10.244.3.0/26'), aff('n3', '10.244.3.64/26', 'pending')];
const parent: ParentInterface = { name: 'eth0', mtu: 1500 };

function program(o: { nodes?: readonly Node[]; mode?: 'Always' | 'CrossSubnet' | 'Never'; felix?: FelixFields; parent?: ParentInterface | undefined; reverse?: boolean } = {}): VXLANProgram {
  const g = new CalcGraph({ hostname: 'n1', bgpMode: 'disabled' });
  const updates: RoutingUpdate[] = [
    ...(o.nodes ?? withTunnels).map((n): RoutingUpdate => ({ kind: 'Node', name: n.metadata.name, value: n })),
    { kind: 'IPPool', name: 'p', value: pool(o.mode ?? 'Always') },
    ...affs.map((a): RoutingUpdate => ({ kind: 'BlockAffinity', key: `${a.host}/${a.cidr}`, value: a })),
  ];
  g.onRoutingUpdates(o.reverse === true ? updates.reverse() : updates);
  g.routing.setFelixConfig(o.felix ?? {});
  const s = new RoutingState();
  for (const m of g.flush()) if (m.type !== 'InSync') s.apply(m as Parameters<RoutingState['apply']>[0]);
  return vxlanProgram(s, 'parent' in o ? o.parent : parent);
}
const remote = (p: VXLANProgram) => p.routes.filter((r) => !('blackhole' in r));

void describe('VXLAN programme', () => {
  void it('no VXLAN pool: no device, no remote routes (own blocks still blackholed without BIRD)', () => {
    const p = program({ mode: 'Never' });
    assert.equal(p.device, undefined);
    assert.deepEqual(remote(p), []);
    assert.deepEqual(p.routes, [{ dst: '10.244.1.0/26', blackhole: true }]);
  });
  void it('Always: device, a route per remote block, neighbour and FDB per remote VTEP', () => {
    const p = program();
    assert.deepEqual(p.device, { name: VXLAN_DEVICE, vni: 4096, port: 4789, localIP: '10.0.0.1', parent: 'eth0', mtu: 1450, mac: vtepMAC('n1'), address: '10.244.1.0' });
    assert.deepEqual(remote(p), [
      { dst: '10.244.2.0/26', via: '10.244.2.0', dev: VXLAN_DEVICE },
      { dst: '10.244.3.0/26', via: '10.244.3.0', dev: VXLAN_DEVICE },
    ]);
    assert.deepEqual(p.neighbours, [
      { ip: '10.244.2.0', mac: '66:aa:bb:cc:dd:ee' },
      { ip: '10.244.3.0', mac: vtepMAC('n3') },
    ]);
    assert.deepEqual(
      p.fdb,
      [
        { mac: '66:aa:bb:cc:dd:ee', dst: '10.0.0.2' },
        { mac: vtepMAC('n3'), dst: '10.0.1.3' },
      ].sort((a, b) => (a.mac < b.mac ? -1 : 1)),
    );
    assert.deepEqual(p.waiting, []);
  });
  void it('CrossSubnet: same subnet goes straight via the node address on the parent', () => {
    assert.deepEqual(remote(program({ mode: 'CrossSubnet' })), [
      { dst: '10.244.2.0/26', via: '10.0.0.2', dev: 'eth0' },
      { dst: '10.244.3.0/26', via: '10.244.3.0', dev: VXLAN_DEVICE },
    ]);
  });
  void it('FelixConfiguration VNI, port and MTU', () => {
    const p = program({ felix: { vxlanVNI: 7, vxlanPort: 8472, vxlanMTU: 1400 } });
    assert.deepEqual([p.device?.vni, p.device?.port, p.device?.mtu], [7, 8472, 1400]);
  });
  void it('no own tunnel address yet: no device, remote routes wait', () => {
    const p = program({ nodes: [node('n1', '10.0.0.1/24'), ...withTunnels.slice(1)] });
    assert.equal(p.device, undefined);
    assert.deepEqual(remote(p), []);
    assert.equal(p.waiting.length, 2);
  });
  void it('no interface holds our address: no device, every remote route waits', () => {
    const p = program({ mode: 'CrossSubnet', parent: undefined });
    assert.equal(p.device, undefined);
    assert.deepEqual(remote(p), []);
    assert.deepEqual(p.waiting, ['10.244.2.0/26: this node has no VXLAN device yet', '10.244.3.0/26: this node has no VXLAN device yet']);
  });
  void it('a remote node without a tunnel address gets no route, neighbour or FDB entry', () => {
    const p = program({ nodes: [...withTunnels.slice(0, 2), node('n3', '10.0.1.3/24')] });
    assert.deepEqual(remote(p).map((r) => r.dst), ['10.244.2.0/26']);
    assert.deepEqual(p.neighbours.map((n) => n.ip), ['10.244.2.0']);
    assert.match(p.waiting.join(), /n3 has no VXLAN tunnel address/);
  });
  void it('a deleted node: its blocks and VTEP go', () => {
    const p = program({ nodes: withTunnels.slice(0, 2) });
    assert.deepEqual(remote(p).map((r) => r.dst), ['10.244.2.0/26']);
    assert.deepEqual(p.fdb.map((f) => f.dst), ['10.0.0.2']);
  });
  void it('order of inputs does not matter', () => {
    assert.deepEqual(program(), program({ reverse: true, nodes: [...withTunnels].reverse() }));
  });
});
