import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PolicyModel, updateOf } from '../calc/index.ts';
import { validateResource } from '../api/index.ts';
import { TraceCache, flowTraces, sourcePortMatters, traceModels } from './policy-trace.ts';
import { API, PG, WEB, demoFlow, demoModels, demoResources } from './test-support.ts';

const T = 1_800_000_000;

void describe('flow records with enforced and pending traces from the explain oracle', () => {
  const models = demoModels();

  void it('an allowed flow names the allowing rule; pending equals enforced without staged policies', () => {
    const f = demoFlow(models, { src: WEB, dst: API, port: 8080, start: T });
    assert.equal(f.action, 'allow');
    assert.deepEqual(f.src, { type: 'wep', namespace: 'frontend', name: 'web-1', labels: ['app=web', 'projectcalico.org/namespace=frontend', 'projectcalico.org/orchestrator=k8s'], ips: [WEB] });
    assert.deepEqual(f.policies.enforced, [{ kind: 'NetworkPolicy', namespace: 'backend', name: 'allow-web', tier: 'default', action: 'allow', policyIndex: 1, ruleIndex: 0 }]);
    assert.deepEqual(f.policies.pending, f.policies.enforced);
  });

  void it('a denied flow ends at the end of tier, triggered by default-deny', () => {
    const f = demoFlow(models, { src: WEB, dst: API, port: 9090, start: T });
    assert.equal(f.action, 'deny');
    assert.deepEqual(f.policies.enforced, [
      { kind: 'EndOfTier', namespace: '', name: '__NO_MATCH__', tier: 'default', action: 'deny', policyIndex: 1, ruleIndex: -1, trigger: { kind: 'NetworkPolicy', namespace: 'backend', name: 'default-deny' } },
    ]);
  });

  void it('a staged deny shows in the pending trace only', () => {
    const f = demoFlow(models, { src: WEB, dst: PG, port: 5432, start: T });
    assert.equal(f.action, 'allow');
    assert.deepEqual(f.policies.enforced, [{ kind: 'Profile', namespace: '', name: 'kns.db', tier: '__PROFILE__', action: 'allow', policyIndex: 0, ruleIndex: 0 }]);
    assert.deepEqual(f.policies.pending, [{ kind: 'StagedNetworkPolicy', namespace: 'db', name: 'deny-all', tier: 'default', action: 'deny', policyIndex: 0, ruleIndex: 0 }]);
  });

  void it('the source side reports its egress trace; an outside address is a network', () => {
    const f = demoFlow(models, { src: WEB, dst: '8.8.8.8', port: 53, start: T, reporter: 'src', node: 'node-1' });
    assert.equal(f.action, 'allow');
    assert.deepEqual(f.dst, { type: 'net', namespace: '', name: 'pub', labels: [], ips: ['8.8.8.8'] });
    assert.equal(f.policies.enforced[0]?.kind, 'Profile');
  });
});

void describe('trace cache (one oracle evaluation per flow key in a flush)', () => {
  void it('connections that differ only by source port share a trace; the cache agrees with the oracle', () => {
    const models = demoModels();
    assert.equal(sourcePortMatters(models.enforced), false);
    const cache = new TraceCache(models);
    const a = cache.get({ srcIP: WEB, dstIP: API, proto: 'tcp', dstPort: 8080, srcPort: 40000 }, 'dst');
    const b = cache.get({ srcIP: WEB, dstIP: API, proto: 'tcp', dstPort: 8080, srcPort: 40001 }, 'dst');
    assert.equal(a, b, 'one evaluation');
    assert.deepEqual(a, flowTraces(models, { srcIP: WEB, dstIP: API, proto: 'tcp', dstPort: 8080, srcPort: 40001 }, 'dst'));
    assert.notEqual(cache.get({ srcIP: WEB, dstIP: API, proto: 'tcp', dstPort: 9090, srcPort: 40000 }, 'dst').action, a.action, 'the destination port is in the key');
  });

  void it('with a rule on source ports, the source port is part of the key', () => {
    const withSrcPort = [
      ...demoResources(),
      validateResource({
        apiVersion: 'projectcalico.org/v3',
        kind: 'NetworkPolicy',
        metadata: { name: 'no-low-ports', namespace: 'backend' },
        spec: { order: 10, selector: "app == 'api'", types: ['Ingress'], ingress: [{ action: 'Deny', protocol: 'TCP', source: { ports: ['1:1023'] } }] },
      }),
    ];
    const models = traceModels(PolicyModel.fromUpdates(withSrcPort.map(updateOf)));
    assert.equal(sourcePortMatters(models.enforced), true);
    const cache = new TraceCache(models);
    const high = cache.get({ srcIP: WEB, dstIP: API, proto: 'tcp', dstPort: 8080, srcPort: 40000 }, 'dst');
    const low = cache.get({ srcIP: WEB, dstIP: API, proto: 'tcp', dstPort: 8080, srcPort: 1000 }, 'dst');
    assert.equal(high.action, 'allow');
    assert.equal(low.action, 'deny');
  });
});
