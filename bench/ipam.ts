// IPAM benchmark: allocations/s, p50/p99 allocation latency, datastore round trips and write
// transactions per allocation, for 1 process and 8 concurrent processes (same node and 8
// distinct nodes), on the embedded store and on a real etcd. Also counts addresses allocated
// twice and addresses lost (handed out but not in the store, or in the store but never handed
// out): both must be 0. Prints one JSON line; progress goes to stderr.
//
// `etcd_cached_*` runs the same workers allocating through the watch-fed cache (IPAM_CACHE=1,
// src/ipam/ipam-cache.ts, as the node agent's CNI server does); `etcd_*` without it is the
// reference in the same run. STORES (comma list of embedded, etcd, etcd_cached) limits the run.
//
// usage: npm run bench -- ipam [ALLOCS_PER_PROC_1=1000] [ALLOCS_PER_PROC_8=200] [STORES]

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcd } from '../test/support/etcd.ts';
import { type DatastoreBackend, EtcdBackend, SQLiteBackend } from '../src/datastore/index.ts';
import { IPAMClient, ipAt } from '../src/ipam/index.ts';
import { formatIP } from '../src/net/index.ts';

const WORKER = join(import.meta.dirname, '..', 'src', 'ipam', 'test-support', 'alloc-worker.ts');
const single = Number(process.argv[2] ?? 1000);
const perProc = Number(process.argv[3] ?? 200);
const only = new Set((process.argv[4] ?? 'embedded,etcd,etcd_cached').split(','));

interface WorkerOut {
  ips: string[];
  latencies: number[];
  roundTrips: number;
  writes: number;
  errors: number;
  startedAt: number;
  endedAt: number;
}

function worker(env: Record<string, string>, node: string, count: number, prefix: string): Promise<WorkerOut> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER, node, String(count), prefix], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (buf += d));
    child.on('error', reject);
    child.on('exit', () => {
      const out: WorkerOut = { ips: [], latencies: [], roundTrips: 0, writes: 0, errors: 0, startedAt: 0, endedAt: 0 };
      for (const line of buf.split('\n')) {
        if (line === '') continue;
        const o = JSON.parse(line) as { ip?: string; done?: boolean; latencies?: number[]; roundTrips?: number; writes?: number; errors?: number; startedAt?: number; endedAt?: number };
        if (o.done === true) Object.assign(out, { latencies: o.latencies ?? [], roundTrips: o.roundTrips ?? 0, writes: o.writes ?? 0, errors: o.errors ?? 0, startedAt: o.startedAt ?? 0, endedAt: o.endedAt ?? 0 });
        else if (o.ip !== undefined) out.ips.push(o.ip);
      }
      resolve(out);
    });
  });
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function wipe(be: DatastoreBackend): Promise<void> {
  const items = (await be.list('/')).items;
  for (let i = 0; i < items.length; i += 100) await be.txn([], items.slice(i, i + 100).map((kv) => ({ op: 'delete' as const, key: kv.key })));
}

async function scenario(be: DatastoreBackend, env: Record<string, string>, procs: number, count: number, sameNode: boolean): Promise<Record<string, number>> {
  await wipe(be);
  await be.put('/calico/resources/v3/projectcalico.org/ippools/bench', JSON.stringify({ kind: 'IPPool', metadata: { name: 'bench' }, spec: { cidr: '10.200.0.0/16', blockSize: 24 } }));
  for (let i = 0; i < procs; i++) await be.put(`/calico/resources/v3/projectcalico.org/nodes/node-${i}`, JSON.stringify({ kind: 'Node', metadata: { name: `node-${i}` }, spec: {} }));
  const outs = await Promise.all(Array.from({ length: procs }, (_, i) => worker(env, sameNode ? 'node-0' : `node-${i}`, count, `b${i}`)));
  // from the first worker's first allocation to the last one's end: process start-up (seconds
  // on a loaded machine) is not allocation time
  const wallMs = Math.max(1, Math.max(...outs.map((o) => o.endedAt)) - Math.min(...outs.map((o) => o.startedAt)));
  const handed = outs.flatMap((o) => o.ips);
  const lat = outs.flatMap((o) => o.latencies).sort((a, b) => a - b);
  const client = new IPAMClient({ backend: be });
  const stored = new Set<string>();
  for (const b of await client.listBlocks()) b.block.allocations.forEach((a, o) => void (a !== null && stored.add(formatIP(ipAt(b.block, o)))));
  const unique = new Set(handed);
  let lost = 0;
  for (const ip of unique) if (!stored.has(ip)) lost++;
  for (const ip of stored) if (!unique.has(ip)) lost++;
  const total = handed.length;
  const r2 = (n: number): number => Math.round(n * 100) / 100;
  return {
    allocations: total,
    errors: outs.reduce((s, o) => s + o.errors, 0),
    allocsPerSec: r2(total / (wallMs / 1000)),
    p50Ms: r2(pct(lat, 50)),
    p99Ms: r2(pct(lat, 99)),
    roundTripsPerAlloc: r2(outs.reduce((s, o) => s + o.roundTrips, 0) / Math.max(1, total)),
    writesPerAlloc: r2(outs.reduce((s, o) => s + o.writes, 0) / Math.max(1, total)),
    duplicates: total - unique.size,
    lost,
  };
}

const result: Record<string, Record<string, number>> = {};
const dir = mkdtempSync(join(tmpdir(), 'tricolor-bench-ipam-'));
const etcd = await startEtcd();
try {
  const sqlitePath = join(dir, 'ds.db');
  const stores: [string, () => DatastoreBackend, Record<string, string>][] = [
    ['embedded', () => new SQLiteBackend({ path: sqlitePath }), { DATASTORE_TYPE: 'embedded', TRICOLOR_DATASTORE_PATH: sqlitePath }],
    ['etcd', () => new EtcdBackend({ endpoints: [etcd.endpoints] }), { DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: etcd.endpoints }],
    ['etcd_cached', () => new EtcdBackend({ endpoints: [etcd.endpoints] }), { DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: etcd.endpoints, IPAM_CACHE: '1', IPAM_LOCK_SCOPE: String(process.pid) }],
  ];
  for (const [name, open, env] of stores) {
    if (!only.has(name)) continue;
    const be = open();
    for (const [label, procs, count, same] of [['1proc', 1, single, true], ['8proc_8nodes', 8, perProc, false], ['8proc_1node', 8, perProc, true]] as const) {
      process.stderr.write(`ipam bench: ${name} ${label} (${procs} x ${count})...\n`);
      result[`${name}_${label}`] = await scenario(be, env, procs, count, same);
      process.stderr.write(`  ${JSON.stringify(result[`${name}_${label}`])}\n`);
    }
    await be.close();
  }
} finally {
  await etcd.stop();
  rmSync(dir, { recursive: true, force: true });
}
const all = Object.values(result);
process.stdout.write(JSON.stringify({ bench: 'ipam', ...result, duplicates: all.reduce((s, r) => s + (r['duplicates'] ?? 0), 0), lost: all.reduce((s, r) => s + (r['lost'] ?? 0), 0) }) + '\n');
