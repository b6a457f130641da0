// Calico-specific policy scenarios on the same x/y/z model (API contract §4.4): tiers with Pass
// and defaultAction, order between Deny and Allow, global default-deny with a namespace
// exclusion, GlobalNetworkSet and NetworkSet peers (pod addresses and the lab's external host),
// notNets, notSelector, named ports, service-account selectors, Log, staged policies.

import { ALL, N, Y, cnp, gnp, gnsDoc, nsetDoc, reach, refOf, serviceAccountDoc, tierDoc } from './model.ts';
import type { Scenario } from './model.ts';

const xa = "projectcalico.org/namespace == 'x' && pod == 'a'";
const inX = "projectcalico.org/namespace == 'x'";
const onlyToXa = (...from: string[]) => reach(Y, ['*', 'x/a', N], ...from.map((f) => [f, 'x/a', Y] as const));
const xaIsolated = reach(Y, ['*', 'x/a', N]);

const security = tierDoc('security', 100);
const secPass = gnp('xa-gate', {
  tier: 'security',
  selector: xa,
  types: ['Ingress'],
  ingress: [{ action: 'Pass', source: { namespaceSelector: "ns == 'y'" } }, { action: 'Deny' }],
});
const fromYb = cnp('x', 'xa-from-y-b', { selector: "pod == 'a'", types: ['Ingress'], ingress: [{ action: 'Allow', source: { selector: "pod == 'b'", namespaceSelector: "ns == 'y'" } }] });

const passTier = (action: 'Deny' | 'Pass') => tierDoc('passthru', 200, action);
const unmatched = gnp('xa-unmatched', {
  tier: 'passthru',
  selector: xa,
  types: ['Ingress'],
  ingress: [{ action: 'Allow', source: { nets: ['192.0.2.0/24'] } }],
});

const extSet = (nets: (ip: string) => string[]) => (env: { externalIP: string }) => [gnsDoc('external-host', nets(env.externalIP), { role: 'external' })];
const xaToExternalOnly = gnp('xa-egress-to-external', { selector: xa, types: ['Egress'], egress: [{ action: 'Allow', destination: { selector: "role == 'external'" } }] });
const ext = (from: string, connected: boolean) => ({ from, to: 'external', protocol: 'tcp' as const, port: 80, connected });

