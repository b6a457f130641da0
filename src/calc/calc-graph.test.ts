// State-sequence tests in the Felix style: states are sets of resources; sequences of states are
// replayed in several orders (forward, reversed, with empty states between, squashed) into a
// CalcGraph, each flush applied to a simulated dataplane that checks the flush-order contract
// (no reference to an IP set / policy / profile not yet sent; nothing removed while referenced).
// Whatever the path, the dataplane must end identical to a graph fed only the final state.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AnyResource } from '../api/index.ts';
import {
  calicoPolicy,
  e2eModel,
  globalNetworkSet,
  globalPolicy,
  hostEndpoint,
  k8sPolicy,
  namespace,
  networkSet,
  tier,
  workload,
} from './fixtures.ts';
import { CalcGraph, deletionOf, updateOf } from './index.ts';
import type { CalcMessage, CalcUpdate } from './index.ts';

/** An IP set member as comparable text (net members are strings, ip-port members objects). */
function memberText(m: unknown): string {
  return typeof m === 'string' ? m : JSON.stringify(m);
}

class DataplaneSim {
  readonly ipsets = new Map<string, string>();
  /** The same sets maintained only from the `added` / `removed` deltas. */
  readonly deltaSets = new Map<string, Set<string>>();
  readonly policies = new Map<string, { ipsets: readonly string[]; json: string }>();
  readonly profiles = new Map<string, { ipsets: readonly string[]; json: string }>();
  readonly endpoints = new Map<string, { policies: string[]; profiles: readonly string[]; json: string }>();

  apply(msgs: readonly CalcMessage[]): void {
    for (const m of msgs) {
      switch (m.type) {
        case 'IPSetUpdate': {
          this.ipsets.set(m.id, JSON.stringify(m.members));
          // A consumer applying only the deltas must end with exactly `members`.
          let set = this.deltaSets.get(m.id);
          if (set === undefined) this.deltaSets.set(m.id, (set = new Set()));
          assert.ok(m.added !== undefined && m.removed !== undefined, `IPSetUpdate ${m.id} without a delta`);
          for (const x of m.removed.map(memberText)) assert.ok(set.delete(x), `${m.id}: removed ${x} was not a member`);
          for (const x of m.added.map(memberText)) {
            assert.ok(!set.has(x), `${m.id}: added ${x} was already a member`);
            set.add(x);
          }
          assert.deepEqual([...set].sort(), m.members.map(memberText).sort(), `${m.id}: delta disagrees with members`);
          break;
        }
        case 'IPSetRemove':
          for (const [k, p] of [...this.policies, ...this.profiles]) assert.ok(!p.ipsets.includes(m.id), `IP set ${m.id} removed while ${k} uses it`);
          assert.ok(this.ipsets.delete(m.id), `remove of unknown IP set ${m.id}`);
          this.deltaSets.delete(m.id);
          break;
        case 'ActivePolicyUpdate':
        case 'ActiveProfileUpdate': {
          for (const id of m.ipSetIds) assert.ok(this.ipsets.has(id), `${m.type} references IP set ${id} not yet sent`);
          const map = m.type === 'ActivePolicyUpdate' ? this.policies : this.profiles;
          map.set(m.type === 'ActivePolicyUpdate' ? m.key : m.name, { ipsets: m.ipSetIds, json: JSON.stringify(m.rules) });
          break;
        }
        case 'ActivePolicyRemove':
          for (const [k, e] of this.endpoints) assert.ok(!e.policies.includes(m.key), `policy ${m.key} removed while ${k} uses it`);
          assert.ok(this.policies.delete(m.key));
          break;
        case 'ActiveProfileRemove':
          for (const [k, e] of this.endpoints) assert.ok(!e.profiles.includes(m.name), `profile ${m.name} removed while ${k} uses it`);
          assert.ok(this.profiles.delete(m.name));
          break;
        case 'WorkloadEndpointUpdate':
        case 'HostEndpointUpdate': {
          const tiers = m.type === 'HostEndpointUpdate' ? [...m.tiers, ...m.untrackedTiers, ...m.preDNATTiers, ...m.forwardTiers] : m.tiers;
          const policies = tiers.flatMap((t) => [...t.ingressPolicies, ...t.egressPolicies]);
          for (const p of policies) assert.ok(this.policies.has(p), `${m.key} references policy ${p} not yet sent`);
          for (const p of m.profileIds) assert.ok(this.profiles.has(p), `${m.key} references profile ${p} not yet sent`);
          this.endpoints.set(m.key, { policies, profiles: m.profileIds, json: JSON.stringify(m) });
          break;
        }
        case 'WorkloadEndpointRemove':
        case 'HostEndpointRemove':
          assert.ok(this.endpoints.delete(m.key), `remove of unknown endpoint ${m.key}`);
          break;
        case 'InSync':
          break;
      }
    }
  }

