// The conformance scenarios against the policy engine alone (no lab, no root): each step's world
// is turned into validated resources (as the datastore would hold them), `explainAll` gives the
// verdict of every pair per probe, and that is compared with the step's expected truth table.
// The calc unit tests run this for every scenario, which also keeps the scenario data honest
// before the slower lab run (test/conformance/run.ts) uses it.

import { validateResource } from '../../src/api/index.ts';
import type { AnyResource } from '../../src/api/index.ts';
import { PolicyModel, explainAll, updateOf } from '../../src/calc/index.ts';
import { namespace, workload } from '../../src/calc/fixtures.ts';
import { COMBOS, NAMESPACES, PODS, PORTS, PROTOCOLS, World, comboKey, reachFor, serviceAccountOf, truthTable } from './model.ts';
import type { ModelEnv, Scenario } from './model.ts';

/** Addresses of the pure model: 10.0.<namespace index>.<pod index + 1>. */
export const PURE_ENV: ModelEnv = {
  ip(pod: string): string {
    const [ns, name] = pod.split('/');
    const i = NAMESPACES.indexOf(ns as (typeof NAMESPACES)[number]);
    const j = PODS.indexOf(name as (typeof PODS)[number]);
    if (i < 0 || j < 0) throw new Error(`no pod ${JSON.stringify(pod)} in the model`);
    return `10.0.${i}.${j + 1}`;
  },
  externalIP: '203.0.113.10',
};

const PORT_DECLS = PROTOCOLS.flatMap((p) => PORTS.map((port) => ({ name: `serve-${port}-${p}`, protocol: p.toUpperCase(), port })));

export function worldResources(w: World, env: ModelEnv = PURE_ENV): AnyResource[] {
  const out: AnyResource[] = [];
  for (const ns of NAMESPACES) {
    out.push(namespace(ns, w.nsLabels.get(ns) ?? {}));
    for (const p of PODS) {
      out.push(workload(ns, p, env.ip(`${ns}/${p}`), w.podLabels.get(`${ns}/${p}`) ?? {}, { serviceAccount: serviceAccountOf(p), ports: PORT_DECLS }));
    }
  }
  for (const d of w.resources()) out.push(validateResource(d));
  return out;
}

/** `tcp/80 x/b -> x/a: expected …, engine …` for every pair where the engine disagrees with the step. */
export function runPure(s: Scenario, env: ModelEnv = PURE_ENV): string[] {
  const w = new World();
  const problems: string[] = [];
  s.steps.forEach((step, i) => {
    for (const a of step.actions) w.record(a, env);
    const model = PolicyModel.fromUpdates(worldResources(w, env).map(updateOf));
    for (const c of COMBOS) {
      const want = truthTable(reachFor(step.expect, c));
      const got = new Map(explainAll(model, c.protocol.toUpperCase(), c.port).map((r) => [`${r.from} -> ${r.to}`, r.verdict === 'Allow']));
      for (const [pair, v] of want) {
        if (got.get(pair) !== v) problems.push(`step ${i + 1} (${step.what}) ${comboKey(c)} ${pair}: expected ${v ? 'allow' : 'deny'}, engine ${got.get(pair) === true ? 'allow' : 'deny'}`);
      }
    }
  });
  return problems;
}
