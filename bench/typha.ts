// Typha benchmark: CLIENTS light agents (default 1,000, in WORKERS processes) on one
// `tricolor typha run` (its own process) over a real etcd holding ENDPOINTS workload endpoints
// and POLICIES policies (default 50,000 and 5,000). Figures: time until every client has the
// whole snapshot (all connect at once), the fan-out latency of a policy change to every client
// (p50/p99 over CLIENTS × CHANGES receipts), Typha's CPU seconds and resident memory before
// and with the clients (memory per client beyond the shared snapshot), and the datastore watch
// connections: Typha's, against what CLIENTS agents watching directly would open.
//
// usage: npm run bench -- typha [CLIENTS=1000] [ENDPOINTS=50000] [POLICIES=5000] [WORKERS=4] [CHANGES=20]

import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { startEtcd } from '../test/support/etcd.ts';
import { EtcdBackend, selectionPrefixes, type TxnOp } from '../src/datastore/index.ts';
import { AGENT_SELECTION } from '../src/agent/index.ts';
import { TYPHA_SELECTIONS } from '../src/typha/index.ts';
import { parseMetricsText, quantile } from '../src/base/index.ts';

const clients = Number(process.argv[2] ?? 1000);
const endpoints = Number(process.argv[3] ?? 50_000);
const policies = Number(process.argv[4] ?? 5000);
const workers = Number(process.argv[5] ?? 4);
const changes = Number(process.argv[6] ?? 20);
const V3 = '/calico/resources/v3/projectcalico.org/';
const REPO = join(import.meta.dirname, '..');

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0));
    });
  });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const policy = (name: string, i: number, annotations: Record<string, string> = {}): string =>
  JSON.stringify({
    apiVersion: 'projectcalico.org/v3',
    kind: 'GlobalNetworkPolicy',
    metadata: { name, annotations },
    spec: { order: i, selector: `app == 'a${i % 100}'`, ingress: [{ action: 'Allow', source: { selector: `role == 'r${i % 50}'` }, destination: { ports: [80 + (i % 20)] } }] },
  });
const wep = (i: number): [string, string] => {
  const node = `node-${i % 1000}`;
  const name = `${node}-k8s-pod${i}-eth0`;
  return [
    `${V3}workloadendpoints/bench/${name}`,
    JSON.stringify({
      apiVersion: 'projectcalico.org/v3',
      kind: 'WorkloadEndpoint',
      metadata: { name, namespace: 'bench', labels: { app: `a${i % 100}`, role: `r${i % 50}` } },
      spec: { node, orchestrator: 'k8s', pod: `pod${i}`, endpoint: 'eth0', containerID: `c${i}`, ipNetworks: [`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`], interfaceName: `cali${i}`, profiles: ['kns.bench'] },
    }),
  ];
};

