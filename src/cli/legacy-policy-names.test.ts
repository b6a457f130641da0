// Regression: a default-tier policy stored by Calico before 3.30 as `default.<name>` (no
// `projectcalico.org/metadata` annotation) is `<name>` to every reader. The CLI (`get`),
// `policy explain` and the node agent's calc graph (fed exactly as the agent feeds it: its
// UpdateSource selection, decoded by the datastore codec, turned into calc input) must agree;
// before the one codec only the CLI said `<name>` and the agent's calc graph said `default.<name>`.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AGENT_SELECTION, calcUpdateOf, isCalcUpdate } from '../agent/index.ts';
import { CalcGraph, type CalcMessage, type CalcUpdate } from '../calc/index.ts';
import { localUpdateSource, SQLiteBackend } from '../datastore/index.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'tricolor-legacy-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const dbPath = join(dir, 'ds.db');
const env = { ...process.env, DATASTORE_TYPE: 'embedded', TRICOLOR_DATASTORE_PATH: dbPath };

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'tricolor.ts'), ...args], { env, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const wep = (ns: string, pod: string, ip: string): string => `apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: node1-k8s-${pod}-eth0, namespace: ${ns}, labels: {pod: ${pod}}}
spec: {orchestrator: k8s, node: node1, pod: ${pod}, endpoint: eth0, interfaceName: cali${pod}, ipNetworks: [${ip}/32]}
`;

const LEGACY_KEY = '/calico/resources/v3/projectcalico.org/globalnetworkpolicies/default.deny-b';
const LEGACY_VALUE = JSON.stringify({
  apiVersion: 'projectcalico.org/v3',
  kind: 'GlobalNetworkPolicy',
  metadata: { name: 'default.deny-b', uid: 'legacy-uid', creationTimestamp: '2024-01-01T00:00:00Z' },
  spec: { tier: 'default', order: 10, selector: "pod == 'a'", types: ['Ingress'], ingress: [{ action: 'Deny', source: { selector: "pod == 'b'" } }] },
});

/** What the agent's calc graph emits for node1 after its UpdateSource is in sync. */
async function agentView(): Promise<CalcMessage[]> {
  const backend = new SQLiteBackend({ path: dbPath });
  const source = localUpdateSource(backend, AGENT_SELECTION);
  const graph = new CalcGraph({ hostname: 'node1' });
  try {
    await new Promise<void>((resolve) => {
      source.start({
        onStatus: (s) => {
          if (s === 'InSync') resolve();
        },
        onUpdates: (us) => {
          const calc: CalcUpdate[] = [];
          for (const u of us) if (u.type === 'resource' && isCalcUpdate(u)) calc.push(calcUpdateOf(u));
          graph.onUpdates(calc);
        },
      });
    });
    graph.markInSync();
    return graph.flush();
  } finally {
    await source.dispose();
    await backend.close();
  }
}

void test('a legacy default.<name> policy: the CLI, policy explain and the agent all call it <name>', async () => {
  writeFileSync(join(dir, 'cluster.yaml'), ['apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n', wep('x', 'a', '10.0.0.1'), wep('x', 'b', '10.0.0.2')].join('---\n'));
  const applied = cli('apply', '-f', join(dir, 'cluster.yaml'));
  assert.equal(applied.status, 0, applied.stderr);
  // written the way Calico before 3.30 stored it, around our API
  const raw = new SQLiteBackend({ path: dbPath });
  await raw.put(LEGACY_KEY, LEGACY_VALUE);
  await raw.close();

  const got = cli('get', 'globalnetworkpolicy', '-o', 'json');
  assert.equal(got.status, 0, got.stderr);
  const listed = JSON.parse(got.stdout) as { items?: { metadata: { name: string } }[]; metadata?: { name: string } };
  const names = (listed.items ?? [listed as { metadata: { name: string } }]).map((p) => p.metadata.name);
  assert.deepEqual(names, ['deny-b']);

  const explained = cli('policy', 'explain', '--from', 'x/b', '--to', 'x/a', '--port', '80', '-o', 'json');
  assert.equal(explained.status, 0, explained.stderr);
  const e = JSON.parse(explained.stdout) as { verdict: string; ingress: { policy?: string; tier?: string } };
  assert.equal(e.verdict, 'Deny');
  assert.equal(e.ingress.tier, 'default');
  assert.equal(e.ingress.policy, 'deny-b');

  const msgs = await agentView();
  const policies = msgs.filter((m) => m.type === 'ActivePolicyUpdate');
  assert.deepEqual(
    policies.map((m) => m.id.name),
    ['deny-b'],
  );
  assert.ok(!JSON.stringify(msgs).includes('default.deny-b'), 'the agent never sees the legacy name');
});
