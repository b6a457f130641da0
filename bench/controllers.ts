// Controllers benchmark: one controllers pass (node cleanup + IPAM GC scan + ipam_* metrics)
// over a datastore holding ALLOCS allocations on NODES nodes (default 100,000 on 1,000), each
// allocation a pod with its workload endpoint, except LEAKS of them (default 1,000) whose
// endpoint is gone. Pass 1 sees the leaks (first sighting), pass 2 after the grace period
// confirms, re-validates and releases them. Figures: load time, each pass's time, addresses
// released (must equal LEAKS), and live addresses wrongly released (must be 0).
// Embedded datastore (etcd's default 2 GiB quota and request size are not the point here).
//
// usage: npm run bench -- controllers [ALLOCS=100000] [NODES=1000] [LEAKS=1000]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SQLiteBackend, type TxnOp } from '../src/datastore/index.ts';
import { Controllers } from '../src/controllers/index.ts';
import { IPAMClient, affinityKey, blockKey, handleKey } from '../src/ipam/index.ts';
import { adjustHandle, allocateInBlock, newBlock, serializeAffinity, serializeBlock, serializeHandle } from '../src/ipam/model.ts';
import { MetricsRegistry } from '../src/base/index.ts';
import { formatCIDR, formatIP, parseCIDR, type CIDR } from '../src/net/index.ts';
import { ipAt } from '../src/ipam/index.ts';

const allocs = Number(process.argv[2] ?? 100_000);
const nodes = Number(process.argv[3] ?? 1000);
const leaks = Number(process.argv[4] ?? 1000);
const V3 = '/calico/resources/v3/projectcalico.org/';

const dir = mkdtempSync(join(tmpdir(), 'tricolor-bench-controllers-'));
const be = new SQLiteBackend({ path: join(dir, 'ds.db') });
try {
  const t0 = performance.now();
  let ops: TxnOp[] = [];
  const flush = async (force = false): Promise<void> => {
    if (ops.length >= 1000 || (force && ops.length > 0)) {
      await be.txn([], ops);
      ops = [];
    }
  };
  ops.push({ op: 'put', key: `${V3}ippools/bench`, value: JSON.stringify({ kind: 'IPPool', metadata: { name: 'bench' }, spec: { cidr: '10.0.0.0/8', blockSize: 26 } }) });
  const perNode = Math.ceil(allocs / nodes);
  const leakEvery = Math.max(1, Math.floor(allocs / Math.max(1, leaks)));
  const leaked = new Set<string>();
  let n = 0;
  let blockIndex = 0;
  for (let node = 0; node < nodes && n < allocs; node++) {
    const name = `node-${node}`;
    ops.push({ op: 'put', key: `${V3}nodes/${name}`, value: JSON.stringify({ kind: 'Node', metadata: { name }, spec: {} }) });
    let left = Math.min(perNode, allocs - n);
    while (left > 0) {
      const base = 0x0a000000 + blockIndex++ * 64;
      const cidr: CIDR = parseCIDR(`${(base >>> 24) & 255}.${(base >>> 16) & 255}.${(base >>> 8) & 255}.${base & 255}/26`);
      let block = newBlock(cidr, `host:${name}`, 1n, new Date().toISOString());
      const take = Math.min(64, left);
      for (let i = 0; i < take; i++, n++, left--) {
        const cid = `c${n}`;
        const handleId = `k8s-pod-network.${cid}`;
        const r = allocateInBlock(block, 1, handleId, { pod: `pod-${n}`, namespace: 'bench', node: name }, () => false);
        block = r.block;
        const ip = formatIP(ipAt(block, r.ordinals[0] ?? 0));
        ops.push({ op: 'put', key: handleKey(handleId), value: serializeHandle(adjustHandle(undefined, formatCIDR(cidr), 1) ?? { block: {}, deleted: false }) });
        if (n % leakEvery === 0 && leaked.size < leaks) leaked.add(ip);
        else ops.push({ op: 'put', key: `${V3}workloadendpoints/bench/${name}-k8s-pod--${n}-eth0`, value: JSON.stringify({ kind: 'WorkloadEndpoint', metadata: { name: `${name}-k8s-pod--${n}-eth0`, namespace: 'bench' }, spec: { node: name, pod: `pod-${n}`, containerID: cid, ipNetworks: [`${ip}/32`], interfaceName: `cali${n}` } }) });
        await flush();
      }
      ops.push({ op: 'put', key: blockKey(cidr), value: serializeBlock(block) });
      ops.push({ op: 'put', key: affinityKey(name, cidr), value: serializeAffinity({ state: 'confirmed', deleted: false }) });
    }
  }
  await flush(true);
  const loadMs = performance.now() - t0;
  process.stderr.write(`controllers bench: loaded ${n} allocations on ${nodes} nodes (${leaked.size} leaked) in ${Math.round(loadMs)} ms\n`);

  let clock = Date.now();
  const controllers = new Controllers({ backend: be, identity: 'bench', leakGracePeriodMs: 60_000, metrics: new MetricsRegistry(), now: () => clock });
  const cpu0 = process.cpuUsage();
  const p1 = performance.now();
  const first = await controllers.runPass();
  const pass1Ms = performance.now() - p1;
  clock += 61_000;
  const p2 = performance.now();
  const second = await controllers.runPass();
  const pass2Ms = performance.now() - p2;
  const cpu = process.cpuUsage(cpu0);
  const releasedSet = new Set(second.released);
  let wrong = 0;
  for (const ip of releasedSet) if (!leaked.has(ip)) wrong++;
  const client = new IPAMClient({ backend: be });
  const stillAllocated = (await client.listBlocks(4)).reduce((s, b) => s + b.block.allocations.filter((a) => a !== null).length, 0);
  const r2 = (x: number): number => Math.round(x * 10) / 10;
  process.stdout.write(
    JSON.stringify({
      bench: 'controllers',
      allocations: n,
      nodes,
      leaked: leaked.size,
      loadMs: r2(loadMs),
      scanPassMs: r2(pass1Ms),
      gcCandidates: first.gcCandidates,
      releasePassMs: r2(pass2Ms),
      released: second.released.length,
      liveReleased: wrong,
      allocatedAfter: stillAllocated,
      cpuMs: r2((cpu.user + cpu.system) / 1000),
      rssMiB: r2(process.memoryUsage().rss / 2 ** 20),
    }) + '\n',
  );
} finally {
  await be.close();
  rmSync(dir, { recursive: true, force: true });
}
