// Table tests of the Kubernetes NetworkPolicy conversion (API contract §4.7 examples) and of the
// ordering vectors of Appendix A.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { K8sNetworkPolicySpec, NetworkPolicySpec } from '../api/index.ts';
import { compareTiers, comparePolicies, convertK8sNetworkPolicy } from './index.ts';
import type { NormPolicy, NormTier } from './index.ts';

const knp = (spec: K8sNetworkPolicySpec): NetworkPolicySpec =>
  convertK8sNetworkPolicy({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'p', namespace: 'ns' }, spec })
    .spec as NetworkPolicySpec;

const ORCH = "projectcalico.org/orchestrator == 'k8s'";

const CASES: Array<{ name: string; spec: K8sNetworkPolicySpec; want: Partial<NetworkPolicySpec> }> = [
  { name: 'deny all ingress', spec: { podSelector: {}, policyTypes: ['Ingress'] }, want: { selector: ORCH, types: ['Ingress'], ingress: [], egress: [] } },
  { name: 'allow all ingress', spec: { podSelector: {}, ingress: [{}] }, want: { ingress: [{ action: 'Allow' }] } },
  {
    name: 'endPort range',
    spec: { podSelector: {}, ingress: [{ ports: [{ protocol: 'TCP', port: 32000, endPort: 32768 }] }] },
    want: { ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: ['32000:32768'] } }] },
  },
  {
    name: 'ipBlock except',
    spec: { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '192.168.0.0/16', except: ['192.168.3.0/24', '192.168.4.0/24'] } }] }] },
    want: { ingress: [{ action: 'Allow', source: { nets: ['192.168.0.0/16'], notNets: ['192.168.3.0/24', '192.168.4.0/24'] } }] },
  },
  {
    name: 'two peers x two protocols = four rules, protocol-major',
    spec: {
      podSelector: {},
      ingress: [{ from: [{ podSelector: { matchLabels: { k: 'v' } } }, { podSelector: { matchLabels: { k2: 'v2' } } }], ports: [{ protocol: 'TCP', port: 80 }, { protocol: 'UDP', port: 53 }] }],
    },
    want: {
      ingress: [
        { action: 'Allow', protocol: 'TCP', source: { selector: `${ORCH} && k == 'v'` }, destination: { ports: [80] } },
        { action: 'Allow', protocol: 'TCP', source: { selector: `${ORCH} && k2 == 'v2'` }, destination: { ports: [80] } },
        { action: 'Allow', protocol: 'UDP', source: { selector: `${ORCH} && k == 'v'` }, destination: { ports: [53] } },
        { action: 'Allow', protocol: 'UDP', source: { selector: `${ORCH} && k2 == 'v2'` }, destination: { ports: [53] } },
      ],
    },
  },
  {
    name: 'namespaceSelector labels sorted',
    spec: { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { namespaceRole: 'dev', namespaceFoo: 'bar' } } }] }] },
    want: { ingress: [{ action: 'Allow', source: { selector: ORCH, namespaceSelector: "namespaceFoo == 'bar' && namespaceRole == 'dev'" } }] },
  },
  { name: 'empty namespaceSelector = all()', spec: { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {} }] }] }, want: { ingress: [{ action: 'Allow', source: { selector: ORCH, namespaceSelector: 'all()' } }] } },
  {
    name: 'consecutive ports coalesce',
    spec: { podSelector: {}, ingress: [{ ports: [{ port: 80 }, { port: 81 }, { port: 82 }, { port: 9090 }] }] },
    want: { ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: ['80:82', 9090] } }] },
  },
  {
    name: 'portless entry overrides numbered ports of the protocol',
    spec: { podSelector: {}, ingress: [{ ports: [{ protocol: 'TCP' }, { protocol: 'TCP', port: 80 }] }] },
    want: { ingress: [{ action: 'Allow', protocol: 'TCP' }] },
  },
  {
    name: 'pod selector expressions',
    spec: { podSelector: { matchLabels: { app: 'x' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }, { key: 'gone', operator: 'DoesNotExist' }] } },
    want: { selector: `${ORCH} && app == 'x' && tier in { 'a', 'b' } && ! has(gone)` },
  },
];

for (const c of CASES) {
  void test(`knp conversion: ${c.name}`, () => {
    const got = knp(c.spec);
    for (const [k, v] of Object.entries(c.want)) assert.deepEqual(got[k as keyof NetworkPolicySpec], v, k);
    assert.equal(got.tier, 'default');
    assert.equal(got.order, 1000);
  });
}

const t = (name: string, order: number | undefined): NormTier => ({ name, order, defaultAction: 'Deny' });
const p = (name: string, namespace: string, kind: string, order: number | undefined): NormPolicy =>
  ({ id: { kind, namespace, name }, key: `${kind}/${namespace}/${name}`, order }) as NormPolicy;

void test('Appendix A: tier order vectors', () => {
  const names = (ts: NormTier[]): string[] => ts.sort(compareTiers).map((x) => x.name);
  assert.deepEqual(names([t('default', 1e6), t('kube-admin', 1000), t('kube-baseline', 1e7), t('security', 100)]), ['security', 'kube-admin', 'default', 'kube-baseline']);
  assert.deepEqual(names([t('a', 1e6), t('default', 1e6), t('b', 5e6)]), ['a', 'default', 'b']);
  assert.deepEqual(names([t('x', undefined), t('y', 1e9)]), ['y', 'x']);
});

void test('Appendix A: policy order vectors', () => {
  const names = (ps: NormPolicy[]): string[] => ps.sort(comparePolicies).map((x) => `${x.id.name}/${x.id.namespace}/${x.id.kind}`);
  assert.deepEqual(names([p('p1', '', 'GlobalNetworkPolicy', 10), p('p2', '', 'GlobalNetworkPolicy', 5), p('p3', '', 'GlobalNetworkPolicy', undefined), p('p4', '', 'GlobalNetworkPolicy', undefined)]).map((s) => s.split('/')[0]), ['p2', 'p1', 'p3', 'p4']);
  assert.deepEqual(names([p('a', 'z', 'NetworkPolicy', 100), p('a', '', 'GlobalNetworkPolicy', 100)]), ['a//GlobalNetworkPolicy', 'a/z/NetworkPolicy']);
  assert.deepEqual(names([p('a', '', 'GlobalNetworkPolicy', 1), p('a-b', '', 'GlobalNetworkPolicy', 1)]).map((s) => s.split('/')[0]), ['a-b', 'a']);
  assert.deepEqual(names([p('allow-dns', 'kube-system', 'NetworkPolicy', 1000), p('allow-dns', 'default', 'NetworkPolicy', 1000)]).map((s) => s.split('/')[1]), ['default', 'kube-system']);
});
