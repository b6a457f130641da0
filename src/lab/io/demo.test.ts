// The quickstart demo's probes (pure): access → nginx must go through the service, not the pod.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QUICKSTART_STEPS, quickstartChecks } from './demo.ts';

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
