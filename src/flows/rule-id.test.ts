import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MAX_PREFIX_LENGTH, RuleIdLookup, encodeRuleId, hitOf, nflogGroup, tryDecodeRuleId } from './rule-id.ts';
import type { RuleIdentity } from './rule-id.ts';

void describe('rule identity prefixes (Calico NFLOG grammar)', () => {
  const cases: Array<[RuleIdentity, string]> = [
    [{ owner: 'policy', action: 'allow', direction: 'ingress', index: 0, kind: 'GlobalNetworkPolicy', namespace: '', name: 'allow-web' }, 'API0|gnp/allow-web'],
    [{ owner: 'policy', action: 'deny', direction: 'egress', index: 3, kind: 'NetworkPolicy', namespace: 'prod', name: 'db' }, 'DPE3|np/prod/db'],
    [{ owner: 'policy', action: 'pass', direction: 'ingress', index: 1, kind: 'StagedNetworkPolicy', namespace: 'x', name: 'y' }, 'PPI1|snp/x/y'],
    [{ owner: 'policy', action: 'allow', direction: 'ingress', index: 0, kind: 'KubernetesNetworkPolicy', namespace: 'x', name: 'knp.default.y' }, 'API0|knp/x/knp.default.y'],
    [{ owner: 'profile', action: 'allow', direction: 'egress', index: 0, name: 'kns.default' }, 'ARE0|kns.default'],
    [{ owner: 'end-of-tier', action: 'deny', direction: 'ingress', tier: 'default' }, 'DPI|default'],
    [{ owner: 'end-of-tier', action: 'pass', direction: 'egress', tier: 'security' }, 'PPE|security'],
    [{ owner: 'no-profile', action: 'deny', direction: 'egress' }, 'DRE'],
  ];
  for (const [id, text] of cases) {
    void it(`${text}`, () => {
      assert.equal(encodeRuleId(id), text);
      assert.deepEqual(tryDecodeRuleId(text), id);
    });
  }

  void it('hashes long prefixes to exactly 63 characters and resolves them through the lookup only', () => {
    const id: RuleIdentity = { owner: 'policy', action: 'deny', direction: 'ingress', index: 12, kind: 'NetworkPolicy', namespace: 'a-rather-long-namespace-name', name: 'an-even-longer-policy-name-that-goes-on' };
    const p = encodeRuleId(id);
    assert.equal(p.length, MAX_PREFIX_LENGTH);
    assert.equal(p.slice(0, 10), 'DPI12|np/a');
    assert.equal(tryDecodeRuleId(p), undefined);
    const lookup = new RuleIdLookup();
    assert.equal(lookup.add({ ...id, tier: 'default' }), p);
    assert.deepEqual(lookup.resolve(p), { ...id, tier: 'default' });
  });

  void it('round-trips any identity through the lookup (property)', () => {
    const name = fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,60}[a-z0-9])?$/);
    const arb = fc.record({
      action: fc.constantFrom('allow' as const, 'deny' as const, 'pass' as const),
      direction: fc.constantFrom('ingress' as const, 'egress' as const),
      index: fc.nat(999),
      kind: fc.constantFrom('NetworkPolicy' as const, 'GlobalNetworkPolicy' as const, 'StagedNetworkPolicy' as const),
      ns: name,
      name,
    });
    fc.assert(
      fc.property(arb, (a) => {
        const id: RuleIdentity = { owner: 'policy', action: a.action, direction: a.direction, index: a.index, kind: a.kind, namespace: a.kind === 'GlobalNetworkPolicy' ? '' : a.ns, name: a.name };
        const lookup = new RuleIdLookup();
        const p = lookup.add(id);
        assert.ok(p.length <= MAX_PREFIX_LENGTH);
        assert.deepEqual(lookup.resolve(p), id);
        if (p.length < MAX_PREFIX_LENGTH) assert.deepEqual(tryDecodeRuleId(p), id);
      }),
    );
  });

  void it('rejects malformed prefixes instead of guessing', () => {
    for (const p of ['', 'X', 'XPI0|np/a/b', 'API|', 'APX0|gnp/a', 'API0|zz/a', 'API0|np/a/b/c', 'DR', 'DRX']) assert.equal(tryDecodeRuleId(p), undefined, p);
  });

  void it('maps directions to NFLOG groups 1 (ingress) and 2 (egress), and identities to trace hits', () => {
    assert.equal(nflogGroup('ingress'), 1);
    assert.equal(nflogGroup('egress'), 2);
    assert.deepEqual(hitOf({ owner: 'end-of-tier', action: 'deny', direction: 'ingress', tier: 'default' }, 0, { kind: 'NetworkPolicy', namespace: 'x', name: 'default-deny' }), {
      kind: 'EndOfTier', namespace: '', name: '__NO_MATCH__', tier: 'default', action: 'deny', policyIndex: 0, ruleIndex: -1,
      trigger: { kind: 'NetworkPolicy', namespace: 'x', name: 'default-deny' },
    });
  });
});
