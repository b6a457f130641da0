// Benchmark of the verdict oracle (issue 3): evaluations per second of `explain` for random pairs
// of workload endpoints in the 50,000-endpoint / 5,000-policy synthetic cluster. Prints one JSON
// line; the first evaluation of an endpoint pays for matching its policies (memoised after).

import { performance } from 'node:perf_hooks';
import { PolicyModel, explain, explainAll, updateOf } from '../src/calc/index.ts';
import { makeCluster, pick, rng } from './calc-cluster.lib.ts';

const DURATION_MS = Number(process.env['BENCH_DURATION_MS'] ?? 5000);
const cluster = makeCluster();
const buildCpu0 = process.cpuUsage();
const t0 = performance.now();
const model = PolicyModel.fromUpdates(cluster.resources.map(updateOf));
const buildMs = performance.now() - t0;
const buildCpu = process.cpuUsage(buildCpu0);
const keys = model.workloads().map((e) => e.key);
process.stderr.write(`explain: model built in ${buildMs.toFixed(0)} ms, ${keys.length} workloads\n`);

const r = rng(11);
function run(ms: number): { n: number; allowed: number; cpuMs: number; wallMs: number } {
  let n = 0;
  let allowed = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  while (performance.now() - start < ms) {
    for (let i = 0; i < 100; i++) {
      const res = explain(model, { from: { endpoint: pick(r, keys) }, to: { endpoint: pick(r, keys) }, protocol: 'TCP', port: pick(r, [80, 443, 5432, 8080, 9090]) });
      if (res.verdict === 'Allow') allowed++;
      n++;
    }
  }
  const c = process.cpuUsage(cpu0);
  return { n, allowed, cpuMs: (c.user + c.system) / 1000, wallMs: performance.now() - start };
}
const cold = run(DURATION_MS);
const warm = run(DURATION_MS);
// A probe matrix (every ordered pair of MATRIX_PODS random pods), as the dataplane tests use it.
const MATRIX_PODS = Number(process.env['BENCH_MATRIX_PODS'] ?? 300);
const matrixKeys = Array.from({ length: MATRIX_PODS }, () => pick(r, keys));
const uniqueMatrixKeys = [...new Set(matrixKeys)];
const m0 = performance.now();
const matrix = explainAll(model, 'TCP', 80, uniqueMatrixKeys);
const matrixMs = performance.now() - m0;
const round = (x: number): number => Math.round(x);
process.stdout.write(
  JSON.stringify({
    endpoints: cluster.endpoints.length,
    policies: cluster.policies.length,
    modelBuildMs: round(buildMs),
    modelBuildCpuMs: round((buildCpu.user + buildCpu.system) / 1000),
    evalsPerSecCold: round((cold.n / cold.wallMs) * 1000),
    evalsPerSecWarm: round((warm.n / warm.wallMs) * 1000),
    evalsPerCpuSecWarm: round((warm.n / warm.cpuMs) * 1000),
    allowedFraction: Math.round((warm.allowed / warm.n) * 1000) / 1000,
    matrixPods: uniqueMatrixKeys.length,
    matrixMs: round(matrixMs),
    matrixPairsPerSec: round((matrix.length / matrixMs) * 1000),
  }) + '\n',
);
