import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IPPool, Node } from '../api/index.ts';
import { resolveHosts } from '../calc/index.ts';
import type { BlockAffinityEntry } from '../calc/index.ts';
import { podMtuPlan } from './mtu-plan.ts';
import { GUARD_METRIC, desiredWireGuard, rememberPeers, wireguardTableIndex } from './wireguard-plan.ts';
import type { RememberedPeer, WireGuardInputs } from './wireguard-plan.ts';

const key = (n: number): string => Buffer.alloc(32, n).toString('base64');
const node = (i: number, status: Node['status'] = { wireguardPublicKey: key(i) }, spec: Partial<NonNullable<Node['spec']>> = {}): Node => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'Node',
  metadata: { name: `node-${i}` },
  spec: { bgp: { ipv4Address: `172.31.0.1${i}/24` }, ...spec },
  ...(status === undefined ? {} : { status }),
});
const aff = (i: number, cidr: string): BlockAffinityEntry => ({ host: `node-${i}`, cidr, state: 'confirmed', deleted: false });
const pool: IPPool = { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '10.244.0.0/16' } };

// The plan's input is the calc graph's HostMetadataUpdates, made here by the calc's own resolver.
type TestInputs = Partial<WireGuardInputs> & { readonly nodes?: readonly Node[]; readonly affinities?: readonly BlockAffinityEntry[] };

function inputs(over: TestInputs = {}): WireGuardInputs {
  const { nodes = [node(1), node(2), node(3)], affinities = [aff(1, '10.244.1.0/26'), aff(2, '10.244.2.0/26'), aff(3, '10.244.3.0/26')], ...rest } = over;
  return {
    nodeName: 'node-1',
    hosts: resolveHosts({ nodeName: 'node-1', nodes, affinities }),
    invalidNodes: new Set(),
    felix: { wireguardEnabled: true },
    publicKey: key(1),
    localWorkloadIPs: [],
    parentMtu: 1500,
    remembered: new Map(),
    ...rest,
  };
}

const devAndGuard = (dst: string) => [
  { type: 'dev', dst, metric: 0 },
  { type: 'unreachable', dst, metric: GUARD_METRIC },
];

void test('WireGuard off: nothing planned, and the reason says why', () => {
  const p = desiredWireGuard(inputs({ felix: {} }));
  assert.equal(p.enabled, false);
  assert.match(p.reason, /wireguardEnabled/);
  assert.deepEqual([p.peers, p.routes], [[], []]);
});

void test("Calico's scheme: a peer per keyed node, device routes with guards beneath, throw for local blocks", () => {
  const p = desiredWireGuard(inputs({ localWorkloadIPs: ['10.244.1.5', '10.244.9.9'] }));
  assert.deepEqual(p.device, { name: 'wireguard.cali', listenPort: 51820, fwmark: 0x200000, mtu: 1440, address: undefined });
  assert.equal(p.table, 1);
  assert.equal(p.rulePriority, 99);
  assert.deepEqual(
    p.peers.map((x) => [x.node, x.publicKey, x.endpoint, x.allowedIPs]),
    [
      ['node-2', key(2), '172.31.0.12:51820', ['10.244.2.0/26']],
      ['node-3', key(3), '172.31.0.13:51820', ['10.244.3.0/26']],
    ],
  );
  assert.deepEqual(p.routes, [
    { type: 'throw', dst: '10.244.1.0/26', metric: 0 },
    ...devAndGuard('10.244.2.0/26'),
    ...devAndGuard('10.244.3.0/26'),
    // a borrowed local address outside our blocks goes back to the main table too
    { type: 'throw', dst: '10.244.9.9/32', metric: 0 },
  ]);
  assert.deepEqual([p.plaintext, p.blocked, p.degraded], [[], [], []]);
});

void test('a remote node without a key travels in plaintext (Calico), counted with the reason', () => {
  const p = desiredWireGuard(inputs({ nodes: [node(1), node(2), node(3, {})] }));
  assert.deepEqual(p.plaintext, [{ node: 'node-3', reason: 'no WireGuard public key published' }]);
  assert.deepEqual(
    p.routes.filter((r) => r.dst === '10.244.3.0/26'),
    [{ type: 'throw', dst: '10.244.3.0/26', metric: 0 }],
  );
});

