// The upstream Kubernetes network-policy e2e scenarios (namespaces x, y, z; pods a, b, c
// labelled pod=<name>; TCP and UDP on 80 and 81) against the policy engine alone. The scenarios
// are data shared with the lab conformance suite (test/conformance/k8s-scenarios.ts): each step's
// expected truth table is compared with explainAll for every pair and probe.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { K8S_SCENARIOS } from '../../test/conformance/k8s-scenarios.ts';
import { runPure } from '../../test/conformance/pure.ts';

for (const s of K8S_SCENARIOS) {
  void test(`k8s e2e: ${s.name}`, () => {
    assert.deepEqual(runPure(s), []);
  });
}
