// Selector benchmark: parse rate (uncached, selectors/s) and evaluation rate (evaluations/s) over
// a fixed corpus of realistic selectors and endpoint label sets, built from a seeded PRNG so every
// run measures the same work. Prints one JSON line.
import { labelsOf, parseSelector, type Selector } from '../src/selector/index.ts';
import { seededInt } from '../src/base/index.ts';

const rng = seededInt;

const r = rng(20240601);
const pick = <T>(xs: readonly T[]): T => xs[r(xs.length)] as T;

const APPS = ['web', 'api', 'db', 'cache', 'frontend', 'backend', 'worker', 'auth', 'billing', 'search'];
const TIERS = ['fe', 'be', 'data', 'ops'];
const NAMESPACES = ['prod', 'staging', 'dev', 'kube-system', 'monitoring', 'payments'];
const ROLES = ['leader', 'follower', 'replica'];
const TEAMS = ['blue', 'green', 'red', 'platform'];

const TEMPLATES: readonly (() => string)[] = [
  () => `app == "${pick(APPS)}"`,
  () => `app == "${pick(APPS)}" && tier in {"${pick(TIERS)}","${pick(TIERS)}"}`,
  () => 'has(role) && !has(debug)',
  () => `projectcalico.org/namespace == "${pick(NAMESPACES)}"`,
  () => 'all()',
  () => `app.kubernetes.io/name == "${pick(APPS)}" && projectcalico.org/orchestrator == "k8s"`,
  () => `tier != "${pick(TIERS)}"`,
  () => `team not in {"${pick(TEAMS)}", "${pick(TEAMS)}", "${pick(TEAMS)}"}`,
  () => `pcns.env == "${pick(['prod', 'dev'])}" && app in {"${pick(APPS)}", "${pick(APPS)}", "${pick(APPS)}", "${pick(APPS)}", "${pick(APPS)}"}`,
  () => `(app == "${pick(APPS)}" || app == "${pick(APPS)}") && !has(quarantine)`,
  () => `role in {"${pick(ROLES)}"} && version starts with "v${r(3)}"`,
  () => `image contains "${pick(['nginx', 'redis', 'postgres'])}" || host ends with ".internal"`,
  () => `projectcalico.org/namespace == "${pick(NAMESPACES)}" && (has(app) && app != "${pick(APPS)}")`,
];

const selectorTexts: string[] = [];
for (let i = 0; i < 200; i++) selectorTexts.push((TEMPLATES[i % TEMPLATES.length] as () => string)());

const labelSets: Map<string, string>[] = [];
for (let i = 0; i < 1000; i++) {
  const m = new Map<string, string>();
  m.set('projectcalico.org/namespace', pick(NAMESPACES));
  m.set('projectcalico.org/orchestrator', 'k8s');
  m.set('pcns.env', pick(['prod', 'dev']));
  m.set('pcns.kubernetes.io/metadata.name', pick(NAMESPACES));
  if (r(10) < 9) m.set('app', pick(APPS));
  if (r(2) === 0) m.set('app.kubernetes.io/name', pick(APPS));
  if (r(3) < 2) m.set('tier', pick(TIERS));
  if (r(3) === 0) m.set('role', pick(ROLES));
  if (r(20) === 0) m.set('debug', 'true');
  if (r(2) === 0) m.set('team', pick(TEAMS));
  if (r(2) === 0) m.set('version', `v${r(3)}.${r(10)}`);
  if (r(4) === 0) m.set('image', pick(['nginx:1.27', 'redis:7', 'postgres:16', 'busybox']));
  if (r(5) === 0) m.set('host', pick(['a.internal', 'b.example.com']));
  if (r(50) === 0) m.set('quarantine', '');
  m.set('pod-template-hash', r(1e9).toString(36));
  labelSets.push(m);
}

function timeLoop(minMs: number, body: () => number): { ops: number; ms: number } {
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < minMs) {
    ops += body();
    now = performance.now();
  }
  return { ops, ms: now - start };
}

// Warm-up so the figures describe optimised code.
for (let i = 0; i < 20; i++) for (const t of selectorTexts) parseSelector(t, { cache: false });

process.stderr.write('selector bench: parsing\n');
const parse = timeLoop(2000, () => {
  for (const t of selectorTexts) parseSelector(t, { cache: false });
  return selectorTexts.length;
});

const compiled: Selector[] = selectorTexts.map((t) => parseSelector(t));
let matches = 0;
const evalPass = (): number => {
  for (const sel of compiled) for (const l of labelSets) if (sel.evaluate(l)) matches++;
  return compiled.length * labelSets.length;
};
evalPass();
process.stderr.write('selector bench: evaluating\n');
matches = 0;
const evaluation = timeLoop(3000, evalPass);
const matchRate = matches / evaluation.ops;

// The same evaluation over plain-object labels through labelsOf (hasOwn check on every get).
const records = labelSets.map((m) => labelsOf(Object.fromEntries(m)));
process.stderr.write('selector bench: evaluating (labelsOf records)\n');
const evalRecords = timeLoop(2000, () => {
  for (const sel of compiled) for (const l of records) sel.evaluate(l);
  return compiled.length * records.length;
});

console.log(
  JSON.stringify({
    bench: 'selector',
    selectors: selectorTexts.length,
    labelSets: labelSets.length,
    parsePerSec: Math.round((parse.ops / parse.ms) * 1000),
    evalPerSec: Math.round((evaluation.ops / evaluation.ms) * 1000),
    evalPerSecRecordLabels: Math.round((evalRecords.ops / evalRecords.ms) * 1000),
    matchRate: Number(matchRate.toFixed(4)),
  }),
);