void test('an invalid key never means plaintext: the remembered key stays in use, else only the guard', () => {
  const bad = [node(1), node(2), node(3, { wireguardPublicKey: 'A'.repeat(42) + 'B=' })];
  const blocked = desiredWireGuard(inputs({ nodes: bad }));
  assert.equal(blocked.blocked[0]?.node, 'node-3');
  assert.match(blocked.blocked[0]?.reason ?? '', /is not a valid key/);
  assert.deepEqual(
    blocked.routes.filter((r) => r.dst === '10.244.3.0/26'),
    [{ type: 'unreachable', dst: '10.244.3.0/26', metric: GUARD_METRIC }],
  );
  const remembered = new Map<string, RememberedPeer>([['node-3', { publicKey: key(3), endpoint: '172.31.0.13:51820', allowedIPs: ['10.244.3.0/26'] }]]);
  const kept = desiredWireGuard(inputs({ nodes: bad, remembered }));
  assert.deepEqual(kept.peers.find((x) => x.node === 'node-3'), { node: 'node-3', publicKey: key(3), endpoint: '172.31.0.13:51820', allowedIPs: ['10.244.3.0/26'], keepaliveSeconds: 0, remembered: true });
  assert.equal(kept.degraded[0]?.node, 'node-3');
  assert.deepEqual(kept.blocked, []);
  // a stored Node that does not validate is absent from the calc graph's hosts: same, from memory
  const absent = desiredWireGuard(inputs({ nodes: [node(1), node(2)], remembered, invalidNodes: new Set(['node-3']) }));
  assert.equal(absent.peers.find((x) => x.node === 'node-3')?.remembered, true);
  assert.deepEqual(absent.degraded.map((x) => x.node), ['node-3']);
  assert.deepEqual(
    absent.routes.filter((r) => r.dst === '10.244.3.0/26'),
    devAndGuard('10.244.3.0/26'),
  );
  // a deleted Node is forgotten: no peer, nothing remembered
  const deleted = desiredWireGuard(inputs({ nodes: [node(1), node(2)], affinities: [aff(1, '10.244.1.0/26'), aff(2, '10.244.2.0/26')], remembered }));
  assert.deepEqual(deleted.peers.map((x) => x.node), ['node-2']);
  assert.deepEqual([...rememberPeers(remembered, deleted).keys()], ['node-2']);
});

void test('a key claimed twice programs neither node; with memory they are blocked, not sent in clear', () => {
  const dup = [node(1), node(2, { wireguardPublicKey: key(9) }), node(3, { wireguardPublicKey: key(9) })];
  const p = desiredWireGuard(inputs({ nodes: dup }));
  assert.deepEqual(p.peers, []);
  assert.deepEqual(
    p.plaintext.map((x) => x.node),
    ['node-2', 'node-3'],
  );
  assert.match(p.plaintext[0]?.reason ?? '', /claimed by 2 nodes/);
  const remembered = new Map<string, RememberedPeer>([['node-2', { publicKey: key(2), endpoint: '172.31.0.12:51820', allowedIPs: ['10.244.2.0/26'] }]]);
  const q = desiredWireGuard(inputs({ nodes: dup, remembered }));
  assert.deepEqual(
    q.blocked.map((x) => x.node),
    ['node-2'],
  );
  // our own key on another node is a duplicate too
  const mine = desiredWireGuard(inputs({ nodes: [node(1), node(2, { wireguardPublicKey: key(1) })], affinities: [aff(2, '10.244.2.0/26')] }));
  assert.match(mine.plaintext[0]?.reason ?? '', /this node/);
});

void test('tunnel addresses join the allowed IPs; settings follow FelixConfiguration', () => {
  const p = desiredWireGuard(
    inputs({
      nodes: [node(1, { wireguardPublicKey: key(1) }, { wireguard: { interfaceIPv4Address: '10.244.1.0' } }), node(2, { wireguardPublicKey: key(2) }, { wireguard: { interfaceIPv4Address: '10.250.0.7' } })],
      affinities: [aff(1, '10.244.1.0/26'), aff(2, '10.244.2.0/26')],
      felix: { wireguardEnabled: true, wireguardListeningPort: 51999, wireguardMTU: 1400, wireguardKeepAlive: '25s', wireguardRoutingRulePriority: 150, wireguardInterfaceName: 'wg0', routeTableRange: { min: 5, max: 10 } },
    }),
  );
  assert.deepEqual(p.device, { name: 'wg0', listenPort: 51999, fwmark: 0x200000, mtu: 1400, address: '10.244.1.0' });
  assert.deepEqual(p.peers[0]?.allowedIPs, ['10.244.2.0/26', '10.250.0.7/32']);
  assert.equal(p.peers[0]?.endpoint, '172.31.0.12:51999');
  assert.equal(p.peers[0]?.keepaliveSeconds, 25);
  assert.equal(p.rulePriority, 150);
  assert.equal(p.table, 5);
});

