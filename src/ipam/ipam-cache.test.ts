// The watch-fed IPAM cache on a real etcd: the multi-process and SIGKILL tests of the IPAM suite
// with every worker allocating through its own cache (0 duplicates, 0 lost, a consistent store
// after SIGKILL), and the cache's own behaviour: it follows other writers through the watch,
// a stale entry only costs a retried compare-and-swap, and a compacted watch re-lists and
// recovers deletions it missed.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { startEtcd } from '../../test/support/etcd.ts';
import { EtcdBackend } from '../datastore/index.ts';
import { etcdForSuite } from '../../test/support/etcd-suite.ts';
import { until } from '../../test/support/wait.ts';
import { IPAMCache, IPAMClient, blockKey, hostAffinityPrefix } from './index.ts';
import { parseCIDR } from '../net/index.ts';
import { ipamSuite, putNode, putPool } from './test-support/ipam-suite.ts';
import { wipe } from './test-support/wipe.ts';
import { sleep } from '../base/index.ts';

ipamSuite(
  'etcd, workers allocating through the watch cache',
  async () => {
    const etcd = await startEtcd();
    const backend = new EtcdBackend({ endpoints: [etcd.endpoints] });
    return {
      backend,
      env: { DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: etcd.endpoints, IPAM_CACHE: '1', IPAM_LOCK_SCOPE: String(process.pid) },
      wipe: () => wipe(backend),
      async close() {
        await backend.close();
        await etcd.stop();
      },
    };
  },
  { workersOnly: true },
);

void describe('IPAM watch cache', { concurrency: false }, () => {
  const fx = etcdForSuite();
  let be: EtcdBackend;
  before(() => {
    be = fx.backend;
  });

  void test('two cached allocators on one block: stale entries cost a retry, never a duplicate; allocation reads nothing', async () => {
    await wipe(be);
    await putPool(be, 'p', { cidr: '10.120.0.0/24', blockSize: 26 });
    await putNode(be, 'n1');
    const [ca, cb] = await Promise.all([IPAMCache.start(be), IPAMCache.start(be)]);
    try {
      const a = new IPAMClient({ backend: be, cache: ca });
      const b = new IPAMClient({ backend: be, cache: cb });
      const first = await a.autoAssign({ num4: 1, num6: 0, handleId: 'h0', hostname: 'n1' });
      // b's cache has not necessarily seen a's claim: whatever it believes, the CAS decides
      const got = [first.ipv4[0]];
      for (let i = 1; i < 40; i++) {
        const c = i % 2 === 0 ? a : b;
        got.push((await c.autoAssign({ num4: 1, num6: 0, handleId: `h${i}`, hostname: 'n1' })).ipv4[0]);
      }
      assert.equal(new Set(got).size, 40, 'no address handed out twice');
      const blocks = await a.listBlocks(4);
      assert.equal(blocks.reduce((s, x) => s + x.block.allocations.filter((o) => o !== null).length, 0), 40);
      // once warm, an allocation on an owned block with free space is one CAS and no read
      await until('b\'s cache to see every affinity', () => Promise.resolve(cb.list(hostAffinityPrefix('n1', 4)).length === blocks.length ? true : undefined), 5000);
      const rt = b.roundTrips;
      const w = b.writes;
      await b.autoAssign({ num4: 1, num6: 0, handleId: 'hx', hostname: 'n1' });
      assert.ok(b.roundTrips - rt <= 2, `round trips for one allocation: ${b.roundTrips - rt}`);
      assert.ok(b.writes - w >= 1);
    } finally {
      await Promise.all([ca.close(), cb.close()]);
    }
  });

  void test('follows other writers: a pool created later is used, a deleted block disappears', async () => {
    await wipe(be);
    await putNode(be, 'n2');
    const cache = await IPAMCache.start(be);
    try {
      const c = new IPAMClient({ backend: be, cache });
      await putPool(be, 'late', { cidr: '10.121.0.0/24', blockSize: 26 });
      await until('the cache to see the pool', async () => ((await c.resources.listPools()).length === 1 ? true : undefined), 5000);
      const r = await c.autoAssign({ num4: 1, num6: 0, handleId: 'late-1', hostname: 'n2' });
      assert.match(r.ipv4[0] ?? '', /^10\.121\.0\./);
      const key = blockKey(parseCIDR('10.121.9.0/26'));
      await be.put(key, '{}');
      await until('the cache to see the block', () => Promise.resolve(cache.get(key) !== undefined ? true : undefined), 5000);
      await be.delete(key);
      await until('the cache to drop the block', () => Promise.resolve(cache.get(key) === undefined ? true : undefined), 5000);
    } finally {
      await cache.close();
    }
  });

  void test('a compacted watch re-lists and recovers a deletion it missed', async () => {
    await wipe(be);
    const key = blockKey(parseCIDR('10.122.0.0/26'));
    await be.put(key, '{}');
    const cache = await IPAMCache.start(be);
    try {
      assert.ok(cache.get(key) !== undefined);
      // kill etcd, so the watch is down while the key is deleted and history compacted
      await fx.etcd.kill();
      await sleep(1500); // the watch's reconnect back-off grows meanwhile
      await fx.etcd.restart();
      await be.delete(key);
      for (let i = 0; i < 5; i++) await be.put('/calico/ipam/v2/config-noise', String(i));
      await be.compact(await be.revision());
      await until('the cache to recover the missed deletion', () => Promise.resolve(cache.get(key) === undefined ? true : undefined), 15_000);
    } finally {
      await cache.close();
    }
  });
});
