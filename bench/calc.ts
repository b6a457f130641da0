// Benchmark of the calc graph at scale (issue 3): 50,000 endpoints over 200 nodes, 5,000
// policies, computed for one node (250 local endpoints). Prints one JSON line: time to the first
// complete flush, heap used, and p50/p99 latency of one endpoint label change and of one policy
// edit until the flushed output (plus, beyond the list, a remote endpoint add/remove).

import { performance } from 'node:perf_hooks';
import { CalcGraph, updateOf } from '../src/calc/index.ts';
import type { AnyResource } from '../src/api/index.ts';
import { makeCluster, percentile, pick, rng } from './calc-cluster.lib.ts';

const ITER = Number(process.env['BENCH_ITER'] ?? 300);
const cluster = makeCluster();
const updates = cluster.resources.map(updateOf);
process.stderr.write(`calc: ${cluster.endpoints.length} endpoints, ${cluster.policies.length} policies\n`);

const heapBefore = process.memoryUsage().heapUsed;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const g = new CalcGraph({ hostname: 'node7' });
g.onUpdates(updates);
g.markInSync();
const first = g.flush();
const firstOutputMs = performance.now() - t0;
const cpu1 = process.cpuUsage(cpu0);
// The machine may be shared: CPU time shows the work independent of other load.
const firstOutputCpuMs = (cpu1.user + cpu1.system) / 1000;
const heapUsedMB = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
const counts: Record<string, number> = {};
for (const m of first) counts[m.type] = (counts[m.type] ?? 0) + 1;
process.stderr.write(`calc: first flush ${firstOutputMs.toFixed(0)} ms, ${JSON.stringify(counts)}\n`);

const r = rng(7);
const local = cluster.endpoints.filter((e) => (e.spec as { node: string }).node === 'node7');
const labelMs: number[] = [];
for (let i = 0; i < ITER; i++) {
  const e = pick(r, local);
  const changed: AnyResource = { ...e, metadata: { ...e.metadata, labels: { ...(e.metadata.labels ?? {}), app: `app${Math.floor(r() * 1000)}` } } };
  const t = performance.now();
  g.onUpdate(updateOf(changed));
  g.flush();
  labelMs.push(performance.now() - t);
}

const active = new Set(g.activePolicyKeys());
const activePolicies = cluster.policies.filter((p) =>
  active.has(`${p.kind}/${p.metadata.namespace ?? ''}/${p.metadata.name}`),
);
const editPool = activePolicies.length > 0 ? activePolicies : cluster.policies;
const policyMs: number[] = [];
for (let i = 0; i < ITER; i++) {
  const p = pick(r, editPool);
  const spec = p.spec as { ingress: Array<{ source: { selector: string } }> };
  const edited = {
    ...p,
    spec: { ...spec, ingress: spec.ingress.map((rule) => ({ ...rule, source: { ...rule.source, selector: `app == 'app${Math.floor(r() * 1000)}'` } })) },
  } as AnyResource;
  const t = performance.now();
  g.onUpdate(updateOf(edited));
  g.flush();
  policyMs.push(performance.now() - t);
}
// Endpoint churn elsewhere in the cluster: a new remote pod joins (and then leaves) the IP sets
// that select it, including the 50,000-member named-port set; the update is a delta plus one copy.
const churnMs: number[] = [];
for (let i = 0; i < ITER; i++) {
  const e = pick(r, cluster.endpoints);
  const spec = e.spec as { node: string; ipNetworks: string[] };
  const added: AnyResource = {
    ...e,
    metadata: { ...e.metadata, name: `churn${i}-eth0` },
    spec: { ...spec, node: 'node199', ipNetworks: [`10.250.${i >> 8}.${i & 255}/32`] },
  } as AnyResource;
  const t = performance.now();
  g.onUpdate(updateOf(added));
  g.flush();
  g.onUpdate({ ...updateOf(added), value: undefined });
  g.flush();
  churnMs.push((performance.now() - t) / 2);
}
labelMs.sort((a, b) => a - b);
churnMs.sort((a, b) => a - b);
policyMs.sort((a, b) => a - b);
const round = (x: number): number => Math.round(x * 1000) / 1000;
process.stdout.write(
  JSON.stringify({
    endpoints: cluster.endpoints.length,
    policies: cluster.policies.length,
    localEndpoints: local.length,
    activePolicies: active.size,
    firstOutputMs: round(firstOutputMs),
    firstOutputCpuMs: round(firstOutputCpuMs),
    loadAverage1m: round((await import('node:os')).loadavg()[0] ?? 0),
    firstOutputMessages: first.length,
    heapUsedMB: round(heapUsedMB),
    labelChangeP50Ms: round(percentile(labelMs, 50)),
    labelChangeP99Ms: round(percentile(labelMs, 99)),
    policyEditP50Ms: round(percentile(policyMs, 50)),
    policyEditP99Ms: round(percentile(policyMs, 99)),
    remoteEndpointChurnP50Ms: round(percentile(churnMs, 50)),
    remoteEndpointChurnP99Ms: round(percentile(churnMs, 99)),
  }) + '\n',
);