void test("borrowed addresses (a remote workload outside its node's blocks) join that peer's allowed IPs", () => {
  const workloads = new Map([['WorkloadEndpoint/ns/b', { node: 'node-3', addrs: ['10.244.2.9/32'] }]]);
  const { hosts } = inputs();
  const p = desiredWireGuard({ ...inputs(), hosts: resolveHosts({ nodeName: 'node-1', nodes: [node(1), node(2), node(3)], affinities: [aff(1, '10.244.1.0/26'), aff(2, '10.244.2.0/26'), aff(3, '10.244.3.0/26')], workloads }) });
  assert.equal(hosts.get('node-3')?.borrowed.length, 0);
  assert.deepEqual(p.peers.find((x) => x.node === 'node-3')?.allowedIPs, ['10.244.2.9/32', '10.244.3.0/26']);
  assert.deepEqual(p.routes.filter((r) => r.dst === '10.244.2.9/32'), devAndGuard('10.244.2.9/32'));
});

void test('the table is the first of routeTableRanges the kernel does not own', () => {
  assert.equal(wireguardTableIndex({}), 1);
  assert.equal(wireguardTableIndex({ routeTableRanges: [{ min: 253, max: 300 }] }), 256);
  assert.equal(wireguardTableIndex({ routeTableRange: { min: 7, max: 9 } }), 7);
});

void test('memory: peers remembered; a node whose key was removed, or WireGuard off here, is forgotten', () => {
  const p = desiredWireGuard(inputs());
  const m = rememberPeers(new Map(), p);
  assert.deepEqual([...m.keys()], ['node-2', 'node-3']);
  const q = desiredWireGuard(inputs({ nodes: [node(1), node(2), node(3, {})], remembered: m }));
  assert.deepEqual([...rememberPeers(m, q).keys()], ['node-2']);
  assert.deepEqual([...rememberPeers(m, desiredWireGuard(inputs({ felix: {} }))).keys()], []);
});

void test('pod MTU: host MTU minus the largest encapsulation in use (§4.19)', () => {
  const links = [
    { name: 'lo', mtu: 65536, up: true },
    { name: 'eth0', mtu: 1500, up: true },
    { name: 'eth1', mtu: 9000, up: true },
    { name: 'eth9', mtu: 1280, up: false },
  ];
  const vx: IPPool = { ...pool, spec: { cidr: '10.244.0.0/16', vxlanMode: 'Always' } };
  const ipip: IPPool = { ...pool, spec: { cidr: '10.244.0.0/16', ipipMode: 'Always' } };
  const cases: [string, Parameters<typeof podMtuPlan>[0], number][] = [
    ['no encapsulation', { felix: {}, pools: [pool], links, ipipServed: true }, 1500],
    ['VXLAN', { felix: {}, pools: [vx], links, ipipServed: true }, 1450],
    ['IPIP', { felix: {}, pools: [ipip], links, ipipServed: true }, 1480],
    ['IPIP not served here: not counted', { felix: {}, pools: [ipip], links, ipipServed: false }, 1500],
    ['WireGuard', { felix: { wireguardEnabled: true }, pools: [pool], links, ipipServed: true }, 1440],
    ['WireGuard + VXLAN', { felix: { wireguardEnabled: true }, pools: [vx], links, ipipServed: true }, 1440],
    ['configured vxlanMTU wins', { felix: { vxlanMTU: 1300 }, pools: [vx], links, ipipServed: true }, 1300],
    ['no matching link: 1460', { felix: {}, pools: [vx], links: [{ name: 'lo', mtu: 65536, up: true }], ipipServed: true }, 1410],
    ['mtuIfacePattern', { felix: { mtuIfacePattern: '^eth1$' }, pools: [pool], links, ipipServed: true }, 9000],
  ];
  for (const [what, i, want] of cases) assert.equal(podMtuPlan(i).podMtu, want, what);
});
