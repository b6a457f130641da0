// Child process for the concurrency tests and the benchmark: opens the datastore named by the
// environment (DATASTORE_TYPE, TRICOLOR_DATASTORE_PATH / ETCD_ENDPOINTS), allocates COUNT
// single IPv4 addresses for NODE under handles `<PREFIX>-<i>`, and reports each allocation as
// one JSON line on stdout as soon as it is made (so a parent can SIGKILL it mid-run), then a
// final summary line.
//
// usage: node alloc-worker.ts NODE COUNT PREFIX

import { datastoreConfigFromEnv, openBackend } from '../../datastore/index.ts';
import { IPAMClient } from '../index.ts';

const [node = 'node-a', countText = '10', prefix = 'w'] = process.argv.slice(2);
const count = Number(countText);
const backend = await openBackend(datastoreConfigFromEnv(process.env));
const client = new IPAMClient({ backend });
const latencies: number[] = [];
let errors = 0;
const out: string[] = [];
for (let i = 0; i < count; i++) {
  const handleId = `${prefix}-${i}`;
  const t0 = performance.now();
  try {
    const r = await client.autoAssign({ num4: 1, num6: 0, handleId, hostname: node, attrs: { node } });
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
process.stdout.write(JSON.stringify({ done: true, errors, latencies, roundTrips: client.roundTrips, writes: client.writes, conflicts: client.conflicts }) + '\n');
await backend.close();
