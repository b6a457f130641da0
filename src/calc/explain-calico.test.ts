// Verdict tests for Calico's documented semantics (API contract §4.4 and the worked scenarios of
// §4.9): tiers with Pass and defaultAction, order, Log, staged policies, namespace scoping of rule
// selectors, global(), network sets, notNets, notSelector, service accounts, ICMP, ipVersion.
// Single pairs with the deciding trace here; the multi-step Calico scenarios of the lab
// conformance suite (test/conformance/calico-scenarios.ts) run on the x/y/z model at the end.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AnyResource } from '../api/index.ts';
import {
  calicoPolicy,
  globalNetworkSet,
  globalPolicy,
  hostEndpoint,
  namespace,
  serviceAccount,
  tier,
  workload,
} from './fixtures.ts';
import { PolicyModel, explain, updateOf } from './index.ts';
import { CALICO_SCENARIOS } from '../../test/conformance/calico-scenarios.ts';
import { runPure } from '../../test/conformance/pure.ts';
import type { ExplainRequest } from './index.ts';

const BASE: AnyResource[] = [
  namespace('a', { team: 'alpha' }),
  namespace('b', { team: 'beta' }),
  namespace('kube-system'),
  serviceAccount('a', 'frontend', { role: 'fe' }),
  workload('a', 'pa', '10.1.0.1', { app: 'web' }, { serviceAccount: 'frontend' }),
  workload('b', 'pb', '10.2.0.1', { app: 'db' }),
  workload('kube-system', 'dns', '10.3.0.1', { app: 'dns' }),
];

const AB: Omit<ExplainRequest, 'from' | 'to'> & { from: { endpoint: string }; to: { endpoint: string } } = {
  from: { endpoint: 'WorkloadEndpoint/a/node1-k8s-pa-eth0' },
  to: { endpoint: 'WorkloadEndpoint/b/node1-k8s-pb-eth0' },
  protocol: 'TCP',
  port: 5432,
};

const dbIngress = (rule: Record<string, unknown>): AnyResource =>
  calicoPolicy('b', 'db', { selector: "app == 'db'", ingress: [{ action: 'Allow', source: rule }] });

interface Case {
  readonly name: string;
  readonly resources: readonly AnyResource[];
  readonly req?: ExplainRequest;
  readonly verdict: 'Allow' | 'Deny';
  /** Optional check of what decided (ingress or egress trace field). */
  readonly decided?: { readonly dir: 'ingress' | 'egress'; readonly decidedBy: string; readonly tier?: string };
}

const gnpEgressDeny10 = globalPolicy('deny-10', {
  order: 10,
  selector: 'all()',
  types: ['Egress'],
  egress: [{ action: 'Deny', destination: { nets: ['10.0.0.0/8'] } }],
});
const npAllowEgressA = calicoPolicy('a', 'allow-out', { order: 100, egress: [{ action: 'Allow' }] });

