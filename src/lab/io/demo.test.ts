// The quickstart demo's probes (pure): access → nginx must go through the service, not the pod.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QUICKSTART_STEPS, deniedBy, quickstartChecks } from './demo.ts';

void test('every quickstart step probes nginx at the cluster IP (through the service), not the pod of the same name', () => {
  for (const step of QUICKSTART_STEPS) {
    const [nginx, external] = quickstartChecks(step, '10.96.0.10', '203.0.113.10');
    assert.equal(nginx?.to, '10.96.0.10', step.title);
    assert.equal(nginx?.want, step.expect.nginx);
    assert.match(nginx?.label ?? '', /service 10\.96\.0\.10:80/);
    assert.equal(external?.to, 'external');
    assert.equal(external?.want, step.expect.external);
  }
});

void test('the denied-flow hint names the policy that triggered the end of tier, and never prints a placeholder', () => {
  const eot = { kind: 'EndOfTier', tier: 'default', namespace: '', name: '__NO_MATCH__' };
  assert.equal(deniedBy({ ...eot, trigger: { namespace: '', name: 'default-deny' } }), 'end of tier default, triggered by default-deny');
  assert.equal(deniedBy({ ...eot, trigger: { namespace: 'quickstart', name: 'lockdown' } }), 'end of tier default, triggered by quickstart/lockdown');
  assert.doesNotMatch(deniedBy(eot), /\?/);
  assert.equal(deniedBy({ kind: 'NetworkPolicy', tier: 'default', namespace: 'quickstart', name: 'deny-web' }), 'default/quickstart/deny-web');
  assert.equal(deniedBy(undefined), 'no recorded rule');
});