  snapshot(): unknown {
    const sorted = <V>(m: Map<string, V>): Array<[string, V]> => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
    return { ipsets: sorted(this.ipsets), policies: sorted(this.policies), profiles: sorted(this.profiles), endpoints: sorted(this.endpoints) };
  }
}

function resKey(r: AnyResource): string {
  return `${r.apiVersion}/${r.kind}/${r.metadata.namespace ?? ''}/${r.metadata.name}`;
}

/** Updates that move the datastore from state `from` to state `to`. */
function transition(from: readonly AnyResource[], to: readonly AnyResource[]): CalcUpdate[] {
  const prev = new Map(from.map((r) => [resKey(r), r]));
  const next = new Map(to.map((r) => [resKey(r), r]));
  const out: CalcUpdate[] = [];
  for (const [k, r] of next) if (JSON.stringify(prev.get(k)) !== JSON.stringify(r)) out.push(updateOf(r));
  for (const [k, r] of prev) if (!next.has(k)) out.push(deletionOf(r));
  return out;
}

const HOST = 'node0';
const base = e2eModel();

const withLabel = (r: AnyResource, labels: Record<string, string>): AnyResource => ({
  ...r,
  metadata: { ...r.metadata, labels: { ...(r.metadata.labels ?? {}), ...labels } },
});

const xa = base.find((r) => r.kind === 'WorkloadEndpoint' && r.metadata.namespace === 'x' && (r.spec as { pod?: string }).pod === 'a');
assert.ok(xa !== undefined);