const CASES: Case[] = [
  { name: '1 no policy: profiles allow', resources: [], verdict: 'Allow', decided: { dir: 'ingress', decidedBy: 'profile' } },
  { name: '2 rule selector scoped to the policy namespace', resources: [dbIngress({ selector: "app == 'web'" })], verdict: 'Deny', decided: { dir: 'ingress', decidedBy: 'end-of-tier', tier: 'default' } },
  { name: '3 namespaceSelector all()', resources: [dbIngress({ selector: "app == 'web'", namespaceSelector: 'all()' })], verdict: 'Allow' },
  { name: '4 namespaceSelector by name', resources: [dbIngress({ selector: "app == 'web'", namespaceSelector: "projectcalico.org/name == 'a'" })], verdict: 'Allow' },
  { name: '4b namespaceSelector by namespace label', resources: [dbIngress({ namespaceSelector: "team == 'alpha'" })], verdict: 'Allow' },
  { name: '4c namespaceSelector wrong label', resources: [dbIngress({ namespaceSelector: "team == 'beta'" })], verdict: 'Deny' },
  {
    name: '5 GNP egress deny 10/8 only: end-of-tier drop to 8.8.8.8',
    resources: [gnpEgressDeny10],
    req: { ...AB, to: { ip: '8.8.8.8' } },
    verdict: 'Deny',
    decided: { dir: 'egress', decidedBy: 'end-of-tier' },
  },
  { name: '6 plus NP allow-all egress: 8.8.8.8 allowed', resources: [gnpEgressDeny10, npAllowEgressA], req: { ...AB, to: { ip: '8.8.8.8' } }, verdict: 'Allow' },
  { name: '7 but 10.1.1.1 denied first by order 10', resources: [gnpEgressDeny10, npAllowEgressA], req: { ...AB, to: { ip: '10.1.1.1' } }, verdict: 'Deny', decided: { dir: 'egress', decidedBy: 'rule' } },
  {
    name: '8 Pass in security tier then default-tier allow',
    resources: [
      tier('security', 100),
      globalPolicy('sec', { tier: 'security', selector: 'all()', ingress: [{ action: 'Pass' }] }),
      dbIngress({ selector: "app == 'web'", namespaceSelector: 'all()' }),
    ],
    verdict: 'Allow',
  },
  {
    name: '9 tier defaultAction Pass falls through to profiles',
    resources: [tier('security', 100, 'Pass'), globalPolicy('sec', { tier: 'security', selector: "app == 'db'", ingress: [{ action: 'Allow', source: { nets: ['1.2.3.0/24'] } }] })],
    verdict: 'Allow',
    decided: { dir: 'ingress', decidedBy: 'profile' },
  },
  {
    name: '10 tier defaultAction Deny drops',
    resources: [tier('security', 100, 'Deny'), globalPolicy('sec', { tier: 'security', selector: "app == 'db'", ingress: [{ action: 'Allow', source: { nets: ['1.2.3.0/24'] } }] })],
    verdict: 'Deny',
    decided: { dir: 'ingress', decidedBy: 'end-of-tier', tier: 'security' },
  },
  { name: '11 Log then Allow', resources: [globalPolicy('log', { selector: 'all()', ingress: [{ action: 'Log' }, { action: 'Allow' }], egress: [{ action: 'Allow' }] })], verdict: 'Allow' },
  { name: '12 staged deny-all never enforces', resources: [globalPolicy('sdeny', { selector: 'all()', ingress: [{ action: 'Deny' }] }, 'StagedGlobalNetworkPolicy')], verdict: 'Allow' },
  {
    name: 'Deny before Allow by order',
    resources: [
      globalPolicy('deny', { order: 1, selector: "app == 'db'", ingress: [{ action: 'Deny' }] }),
      globalPolicy('allow', { order: 2, selector: "app == 'db'", ingress: [{ action: 'Allow' }] }),
    ],
    verdict: 'Deny',
  },
  {
    name: 'Allow before Deny by order',
    resources: [
      globalPolicy('deny', { order: 2, selector: "app == 'db'", ingress: [{ action: 'Deny' }] }),
      globalPolicy('allow', { order: 1, selector: "app == 'db'", ingress: [{ action: 'Allow' }] }),
    ],
    verdict: 'Allow',
  },
  {
    name: 'global default deny excluding kube-system: A->B denied',
    resources: [globalPolicy('default-deny', { selector: "projectcalico.org/namespace != 'kube-system'", types: ['Ingress', 'Egress'] })],
    verdict: 'Deny',
  },
  {
    name: 'global default deny excluding kube-system: B->dns (kube-system ingress) not governed, B egress denied',
    resources: [globalPolicy('default-deny', { selector: "projectcalico.org/namespace != 'kube-system'", types: ['Ingress'] })],
    req: { from: AB.to, to: { endpoint: 'WorkloadEndpoint/kube-system/node1-k8s-dns-eth0' }, protocol: 'UDP', port: 53 },
    verdict: 'Allow',
  },
  {
    name: 'GlobalNetworkSet egress allow by label',
    resources: [
      globalNetworkSet('google', ['8.8.8.0/24'], { external: 'dns' }),
      globalPolicy('egress', { selector: "app == 'web'", types: ['Egress'], egress: [{ action: 'Allow', destination: { selector: "external == 'dns'" } }] }),
    ],
    req: { ...AB, to: { ip: '8.8.8.8' } },
    verdict: 'Allow',
  },
  {
    name: 'GlobalNetworkSet: other IP not in set denied',
    resources: [
      globalNetworkSet('google', ['8.8.8.0/24'], { external: 'dns' }),
      globalPolicy('egress', { selector: "app == 'web'", types: ['Egress'], egress: [{ action: 'Allow', destination: { selector: "external == 'dns'" } }] }),
    ],
    req: { ...AB, to: { ip: '9.9.9.9' } },
    verdict: 'Deny',
  },
  {
    name: 'namespaceSelector global() matches GlobalNetworkSet',
    resources: [
      globalNetworkSet('google', ['8.8.8.0/24'], { external: 'dns' }),
      calicoPolicy('a', 'egress', { selector: "app == 'web'", types: ['Egress'], egress: [{ action: 'Allow', destination: { namespaceSelector: 'global()' } }] }),
    ],
    req: { ...AB, to: { ip: '8.8.8.8' } },
    verdict: 'Allow',
  },
  {
    name: 'namespaceSelector global() does not match pods',
    resources: [calicoPolicy('a', 'egress', { selector: "app == 'web'", types: ['Egress'], egress: [{ action: 'Allow', destination: { namespaceSelector: 'global()' } }] })],
    verdict: 'Deny',
  },
  {
    name: 'notNets excludes',
    resources: [globalPolicy('in', { selector: "app == 'db'", ingress: [{ action: 'Allow', source: { notNets: ['10.1.0.0/16'] } }] })],
    verdict: 'Deny',
  },
  {
    name: 'notNets elsewhere allows',
    resources: [globalPolicy('in', { selector: "app == 'db'", ingress: [{ action: 'Allow', source: { notNets: ['10.9.0.0/16'] } }] })],
    verdict: 'Allow',
  },
  {
    name: 'notSelector excludes web',
    resources: [globalPolicy('in', { selector: "app == 'db'", ingress: [{ action: 'Allow', source: { notSelector: "app == 'web'" } }] })],
    verdict: 'Deny',
  },
  {
    name: 'notSelector matches non-Calico addresses',
    resources: [globalPolicy('in', { selector: "app == 'db'", ingress: [{ action: 'Allow', source: { notSelector: "app == 'web'" } }] })],
    req: { ...AB, from: { ip: '192.0.2.7' } },
    verdict: 'Allow',
  },
  {
    name: 'notSelector in a NetworkPolicy is namespace-scoped',
    resources: [calicoPolicy('b', 'in', { selector: "app == 'db'", ingress: [{ action: 'Allow', source: { notSelector: "app == 'other'" } }] })],
    verdict: 'Deny',
  },
  {
    name: 'serviceAccounts by name',
    resources: [dbIngress({ serviceAccounts: { names: ['frontend'] }, namespaceSelector: 'all()' })],
    verdict: 'Allow',
  },
  {
    name: 'serviceAccounts by selector',
    resources: [dbIngress({ serviceAccounts: { selector: "role == 'fe'" }, namespaceSelector: 'all()' })],
    verdict: 'Allow',
  },
  {
    name: 'serviceAccounts wrong name',
    resources: [dbIngress({ serviceAccounts: { names: ['backend'] }, namespaceSelector: 'all()' })],
    verdict: 'Deny',
  },
  {
    name: 'port range and notPorts',
    resources: [globalPolicy('in', { selector: "app == 'db'", ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: ['5000:6000'], notPorts: [5432] } }] })],
    verdict: 'Deny',
  },
  {
    name: 'ICMP type match',
    resources: [globalPolicy('in', { selector: "app == 'db'", ingress: [{ action: 'Allow', protocol: 'ICMP', icmp: { type: 8 } }] })],
    req: { ...AB, protocol: 'ICMP', icmpType: 8, icmpCode: 0 },
    verdict: 'Allow',
  },
  {
    name: 'ICMP type mismatch',
    resources: [globalPolicy('in', { selector: "app == 'db'", ingress: [{ action: 'Allow', protocol: 'ICMP', icmp: { type: 8 } }] })],
    req: { ...AB, protocol: 'ICMP', icmpType: 13 },
    verdict: 'Deny',
  },
  {
    name: 'ipVersion 6 rule ignores IPv4',
    resources: [globalPolicy('in', { selector: "app == 'db'", ingress: [{ action: 'Allow', ipVersion: 6 }] })],
    verdict: 'Deny',
  },
  {
    name: 'policy with a tier that has no Tier object: sorted last, end-of-tier deny',
    resources: [globalPolicy('ghost', { tier: 'ghost', selector: "app == 'db'", ingress: [{ action: 'Log' }] })],
    verdict: 'Deny',
  },
  {
    name: 'host endpoint without policy or profile: default deny',
    resources: [hostEndpoint('n1-eth0', 'node1', ['192.0.2.1'])],
    req: { ...AB, to: { ip: '192.0.2.1' } },
    verdict: 'Deny',
    decided: { dir: 'ingress', decidedBy: 'no-profile-allowed' },
  },
];

for (const c of CASES) {
  void test(`calico: ${c.name}`, () => {
    const model = PolicyModel.fromUpdates([...BASE, ...c.resources].map(updateOf));
    const r = explain(model, c.req ?? AB);
    assert.equal(r.verdict, c.verdict, JSON.stringify(r, null, 1));
    if (c.decided !== undefined) {
      const t = r[c.decided.dir];
      assert.equal(t.decidedBy, c.decided.decidedBy, JSON.stringify(t));
      if (c.decided.tier !== undefined) assert.equal(t.tier, c.decided.tier);
    }
  });
}

for (const s of CALICO_SCENARIOS) {
  void test(`calico conformance scenario: ${s.name}`, () => {
    assert.deepEqual(runPure(s), []);
  });
}
