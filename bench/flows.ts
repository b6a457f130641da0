// `npm run bench -- flows [N] [--only store|dataplane] [--rounds R] [--conn-seconds S] [--iperf-seconds S]`:
//   - the dataplane cost of flow logs in one lab run (bench/flows-dataplane.lib.ts): new TCP
//     connections/s and iperf3 throughput between two pods on two nodes with flow logs off and on,
//     in interleaved rounds, medians and on/off ratios (targets ≥ 0.9 and ≥ 0.97);
//   - the flow aggregator's store at scale: ingest rate (flows/s, in batches as agents send them),
//     list-query p99 with and without filters at N stored flows (default 1 000 000), and the
//     process's memory at that size.
// One JSON line.

import { FlowStore } from '../src/flows/io/index.ts';
import { netnsSkipReason } from '../test/support/netns.ts';
import { measureFlowsDataplane } from './flows-dataplane.lib.ts';
import type { FlowRecord } from '../src/flows/index.ts';
import { demoFlow, demoModels, WEB, API, PG } from '../src/flows/test-support.ts';

const argv = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const positional = argv.find((a, i) => /^\d+$/.test(a) && (i === 0 || !(argv[i - 1] ?? '').startsWith('--')));
const N = Number(positional ?? 1_000_000);
const only = opt('only');
const figures: Record<string, unknown> = { bench: 'flows' };

if (only !== 'store') {
  const skip = netnsSkipReason();
  figures['dataplane'] =
    skip !== undefined
      ? { skipped: skip }
      : await measureFlowsDataplane({ rounds: Number(opt('rounds') ?? 3), connSeconds: Number(opt('conn-seconds') ?? 5), iperfSeconds: Number(opt('iperf-seconds') ?? 3) });
}
if (only === 'dataplane') {
  process.stdout.write(JSON.stringify(figures) + '\n');
  process.exit(0);
}

const BATCH = 5000;
const models = demoModels();
const templates = [demoFlow(models, { src: WEB, dst: API, port: 8080, start: 0 }), demoFlow(models, { src: WEB, dst: API, port: 9090, start: 0 }), demoFlow(models, { src: WEB, dst: PG, port: 5432, start: 0 })];
const now = Math.floor(Date.now() / 1000);
const store = new FlowStore({ path: ':memory:', retentionS: 30 * 86400, maxRows: N + 1 });

function synth(i: number): FlowRecord {
  const t = templates[i % templates.length] as FlowRecord;
  // distinct keys: vary names and ports; spread over the last 24 h of buckets
  const start = now - 86400 + Math.floor((i / N) * 86400);
  return { ...t, start, end: start + 10, destPort: 1000 + (i % 50000), src: { ...t.src, name: `client-${i % 997}` }, dst: { ...t.dst, name: `${t.dst.name}-${i % 13}` } };
}

const t0 = performance.now();
for (let i = 0; i < N; i += BATCH) {
  const batch: FlowRecord[] = [];
  for (let j = i; j < Math.min(N, i + BATCH); j++) batch.push(synth(j));
  store.ingest(batch);
}
const ingestS = (performance.now() - t0) / 1000;

function p99(fn: () => void, runs: number): number {
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const s = performance.now();
    fn();
    xs.push(performance.now() - s);
  }
  xs.sort((a, b) => a - b);
  return Number((xs[Math.min(xs.length - 1, Math.ceil(0.99 * xs.length) - 1)] ?? 0).toFixed(1));
}

const range = { gte: now - 3600, lt: now + 1 };
const all = { gte: 0, lt: now + 1 };
const queryLastHourMs = p99(() => store.list({ filter: {}, range, sortBy: 'time', page: 0, pageSize: 100, interval: 15 }), 30);
const queryFilteredMs = p99(() => store.list({ filter: { actions: ['deny'], dest_namespaces: [{ value: 'backend', type: 'exact' }] }, range: all, sortBy: 'time', page: 0, pageSize: 100, interval: 15 }), 30);
const queryFuzzyMs = p99(() => store.list({ filter: { source_names: [{ value: 'client-42', type: 'fuzzy' }] }, range: all, sortBy: 'time', page: 0, pageSize: 100, interval: 15 }), 10);
const mem = process.memoryUsage();
Object.assign(figures, {
  storedFlows: store.size,
  ingestFlowsPerS: Math.round(N / ingestS),
  queryP99Ms: { lastHourFirstPage: queryLastHourMs, allTimeExactFilter: queryFilteredMs, allTimeFuzzyName: queryFuzzyMs },
  rssMiB: Math.round(mem.rss / 2 ** 20),
  heapMiB: Math.round(mem.heapUsed / 2 ** 20),
});
process.stdout.write(JSON.stringify(figures) + '\n');
store.close();
process.exit(0);
