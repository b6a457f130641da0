// LoopDataplane with a fake apply/resync step (our own port): what every dataplane inherits —
// nothing programmed before InSync, a routing-only batch changes nothing, config does, the
// status counts come from the desired state with the dataplane's own detail beside them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ApplyStep } from './apply-loop.ts';
import type { DataplaneCounters, ResyncReport } from './dataplane.ts';
import { LoopDataplane, type DataplaneStatusDetail } from './loop-dataplane.ts';
import { policy } from './test-support.ts';

class Recording extends LoopDataplane {
  readonly kind = 'nft' as const;
  readonly log: string[] = [];

  constructor() {
    super({ resyncIntervalMs: 0 });
  }

  protected applyStep(): Promise<ApplyStep> {
    this.log.push(`apply ${this.state.policies.size}`);
    return Promise.resolve({ operations: 1, detail: 'one' });
  }

  protected resyncStep(): Promise<ResyncReport> {
    this.log.push('resync');
    return Promise.resolve({ drift: [], repaired: false });
  }

  protected statusDetail(): DataplaneStatusDetail {
    return { problem: 'detail of its own' };
  }

  counters(): DataplaneCounters {
    return { applies: this.log.length, failures: 0, repairs: 0 };
  }
}

void test('LoopDataplane: InSync gate, routing-only batches, config, status', async () => {
  const dp = new Recording();
  try {
    dp.start();
    dp.onMessages([policy('', 'a', [])]);
    await dp.flush();
    assert.deepEqual(dp.log, [], 'nothing before InSync');
    assert.deepEqual(await dp.resyncNow(), { drift: [], repaired: false });
    assert.deepEqual(dp.log, [], 'no resync before InSync either');

    dp.onMessages([{ type: 'InSync' }]);
    await dp.flush();
    assert.deepEqual(dp.log, ['apply 1']);

    dp.onMessages([{ type: 'RouteUpdate', dst: '10.0.0.0/26', routeType: 'blackhole' }]);
    await dp.flush();
    assert.deepEqual(dp.log, ['apply 1'], 'a routing-only batch programs nothing');
    assert.equal(dp.state.routing.routes.size, 1, 'but is kept');

    dp.setConfig(dp.state.config);
    await dp.flush();
    assert.deepEqual(dp.log, ['apply 1', 'apply 1'], 'config changes apply');

    await dp.resyncNow();
    assert.deepEqual(dp.log.at(-1), 'resync');
    const st = dp.status();
    assert.equal(st.kind, 'nft');
    assert.equal(st.inSync, true);
    assert.ok(st.lastApplyAt instanceof Date);
    assert.deepEqual(
      { w: st.workloadEndpoints, h: st.hostEndpoints, p: st.policies, pr: st.profiles, s: st.ipSets, problem: st.problem },
      { w: 0, h: 0, p: 1, pr: 0, s: 0, problem: 'detail of its own' },
    );
  } finally {
    dp.dispose();
  }
});
