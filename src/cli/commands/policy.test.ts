// End-to-end: apply a small cluster to a throwaway embedded datastore with the real CLI, then ask
// `policy explain` (single pair, --all) and `policy show` about it.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'tricolor-policy-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const env = { ...process.env, DATASTORE_TYPE: 'embedded', TRICOLOR_DATASTORE_PATH: join(dir, 'ds.db') };

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'tricolor.ts'), ...args], { env, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const wep = (ns: string, pod: string, ip: string): string => `apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: node1-k8s-${pod}-eth0, namespace: ${ns}, labels: {pod: ${pod}}}
spec: {orchestrator: k8s, node: node1, pod: ${pod}, endpoint: eth0, interfaceName: cali${pod}, ipNetworks: [${ip}/32]}
`;

const CLUSTER = [
  'apiVersion: v1\nkind: Namespace\nmetadata: {name: x, labels: {ns: x}}\n',
  'apiVersion: v1\nkind: Namespace\nmetadata: {name: y, labels: {ns: y}}\n',
  wep('x', 'a', '10.0.0.1'),
  wep('y', 'b', '10.0.1.1'),
  `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-y, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}], ports: [{port: 81}]}]
`,
].join('---\n');

void test('policy explain / show against the embedded datastore', () => {
  writeFileSync(join(dir, 'cluster.yaml'), CLUSTER);
  const applied = cli('apply', '-f', join(dir, 'cluster.yaml'));
  assert.equal(applied.status, 0, applied.stderr);

  const denied = cli('policy', 'explain', '--from', 'y/b', '--to', 'x/a', '--port', '80', '-o', 'json');
  assert.equal(denied.status, 0, denied.stderr);
  const d = JSON.parse(denied.stdout) as { verdict: string; ingress: { decidedBy: string; tier: string }; egress: { verdict: string } };
  assert.equal(d.verdict, 'Deny');
  assert.equal(d.ingress.decidedBy, 'end-of-tier');
  assert.equal(d.ingress.tier, 'default');
  assert.equal(d.egress.verdict, 'Allow');

  const allowed = cli('policy', 'explain', '--from', 'y/b', '--to', 'x/a', '--port', '81');
  assert.equal(allowed.status, 0, allowed.stderr);
  assert.match(allowed.stdout, /^Allow: y\/b -> x\/a TCP\/81/);
  assert.match(allowed.stdout, /policy x\/knp\.default\.allow-y/);

  const fromIP = cli('policy', 'explain', '--from', '192.0.2.1', '--to', 'x/a', '--port', '81', '-o', 'json');
  assert.equal((JSON.parse(fromIP.stdout) as { verdict: string }).verdict, 'Deny');

  const all = cli('policy', 'explain', '--all', '--port', '81', '-o', 'json');
  assert.equal(all.status, 0, all.stderr);
  assert.deepEqual(JSON.parse(all.stdout), {
    port: 81,
    protocol: 'TCP',
    results: [
      { from: 'x/a', to: 'y/b', verdict: 'Allow' },
      { from: 'y/b', to: 'x/a', verdict: 'Allow' },
    ],
  });

  // lists with --all: every pair on every protocol × port, each result naming both
  const lists = cli('policy', 'explain', '--all', '--port', '80,81', '--protocol', 'tcp,UDP', '-o', 'json');
  assert.equal(lists.status, 0, lists.stderr);
  const l = JSON.parse(lists.stdout) as { ports: number[]; protocols: string[]; results: Array<{ from: string; to: string; protocol: string; port: number; verdict: string }> };
  assert.deepEqual(l.ports, [80, 81]);
  assert.deepEqual(l.protocols, ['TCP', 'UDP']);
  assert.equal(l.results.length, 8);
  const verdict = (protocol: string, port: number): string | undefined => l.results.find((r) => r.from === 'y/b' && r.to === 'x/a' && r.protocol === protocol && r.port === port)?.verdict;
  assert.equal(verdict('TCP', 80), 'Deny');
  assert.equal(verdict('TCP', 81), 'Allow');
  assert.equal(verdict('UDP', 81), 'Deny'); // the policy's port 81 is TCP (the default protocol)
  // the same flag repeated is the same list
  assert.deepEqual(JSON.parse(cli('policy', 'explain', '--all', '--port', '80', '--port', '81', '--protocol', 'TCP', '--protocol', 'UDP', '-o', 'json').stdout), l);
  const text = cli('policy', 'explain', '--all', '--port', '80,81');
  assert.match(text.stdout, /^y\/b -> x\/a TCP\/81: Allow$/m);

  for (const [args, field, value] of [
    [['--all', '--port', '80,', '-o', 'json'], '--port', ''],
    [['--all', '--port', '80,99999'], '--port', '99999'],
    [['--all', '--port', '80', '--protocol', 'TCP,'], '--protocol', 'TCP,'],
    [['--from', 'y/b', '--to', 'x/a', '--port', '80,81'], '--port', '80,81'],
    [['--from', 'y/b', '--to', 'x/a', '--port', '80', '--protocol', 'TCP,UDP'], '--protocol', 'TCP,UDP'],
  ] as const) {
    const bad = cli('policy', 'explain', ...args);
    assert.notEqual(bad.status, 0, args.join(' '));
    assert.ok(bad.stderr.includes(field) && bad.stderr.includes(JSON.stringify(value)), `${args.join(' ')}: ${bad.stderr}`);
  }

  const show = cli('policy', 'show', 'x/a', '-o', 'json');
  assert.equal(show.status, 0, show.stderr);
  const s = JSON.parse(show.stdout) as { node: string; endpoints: Array<{ endpoint: string; tiers: unknown[]; ipsets: Array<{ members: number }> }> };
  assert.equal(s.node, 'node1');
  assert.equal(s.endpoints[0]?.endpoint, 'x/a');
  assert.equal(s.endpoints[0]?.ipsets[0]?.members, 1);

  const missing = cli('policy', 'explain', '--from', 'y/nope', '--to', 'x/a', '--port', '80');
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /no WorkloadEndpoint for pod "y\/nope"/);
});
