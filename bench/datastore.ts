// Datastore backend benchmark: sequential creates/s and CAS updates/s (2000 each), and watch
// delivery latency (write issued → watcher callback, 500 samples, p50/p99 ms), and the median
// time of a 300-document `apply -f` (7 rounds; one transaction past etcd's 128-op limit) for the
// embedded SQLite store and a real etcd started here. Prints one JSON line; progress goes to stderr.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { EtcdBackend, ResourceClient, SQLiteBackend, type DatastoreBackend, type KeyValue } from '../src/datastore/index.ts';
import { startEtcd } from '../test/support/etcd.ts';

const OPS = 2000;
const SAMPLES = 500;
const BATCH_DOCS = 300;
const BATCH_REPEATS = 7;

function pct(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length));
  return Math.round(sorted[i]! * 1000) / 1000;
}

/** Latency from issuing a put on `writer` to `watcher`'s onEvents, sorted ascending (ms). */
async function watchLatency(writer: DatastoreBackend, watcher: DatastoreBackend, prefix: string): Promise<number[]> {
  let resolveEvent: (() => void) | undefined;
  const w = watcher.watch(prefix, (await writer.revision()) + 1, {
    onEvents: () => resolveEvent?.(),
    onCompacted: () => undefined,
  });
  const lat: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const seen = new Promise<void>((r) => (resolveEvent = r));
    const start = performance.now();
    await writer.put(`${prefix}${i % 10}`, String(i));
    await seen;
    lat.push(performance.now() - start);
  }
  await w.close();
  return lat.sort((x, y) => x - y);
}

async function measure(name: string, b: DatastoreBackend): Promise<Record<string, number>> {
  process.stderr.write(`${name}: creates\n`);
  const kvs: KeyValue[] = [];
  let t0 = performance.now();
  for (let i = 0; i < OPS; i++) kvs.push(await b.create(`/bench/c/${i}`, JSON.stringify({ i, pad: 'x'.repeat(200) })));
  const createsPerSec = OPS / ((performance.now() - t0) / 1000);

  process.stderr.write(`${name}: updates\n`);
  t0 = performance.now();
  for (let i = 0; i < OPS; i++) {
    const kv = kvs[i]!;
    await b.update(kv.key, JSON.stringify({ i, v: 2, pad: 'y'.repeat(200) }), kv.modRevision);
  }
  const updatesPerSec = OPS / ((performance.now() - t0) / 1000);

  process.stderr.write(`${name}: watch latency\n`);
  const lat = await watchLatency(b, b, '/bench/w/');

  // `tricolor apply -f` of a 300-document file (past etcd's 128-op transaction limit), repeated
  process.stderr.write(`${name}: ${BATCH_DOCS}-document applies\n`);
  const client = new ResourceClient(b);
  const batchMs: number[] = [];
  for (let r = 0; r < BATCH_REPEATS; r++) {
    const docs = Array.from({ length: BATCH_DOCS }, (_, i) => ({
      apiVersion: 'projectcalico.org/v3',
      kind: 'GlobalNetworkSet',
      metadata: { name: `bench-${i}`, labels: { round: String(r) } },
      spec: { nets: [`10.${Math.floor(i / 250)}.${i % 250}.0/24`] },
    }));
    t0 = performance.now();
    await client.applyMany(docs);
    batchMs.push(performance.now() - t0);
  }
  batchMs.sort((x, y) => x - y);
  return {
    createsPerSec: Math.round(createsPerSec),
    updatesPerSec: Math.round(updatesPerSec),
    watchLatencyP50Ms: pct(lat, 50),
    watchLatencyP99Ms: pct(lat, 99),
    applyFile300MedianMs: pct(batchMs, 50),
  };
}

const dir = mkdtempSync(join(tmpdir(), 'tricolor-bench-'));
const etcd = await startEtcd();
try {
  const sqlite = new SQLiteBackend({ path: join(dir, 'datastore.db') });
  const embedded = await measure('embedded', sqlite);
  // a second connection sees writes only by polling the changelog, as another process would
  process.stderr.write('embedded: watch latency from a second connection\n');
  const other = new SQLiteBackend({ path: join(dir, 'datastore.db') });
  const cross = await watchLatency(sqlite, other, '/bench/x/');
  await other.close();
  embedded['otherConnWatchLatencyP50Ms'] = pct(cross, 50);
  embedded['otherConnWatchLatencyP99Ms'] = pct(cross, 99);
  await sqlite.close();
  const eb = new EtcdBackend({ endpoints: [etcd.endpoints] });
  const etcdv3 = await measure('etcdv3', eb);
  await eb.close();
  process.stdout.write(JSON.stringify({ bench: 'datastore', ops: OPS, samples: SAMPLES, embedded, etcdv3 }) + '\n');
} finally {
  await etcd.stop();
  rmSync(dir, { recursive: true, force: true });
}
