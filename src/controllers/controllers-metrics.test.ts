// The leader keeps the ipam_* gauges current between its (7.5-minute) passes, as
// kube-controllers does: an allocation made after the first pass shows within the refresh.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MetricsRegistry, parseMetricsText, waitFor } from '../base/index.ts';
import { SQLiteBackend } from '../datastore/index.ts';
import { IPAMClient } from '../ipam/index.ts';
import { putNode, putPool } from '../ipam/test-support/ipam-suite.ts';
import { Controllers } from './controllers.ts';

void describe('controllers: ipam_* metrics', () => {
  void it('are refreshed between passes while leading', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tri-ctl-metrics-'));
    const backend = new SQLiteBackend({ path: join(dir, 'datastore.db') });
    const metrics = new MetricsRegistry();
    const c = new Controllers({ backend, identity: 'test', leakGracePeriodMs: 0, intervalMs: 3_600_000, metricsRefreshMs: 100, metrics });
    try {
      await putPool(backend, 'pool-a', { cidr: '10.9.0.0/24', blockSize: 26 });
      await putNode(backend, 'node-a');
      c.start();
      assert.equal(await waitFor(() => (c.passes > 0 ? true : undefined), 10_000, 20), true, 'first pass');
      const inUse = (): number => {
        const m = parseMetricsText(metrics.render());
        let n = 0;
        for (const [k, v] of m) if (k.startsWith('ipam_allocations_in_use')) n += v;
        return n;
      };
      const before = inUse();
      await new IPAMClient({ backend }).autoAssign({ num4: 3, num6: 0, handleId: 'h1', hostname: 'node-a' });
      assert.equal(await waitFor(() => (inUse() === before + 3 ? true : undefined), 10_000, 20), true, `in use ${inUse()} (was ${before})`);
      assert.equal(c.passes, 1, 'no second pass: the refresh did it');
    } finally {
      await c.stop();
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
