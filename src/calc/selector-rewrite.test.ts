// Calico's textual selector rewrites (API contract §4.1): in a rule's namespaceSelector and in a
// GlobalNetworkPolicy's namespaceSelector / serviceAccountSelector, every literal `all()` (and, in
// rule namespace selectors, `global()`) is replaced after prefixing — also inside compound
// expressions — while NetworkPolicy serviceAccountSelectors are not rewritten. Checked both on
// the effective selector text and on the verdicts it produces.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { calicoPolicy, globalNetworkSet, globalPolicy, namespace, workload } from './fixtures.ts';
import { PolicyModel, explain, updateOf } from './index.ts';
import { normalisePolicy } from './model.ts';
import { canonical } from './selector-expr.ts';

const ruleCases: ReadonlyArray<{ nsSel: string; want: string }> = [
  { nsSel: 'all()', want: 'has(projectcalico.org/namespace)' },
  { nsSel: 'global()', want: '!has(projectcalico.org/namespace)' },
  { nsSel: "env == 'prod'", want: 'pcns.env == "prod"' },
  // Inside compound expressions too: Calico replaces the text, not just a whole-selector all().
  { nsSel: "env == 'prod' || all()", want: '(pcns.env == "prod" || has(projectcalico.org/namespace))' },
  { nsSel: '!all()', want: '!has(projectcalico.org/namespace)' },
  { nsSel: "all() && team == 'a'", want: '(has(projectcalico.org/namespace) && pcns.team == "a")' },
  // A plain string replace also rewrites a quoted value — Calico's behaviour, kept.
  { nsSel: "name == 'all()'", want: 'pcns.name == "has(projectcalico.org/namespace)"' },
];

for (const c of ruleCases) {
  void test(`rule namespaceSelector ${JSON.stringify(c.nsSel)} → ${c.want}`, () => {
    const p = normalisePolicy('GlobalNetworkPolicy', globalPolicy('g', { ingress: [{ action: 'Allow', source: { namespaceSelector: c.nsSel } }] }));
    const sel = p.ingress?.[0]?.source.selector;
    assert.ok(sel !== undefined);
    assert.equal(canonical(sel), c.want);
  });
}

const policyCases: ReadonlyArray<{ kind: 'GlobalNetworkPolicy' | 'NetworkPolicy'; spec: Record<string, string>; want: string }> = [
  { kind: 'GlobalNetworkPolicy', spec: { namespaceSelector: 'all()' }, want: 'has(projectcalico.org/namespace)' },
  { kind: 'GlobalNetworkPolicy', spec: { selector: "role == 'db'", namespaceSelector: "env == 'prod'" }, want: '(role == "db" && pcns.env == "prod")' },
  // The whole string is rewritten: the policy's own all() too.
  { kind: 'GlobalNetworkPolicy', spec: { selector: 'all()', namespaceSelector: "team == 'a'" }, want: '(has(projectcalico.org/namespace) && pcns.team == "a")' },
  { kind: 'GlobalNetworkPolicy', spec: { namespaceSelector: "all() || env == 'x'" }, want: '(has(projectcalico.org/namespace) || pcns.env == "x")' },
  { kind: 'GlobalNetworkPolicy', spec: { serviceAccountSelector: 'all()' }, want: 'has(projectcalico.org/serviceaccount)' },
  {
    kind: 'GlobalNetworkPolicy',
    spec: { namespaceSelector: 'all()', serviceAccountSelector: "!all() || app == 'x'" },
    want: '(has(projectcalico.org/namespace) && (!has(projectcalico.org/serviceaccount) || pcsa.app == "x"))',
  },
  { kind: 'GlobalNetworkPolicy', spec: { selector: 'all()' }, want: 'all()' },
  // NetworkPolicy serviceAccountSelector: prefixed, never rewritten.
  { kind: 'NetworkPolicy', spec: { serviceAccountSelector: 'all()' }, want: 'projectcalico.org/namespace == "x"' },
];

for (const c of policyCases) {
  void test(`${c.kind} ${JSON.stringify(c.spec)} selects ${c.want}`, () => {
    const r = c.kind === 'NetworkPolicy' ? calicoPolicy('x', 'p', c.spec) : globalPolicy('p', c.spec);
    assert.equal(canonical(normalisePolicy(c.kind, r).selector), c.want);
  });
}

void test('namespaceSelector "env == \'prod\' || all()" admits every namespaced peer but no global network set', () => {
  const resources = [
    namespace('x'),
    namespace('y', { env: 'dev' }),
    workload('x', 'a', '10.0.0.1', { app: 'a' }),
    workload('y', 'b', '10.0.0.2', { app: 'b' }),
    globalNetworkSet('outside', ['192.0.2.0/24']),
    calicoPolicy('x', 'in', {
      selector: "app == 'a'",
      types: ['Ingress'],
      ingress: [{ action: 'Allow', source: { namespaceSelector: "env == 'prod' || all()" } }],
    }),
  ];
  const model = PolicyModel.fromUpdates(resources.map(updateOf));
  const to = { endpoint: 'WorkloadEndpoint/x/node1-k8s-a-eth0' };
  assert.equal(explain(model, { from: { endpoint: 'WorkloadEndpoint/y/node1-k8s-b-eth0' }, to, port: 80 }).verdict, 'Allow');
  // Before the rewrite was applied inside compound selectors, `(... || all())` matched this too.
  assert.equal(explain(model, { from: { ip: '192.0.2.7' }, to, port: 80 }).verdict, 'Deny');
});
