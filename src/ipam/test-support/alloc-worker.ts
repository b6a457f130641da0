// Child process for the concurrency tests and the benchmark: opens the datastore named by the
// environment (DATASTORE_TYPE, TRICOLOR_DATASTORE_PATH / ETCD_ENDPOINTS), allocates COUNT
// single IPv4 addresses for NODE under handles `<PREFIX>-<i>`, and reports each allocation as
// one JSON line on stdout as soon as it is made (so a parent can SIGKILL it mid-run), then a
// final summary line.
//
// With IPAM_CACHE=1 the client allocates through the watch-fed cache (ipam-cache.ts), as the
// node agent's CNI server does, and takes the host-wide IPAM lock (io/host-lock.ts) around each
// allocation, as Calico's CNI plugin takes its ipam_lock_file.
//
// usage: node alloc-worker.ts NODE COUNT PREFIX

import { datastoreConfigFromEnv, openBackend } from '../../datastore/index.ts';
import { IPAMCache, IPAMClient } from '../index.ts';
import { acquireHostLock } from '../io/host-lock.ts';

const [node = 'node-a', countText = '10', prefix = 'w'] = process.argv.slice(2);
const count = Number(countText);
const backend = await openBackend(datastoreConfigFromEnv(process.env));
const cache = process.env['IPAM_CACHE'] === '1' ? await IPAMCache.start(backend) : undefined;
const client = new IPAMClient({ backend, ...(cache !== undefined ? { cache } : {}) });
const latencies: number[] = [];
let errors = 0;
const out: string[] = [];
const startedAt = Date.now();
for (let i = 0; i < count; i++) {
  const handleId = `${prefix}-${i}`;
  const t0 = performance.now();
  try {
    const lock = cache !== undefined ? await acquireHostLock(`tricolor-ipam-${node}-${process.env['IPAM_LOCK_SCOPE'] ?? ''}`) : undefined;
    const r = await client.autoAssign({ num4: 1, num6: 0, handleId, hostname: node, attrs: { node } }).finally(() => lock?.release());
    latencies.push(performance.now() - t0);
    const ip = (r.ipv4[0] ?? '').split('/')[0] ?? '';
    out.push(JSON.stringify({ ip, handleId }));
    if (out.length >= 50) process.stdout.write(out.splice(0).join('\n') + '\n');
  } catch (e) {
    errors++;
    process.stderr.write(`alloc ${handleId}: ${(e as Error).message}\n`);
  }
}
if (out.length > 0) process.stdout.write(out.join('\n') + '\n');
process.stdout.write(JSON.stringify({ done: true, startedAt, endedAt: Date.now(), errors, latencies, roundTrips: client.roundTrips, writes: client.writes, conflicts: client.conflicts }) + '\n');
await cache?.close();
await backend.close();