const etcd = await startEtcd();
const be = new EtcdBackend({ endpoints: [etcd.endpoints] });
const procs: ChildProcess[] = [];
try {
  const tLoad = performance.now();
  let ops: TxnOp[] = [];
  const flush = async (): Promise<void> => {
    if (ops.length > 0) await be.txn([], ops);
    ops = [];
  };
  for (let i = 0; i < endpoints; i++) {
    const [key, value] = wep(i);
    ops.push({ op: 'put', key, value });
    if (ops.length >= 1000) await flush();
  }
  for (let i = 0; i < policies; i++) {
    ops.push({ op: 'put', key: `${V3}globalnetworkpolicies/p${i}`, value: policy(`p${i}`, i) });
    if (ops.length >= 1000) await flush();
  }
  await flush();
  const loadS = (performance.now() - tLoad) / 1000;

  const port = await freePort();
  const metricsPort = await freePort();
  const typha = spawn(process.execPath, [join(REPO, 'bin', 'tricolor.ts'), 'typha', 'run', '--port', String(port), '--metrics-port', String(metricsPort), '--max-connections', String(clients + 10)], {
    env: { ...process.env, DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: etcd.endpoints },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  procs.push(typha);
  let typhaLog = '';
  typha.stderr.on('data', (b: Buffer) => (typhaLog += b.toString()));
  const metrics = async (): Promise<Map<string, number>> => parseMetricsText(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text());
  for (let i = 0; !/serving/.test(typhaLog); i++) {
    if (i > 600) throw new Error(`typha did not start:\n${typhaLog}`);
    await sleep(100);
  }
  // Typha's own snapshot: wait until its felix cache holds everything
  const want = endpoints + policies;
  for (let i = 0; ((await metrics()).get('typha_cache_size{syncer="felix"}') ?? 0) < want; i++) {
    if (i > 1200) throw new Error('typha never loaded the datastore');
    await sleep(100);
  }
  const idle = await metrics();

  // the clients, all at once
  const insync: number[] = [];
  const latencies: number[] = [];
  let closed = 0;
  const t0 = performance.now();
  const per = Math.ceil(clients / workers);
  for (let w = 0; w < workers; w++) {
    const n = Math.min(per, clients - w * per);
    if (n <= 0) break;
    const child = spawn(process.execPath, ['--max-old-space-size=2048', join(import.meta.dirname, 'typha-clients.lib.ts'), '127.0.0.1', String(port), String(n)], { stdio: ['ignore', 'pipe', 'inherit'] });
    procs.push(child);
    let buf = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line === '') continue;
        const o = JSON.parse(line) as { insyncMs?: number; latencyMs?: number; closed?: boolean };
        if (o.insyncMs !== undefined) insync.push(o.insyncMs);
        if (o.latencyMs !== undefined) latencies.push(o.latencyMs);
        if (o.closed === true) closed++;
      }
    });
  }
  while (insync.length < clients) {
    if (performance.now() - t0 > 600_000) throw new Error(`only ${insync.length} of ${clients} clients in sync after 10 min (${closed} closed)`);
    await sleep(50);
  }
  const allInSyncS = (performance.now() - t0) / 1000;
  await sleep(1000);
  const loaded = await metrics();

  // fan-out: CHANGES policy writes, each timestamped, 300 ms apart
  for (let i = 0; i < changes; i++) {
    await be.put(`${V3}globalnetworkpolicies/fanout-${i}`, policy(`fanout-${i}`, i, { t0: String(Date.now()) }));
    await sleep(300);
  }
  const tWait = performance.now();
  while (latencies.length < clients * changes && performance.now() - tWait < 30_000) await sleep(50);
  const after = await metrics();
  const sorted = [...latencies].sort((a, b) => a - b);
  const snap = [...insync].sort((a, b) => a - b);
  const rssIdle = idle.get('process_resident_memory_bytes') ?? NaN;
  const rssLoaded = loaded.get('process_resident_memory_bytes') ?? NaN;
  const typhaWatches = Object.values(TYPHA_SELECTIONS).reduce((n, s) => n + selectionPrefixes(s).length, 0);
  process.stdout.write(
    JSON.stringify({
      bench: 'typha',
      clients,
      endpoints,
      policies,
      loadS: +loadS.toFixed(1),
      snapshotKVs: loaded.get('typha_cache_size{syncer="felix"}'),
      snapshotBytes: loaded.get('typha_snapshot_raw_bytes_sum'),
      snapshotToAllS: +allInSyncS.toFixed(2),
      snapshotP50S: +(quantile(snap, 0.5) / 1000).toFixed(2),
      snapshotP99S: +(quantile(snap, 0.99) / 1000).toFixed(2),
      fanoutReceipts: latencies.length,
      fanoutExpected: clients * changes,
      fanoutP50Ms: quantile(sorted, 0.5),
      fanoutP99Ms: quantile(sorted, 0.99),
      fanoutMaxMs: sorted.at(-1),
      clientsClosed: closed,
      typhaRssIdleMiB: +(rssIdle / 2 ** 20).toFixed(1),
      typhaRssWithClientsMiB: +(rssLoaded / 2 ** 20).toFixed(1),
      memoryPerClientKiB: +((rssLoaded - rssIdle) / clients / 1024).toFixed(1),
      typhaCpuS_snapshotToAll: +((loaded.get('process_cpu_seconds_total') ?? NaN) - (idle.get('process_cpu_seconds_total') ?? NaN)).toFixed(2),
      typhaCpuS_fanout: +((after.get('process_cpu_seconds_total') ?? NaN) - (loaded.get('process_cpu_seconds_total') ?? NaN)).toFixed(2),
      snapshotsGenerated: after.get('typha_snapshots_generated'),
      snapshotsReused: after.get('typha_snapshots_reused'),
      datastoreWatchesWithTypha: typhaWatches,
      datastoreWatchesWithoutTypha: clients * selectionPrefixes(AGENT_SELECTION).length,
    }) + '\n',
  );
} finally {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await be.close();
  await etcd.stop();
}
process.exit(0);
