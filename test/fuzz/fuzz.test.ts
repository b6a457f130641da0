// The fuzz suite in the test command: each target of targets.ts for a bounded number of inputs
// from a fixed seed (so a run is reproducible), printing how many inputs it tried. Failures
// found while building it are kept below as regression inputs replayed on every run.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { SQLiteBackend } from '../../src/datastore/index.ts';
import { PURE_TARGETS, cliTarget, type FuzzTarget } from './targets.ts';

const SEED = 1616;
const RUNS: Readonly<Record<string, number>> = {
  resources: 1500,
  yaml: 800,
  selectors: 1500,
  'cni-stdin-env': 800,
  'agent-socket-framing': 1500,
  'datastore-content': 600,
  'cli-flags': 150,
};

async function runTarget(t: FuzzTarget): Promise<void> {
  const numRuns = RUNS[t.name] ?? 200;
  let tried = 0;
  const prop = t.property as fc.IAsyncPropertyWithHooks<[unknown]>;
  const counted = prop.beforeEach((before) => {
    tried++;
    return before();
  });
  const r = await fc.check(counted, { seed: SEED, numRuns, endOnFailure: true });
  process.stdout.write(`fuzz ${t.name}: ${tried} inputs tried (seed ${SEED})\n`);
  if (r.failed) {
    assert.fail(`fuzz ${t.name} failed after ${r.numRuns} inputs (seed ${r.seed}, path ${r.counterexamplePath ?? '?'}):\n${JSON.stringify(r.counterexample)?.slice(0, 1000)}\n${r.errorInstance instanceof Error ? r.errorInstance.message : String(r.errorInstance)}`);
  }
}

/** Inputs that failed once, replayed every run: [target, input, what was wrong]. */
export const REGRESSIONS: readonly (readonly [string, unknown, string])[] = [
  ['yaml', '*7k', 'an unresolved YAML alias threw a ReferenceError (CLI exit 70 with a stack trace)'],
];

for (const [name, input, what] of REGRESSIONS) {
  void test(`fuzz regression: ${name}: ${what}`, async () => {
    const target = PURE_TARGETS.find((t) => t.name === name);
    assert.ok(target !== undefined);
    const r = await fc.check(target.property as fc.IAsyncPropertyWithHooks<[unknown]>, { examples: [[input]], numRuns: 1, seed: 1 });
    assert.equal(r.failed, false, String(r.errorInstance));
  });
}

for (const target of PURE_TARGETS) {
  void test(`fuzz: ${target.name}`, { timeout: 300_000 }, () => runTarget(target));
}

void test('fuzz: cli-flags (over a datastore holding values another writer left)', { timeout: 300_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tri-fuzz-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = join(dir, 'ds.db');
  const be = new SQLiteBackend({ path: db });
  const P = '/calico/resources/v3/projectcalico.org/';
  await be.put(`${P}ippools/garbage`, '{not json');
  await be.put(`${P}globalnetworkpolicies/wrong-kind`, JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'wrong-kind' }, spec: { cidr: '10.0.0.0/8' } }));
  await be.put(`${P}networkpolicies/ns1/huge`, JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind: 'NetworkPolicy', metadata: { name: 'huge', namespace: 'ns1' }, spec: { selector: 'x'.repeat(1 << 20) } }));
  await be.put(`${P}felixconfigurations/default`, '[]');
  await be.put(`${P}tiers/null`, 'null');
  await be.close();
  await runTarget(cliTarget(db, dir));
});
