// The one codec of stored data, table-driven: what every reader (resource client, update
// sources, a Typha client) gets for a stored key/value, and the round trip encode → decode.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateResource, type AnyResource } from '../api/index.ts';
import { decodeBlockAffinity, decodeResource, encodeResource, POLICY_METADATA_ANNOTATION, storedForm } from './resource-codec.ts';

const gnpKey = '/calico/resources/v3/projectcalico.org/globalnetworkpolicies/p1';
const gnp = { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'p1' }, spec: { selector: 'all()', ingress: [{ action: 'Allow' }] } };
const legacyKey = '/calico/resources/v3/projectcalico.org/globalnetworkpolicies/default.old';
const legacy = { ...gnp, metadata: { name: 'default.old' } };
const wepKey = '/calico/resources/v3/projectcalico.org/workloadendpoints/ns1/n1-k8s-pod-eth0';
const wep = {
  apiVersion: 'projectcalico.org/v3',
  kind: 'WorkloadEndpoint',
  metadata: { name: 'n1-k8s-pod-eth0' },
  spec: { node: 'n1', orchestrator: 'k8s', pod: 'pod', endpoint: 'eth0', interfaceName: 'cali0123456789a', ipNetworks: ['10.0.0.1/32'] },
};

void describe('decodeResource', () => {
  const cases: { name: string; key: string; value: unknown; ok: boolean; apiName?: string; problem?: RegExp; field?: string }[] = [
    { name: 'valid policy', key: gnpKey, value: gnp, ok: true, apiName: 'p1' },
    { name: 'not JSON', key: gnpKey, value: '{nope', ok: false, problem: /stored value at .*globalnetworkpolicies\/p1: not valid JSON/ },
    { name: 'not an object', key: gnpKey, value: [1], ok: false, problem: /not an object/ },
    { name: 'fails validation: names field and value', key: gnpKey, value: { ...gnp, spec: { selector: 'bad ((' } }, ok: false, problem: /selector/, field: 'spec.selector' },
    { name: 'wrong kind under the key', key: gnpKey, value: { apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name: 'p1' }, spec: {} }, ok: false, problem: /under a projectcalico.org\/v3 GlobalNetworkPolicy key/, field: 'kind' },
    { name: 'metadata annotation gives the name', key: gnpKey, value: { ...gnp, metadata: { name: 'p1', annotations: { [POLICY_METADATA_ANNOTATION]: '{"name":"p1"}' } } }, ok: true, apiName: 'p1' },
    { name: 'legacy default.<name> policy reads as <name>', key: legacyKey, value: legacy, ok: true, apiName: 'old' },
    { name: 'legacy prefix kept in another tier', key: legacyKey, value: { ...legacy, spec: { ...gnp.spec, tier: 'security' } }, ok: true, apiName: 'default.old' },
    { name: 'reserved names written by a controller are read', key: '/calico/resources/v3/projectcalico.org/networkpolicies/ns1/knp.default.x', value: { apiVersion: 'projectcalico.org/v3', kind: 'NetworkPolicy', metadata: { name: 'knp.default.x', namespace: 'ns1' }, spec: {} }, ok: true, apiName: 'knp.default.x' },
    { name: 'namespace from the key when the value has none', key: wepKey, value: wep, ok: true, apiName: 'n1-k8s-pod-eth0' },
  ];
  for (const c of cases) {
    void it(c.name, () => {
      const d = decodeResource({ key: c.key, value: typeof c.value === 'string' ? c.value : JSON.stringify(c.value), modRevision: 7 });
      assert.ok(d !== undefined);
      assert.equal(d.ok, c.ok);
      if (d.ok) {
        assert.equal(d.resource.metadata.name, c.apiName);
        assert.equal(d.resource.metadata.resourceVersion, '7');
        assert.equal(d.resource.metadata.annotations?.[POLICY_METADATA_ANNOTATION], undefined);
        if (d.info.namespaced) assert.equal(d.resource.metadata.namespace, d.namespace);
      } else {
        assert.equal(d.problem.code, 'ERR_VALIDATION');
        assert.match(d.problem.message, c.problem ?? /./);
        if (c.field !== undefined) assert.equal(d.problem.field, c.field);
      }
    });
  }
  void it('a key of no known kind → undefined', () => assert.equal(decodeResource({ key: '/calico/other/x', value: '{}', modRevision: 1 }), undefined));

  void it('encode → decode round-trips, and storedForm is what a reader decodes', () => {
    // a writer stores what validation returned (defaults filled)
    const res: AnyResource = validateResource({ ...structuredClone(gnp), metadata: { name: 'p1', labels: { a: 'b' } } });
    res.metadata.resourceVersion = '3';
    const text = encodeResource(res);
    const stored = JSON.parse(text) as AnyResource;
    assert.equal(stored.metadata.resourceVersion, undefined);
    assert.equal(stored.metadata.annotations?.[POLICY_METADATA_ANNOTATION], '{"name":"p1"}');
    const d = decodeResource({ key: gnpKey, value: text, modRevision: 9 });
    assert.ok(d?.ok);
    assert.deepEqual(storedForm(res, 9), d.resource);
  });
});

void describe('decodeBlockAffinity', () => {
  const key = '/calico/ipam/v2/host/n1/ipv4/block/10.244.1.0-26';
  void it('state and deleted', () => assert.deepEqual(decodeBlockAffinity(key, '{"state":"pending","deleted":true}'), { host: 'n1', cidr: '10.244.1.0/26', state: 'pending', deleted: true }));
  void it('legacy empty value', () => assert.deepEqual(decodeBlockAffinity(key, ''), { host: 'n1', cidr: '10.244.1.0/26', state: '', deleted: false }));
  void it('unreadable value reads as the legacy empty one', () => assert.deepEqual(decodeBlockAffinity(key, '{x'), { host: 'n1', cidr: '10.244.1.0/26', state: '', deleted: false }));
  void it('other keys', () => {
    assert.equal(decodeBlockAffinity('/calico/resources/v3/projectcalico.org/nodes/n1', '{}'), undefined);
    assert.equal(decodeBlockAffinity('/calico/ipam/v2/host/n1/ipv4/block/not-a-cidr', '{}'), undefined);
  });
});
