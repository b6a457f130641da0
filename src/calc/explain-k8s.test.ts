// Verdict tests on the upstream Kubernetes network-policy e2e model (namespaces x, y, z; pods a,
// b, c labelled pod=<name>; ports 80/81 TCP/UDP). Each scenario is data: policies, a probe
// (protocol, port) and the expected reachability as "default + exceptions", compared with the
// full truth table from explainAll.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AnyResource } from '../api/index.ts';
import { e2eModel, k8sPolicy } from './fixtures.ts';
import { PolicyModel, explainAll, updateOf } from './index.ts';

interface Scenario {
  readonly name: string;
  readonly policies: readonly AnyResource[];
  readonly protocol?: string;
  readonly port: number;
  readonly defaultAllow: boolean;
  /** [from, to] patterns (`x/a`, `x/*`, `*`) whose verdict is the opposite of the default. */
  readonly except: ReadonlyArray<readonly [string, string]>;
}

function matches(pattern: string, name: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*/')) return name.endsWith(pattern.slice(1));
  if (pattern.endsWith('/*')) return name.startsWith(pattern.slice(0, -1));
  return pattern === name;
}

const denyAllIngress = (ns: string): AnyResource => k8sPolicy(ns, 'deny-all', { podSelector: {}, policyTypes: ['Ingress'] });
const onA = { matchLabels: { pod: 'a' } };

