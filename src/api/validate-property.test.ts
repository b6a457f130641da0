// Property tests for validation: bad input never crashes (every problem is a TricolorError with
// a field path), and whatever validates is a fixed point of validation (defaults are stable).
// Documents are mutated at random paths with a seeded generator, so failures reproduce.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TricolorError } from '../base/index.ts';
import { collectValidationErrors, validateResource } from './index.ts';
import { seededRandom } from '../base/index.ts';

const C = 'projectcalico.org/v3';

const SEEDS: unknown[] = [
  { apiVersion: C, kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '10.0.0.0/16', ipipMode: 'Always', natOutgoing: true, allowedUses: ['Workload'] } },
  { apiVersion: C, kind: 'Tier', metadata: { name: 't', labels: { a: 'b' } }, spec: { order: 10 } },
  {
    apiVersion: C,
    kind: 'GlobalNetworkPolicy',
    metadata: { name: 'g' },
    spec: {
      selector: "app == 'x'",
      namespaceSelector: 'has(env)',
      ingress: [
        { action: 'Allow', protocol: 'TCP', source: { nets: ['10.0.0.0/8'], selector: 'all()' }, destination: { ports: [80, '90:95', 'http'] } },
        { action: 'Allow', protocol: 'ICMP', icmp: { type: 8, code: 0 } },
      ],
      egress: [{ action: 'Allow', destination: { services: { name: 's', namespace: 'n' } } }],
    },
  },
  {
    apiVersion: C,
    kind: 'NetworkPolicy',
    metadata: { name: 'n', namespace: 'prod' },
    spec: { tier: 'default', order: 5, ingress: [{ action: 'Allow', http: { methods: ['GET'], paths: [{ prefix: '/api' }] } }] },
  },
  { apiVersion: C, kind: 'HostEndpoint', metadata: { name: 'h' }, spec: { node: 'n1', interfaceName: 'eth0', expectedIPs: ['10.0.0.1'], ports: [{ name: 'ssh', protocol: 'TCP', port: 22 }] } },
  { apiVersion: C, kind: 'BGPPeer', metadata: { name: 'b' }, spec: { peerIP: '10.0.0.1:179', asNumber: '1.10', nextHopMode: 'Self' } },
  { apiVersion: C, kind: 'FelixConfiguration', metadata: { name: 'default' }, spec: { logSeverityScreen: 'Info', failsafeInboundHostPorts: [{ protocol: 'TCP', port: 22 }], routeTableRange: { min: 1, max: 250 } } },
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns' }, spec: { containers: [{ name: 'c', ports: [{ containerPort: 80 }] }] }, status: { podIP: '10.0.0.1' } },
];

const rng = seededRandom;

const SAMPLES: unknown[] = [
  null,
  true,
  0,
  -1,
  65536,
  1.5,
  '',
  ' ',
  'x',
  'TCP',
  '10.0.0.0/33',
  '::/0',
  'global()',
  'a ==',
  '0:0',
  'Never',
  'all()',
  [],
  [null],
  ['x'],
  {},
  { a: 1 },
  'A'.repeat(300),
];

function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...prefix, i])));
  else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
  return out;
}

function mutate(doc: unknown, r: () => number): unknown {
  const copy = structuredClone(doc);
  const all = paths(copy).filter((p) => p.length > 0);
  const path = all[Math.floor(r() * all.length)] ?? [];
  let parent = copy as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  const last = path[path.length - 1] ?? 'x';
  const choice = r();
  if (choice < 0.15 && !Array.isArray(parent)) delete parent[last];
  else if (choice < 0.25 && !Array.isArray(parent)) parent[`extra${Math.floor(r() * 3)}`] = 1;
  else parent[last] = structuredClone(SAMPLES[Math.floor(r() * SAMPLES.length)]);
  return copy;
}

void test('property: random mutations never crash and always name a field', () => {
  const r = rng(20240601);
  let accepted = 0;
  let rejected = 0;
  for (let i = 0; i < 3000; i++) {
    const seed = SEEDS[i % SEEDS.length];
    const doc = mutate(seed, r);
    let errors: TricolorError[];
    try {
      errors = collectValidationErrors(doc);
    } catch (e) {
      assert.fail(`crash on ${JSON.stringify(doc)}: ${String(e)}`);
    }
    for (const e of errors) {
      assert.ok(e instanceof TricolorError);
      assert.ok(e.code === 'ERR_VALIDATION' || e.code === 'ERR_UNKNOWN_KIND', e.code);
      if (e.code === 'ERR_VALIDATION') assert.ok(e.field !== undefined || e.message.startsWith('document:'), e.message);
    }
    if (errors.length === 0) {
      accepted++;
      const out = validateResource(doc);
      assert.deepEqual(validateResource(structuredClone(out)), out, JSON.stringify(doc));
    } else rejected++;
  }
  // Both outcomes must actually be exercised for the property to mean anything.
  assert.ok(accepted > 100 && rejected > 100, `accepted ${accepted}, rejected ${rejected}`);
});

void test('property: every seed document is valid and a fixed point', () => {
  for (const seed of SEEDS) {
    const out = validateResource(seed);
    assert.deepEqual(validateResource(out), out);
  }
});
