// The upstream Kubernetes network-policy e2e scenarios (test/e2e/network/netpol), restated as
// data in our own words: every scenario that does not probe SCTP. Policies live in namespace x
// unless said otherwise; "x/a" is pod a of x. Expectations list what differs from "everything
// connects", in order (the last matching rule wins), per probe where ports or protocols matter.

import { ALL, N, Y, cidrOf, knp, reach, refOf } from './model.ts';
import type { Doc, Scenario } from './model.ts';

const onA = { matchLabels: { pod: 'a' } };
const podB = { matchLabels: { pod: 'b' } };
const nsY = { matchLabels: { ns: 'y' } };
const nsNotX = { matchExpressions: [{ key: 'ns', operator: 'NotIn', values: ['x'] }] };

const denyIngressX = knp('x', 'deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] });
const denyAllX = knp('x', 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
const toXa = (peers: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> => ({ podSelector: onA, ingress: [{ from: peers, ...extra }] });

/** Only the listed sources reach x/a (on every probe). */
const onlyToXa = (...from: string[]) => reach(Y, ['*', 'x/a', N], ...from.map((f) => [f, 'x/a', Y] as const));
const xaIsolated = reach(Y, ['*', 'x/a', N]);
const xIsolated = reach(Y, ['*', 'x/*', N]);
const xNoEgress = reach(Y, ['x/*', '*', N]);

export const K8S_SCENARIOS: readonly Scenario[] = [
  { name: 'no policies: everything connects', source: 'k8s', steps: [{ what: 'no policy anywhere', actions: [], expect: { '*': ALL } }] },
  { name: "default-deny-ingress policy", source: 'k8s', steps: [{ what: 'deny all ingress in x', actions: [{ apply: [denyIngressX] }], expect: { '*': xIsolated } }] },
  {
    name: "default-deny-all policy",
    source: 'k8s',
    steps: [{ what: 'deny all ingress and egress in x', actions: [{ apply: [denyAllX] }], expect: { '*': reach(Y, ['*', 'x/*', N], ['x/*', '*', N]) } }],
  },
  {
    name: 'allow from pods within the server namespace by podSelector',
    source: 'k8s',
    steps: [{ what: 'x/a admits pod=b of x', actions: [{ apply: [knp('x', 'x-a-from-x-b', toXa([{ podSelector: podB }]))] }], expect: { '*': onlyToXa('x/b') } }],
  },
  {
    name: 'allow ingress traffic for a target',
    source: 'k8s',
    steps: [
      { what: 'deny all ingress in x', actions: [{ apply: [denyIngressX] }], expect: { '*': xIsolated } },
      {
        what: 'then allow everything into x/a',
        actions: [{ apply: [knp('x', 'allow-to-a', { podSelector: onA, ingress: [{}] })] }],
        expect: { '*': reach(Y, ['*', 'x/*', N], ['*', 'x/a', Y]) },
      },
    ],
  },
  {
    name: 'allow ingress from pods in all namespaces',
    source: 'k8s',
    steps: [{ what: 'x/a admits namespaceSelector {}', actions: [{ apply: [knp('x', 'from-all-ns', toXa([{ namespaceSelector: {} }]))] }], expect: { '*': ALL } }],
  },
  {
    name: 'allow only from a different namespace by namespaceSelector',
    source: 'k8s',
    steps: [{ what: 'x/a admits ns=y', actions: [{ apply: [knp('x', 'from-ns-y', toXa([{ namespaceSelector: nsY }]))] }], expect: { '*': onlyToXa('y/*') } }],
  },
  {
    name: 'podSelector with matchExpressions',
    source: 'k8s',
    steps: [
      {
        what: 'x/a admits pod In [b]',
        actions: [{ apply: [knp('x', 'from-pod-in-b', toXa([{ podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b'] }] } }]))] }],
        expect: { '*': onlyToXa('x/b') },
      },
    ],
  },
  {
    name: 'podSelector with NotIn matchExpressions',
    source: 'k8s',
    steps: [
      {
        what: 'x/a admits pods of x with pod NotIn [a, b]',
        actions: [{ apply: [knp('x', 'from-pod-notin-ab', toXa([{ podSelector: { matchExpressions: [{ key: 'pod', operator: 'NotIn', values: ['a', 'b'] }] } }]))] }],
        expect: { '*': onlyToXa('x/c') },
      },
      {
        what: 'the policy now admits pods of x without a pod2 label (DoesNotExist): all of x',
        actions: [{ apply: [knp('x', 'from-pod-notin-ab', toXa([{ podSelector: { matchExpressions: [{ key: 'pod2', operator: 'DoesNotExist' }] } }]))] }],
        expect: { '*': onlyToXa('x/*') },
      },
    ],
  },
  {
    name: 'namespaceSelector with matchExpressions',
    source: 'k8s',
    steps: [
      {
        what: 'x/a admits ns In [y]',
        actions: [{ apply: [knp('x', 'from-ns-in-y', toXa([{ namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'In', values: ['y'] }] } }]))] }],
        expect: { '*': onlyToXa('y/*') },
      },
    ],
  },
  {
    name: 'namespaceSelector matchLabels on the default kubernetes.io/metadata.name label',
    source: 'k8s',
    steps: [
      {
        what: 'x/a admits kubernetes.io/metadata.name=y',
        actions: [{ apply: [knp('x', 'from-default-label-y', toXa([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'y' } } }]))] }],
        expect: { '*': onlyToXa('y/*') },
      },
    ],
  },
  {
    name: 'namespaceSelector matchExpressions on the default namespace label (egress)',
    source: 'k8s',
    steps: [
      {
        what: 'x/a may only send to namespaces whose kubernetes.io/metadata.name is In [y]',
        actions: [
          {
            apply: [
              knp('x', 'to-default-label-y', {
                podSelector: onA,
                policyTypes: ['Egress'],
                egress: [{ to: [{ namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['y'] }] } }] }],
              }),
            ],
          },
        ],
        expect: { '*': reach(Y, ['x/a', '*', N], ['x/a', 'y/*', Y]) },
      },
    ],
  },
  {
    name: 'podSelector OR namespaceSelector',
    source: 'k8s',
    steps: [
      {
        what: 'x/a admits ns NotIn [x], or pod=b of x',
        actions: [{ apply: [knp('x', 'ns-or-pod', toXa([{ namespaceSelector: nsNotX }, { podSelector: podB }]))] }],
        expect: { '*': reach(Y, ['x/c', 'x/a', N]) },
      },
    ],
  },
  {
    name: 'podSelector AND namespaceSelector',
    source: 'k8s',
    steps: [
      {
        what: 'x/a admits pod=b in namespaces NotIn [x]',
        actions: [{ apply: [knp('x', 'ns-and-pod', toXa([{ namespaceSelector: nsNotX, podSelector: podB }]))] }],
        expect: { '*': onlyToXa('y/b', 'z/b') },
      },
    ],
  },
  {
    name: 'multiple podSelectors and namespaceSelectors',
    source: 'k8s',
    steps: [
      {
        what: 'x/a admits pod In [b, c] in namespaces NotIn [x]',
        actions: [
          { apply: [knp('x', 'ns-and-pods', toXa([{ namespaceSelector: nsNotX, podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b', 'c'] }] } }]))] },
        ],
        expect: { '*': onlyToXa('y/b', 'y/c', 'z/b', 'z/c') },
      },
    ],
  },
  {
    name: 'any of several podSelectors',
    source: 'k8s',
    steps: [
      {
        what: 'x/a admits pod=b or pod=c of x (two peers)',
        actions: [{ apply: [knp('x', 'pod-b-or-c', toXa([{ podSelector: podB }, { podSelector: { matchLabels: { pod: 'c' } } }]))] }],
        expect: { '*': onlyToXa('x/b', 'x/c') },
      },
    ],
  },
  {
    name: 'one pod label in every namespace (namespaceSelector {} AND podSelector)',
    source: 'k8s',
    steps: [
      {
        what: 'x/a admits pod=b of any namespace',
        actions: [{ apply: [knp('x', 'b-anywhere', toXa([{ namespaceSelector: {}, podSelector: podB }]))] }],
        expect: { '*': onlyToXa('*/b') },
      },
    ],
  },
  {
    name: 'only from one pod of another namespace (podSelector AND namespaceSelector)',
    source: 'k8s',
    steps: [
      {
        what: 'x/a admits pod=a of ns=y',
        actions: [{ apply: [knp('x', 'from-y-a', toXa([{ namespaceSelector: nsY, podSelector: onA }]))] }],
        expect: { '*': onlyToXa('y/a') },
      },
    ],
  },
  {
    name: 'ingress on one port',
    source: 'k8s',
    steps: [
      {
        what: 'x/a admits ns=y on port 81 only',
        actions: [{ apply: [knp('x', 'from-y-on-81', toXa([{ namespaceSelector: nsY }], { ports: [{ port: 81 }] }))] }],
        expect: { 'tcp/81': onlyToXa('y/*'), '*': xaIsolated },
      },
    ],
  },
  {
    name: 'multiple, stacked policies with overlapping podSelectors',
    source: 'k8s',
    steps: [
      {
        what: 'x/a admits ns=y on port 81',
        actions: [{ apply: [knp('x', 'from-y-on-81', toXa([{ namespaceSelector: nsY }], { ports: [{ port: 81 }] }))] }],
        expect: { 'tcp/81': onlyToXa('y/*'), '*': xaIsolated },
      },
      {
        what: 'a second policy admits ns=y on port 80 too',
        actions: [{ apply: [knp('x', 'from-y-on-80', toXa([{ namespaceSelector: nsY }], { ports: [{ port: 80 }] }))] }],
        expect: { tcp: onlyToXa('y/*'), '*': xaIsolated },
      },
    ],
  },
  {
    name: 'policies on the same pod are a union',
    source: 'k8s',
    steps: [
      {
        what: 'x/a admits pod=b of x (one policy) and ns=y (another)',
        actions: [{ apply: [knp('x', 'from-b', toXa([{ podSelector: podB }])), knp('x', 'from-y', toXa([{ namespaceSelector: nsY }]))] }],
        expect: { '*': onlyToXa('x/b', 'y/*') },
      },
    ],
  },
  {
    name: 'allow-all policy',
    source: 'k8s',
    steps: [{ what: 'every pod of x admits everything', actions: [{ apply: [knp('x', 'allow-all', { podSelector: {}, ingress: [{}] })] }], expect: { '*': ALL } }],
  },
  {
    name: 'deny-all then allow-all in the same namespace',
    source: 'k8s',
    steps: [
      {
        what: 'deny-ingress and allow-all both select x',
        actions: [{ apply: [denyIngressX, knp('x', 'allow-all', { podSelector: {}, ingress: [{}] })] }],
        expect: { '*': ALL },
      },
    ],
  },
  {
    name: 'deny-all ingress in every namespace',
    source: 'k8s',
    steps: [
      {
        what: 'deny-ingress in x, y and z',
        actions: [{ apply: ['x', 'y', 'z'].map((ns) => knp(ns, 'deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] })) }],
        expect: { '*': reach(N) },
      },
    ],
  },
  {
    name: 'ingress on one named port',
    source: 'k8s',
    steps: [
      {
        what: 'every pod of x admits serve-81-tcp only',
        actions: [{ apply: [knp('x', 'named-81', { podSelector: {}, ingress: [{ ports: [{ port: 'serve-81-tcp' }] }] })] }],
        expect: { 'tcp/81': ALL, '*': xIsolated },
      },
    ],
  },
  {
    name: 'ingress from a namespace on one named port',
    source: 'k8s',
    steps: [
      {
        what: 'x/a admits ns=y on serve-80-tcp',
        actions: [{ apply: [knp('x', 'from-y-named-80', toXa([{ namespaceSelector: nsY }], { ports: [{ port: 'serve-80-tcp' }] }))] }],
        expect: { 'tcp/80': onlyToXa('y/*'), '*': xaIsolated },
      },
    ],
  },
  {
    name: 'named UDP port',
    source: 'k8s',
    steps: [
      {
        what: 'x/a admits serve-81-udp over UDP only',
        actions: [{ apply: [knp('x', 'named-udp-81', toXa([], { ports: [{ protocol: 'UDP', port: 'serve-81-udp' }] }))] }],
        expect: { 'udp/81': ALL, '*': xaIsolated },
      },
    ],
  },
  {
    name: 'egress on one named port',
    source: 'k8s',
    steps: [
      {
        what: 'pods of x may only send to serve-80-tcp',
        actions: [{ apply: [knp('x', 'egress-named-80', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ port: 'serve-80-tcp' }] }] })] }],
        expect: { 'tcp/80': ALL, '*': xNoEgress },
      },
    ],
  },
  {
    name: 'updated policy is enforced',
    source: 'k8s',
    steps: [
      { what: 'allow-all in x', actions: [{ apply: [knp('x', 'mutating', { podSelector: {}, ingress: [{}] })] }], expect: { '*': ALL } },
      { what: 'the same policy updated to no ingress rules (deny all)', actions: [{ apply: [knp('x', 'mutating', { podSelector: {}, ingress: [] })] }], expect: { '*': xIsolated } },
    ],
  },
  {
    name: 'updated policy changes its podSelector',
    source: 'k8s',
    steps: [
      { what: 'isolate x/a', actions: [{ apply: [knp('x', 'isolate', { podSelector: onA, policyTypes: ['Ingress'] })] }], expect: { '*': xaIsolated } },
      {
        what: 'the policy now selects pod=b',
        actions: [{ apply: [knp('x', 'isolate', { podSelector: podB, policyTypes: ['Ingress'] })] }],
        expect: { '*': reach(Y, ['*', 'x/b', N]) },
      },
    ],
  },
  {
    name: 'ingress from an updated namespace',
    source: 'k8s',
    steps: [
      {
        what: 'x/a admits namespaces labelled ns2=updated (none yet)',
        actions: [{ apply: [knp('x', 'from-ns2-updated', toXa([{ namespaceSelector: { matchLabels: { ns2: 'updated' } } }]))] }],
        expect: { '*': xaIsolated },
      },
      { what: 'label namespace y ns2=updated', actions: [{ labelNamespace: 'y', set: { ns2: 'updated' } }], expect: { '*': onlyToXa('y/*') } },
    ],
  },
  {
    name: 'ingress from an updated pod',
    source: 'k8s',
    steps: [
      {
        what: 'x/a admits pod=b,pod2=updated (none yet)',
        actions: [{ apply: [knp('x', 'from-updated-pod', toXa([{ podSelector: { matchLabels: { pod: 'b', pod2: 'updated' } } }]))] }],
        expect: { '*': xaIsolated },
      },
      { what: 'label x/b pod2=updated', actions: [{ labelPod: 'x/b', set: { pod2: 'updated' } }], expect: { '*': onlyToXa('x/b') } },
    ],
  },
  {
    name: 'ingress access removed when a pod loses its label',
    source: 'k8s',
    steps: [
      { what: 'x/a admits pod=b of x', actions: [{ apply: [knp('x', 'from-b', toXa([{ podSelector: podB }]))] }], expect: { '*': onlyToXa('x/b') } },
      { what: 'remove label pod from x/b', actions: [{ labelPod: 'x/b', set: { pod: null } }], expect: { '*': xaIsolated } },
      { what: 'give it back', actions: [{ labelPod: 'x/b', set: { pod: 'b' } }], expect: { '*': onlyToXa('x/b') } },
    ],
  },
  {
    name: 'ingress access removed when a namespace loses its label',
    source: 'k8s',
    steps: [
      { what: 'x/a admits ns=y', actions: [{ apply: [knp('x', 'from-ns-y', toXa([{ namespaceSelector: nsY }]))] }], expect: { '*': onlyToXa('y/*') } },
      { what: 'remove label ns from namespace y', actions: [{ labelNamespace: 'y', set: { ns: null } }], expect: { '*': xaIsolated } },
    ],
  },
  {
    name: 'deny ingress to an updated pod',
    source: 'k8s',
    steps: [
      {
        what: 'isolate pods labelled target=isolated (none yet)',
        actions: [{ apply: [knp('x', 'isolate-target', { podSelector: { matchLabels: { target: 'isolated' } }, policyTypes: ['Ingress'] })] }],
        expect: { '*': ALL },
      },
      { what: 'label x/a target=isolated', actions: [{ labelPod: 'x/a', set: { target: 'isolated' } }], expect: { '*': xaIsolated } },
    ],
  },
  {
    name: 'deny ingress from pods of other namespaces',
    source: 'k8s',
    steps: [
      {
        what: 'pods of x admit pods of x only',
        actions: [{ apply: [knp('x', 'same-ns-only', { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] })] }],
        expect: { '*': reach(Y, ['y/*', 'x/*', N], ['z/*', 'x/*', N]) },
      },
    ],
  },
  {
    name: 'deny egress from a pod by podSelector',
    source: 'k8s',
    steps: [{ what: 'x/a may send nothing', actions: [{ apply: [knp('x', 'deny-egress-a', { podSelector: onA, policyTypes: ['Egress'] })] }], expect: { '*': reach(Y, ['x/a', '*', N]) } }],
  },
  {
    name: 'deny egress from all pods of a namespace',
    source: 'k8s',
    steps: [{ what: 'pods of x may send nothing', actions: [{ apply: [knp('x', 'deny-egress', { podSelector: {}, policyTypes: ['Egress'] })] }], expect: { '*': xNoEgress } }],
  },
  {
    name: 'Ingress and Egress in one policy',
    source: 'k8s',
    steps: [
      {
        what: 'x/a admits pod=b of x and may only send to serve-80-tcp (policyTypes implied by the rules)',
        actions: [{ apply: [knp('x', 'in-and-out', { podSelector: onA, ingress: [{ from: [{ podSelector: podB }] }], egress: [{ ports: [{ port: 'serve-80-tcp' }] }] })] }],
        expect: { 'tcp/80': onlyToXa('x/b'), '*': reach(Y, ['*', 'x/a', N], ['x/a', '*', N], ['x/b', 'x/a', Y]) },
      },
    ],
  },
  {
    name: 'egress rules without policyTypes also isolate ingress',
    source: 'k8s',
    steps: [
      {
        what: 'x/a may send to pod=b of x; no ingress rules',
        actions: [{ apply: [knp('x', 'egress-only-rules', { podSelector: onA, egress: [{ to: [{ podSelector: podB }] }] })] }],
        expect: { '*': reach(Y, ['*', 'x/a', N], ['x/a', '*', N], ['x/a', 'x/b', Y]) },
      },
    ],
  },
  {
    name: 'egress to a server in another namespace by podSelector AND namespaceSelector',
    source: 'k8s',
    steps: [
      {
        what: 'x/a may send to pod=a of ns=y only',
        actions: [{ apply: [knp('x', 'to-y-a', { podSelector: onA, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: nsY, podSelector: onA }] }] })] }],
        expect: { '*': reach(Y, ['x/a', '*', N], ['x/a', 'y/a', Y]) },
      },
    ],
  },
  {
    name: 'egress policyTypes only: ingress untouched',
    source: 'k8s',
    steps: [
      {
        what: 'x/a may send to pod=b of x',
        actions: [{ apply: [knp('x', 'egress-to-b', { podSelector: onA, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: podB }] }] })] }],
        expect: { '*': reach(Y, ['x/a', '*', N], ['x/a', 'x/b', Y]) },
      },
    ],
  },
  {
    name: 'client-side egress deny wins over a server that allows',
    source: 'k8s',
    steps: [
      {
        what: 'x/a may only send to ns=y; z/b admits only x/a',
        actions: [
          {
            apply: [
              knp('x', 'a-to-y-only', { podSelector: onA, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: nsY }] }] }),
              knp('z', 'b-from-x-a', { podSelector: podB, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'x' } }, podSelector: onA }] }] }),
            ],
          },
        ],
        expect: { '*': reach(Y, ['x/a', '*', N], ['x/a', 'y/*', Y], ['*', 'z/b', N]) },
      },
    ],
  },
  {
    name: 'ingress on any port of one protocol',
    source: 'k8s',
    steps: [
      {
        what: 'x/a admits TCP on any port',
        actions: [{ apply: [knp('x', 'tcp-any-port', toXa([], { ports: [{ protocol: 'TCP' }] }))] }],
        expect: { tcp: ALL, udp: xaIsolated },
      },
    ],
  },
  {
    name: 'multiple ingress policies: allow-all takes precedence',
    source: 'k8s',
    steps: [
      {
        what: 'pods of x admit serve-80-tcp only',
        actions: [{ apply: [knp('x', 'allow-80', { podSelector: {}, ingress: [{ ports: [{ port: 'serve-80-tcp' }] }] })] }],
        expect: { 'tcp/80': ALL, '*': xIsolated },
      },
      { what: 'add allow-all ingress', actions: [{ apply: [knp('x', 'allow-all', { podSelector: {}, ingress: [{}] })] }], expect: { '*': ALL } },
    ],
  },
  {
    name: 'multiple egress policies: allow-all takes precedence',
    source: 'k8s',
    steps: [
      {
        what: 'pods of x may send to serve-80-tcp only',
        actions: [{ apply: [knp('x', 'egress-80', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ port: 'serve-80-tcp' }] }] })] }],
        expect: { 'tcp/80': ALL, '*': xNoEgress },
      },
      { what: 'add allow-all egress', actions: [{ apply: [knp('x', 'egress-all', { podSelector: {}, policyTypes: ['Egress'], egress: [{}] })] }], expect: { '*': ALL } },
    ],
  },
  {
    name: 'policies stop being enforced once deleted',
    source: 'k8s',
    steps: [
      { what: 'deny all ingress and egress in x', actions: [{ apply: [denyAllX] }], expect: { '*': reach(Y, ['*', 'x/*', N], ['x/*', '*', N]) } },
      { what: 'delete it', actions: [{ remove: [refOf(denyAllX)] }], expect: { '*': ALL } },
    ],
  },
  {
    name: 'egress to a server in a CIDR block',
    source: 'k8s',
    steps: [
      {
        what: 'x/a may send to the /32 of y/b only',
        actions: [{ apply: (env) => [knp('x', 'to-cidr', { podSelector: onA, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: `${env.ip('y/b')}/32` } }] }] })] }],
        expect: { '*': reach(Y, ['x/a', '*', N], ['x/a', 'y/b', Y]) },
      },
    ],
  },
  {
    name: 'except clause of an egress CIDR block',
    source: 'k8s',
    steps: [
      {
        what: "x/a may send to the /4 around its own address except x/b's /32",
        actions: [{ apply: (env) => [cidrExcept(env.ip('x/a'), env.ip('x/b'))] }],
        expect: { '*': reach(Y, ['x/a', 'x/b', N]) },
      },
    ],
  },
  {
    name: 'an IP in both ipBlock.cidr and ipBlock.except is allowed by another block',
    source: 'k8s',
    steps: [
      { what: "egress /4 except x/b's /32", actions: [{ apply: (env) => [cidrExcept(env.ip('x/a'), env.ip('x/b'))] }], expect: { '*': reach(Y, ['x/a', 'x/b', N]) } },
      {
        what: "the policy is replaced by one allowing x/b's /32 only",
        actions: [{ apply: (env) => [knp('x', 'a', { podSelector: onA, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: `${env.ip('x/b')}/32` } }] }] })] }],
        expect: { '*': reach(Y, ['x/a', '*', N], ['x/a', 'x/b', Y]) },
      },
      {
        what: 'and the /4-except policy added back next to it: the union allows x/b',
        actions: [{ apply: (env) => [{ ...cidrExcept(env.ip('x/a'), env.ip('x/b')), metadata: { name: 'a-except', namespace: 'x' } }] }],
        expect: { '*': ALL },
      },
    ],
  },
  {
    name: 'ingress from a CIDR block',
    source: 'k8s',
    steps: [
      {
        what: "x/a admits z/c's /32 only",
        actions: [{ apply: (env) => [knp('x', 'from-cidr', toXa([{ ipBlock: { cidr: `${env.ip('z/c')}/32` } }]))] }],
        expect: { '*': onlyToXa('z/c') },
      },
    ],
  },
  {
    name: 'ingress and egress controlled independently',
    source: 'k8s',
    steps: [
      { what: 'x/a may send anywhere', actions: [{ apply: [knp('x', 'a-egress-all', { podSelector: onA, policyTypes: ['Egress'], egress: [{}] })] }], expect: { '*': ALL } },
      { what: 'and admits nothing', actions: [{ apply: [knp('x', 'a-deny-ingress', { podSelector: onA, policyTypes: ['Ingress'] })] }], expect: { '*': xaIsolated } },
    ],
  },
  {
    name: 'TCP is not allowed by a UDP-only policy',
    source: 'k8s',
    steps: [{ what: 'x/a admits UDP 81 only', actions: [{ apply: [knp('x', 'udp-81', toXa([], { ports: [{ protocol: 'UDP', port: 81 }] }))] }], expect: { 'udp/81': ALL, '*': xaIsolated } }],
  },
  {
    name: 'TCP is not allowed by an SCTP-only policy',
    source: 'k8s',
    steps: [{ what: 'x/a admits SCTP 81 only', actions: [{ apply: [knp('x', 'sctp-81', toXa([], { ports: [{ protocol: 'SCTP', port: 81 }] }))] }], expect: { '*': xaIsolated } }],
  },
  {
    name: 'SCTP is not mistaken for TCP',
    source: 'k8s',
    steps: [
      {
        what: 'x/a admits TCP 81 and SCTP 80',
        actions: [{ apply: [knp('x', 'tcp-81-sctp-80', toXa([], { ports: [{ protocol: 'TCP', port: 81 }, { protocol: 'SCTP', port: 80 }] }))] }],
        expect: { 'tcp/81': ALL, '*': xaIsolated },
      },
    ],
  },
  {
    name: 'ingress port range (endPort) covering both ports',
    source: 'k8s',
    steps: [
      {
        what: 'x/a admits TCP 80-81',
        actions: [{ apply: [knp('x', 'range-80-81', toXa([], { ports: [{ protocol: 'TCP', port: 80, endPort: 81 }] }))] }],
        expect: { tcp: ALL, udp: xaIsolated },
      },
    ],
  },
  {
    name: 'ingress port range (endPort) starting above a port',
    source: 'k8s',
    steps: [
      {
        what: 'x/a admits TCP 81-82',
        actions: [{ apply: [knp('x', 'range-81-82', toXa([], { ports: [{ protocol: 'TCP', port: 81, endPort: 82 }] }))] }],
        expect: { 'tcp/81': ALL, '*': xaIsolated },
      },
    ],
  },
  {
    name: 'egress port range (endPort)',
    source: 'k8s',
    steps: [
      {
        what: 'x/a may send to TCP 81-82 only',
        actions: [{ apply: [knp('x', 'egress-range', { podSelector: onA, policyTypes: ['Egress'], egress: [{ ports: [{ protocol: 'TCP', port: 81, endPort: 82 }] }] })] }],
        expect: { 'tcp/81': ALL, '*': reach(Y, ['x/a', '*', N]) },
      },
    ],
  },
  {
    name: 'UDP port range (endPort) for a whole namespace',
    source: 'k8s',
    steps: [
      {
        what: 'pods of x admit UDP 79-80',
        actions: [{ apply: [knp('x', 'udp-range', { podSelector: {}, ingress: [{ ports: [{ protocol: 'UDP', port: 79, endPort: 80 }] }] })] }],
        expect: { 'udp/80': ALL, '*': xIsolated },
      },
    ],
  },
];

function cidrExcept(aIP: string, bIP: string): Doc {
  return knp('x', 'a', { podSelector: onA, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: cidrOf(aIP, 4), except: [`${bIP}/32`] } }] }] });
}