const SCENARIOS: Scenario[] = [
  { name: 'no policies: all allowed', policies: [], port: 80, defaultAllow: true, except: [] },
  { name: 'default-deny ingress in x', policies: [denyAllIngress('x')], port: 80, defaultAllow: true, except: [['*', 'x/*']] },
  {
    name: 'default-deny egress in x',
    policies: [k8sPolicy('x', 'deny-egress', { podSelector: {}, policyTypes: ['Egress'] })],
    port: 80,
    defaultAllow: true,
    except: [['x/*', '*']],
  },
  {
    name: 'allow to x/a from pods in x with pod=b',
    policies: [k8sPolicy('x', 'p', { podSelector: onA, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] })],
    port: 80,
    defaultAllow: true,
    except: [['x/c', 'x/a'], ['y/*', 'x/a'], ['z/*', 'x/a']],
  },
  {
    name: 'allow to x/a from namespace ns=y',
    policies: [k8sPolicy('x', 'p', { podSelector: onA, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }] }] })],
    port: 80,
    defaultAllow: true,
    except: [['x/*', 'x/a'], ['z/*', 'x/a']],
  },
  {
    name: 'namespace AND pod selector: only y/b to x/a',
    policies: [
      k8sPolicy('x', 'p', {
        podSelector: onA,
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: { matchLabels: { pod: 'b' } } }] }],
      }),
    ],
    port: 80,
    defaultAllow: true,
    except: [['x/*', 'x/a'], ['z/*', 'x/a'], ['y/a', 'x/a'], ['y/c', 'x/a']],
  },
  {
    name: 'namespace OR pod selector: y/* and x/b to x/a',
    policies: [
      k8sPolicy('x', 'p', {
        podSelector: onA,
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }, { podSelector: { matchLabels: { pod: 'b' } } }] }],
      }),
    ],
    port: 80,
    defaultAllow: true,
    except: [['x/c', 'x/a'], ['z/*', 'x/a']],
  },
  {
    name: 'all namespaces, pod=b',
    policies: [k8sPolicy('x', 'p', { podSelector: onA, ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { pod: 'b' } } }] }] })],
    port: 80,
    defaultAllow: true,
    except: [['*/a', 'x/a'], ['x/c', 'x/a'], ['y/c', 'x/a'], ['z/c', 'x/a'], ['y/a', 'x/a'], ['z/a', 'x/a']],
  },
  {
    name: 'namespace matchExpressions NotIn [x]',
    policies: [
      k8sPolicy('x', 'p', {
        podSelector: onA,
        ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'NotIn', values: ['x'] }] } }] }],
      }),
    ],
    port: 80,
    defaultAllow: true,
    except: [['x/*', 'x/a']],
  },
  {
    name: 'pod matchExpressions DoesNotExist on a label nobody has: all of x allowed',
    policies: [
      k8sPolicy('x', 'p', { podSelector: onA, ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: 'zz', operator: 'DoesNotExist' }] } }] }] }),
    ],
    port: 80,
    defaultAllow: true,
    except: [['y/*', 'x/a'], ['z/*', 'x/a']],
  },
  {
    name: 'ingress port 81 only, probed on 80',
    policies: [k8sPolicy('x', 'p', { podSelector: onA, ingress: [{ ports: [{ port: 81 }] }] })],
    port: 80,
    defaultAllow: true,
    except: [['*', 'x/a']],
  },
  {
    name: 'ingress port 81 only, probed on 81',
    policies: [k8sPolicy('x', 'p', { podSelector: onA, ingress: [{ ports: [{ port: 81 }] }] })],
    port: 81,
    defaultAllow: true,
    except: [],
  },
  {
    name: 'endPort 80-81 allows 80',
    policies: [k8sPolicy('x', 'p', { podSelector: onA, ingress: [{ ports: [{ protocol: 'TCP', port: 80, endPort: 81 }] }] })],
    port: 80,
    defaultAllow: true,
    except: [],
  },
  {
    name: 'endPort 81-82 denies 80',
    policies: [k8sPolicy('x', 'p', { podSelector: onA, ingress: [{ ports: [{ protocol: 'TCP', port: 81, endPort: 82 }] }] })],
    port: 80,
    defaultAllow: true,
    except: [['*', 'x/a']],
  },
  {
    name: 'named port serve-81-tcp, probed on 81',
    policies: [k8sPolicy('x', 'p', { podSelector: onA, ingress: [{ ports: [{ port: 'serve-81-tcp' }] }] })],
    port: 81,
    defaultAllow: true,
    except: [],
  },
  {
    name: 'named port serve-81-tcp, probed on 80',
    policies: [k8sPolicy('x', 'p', { podSelector: onA, ingress: [{ ports: [{ port: 'serve-81-tcp' }] }] })],
    port: 80,
    defaultAllow: true,
    except: [['*', 'x/a']],
  },
  {
    name: 'named port serve-80-udp with TCP probe denies',
    policies: [k8sPolicy('x', 'p', { podSelector: onA, ingress: [{ ports: [{ protocol: 'UDP', port: 'serve-80-udp' }] }] })],
    port: 80,
    defaultAllow: true,
    except: [['*', 'x/a']],
  },
  {
    name: 'UDP 80 allowed, probed with UDP',
    policies: [k8sPolicy('x', 'p', { podSelector: onA, ingress: [{ ports: [{ protocol: 'UDP', port: 80 }] }] })],
    protocol: 'UDP',
    port: 80,
    defaultAllow: true,
    except: [],
  },
  {
    name: 'egress ipBlock 10.0.0.0/16 except y (10.0.1.0/24)',
    policies: [
      k8sPolicy('x', 'p', {
        podSelector: onA,
        policyTypes: ['Egress'],
        egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.1.0/24'] } }] }],
      }),
    ],
    port: 80,
    defaultAllow: true,
    except: [['x/a', 'y/*']],
  },
  {
    name: 'multiple policies are a union',
    policies: [
      k8sPolicy('x', 'p1', { podSelector: onA, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] }),
      k8sPolicy('x', 'p2', { podSelector: onA, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }] }] }),
    ],
    port: 80,
    defaultAllow: true,
    except: [['x/c', 'x/a'], ['z/*', 'x/a']],
  },
  {
    name: 'policyTypes Egress only: egress to x/b; ingress untouched',
    policies: [
      k8sPolicy('x', 'p', { podSelector: onA, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] }),
    ],
    port: 80,
    defaultAllow: true,
    except: [['x/a', 'x/c'], ['x/a', 'y/*'], ['x/a', 'z/*']],
  },
  {
    name: 'egress rules without policyTypes default to Ingress+Egress',
    policies: [k8sPolicy('x', 'p', { podSelector: onA, egress: [{ to: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] })],
    port: 80,
    defaultAllow: true,
    except: [['x/a', 'x/c'], ['x/a', 'y/*'], ['x/a', 'z/*'], ['*', 'x/a']],
  },
  {
    name: 'deny-all plus allow-all ({} rule) in x: allowed',
    policies: [denyAllIngress('x'), k8sPolicy('x', 'allow-all', { podSelector: {}, ingress: [{}] })],
    port: 80,
    defaultAllow: true,
    except: [],
  },
  {
    name: 'deny-all in every namespace',
    policies: [denyAllIngress('x'), denyAllIngress('y'), denyAllIngress('z')],
    port: 80,
    defaultAllow: false,
    except: [],
  },
];

const BASE = e2eModel();

for (const s of SCENARIOS) {
  void test(`k8s e2e: ${s.name}`, () => {
    const model = PolicyModel.fromUpdates([...BASE, ...s.policies].map(updateOf));
    const results = explainAll(model, s.protocol ?? 'TCP', s.port);
    assert.equal(results.length, 72);
    const wrong: string[] = [];
    for (const r of results) {
      const flipped = s.except.some(([f, t]) => matches(f, r.from) && matches(t, r.to));
      const want = s.defaultAllow !== flipped ? 'Allow' : 'Deny';
      if (r.verdict !== want) wrong.push(`${r.from} -> ${r.to}: got ${r.verdict}, want ${want}`);
    }
    assert.deepEqual(wrong, []);
  });
}
