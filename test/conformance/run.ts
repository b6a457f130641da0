// `npm run conformance`: the Kubernetes network-policy e2e scenarios and the Calico scenarios in a
// lab (needs root). Brings up one lab, runs every scenario (or those whose name matches --only),
// prints ✔/✘ per scenario with the per-pair diff on failure, and ends with exactly
// `N passed, N failed`. The lab is taken down on success, failure, SIGINT and SIGTERM (unless
// --keep). Exit status 0 only when every scenario passed.
//
// Options: --only REGEX, --nodes N (default 2), --dataplane nft|bpf (default nft), --typha N (default 0: agents
// watch the datastore; N: the lab runs N Typha replicas and the agents read through them), --placement auto|one|spread (default auto: pods
// spread over the nodes when cross-node pod traffic connects, else all on node-1),
// --probe-timeout-ms MS (default 1000), --converge-ms MS (default 20000), --settle-ms MS (default
// 3000), --keep (leave the lab up), --verbose (timings per step and matrix), --figures FILE
// (write run figures as JSON, for bench/), --wireguard (the lab encrypts node-to-node traffic).

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CALICO_SCENARIOS } from './calico-scenarios.ts';
import { K8S_SCENARIOS } from './k8s-scenarios.ts';
import { LabRunner } from './lab-runner.ts';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    nodes: { type: 'string', default: '2' },
    dataplane: { type: 'string', default: 'nft' },
    typha: { type: 'string', default: '0' },
    placement: { type: 'string', default: 'auto' },
    'probe-timeout-ms': { type: 'string', default: '1000' },
    'converge-ms': { type: 'string', default: '20000' },
    'settle-ms': { type: 'string', default: '3000' },
    keep: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    figures: { type: 'string' },
    wireguard: { type: 'boolean', default: false },
  },
  allowPositionals: false,
});

function num(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) {
    process.stderr.write(`conformance: --${name}: ${JSON.stringify(text)} is not a number from ${min} to ${max}\n`);
    process.exit(2);
  }
  return n;
}

const placement = values.placement;
if (placement !== 'auto' && placement !== 'one' && placement !== 'spread') {
  process.stderr.write(`conformance: --placement: ${JSON.stringify(placement)} is not auto, one or spread\n`);
  process.exit(2);
}
if (typeof process.getuid === 'function' && process.getuid() !== 0) {
  process.stderr.write('conformance: needs root (the lab creates network namespaces); run it with sudo\n');
  process.exit(2);
}
let only: RegExp | undefined;
try {
  only = values.only === undefined ? undefined : new RegExp(values.only, 'i');
} catch (e) {
  process.stderr.write(`conformance: --only: ${(e as Error).message}\n`);
  process.exit(2);
}

const dataplane = values.dataplane;
if (dataplane !== 'nft' && dataplane !== 'bpf') {
  process.stderr.write(`conformance: --dataplane: ${JSON.stringify(dataplane)} is not nft or bpf\n`);
  process.exit(2);
}
const typha = num('typha', values.typha, 0, 10);
const out = (line: string): void => void process.stdout.write(`${line}\n`);
const scenarios = [...K8S_SCENARIOS, ...CALICO_SCENARIOS].filter((s) => only === undefined || only.test(`${s.source}: ${s.name}`));
const cacheDir = mkdtempSync(join(tmpdir(), 'tricolor-conformance-cc-'));
const runner = new LabRunner(`cf${randomBytes(4).toString('hex')}`, {
  nodes: num('nodes', values.nodes, 1, 10),
  dataplane,
  labUpArgs: [...(values.wireguard ? ['--wireguard'] : []), ...(typha > 0 ? ['--typha', String(typha)] : [])],
  placement,
  probeTimeoutMs: num('probe-timeout-ms', values['probe-timeout-ms'], 50, 60_000),
  convergeMs: num('converge-ms', values['converge-ms'], 0, 600_000),
  settleMs: num('settle-ms', values['settle-ms'], 0, 60_000),
  verbose: values.verbose,
  out,
}, cacheDir);

let labUp = false;
let stopping = false;
let tearingDown: Promise<void> | undefined;
/** Take the lab down (unless --keep) and remove the compile cache; once, whoever asks first. */
function tearDown(): Promise<void> {
  tearingDown ??= (async () => {
    if (labUp && !values.keep) {
      try {
        await runner.driver.down();
      } catch (e) {
        process.stderr.write(`conformance: lab down ${runner.driver.name} failed: ${(e as Error).message}\n`);
      }
    }
    // after the lab's agents (started with the cache in their environment) are gone
    try {
      rmSync(cacheDir, { recursive: true, force: true, maxRetries: 3 });
    } catch (e) {
      process.stderr.write(`conformance: cannot remove ${cacheDir}: ${(e as Error).message}\n`);
    }
  })();
  return tearingDown;
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`conformance: ${sig}: taking lab ${runner.driver.name} down\n`);
    runner.driver.stop();
    void tearDown().finally(() => process.exit(130));
  });
}

let passed = 0;
let failed = 0;
const t0 = performance.now();
try {
  labUp = true;
  await runner.setUp();
  const ts = performance.now();
  for (const s of scenarios) {
    if (stopping) break;
    const r = await runner.runScenario(s);
    if (stopping) break;
    if (r.passed) passed++;
    else failed++;
    out(`${r.passed ? '✔' : '✘'} ${s.source}: ${s.name} (${s.steps.length} step${s.steps.length === 1 ? '' : 's'}, ${(r.ms / 1000).toFixed(1)} s)`);
    for (const l of r.lines) out(l);
  }
  runner.figures.scenariosMs = performance.now() - ts;
} catch (e) {
  out(`✘ set-up: ${(e as Error).message}`);
  failed += scenarios.length - passed - failed;
} finally {
  await tearDown();
}
if (stopping) await new Promise(() => undefined); // the signal handler exits
if (values.figures !== undefined) {
  writeFileSync(values.figures, JSON.stringify({ ...runner.figures, wallMs: performance.now() - t0, scenarios: scenarios.length, passed, failed, cliCalls: Object.fromEntries(runner.driver.calls) }) + '\n');
}
if (values.keep) out(`lab ${runner.driver.name} left up (--keep): TRICOLOR_LAB=${runner.driver.name} tricolor lab status`);
out(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