export const CALICO_SCENARIOS: readonly Scenario[] = [
  {
    name: 'tier Pass hands the decision to the default tier',
    source: 'calico',
    steps: [
      {
        what: 'security tier: x/a passes traffic from ns y, denies the rest; default tier admits y/b only',
        actions: [{ apply: [security, secPass, fromYb] }],
        expect: { '*': onlyToXa('y/b') },
      },
      {
        what: 'without the default-tier policy, passed traffic reaches the profiles (allow)',
        actions: [{ remove: [refOf(fromYb)] }],
        expect: { '*': onlyToXa('y/*') },
      },
    ],
  },
  {
    name: 'tier defaultAction Pass and Deny',
    source: 'calico',
    steps: [
      {
        what: 'a tier with defaultAction Pass whose only policy on x/a matches nothing: falls through',
        actions: [{ apply: [passTier('Pass'), unmatched] }],
        expect: { '*': ALL },
      },
      { what: 'the tier switched to defaultAction Deny', actions: [{ apply: [passTier('Deny')] }], expect: { '*': xaIsolated } },
    ],
  },
  {
    name: 'order between tiers',
    source: 'calico',
    steps: [
      {
        what: 'tier first (order 10) denies y to x/a and passes the rest; tier second (order 20) allows all',
        actions: [
          {
            apply: [
              tierDoc('first', 10),
              tierDoc('second', 20),
              gnp('first-gate', { tier: 'first', selector: xa, types: ['Ingress'], ingress: [{ action: 'Deny', source: { namespaceSelector: "ns == 'y'" } }, { action: 'Pass' }] }),
              gnp('second-open', { tier: 'second', selector: xa, types: ['Ingress'], ingress: [{ action: 'Allow' }] }),
            ],
          },
        ],
        expect: { '*': reach(Y, ['y/*', 'x/a', N]) },
      },
      { what: 'tier first moved after second (order 30)', actions: [{ apply: [tierDoc('first', 30)] }], expect: { '*': ALL } },
    ],
  },
  {
    name: 'order between Deny and Allow policies',
    source: 'calico',
    steps: [
      {
        what: 'deny from y (order 10) before allow all (order 20) on x/a',
        actions: [
          {
            apply: [
              gnp('deny-y', { order: 10, selector: xa, types: ['Ingress'], ingress: [{ action: 'Deny', source: { namespaceSelector: "ns == 'y'" } }] }),
              gnp('allow-all', { order: 20, selector: xa, types: ['Ingress'], ingress: [{ action: 'Allow' }] }),
            ],
          },
        ],
        expect: { '*': reach(Y, ['y/*', 'x/a', N]) },
      },
      {
        what: 'the deny moved to order 30: allow comes first',
        actions: [{ apply: [gnp('deny-y', { order: 30, selector: xa, types: ['Ingress'], ingress: [{ action: 'Deny', source: { namespaceSelector: "ns == 'y'" } }] })] }],
        expect: { '*': ALL },
      },
    ],
  },
  {
    name: 'order between a NetworkPolicy and a GlobalNetworkPolicy',
    source: 'calico',
    steps: [
      {
        what: 'NetworkPolicy in x (order 50) allows from y; GlobalNetworkPolicy (order 100) denies y to x',
        actions: [
          {
            apply: [
              cnp('x', 'allow-y', { order: 50, selector: 'all()', types: ['Ingress'], ingress: [{ action: 'Allow', source: { namespaceSelector: "ns == 'y'" } }] }),
              gnp('deny-y-to-x', { order: 100, selector: inX, types: ['Ingress'], ingress: [{ action: 'Deny', source: { namespaceSelector: "ns == 'y'" } }, { action: 'Allow' }] }),
            ],
          },
        ],
        expect: { '*': ALL },
      },
      {
        what: 'the NetworkPolicy moved to order 200',
        actions: [{ apply: [cnp('x', 'allow-y', { order: 200, selector: 'all()', types: ['Ingress'], ingress: [{ action: 'Allow', source: { namespaceSelector: "ns == 'y'" } }] })] }],
        expect: { '*': reach(Y, ['y/*', 'x/*', N]) },
      },
    ],
  },
  {
    name: 'global default-deny with a namespace exclusion',
    source: 'calico',
    steps: [
      {
        what: "default-deny for every namespace but z (selector projectcalico.org/namespace not in {'z'})",
        actions: [{ apply: [gnp('default-deny', { selector: "projectcalico.org/namespace not in {'z'}", types: ['Ingress', 'Egress'] })] }],
        expect: { '*': reach(N, ['z/*', 'z/*', Y]) },
      },
      {
        what: 'a NetworkPolicy lets pods of x send anywhere: only z admits them',
        actions: [{ apply: [cnp('x', 'egress-all', { selector: 'all()', types: ['Egress'], egress: [{ action: 'Allow' }] })] }],
        expect: { '*': reach(N, ['z/*', 'z/*', Y], ['x/*', 'z/*', Y]) },
      },
    ],
  },
  {
    name: 'GlobalNetworkSet egress to the external host',
    source: 'calico',
    steps: [
      {
        what: "x/a may send only to the GlobalNetworkSet role=external (the external host's /32)",
        actions: [{ apply: extSet((ip) => [`${ip}/32`]) }, { apply: [xaToExternalOnly] }],
        expect: { '*': reach(Y, ['x/a', '*', N]) },
        extra: [ext('x/a', Y), ext('x/b', Y)],
      },
      {
        what: 'the set now holds another network',
        actions: [{ apply: extSet(() => ['198.51.100.0/24']) }],
        expect: { '*': reach(Y, ['x/a', '*', N]) },
        extra: [ext('x/a', N), ext('x/b', Y)],
      },
    ],
  },
  {
    name: 'GlobalNetworkSet holding a pod address',
    source: 'calico',
    steps: [
      {
        what: "x/a may send only to the set set=yb (y/b's /32), by a GlobalNetworkPolicy selector",
        actions: [
          {
            apply: (env) => [
              gnsDoc('pod-y-b', [`${env.ip('y/b')}/32`], { set: 'yb' }),
              gnp('xa-to-set', { selector: xa, types: ['Egress'], egress: [{ action: 'Allow', destination: { selector: "set == 'yb'" } }] }),
            ],
          },
        ],
        expect: { '*': reach(Y, ['x/a', '*', N], ['x/a', 'y/b', Y]) },
      },
      {
        what: "and by a NetworkPolicy in x with namespaceSelector global() instead",
        actions: [
          { remove: [{ apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', name: 'xa-to-set' }] },
          { apply: [cnp('x', 'xa-to-set', { selector: "pod == 'a'", types: ['Egress'], egress: [{ action: 'Allow', destination: { selector: "set == 'yb'", namespaceSelector: 'global()' } }] })] },
        ],
        expect: { '*': reach(Y, ['x/a', '*', N], ['x/a', 'y/b', Y]) },
      },
    ],
  },
  {
    name: 'NetworkSet in the policy namespace',
    source: 'calico',
    steps: [
      {
        what: "x/a admits the NetworkSet src=zc of x (z/c's /32)",
        actions: [
          {
            apply: (env) => [
              nsetDoc('x', 'z-c', [`${env.ip('z/c')}/32`], { src: 'zc' }),
              cnp('x', 'xa-from-set', { selector: "pod == 'a'", types: ['Ingress'], ingress: [{ action: 'Allow', source: { selector: "src == 'zc'" } }] }),
            ],
          },
        ],
        expect: { '*': onlyToXa('z/c') },
      },
    ],
  },
  {
    name: 'notNets',
    source: 'calico',
    steps: [
      {
        what: "x/a admits every source not in y/b's /32",
        actions: [{ apply: (env) => [gnp('xa-not-yb', { selector: xa, types: ['Ingress'], ingress: [{ action: 'Allow', source: { notNets: [`${env.ip('y/b')}/32`] } }] })] }],
        expect: { '*': reach(Y, ['y/b', 'x/a', N]) },
      },
      {
        what: "egress of x denies destinations in y/b's /32 (Deny with nets), then allows",
        actions: [
          { remove: [{ apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', name: 'xa-not-yb' }] },
          { apply: (env) => [gnp('x-deny-to-yb', { selector: inX, types: ['Egress'], egress: [{ action: 'Deny', destination: { nets: [`${env.ip('y/b')}/32`] } }, { action: 'Allow' }] })] },
        ],
        expect: { '*': reach(Y, ['x/*', 'y/b', N]) },
      },
    ],
  },
  {
    name: 'notSelector',
    source: 'calico',
    steps: [
      {
        what: "a GlobalNetworkPolicy: x/a admits every endpoint that is not pod == 'c'",
        actions: [{ apply: [gnp('xa-not-c', { selector: xa, types: ['Ingress'], ingress: [{ action: 'Allow', source: { notSelector: "pod == 'c'" } }] })] }],
        expect: { '*': reach(Y, ['*/c', 'x/a', N]) },
      },
      {
        what: 'the same rule in a NetworkPolicy of x is scoped to x',
        actions: [
          { remove: [{ apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', name: 'xa-not-c' }] },
          { apply: [cnp('x', 'xa-not-c', { selector: "pod == 'a'", types: ['Ingress'], ingress: [{ action: 'Allow', source: { notSelector: "pod == 'c'" } }] })] },
        ],
        expect: { '*': onlyToXa('x/b') },
      },
    ],
  },
  {
    name: 'Calico named ports',
    source: 'calico',
    steps: [
      {
        what: 'pods of x admit TCP to the named port serve-81-tcp',
        actions: [{ apply: [gnp('x-named', { selector: inX, types: ['Ingress'], ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: ['serve-81-tcp'] } }] })] }],
        expect: { 'tcp/81': ALL, '*': reach(Y, ['*', 'x/*', N]) },
      },
      {
        what: 'plus UDP to serve-80-udp',
        actions: [
          {
            apply: [
              gnp('x-named', {
                selector: inX,
                types: ['Ingress'],
                ingress: [
                  { action: 'Allow', protocol: 'TCP', destination: { ports: ['serve-81-tcp'] } },
                  { action: 'Allow', protocol: 'UDP', destination: { ports: ['serve-80-udp'] } },
                ],
              }),
            ],
          },
        ],
        expect: { 'tcp/81': ALL, 'udp/80': ALL, '*': reach(Y, ['*', 'x/*', N]) },
      },
    ],
  },
  {
    name: 'port range and notPorts',
    source: 'calico',
    steps: [
      {
        what: 'x/a admits TCP 80:81 except 81',
        actions: [{ apply: [gnp('xa-range', { selector: xa, types: ['Ingress'], ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: ['80:81'], notPorts: [81] } }] })] }],
        expect: { 'tcp/80': ALL, '*': xaIsolated },
      },
    ],
  },
  {
    name: 'service-account selectors',
    source: 'calico',
    steps: [
      {
        what: 'x/a admits service account sa-b of any namespace',
        actions: [
          {
            apply: [
              cnp('x', 'xa-from-sa', {
                selector: "pod == 'a'",
                types: ['Ingress'],
                ingress: [{ action: 'Allow', source: { serviceAccounts: { names: ['sa-b'] }, namespaceSelector: 'all()' } }],
              }),
            ],
          },
        ],
        expect: { '*': onlyToXa('*/b') },
      },
      {
        what: "service account y/sa-c labelled role=frontend; the policy selects role == 'frontend'",
        actions: [
          { apply: [serviceAccountDoc('y', 'sa-c', { role: 'frontend' })] },
          {
            apply: [
              cnp('x', 'xa-from-sa', {
                selector: "pod == 'a'",
                types: ['Ingress'],
                ingress: [{ action: 'Allow', source: { serviceAccounts: { selector: "role == 'frontend'" }, namespaceSelector: 'all()' } }],
              }),
            ],
          },
        ],
        expect: { '*': onlyToXa('y/c') },
      },
    ],
  },
  {
    name: 'Log is not a verdict',
    source: 'calico',
    steps: [
      {
        what: 'x/a: Log, Deny from z, Log, Allow',
        actions: [
          {
            apply: [
              gnp('xa-log', {
                selector: xa,
                types: ['Ingress'],
                ingress: [{ action: 'Log' }, { action: 'Deny', source: { namespaceSelector: "ns == 'z'" } }, { action: 'Log', protocol: 'UDP' }, { action: 'Allow' }],
              }),
            ],
          },
        ],
        expect: { '*': reach(Y, ['z/*', 'x/a', N]) },
      },
      {
        what: 'a policy with only a Log rule ends in the default deny',
        actions: [{ apply: [gnp('xa-log', { selector: xa, types: ['Ingress'], ingress: [{ action: 'Log' }] })] }],
        expect: { '*': xaIsolated },
      },
    ],
  },
  {
    name: 'GlobalNetworkPolicy namespaceSelector field',
    source: 'calico',
    steps: [
      {
        what: "a policy for every pod in namespaces ns == 'y' denies sources in x, allows the rest",
        actions: [
          { apply: [gnp('y-not-from-x', { namespaceSelector: "ns == 'y'", types: ['Ingress'], ingress: [{ action: 'Deny', source: { namespaceSelector: "ns == 'x'" } }, { action: 'Allow' }] })] },
        ],
        expect: { '*': reach(Y, ['x/*', 'y/*', N]) },
      },
    ],
  },
  {
    name: 'staged policies are not enforced',
    source: 'calico',
    steps: [
      {
        what: 'a StagedGlobalNetworkPolicy denying all ingress',
        actions: [{ apply: [gnp('staged-deny', { selector: 'all()', types: ['Ingress'], ingress: [{ action: 'Deny' }] }, 'StagedGlobalNetworkPolicy')] }],
        expect: { '*': ALL },
      },
    ],
  },
];
