// Calico network-config parsing: defaults and one named error per malformed field.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_NODENAME_FILE, parseNetConf, parseStdinJson } from './netconf.ts';

const base = { cniVersion: '1.0.0', name: 'k8s-pod-network', type: 'calico' };

void test('defaults', () => {
  const c = parseNetConf(base);
  assert.equal(c.mtu, 0);
  assert.equal(c.numQueues, 1);
  assert.equal(c.nodenameFile, DEFAULT_NODENAME_FILE);
  assert.equal(c.nodenameFileOptional, false);
  assert.equal(c.ipam.type, 'tricolor-ipam');
  assert.equal(c.ipam.assignIPv4, true);
  assert.equal(c.ipam.assignIPv6, false);
  assert.equal(c.policyType, '');
  assert.equal(c.logLevel, 'info');
  assert.equal(c.allowIPForwarding, false);
  assert.equal(c.validAttachments, undefined);
});

void test('fields are read', () => {
  const c = parseNetConf({
    ...base,
    mtu: 1440,
    nodename: 'Node-A',
    ipam: { type: 'calico-ipam', assign_ipv4: 'false', assign_ipv6: 'true', ipv6_pools: ['default-ipv6'] },
    policy: { type: 'k8s' },
    container_settings: { allow_ip_forwarding: true },
    device_type: 'netkit',
    'cni.dev/valid-attachments': [{ containerID: 'c1', ifname: 'eth0' }],
  });
  assert.equal(c.mtu, 1440);
  assert.equal(c.nodename, 'Node-A');
  assert.deepEqual([c.ipam.assignIPv4, c.ipam.assignIPv6, c.ipam.ipv6Pools], [false, true, ['default-ipv6']]);
  assert.equal(c.policyType, 'k8s');
  assert.equal(c.allowIPForwarding, true);
  assert.equal(c.deviceType, 'veth');
  assert.deepEqual(c.validAttachments, [{ containerId: 'c1', ifName: 'eth0' }]);
});

void test('each malformed field is named with its value', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ cniVersion: undefined }, /^cniVersion: undefined is required/],
    [{ cniVersion: '0.2.0' }, /^cniVersion: "0.2.0" is not supported/],
    [{ name: '' }, /^name: ""/],
    [{ name: 'a b' }, /^name: "a b"/],
    [{ type: 7 }, /^type: 7 must be a string/],
    [{ mtu: -1 }, /^mtu: -1 must be an integer/],
    [{ mtu: 1.5 }, /^mtu: 1.5/],
    [{ num_queues: 0 }, /^num_queues: 0/],
    [{ device_type: 'macvlan' }, /^device_type: "macvlan"/],
    [{ ipam: 'calico-ipam' }, /^ipam: "calico-ipam" must be an object/],
    [{ ipam: {} }, /^ipam\.type: undefined is required/],
    [{ ipam: { type: 'calico-ipam', assign_ipv6: 1 } }, /^ipam\.assign_ipv6: 1/],
    [{ ipam: { type: 'calico-ipam', assign_ipv4: 'false' } }, /nothing to assign/],
    [{ ipam: { type: 'calico-ipam', ipv4_pools: [''] } }, /^ipam\.ipv4_pools: \[""\]/],
    [{ policy: { type: 'calico' } }, /^policy\.type: "calico"/],
    [{ log_level: 'loud' }, /^log_level: "loud"/],
    [{ nodename_file_optional: 'yes' }, /^nodename_file_optional: "yes" must be true or false/],
    [{ container_settings: { allow_ip_forwarding: 1 } }, /^container_settings\.allow_ip_forwarding: 1/],
    [{ datastore_type: 'redis' }, /^datastore_type: "redis"/],
    [{ policy_setup_timeout_seconds: -1 }, /^policy_setup_timeout_seconds: -1 must not be negative/],
    [{ 'cni.dev/valid-attachments': [{ containerID: 1 }] }, /^cni\.dev\/valid-attachments\[0\]/],
  ];
  for (const [patch, re] of cases) {
    const conf: Record<string, unknown> = { ...base, ...patch };
    for (const [k, v] of Object.entries(patch)) if (v === undefined) delete conf[k];
    assert.throws(() => parseNetConf(conf), (e: Error) => re.test(e.message), JSON.stringify(patch));
  }
});

void test('stdin that is not a JSON object is a decode error (CNI code 6)', () => {
  for (const text of ['', '{', '[]', '"x"', 'null']) {
    assert.throws(() => parseStdinJson(text), (e: { cniCode?: number }) => e.cniCode === 6, text);
  }
});
