// Calico-exact names: host interface hashing, WorkloadEndpoint names and their parsing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { containerHandleId, containerHostIfName, interfacePrefix, parseWepName, podHostIfName, wepName, workloadHandleId } from './naming.ts';

void test('host interface: prefix + 11 hex of SHA-1("<ns>.<pod>") (vectors from sha1sum)', () => {
  const cases: [string, string, string][] = [
    ['default', 'nginx', 'calic440f455693'],
    ['kube-system', 'coredns-5d78c9869d-abcde', 'cali4d5f75c480c'],
    ['shop', 'web-1', 'cali751425ce827'],
  ];
  for (const [ns, pod, want] of cases) {
    assert.equal(podHostIfName(ns, pod), want);
    assert.equal(want.length, 15);
  }
  assert.equal(podHostIfName('default', 'nginx', 'tap'), 'tapc440f455693');
  assert.equal(containerHostIfName('0123456789abcdef'), 'cali0123456789a');
});

void test('FELIX_INTERFACEPREFIX: first entry of the comma list, default cali', () => {
  assert.equal(interfacePrefix({}), 'cali');
  assert.equal(interfacePrefix({ FELIX_INTERFACEPREFIX: 'tap,cali' }), 'tap');
  assert.equal(interfacePrefix({ FELIX_INTERFACEPREFIX: '' }), 'cali');
});

void test('WEP names double dashes per segment (node contract §3.3)', () => {
  const cases: [Parameters<typeof wepName>[0], string][] = [
    [{ node: 'ip-10-0-0-1', orchestrator: 'k8s', workload: 'web-7d9f', endpoint: 'eth0' }, 'ip--10--0--0--1-k8s-web--7d9f-eth0'],
    [{ node: 'node1', orchestrator: 'cni', workload: 'abc123', endpoint: 'eth0' }, 'node1-cni-abc123-eth0'],
    [{ node: 'n', orchestrator: 'k8s', workload: 'a--b', endpoint: 'net-1' }, 'n-k8s-a----b-net--1'],
  ];
  for (const [id, name] of cases) {
    assert.equal(wepName(id), name);
    assert.deepEqual(parseWepName(name), id);
  }
  assert.throws(() => wepName({ node: '-n', orchestrator: 'k8s', workload: 'p', endpoint: 'eth0' }), /node "-n"/);
  assert.throws(() => wepName({ node: 'n', orchestrator: 'k8s', workload: 'p-', endpoint: 'eth0' }), /workload "p-"/);
  assert.equal(parseWepName('too-few'), undefined);
});

void test('WEP name round trip (property: random segments without edge dashes)', () => {
  const alphabet = 'ab-1.';
  let seed = 7;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const seg = (): string => {
    let s = 'x';
    for (let i = rnd(8); i > 0; i--) s += alphabet[rnd(alphabet.length)];
    return s + 'y';
  };
  for (let i = 0; i < 500; i++) {
    const id = { node: seg(), orchestrator: seg(), workload: seg(), endpoint: seg() };
    assert.deepEqual(parseWepName(wepName(id)), id);
  }
});

void test('IPAM handles', () => {
  assert.equal(containerHandleId('k8s-pod-network', 'abc'), 'k8s-pod-network.abc');
  assert.equal(workloadHandleId({ namespace: 'ns', pod: 'p' }, 'abc'), 'ns.p');
  assert.equal(workloadHandleId(undefined, 'abc'), 'abc');
});
