// The apply loop against a real kernel: a change that arrives while a periodic resync is reading
// the table back is still applied afterwards (found at scale: a 1000-policy write landing during
// the 90 s resync stayed unprogrammed on every node until some later, unrelated change).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveDataplaneConfig } from '../../src/dataplane/index.ts';
import { NftDataplane } from '../../src/dataplane/io/index.ts';
import { entity, policy, ports, profile, rule, tierInfo, workload } from '../../src/dataplane/test-support.ts';
import { createNetns, netnsSkipReason } from '../support/netns.ts';

const skip = netnsSkipReason();

const WEB = policy('ns1', 'web', [rule({ protocol: 6, destination: entity({ ports: ports(80) }) })]);
const LATE = policy('ns1', 'late', [rule({ action: 'deny', protocol: 17 })]);

void test('a change arriving during a resync is applied after it', { skip }, async (t) => {
  const ns = await createNetns(t);
  const dp = new NftDataplane({
    netnsPath: ns.path,
    resyncIntervalMs: 0,
    waitForInSync: false,
    config: resolveDataplaneConfig({}, [{ cidr: '10.0.0.0/16', natOutgoing: false }]),
  });
  t.after(() => dp.dispose());
  dp.onMessages([WEB, profile('kns.ns1', [rule()]), workload('ns1', 'a', 'cali0a', '10.0.0.1', [tierInfo('default', [WEB.key])])]);
  await dp.flush();
  assert.match(await ns.execOk(['nft', 'list', 'table', 'inet', 'tricolor']), /tri-pi-np\/ns1\/web/);

  const resync = dp.resyncNow();
  // the resync has rendered and is now waiting for `nft list` (a child process): change the state under it
  await new Promise((r) => setImmediate(r));
  dp.onMessages([LATE, workload('ns1', 'a', 'cali0a', '10.0.0.1', [tierInfo('default', [WEB.key, LATE.key])])]);
  const r = await resync;
  assert.deepEqual(r.drift, []);
  await dp.flush();
  const table = await ns.execOk(['nft', 'list', 'table', 'inet', 'tricolor']);
  assert.match(table, /tri-pi-np\/ns1\/late/, 'the policy that arrived during the resync is programmed');
});