const knpAllowY = k8sPolicy('x', 'allow-y', {
  podSelector: { matchLabels: { pod: 'a' } },
  ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }], ports: [{ port: 'serve-80-tcp' }, { port: 81 }] }],
});
const knpDenyAll = k8sPolicy('x', 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
const gnpSec = globalPolicy('sec', {
  tier: 'security',
  order: 5,
  selector: 'has(pod)',
  ingress: [{ action: 'Deny', source: { selector: "external == 'bad'" } }, { action: 'Pass' }],
  egress: [{ action: 'Allow', destination: { notSelector: "pod == 'c'" } }, { action: 'Pass' }],
});
const npB = calicoPolicy('x', 'to-b', { selector: "pod == 'b'", ingress: [{ action: 'Allow', source: { selector: "pod == 'a'" } }] });

const STATES: Record<string, readonly AnyResource[]> = {
  empty: [],
  base,
  k8s: [...base, knpDenyAll, knpAllowY],
  relabel: [...base.filter((r) => r !== xa), withLabel(xa, { pod: 'a', extra: 'yes' }), knpAllowY, npB],
  tiers: [
    ...base,
    tier('security', 100),
    gnpSec,
    globalNetworkSet('bad', ['192.0.2.0/24'], { external: 'bad' }),
    networkSet('x', 'partners', ['198.51.100.0/24'], { pod: 'a' }),
    hostEndpoint('node0-eth0', HOST, ['172.16.0.10'], { role: 'host' }, ['missing-profile']),
    knpAllowY,
  ],
  shrink: [...base.filter((r) => r.metadata.namespace !== 'y'), tier('security', 100), gnpSec, npB],
  moved: [...base.filter((r) => r !== xa), ({ ...xa, spec: { ...(xa.spec as object), node: 'node1' } } as AnyResource), knpAllowY, gnpSec, tier('security', 100)],
};

function run(sequence: readonly string[], flushEach: boolean): unknown {
  const g = new CalcGraph({ hostname: HOST });
  const sim = new DataplaneSim();
  let cur: readonly AnyResource[] = [];
  for (const name of sequence) {
    const next = STATES[name] ?? [];
    g.onUpdates(transition(cur, next));
    cur = next;
    if (flushEach) sim.apply(g.flush());
  }
  sim.apply(g.flush());
  return sim.snapshot();
}

const NAMES = Object.keys(STATES).filter((n) => n !== 'empty');

const SEQUENCES: Record<string, readonly string[]> = {
  forward: NAMES,
  reversed: [...NAMES].reverse(),
  'empty between': NAMES.flatMap((n) => ['empty', n]),
  'each pair': NAMES.flatMap((a) => NAMES.map((b) => [a, b]).flat()),
};

for (const [label, seq] of Object.entries(SEQUENCES)) {
  for (const flushEach of [true, false]) {
    void test(`state sequence ${label} (${flushEach ? 'flush per state' : 'one flush'}) ends as the squashed final state`, () => {
      const final = seq[seq.length - 1] as string;
      assert.deepEqual(run(seq, flushEach), run([final], true));
    });
  }
}

void test('every state from empty and back to empty leaves nothing programmed', () => {
  for (const n of NAMES) {
    const snap = run([n, 'empty'], true) as { ipsets: unknown[]; policies: unknown[]; profiles: unknown[]; endpoints: unknown[] };
    assert.deepEqual(snap, { ipsets: [], policies: [], profiles: [], endpoints: [] }, n);
  }
});

void test('k8s state programs the expected policies, named-port set and endpoint tiers', () => {
  const g = new CalcGraph({ hostname: HOST });
  g.onUpdates(STATES['k8s']?.map(updateOf) ?? []);
  g.markInSync();
  const msgs = g.flush();
  assert.equal(msgs[msgs.length - 1]?.type, 'InSync');
  const wep = msgs.find((m) => m.type === 'WorkloadEndpointUpdate' && m.namespace === 'x' && m.pod === 'a');
  assert.ok(wep !== undefined && wep.type === 'WorkloadEndpointUpdate');
  assert.deepEqual(wep.tiers, [
    {
      name: 'default',
      defaultAction: 'Deny',
      ingressPolicies: ['KubernetesNetworkPolicy/x/knp.default.allow-y', 'KubernetesNetworkPolicy/x/knp.default.deny-all'],
      egressPolicies: ['KubernetesNetworkPolicy/x/knp.default.deny-all'],
    },
  ]);
  assert.deepEqual(wep.profileIds, ['kns.x']);
  const namedPort = msgs.find((m) => m.type === 'IPSetUpdate' && m.ipsetType === 'ip-port');
  assert.ok(namedPort !== undefined && namedPort.type === 'IPSetUpdate');
  // x/a is the only endpoint selected by the policy's own side (destination: any endpoint with the name).
  assert.equal(namedPort.members.length, 9);
  // Only policies matching node0's endpoints are active; IP sets precede policies precede endpoints.
  const order = msgs.map((m) => m.type);
  assert.ok(order.lastIndexOf('IPSetUpdate') < order.indexOf('ActivePolicyUpdate'));
  assert.ok(order.lastIndexOf('ActivePolicyUpdate') < order.indexOf('WorkloadEndpointUpdate'));
});

void test('a label change touches only the affected IP set and endpoint', () => {
  const g = new CalcGraph({ hostname: HOST });
  const npC = calicoPolicy('x', 'to-c', { selector: "pod == 'c'", ingress: [{ action: 'Allow', source: { selector: "pod == 'a'" } }] });
  g.onUpdates([...base, npC, knpAllowY].map(updateOf));
  g.flush();
  g.onUpdate(updateOf(withLabel(xa, { pod: 'zzz' })));
  const msgs = g.flush();
  const types = msgs.map((m) => m.type).sort();
  // x/a leaves the `pod == 'a'` source set of npC and stops matching knp allow-y (which goes inactive).
  assert.ok(types.includes('IPSetUpdate'));
  assert.ok(types.includes('WorkloadEndpointUpdate'));
  assert.ok(msgs.every((m) => m.type !== 'WorkloadEndpointUpdate' || m.key === `WorkloadEndpoint/x/${xa.metadata.name}`));
});

void test('IP set deltas: incremental add/remove, and a set removed and re-created within one flush', () => {
  const g = new CalcGraph({ hostname: HOST });
  const sim = new DataplaneSim();
  const ya = base.find((r) => r.kind === 'WorkloadEndpoint' && r.metadata.namespace === 'y' && (r.spec as { pod?: string }).pod === 'a');
  assert.ok(ya !== undefined);
  const gnpFromA = globalPolicy('from-a', { selector: "pod == 'c'", ingress: [{ action: 'Allow', source: { selector: "pod == 'a'" } }] });
  g.onUpdates([...base, gnpFromA].map(updateOf));
  const first = g.flush();
  sim.apply(first);
  const created = first.find((m) => m.type === 'IPSetUpdate' && m.ipsetType === 'net' && m.members.length === 3);
  assert.ok(created !== undefined && created.type === 'IPSetUpdate');
  assert.deepEqual(created.added, created.members);
  assert.deepEqual(created.removed, []);
  const id = created.id;
  const yaIP = ((ya.spec as { ipNetworks: string[] }).ipNetworks[0] ?? '');

  // One member leaves: the update carries just that removal.
  g.onUpdate(updateOf(withLabel(ya, { pod: 'zzz' })));
  const leave = g.flush();
  sim.apply(leave);
  const u1 = leave.find((m) => m.type === 'IPSetUpdate' && m.id === id);
  assert.ok(u1 !== undefined && u1.type === 'IPSetUpdate');
  assert.deepEqual([u1.added, u1.removed, u1.members.length], [[], [yaIP], 2]);

  // Policy deleted (set released), member comes back, policy re-added — all before one flush:
  // the dataplane still has the old set, so the delta is relative to it.
  g.onUpdate(deletionOf(gnpFromA));
  g.onUpdate(updateOf(withLabel(ya, { pod: 'a' })));
  g.onUpdate(updateOf(gnpFromA));
  const again = g.flush();
  sim.apply(again);
  const u2 = again.find((m) => m.type === 'IPSetUpdate' && m.id === id);
  assert.ok(u2 !== undefined && u2.type === 'IPSetUpdate');
  assert.deepEqual([u2.added, u2.removed, u2.members.length], [[yaIP], [], 3]);
  assert.ok(!again.some((m) => m.type === 'IPSetRemove'));

  // Coalescing: a member that leaves and returns between flushes produces no IP set message.
  g.onUpdate(updateOf(withLabel(ya, { pod: 'zzz' })));
  g.onUpdate(updateOf(withLabel(ya, { pod: 'a' })));
  const none = g.flush();
  assert.ok(!none.some((m) => m.type === 'IPSetUpdate' && m.id === id && ((m.added?.length ?? 0) > 0 || (m.removed?.length ?? 0) > 0)));
});

void test('IP set deltas stay exact when many members change at once (sorted list rebuilt)', () => {
  const g = new CalcGraph({ hostname: HOST });
  const sim = new DataplaneSim();
  const weps = Array.from({ length: 80 }, (_, i) => workload('x', `p${i}`, `10.9.${i >> 8}.${i & 255}`, { grp: i % 2 === 0 ? 'even' : 'odd' }, { node: HOST }));
  const pol = globalPolicy('grp', { selector: 'has(grp)', ingress: [{ action: 'Allow', source: { selector: "grp == 'even'" } }] });
  g.onUpdates([...weps, pol].map(updateOf));
  sim.apply(g.flush());
  // Flip every endpoint's group: 40 leave, 40 join, more than the splice limit.
  for (const w of weps) g.onUpdate(updateOf(withLabel(w, { grp: (w.metadata.labels ?? {})['grp'] === 'even' ? 'odd' : 'even' })));
  const msgs = g.flush();
  sim.apply(msgs);
  const u = msgs.find((m) => m.type === 'IPSetUpdate');
  assert.ok(u !== undefined && u.type === 'IPSetUpdate');
  assert.deepEqual([u.added?.length, u.removed?.length, u.members.length], [40, 40, 40]);
  assert.deepEqual([...u.members], [...u.members].sort());
});

void test('property: random label churn, applied incrementally, equals the graph built from scratch', () => {
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const apps = ['a', 'b', 'c', 'd'];
  let weps = Array.from({ length: 30 }, (_, i) =>
    workload(`ns${i % 3}`, `p${i}`, `10.8.0.${i + 1}`, { app: apps[i % 4] ?? 'a' }, { node: i % 2 === 0 ? HOST : 'node1', ports: [{ name: 'http', protocol: 'TCP', port: 8080 + (i % 3) }] }),
  );
  const fixed: AnyResource[] = [
    ...[0, 1, 2].map((i) => namespace(`ns${i}`, { env: i === 0 ? 'prod' : 'dev' })),
    globalPolicy('g1', { selector: "app == 'a'", ingress: [{ action: 'Allow', source: { selector: "app in {'b', 'c'}" }, destination: { ports: ['http'] } }] }),
    globalPolicy('g2', { selector: 'has(app)', egress: [{ action: 'Allow', destination: { namespaceSelector: "env == 'prod'", selector: "app != 'd'" } }] }),
    calicoPolicy('ns1', 'n1', { selector: "app == 'b'", ingress: [{ action: 'Allow', source: { selector: "app == 'c'" } }] }),
  ];
  const g = new CalcGraph({ hostname: HOST });
  const sim = new DataplaneSim();
  g.onUpdates([...fixed, ...weps].map(updateOf));
  sim.apply(g.flush());
  for (let step = 0; step < 60; step++) {
    for (let k = 0; k < 1 + rnd(4); k++) {
      const i = rnd(weps.length);
      const w = weps[i] as AnyResource;
      const next = withLabel(w, { app: apps[rnd(apps.length)] ?? 'a' });
      weps = weps.map((x, j) => (j === i ? next : x));
      g.onUpdate(updateOf(next));
    }
    sim.apply(g.flush());
    const fresh = new CalcGraph({ hostname: HOST });
    const freshSim = new DataplaneSim();
    fresh.onUpdates([...fixed, ...weps].map(updateOf));
    freshSim.apply(fresh.flush());
    assert.deepEqual(sim.snapshot(), freshSim.snapshot(), `step ${step}`);
  }
});
