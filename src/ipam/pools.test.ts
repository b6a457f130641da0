// Pool choice, block candidate order and annotation parsing (pure).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatCIDR, parseCIDR } from '../net/index.ts';
import { choiceFromAnnotations } from './annotations.ts';
import { blockCandidates, choosePools, fnv1, type IPAMPool } from './pools.ts';

const pool = (name: string, cidr: string, extra: Partial<IPAMPool> = {}): IPAMPool => ({
  name, cidr: parseCIDR(cidr), blockSize: 26, nodeSelector: 'all()', namespaceSelector: '', disabled: false, allowedUses: ['Workload', 'Tunnel'], assignmentMode: 'Automatic', ...extra,
});

void test('block candidates visit every block once, host-seeded and host-specific', () => {
  const p = pool('p', '10.0.0.0/22');
  const a = [...blockCandidates(p, 'node-a', 0)].map(formatCIDR);
  assert.equal(a.length, 16);
  assert.equal(new Set(a).size, 16);
  assert.deepEqual([...blockCandidates(p, 'node-a', 0)].map(formatCIDR), a, 'stable per host');
  const starts = new Set(['a', 'b', 'c', 'd', 'e', 'f'].map((h) => formatCIDR([...blockCandidates(p, h, 0)][0] ?? p.cidr)));
  assert.ok(starts.size > 1, 'hosts diverge');
  assert.equal(fnv1(''), 0x811c9dc5);
  const big = blockCandidates(pool('v6', 'fd00::/64', { blockSize: 122 }), 'n', 0);
  assert.match(formatCIDR(big.next().value ?? parseCIDR('::/0')), /\/122$/);
});

void test('pool choice: selectors, requested pools, uses', () => {
  const pools = [
    pool('a', '10.0.0.0/24', { nodeSelector: "rack == 'a'" }),
    pool('ns', '10.0.1.0/24', { namespaceSelector: "env == 'prod'" }),
    pool('man', '10.0.2.0/24', { assignmentMode: 'Manual' }),
    pool('lb', '10.0.3.0/24', { allowedUses: ['LoadBalancer'] }),
    pool('six', 'fd00::/120', { blockSize: 122 }),
  ];
  const names = (ps: IPAMPool[]): string[] => ps.map((p) => p.name);
  assert.deepEqual(names(choosePools(pools, { family: 4, nodeName: 'n', nodeLabels: { rack: 'a' }, use: 'Workload' })), ['a', 'lb'].filter((n) => n !== 'lb'));
  assert.deepEqual(names(choosePools(pools, { family: 4, nodeName: 'n', nodeLabels: { rack: 'a' }, namespaceLabels: { env: 'prod' }, use: 'Workload' })), ['a', 'ns']);
  assert.deepEqual(names(choosePools(pools, { family: 4, nodeName: 'n', nodeLabels: {}, requested: ['man', '10.0.0.0/24'], use: 'Workload' })), ['man', 'a']);
  assert.deepEqual(names(choosePools(pools, { family: 4, nodeName: 'n', nodeLabels: {}, use: 'LoadBalancer' })), ['lb']);
  assert.throws(() => choosePools(pools, { family: 4, nodeName: 'n', nodeLabels: {}, requested: ['six'], use: 'Workload' }), /not an IPv4 pool/);
  assert.throws(() => choosePools(pools, { family: 4, nodeName: 'n', nodeLabels: {}, use: 'Tunnel' }), /pools \[lb\] do not allow use "Tunnel"/);
  assert.throws(() => choosePools(pools, { family: 6, nodeName: 'n', nodeLabels: {}, use: 'LoadBalancer' }), /pools \[six\]/);
  assert.throws(() => choosePools([], { family: 4, nodeName: 'n', nodeLabels: {}, use: 'Workload' }), /no IPv4 pools are configured for node "n" \(use Workload\)/);
});

void test('annotations: pod over namespace over CNI config; ipAddrs rules', () => {
  const v4 = 'cni.projectcalico.org/ipv4pools';
  assert.deepEqual(choiceFromAnnotations({ [v4]: '["p1"]' }, { [v4]: '["n1"]' }, { ipv4Pools: ['c1'] }), { ipv4Pools: ['p1'] });
  assert.deepEqual(choiceFromAnnotations({}, { [v4]: '["n1"]' }, { ipv4Pools: ['c1'] }), { ipv4Pools: ['n1'] });
  assert.deepEqual(choiceFromAnnotations({}, {}, { ipv4Pools: ['c1'] }), { ipv4Pools: ['c1'] });
  assert.deepEqual(choiceFromAnnotations({ 'cni.projectcalico.org/ipAddrs': '["10.0.0.1","fd00::1"]' }, {}), { ipAddrs: ['10.0.0.1', 'fd00::1'] });
  for (const [ann, re] of [
    [{ [v4]: 'p1' }, /pod annotation cni.projectcalico.org\/ipv4pools: "p1" is not a JSON list/],
    [{ 'cni.projectcalico.org/ipAddrs': '["10.0.0.1","10.0.0.2"]' }, /at most one IPv4 and one IPv6/],
    [{ 'cni.projectcalico.org/ipAddrs': '["bogus"]' }, /"bogus" is not a valid IP/],
    [{ 'cni.projectcalico.org/ipAddrs': '[]', 'cni.projectcalico.org/ipAddrsNoIpam': '[]' }, /cannot be used together/],
  ] as const) {
    assert.throws(() => choiceFromAnnotations(ann, {}), re);
  }
});
