// The nft driver against a real kernel, in a throwaway network namespace: a ruleset using every
// IR feature passes `nft -c` and applies; the read-back matches what was rendered; a delta touches
// only the changed chain and elements (rule handles elsewhere survive); a rejected batch leaves
// the old state in force; drift (a flushed chain, a removed element, a deleted table) is repaired
// by resync and counted; another table in the namespace is never touched.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CalcMessage } from '../../src/calc/index.ts';
import {
  DataplaneState,
  describeDrift,
  fingerprintFromListing,
  fingerprintOf,
  renderRuleset,
  resolveDataplaneConfig,
} from '../../src/dataplane/index.ts';
import type { Ruleset } from '../../src/dataplane/index.ts';
import { NftDriver } from '../../src/dataplane/io/index.ts';
import { entity, policy, ports, profile, rule, tierInfo, workload } from '../../src/dataplane/test-support.ts';
import { createNetns, netnsSkipReason } from '../support/netns.ts';

const skip = netnsSkipReason();

const EVERYTHING = policy(
  'ns1',
  'everything',
  [
    rule({ action: 'log', index: 0 }),
    rule({ action: 'deny', protocol: 1, icmp: { kind: 'ICMPMatch', type: 8, code: 0 }, index: 1 }),
    rule({ action: 'allow', protocol: 58, notICMP: { kind: 'ICMPMatch', type: 128, code: undefined }, index: 2 }),
    rule({ action: 'pass', source: entity({ nets: ['10.0.0.0/8', '10.1.0.0/16'], notNets: ['10.9.0.0/16'] }), index: 3 }),
    rule({ action: 'allow', protocol: 17, destination: entity({ ports: ports(53, [1000, 2000]), notPorts: ports(1500) }), index: 4 }),
    rule({ action: 'allow', protocol: 6, source: entity({ ipSetIds: ['s:web'], notIpSetIds: ['s:bad'] }), destination: entity({ namedPortIpSetIds: ['n:http'], ports: ports(8443) }), index: 5 }),
    rule({ action: 'allow', notProtocol: 6, destination: entity({ notNamedPortIpSetIds: ['n:http'] }), ipVersion: 4, index: 6 }),
    rule({ action: 'allow', protocol: 1, notICMP: { kind: 'ICMPMatch', type: 3, code: 4 }, index: 7 }),
  ],
  [rule({ action: 'allow', destination: entity({ nets: ['fd00::/8'] }) })],
);
const WEB_ONLY = policy('ns1', 'web-only', [rule({ protocol: 6, destination: entity({ ports: ports(80) }) })]);

function baseMessages(): CalcMessage[] {
  return [
    { type: 'IPSetUpdate', id: 's:web', ipsetType: 'net', members: ['10.0.0.1/32', '10.0.0.2/32', 'fd00::1/128'] },
    { type: 'IPSetUpdate', id: 's:bad', ipsetType: 'net', members: ['192.168.0.0/16', '192.168.7.0/24', '10.0.0.9/32'] },
    { type: 'IPSetUpdate', id: 'n:http', ipsetType: 'ip-port', members: [{ ip: '10.0.0.1', protocol: 6, port: 80 }, { ip: 'fd00::1', protocol: 6, port: 80 }] },
    EVERYTHING,
    WEB_ONLY,
    profile('kns.ns1', [rule()]),
    workload('ns1', 'a', 'cali0a', '10.0.0.1', [tierInfo('default', [EVERYTHING.key, WEB_ONLY.key], [EVERYTHING.key])]),
    workload('ns1', 'b', 'cali0b', '10.0.0.2', [tierInfo('default', [WEB_ONLY.key])]),
    {
      type: 'HostEndpointUpdate',
      key: 'HostEndpoint//h',
      name: 'h',
      interfaceName: 'eth9',
      expectedIPs: [],
      profileIds: [],
      tiers: [],
      untrackedTiers: [],
      preDNATTiers: [],
      forwardTiers: [tierInfo('default', [WEB_ONLY.key], [WEB_ONLY.key])],
    },
  ];
}

function stateOf(msgs: CalcMessage[]): DataplaneState {
  const s = new DataplaneState(resolveDataplaneConfig({}, [{ cidr: '10.0.0.0/16', natOutgoing: true }, { cidr: 'fd00::/64', natOutgoing: true }]));
  s.applyAll(msgs);
  return s;
}

/** chain → rule handles, from a read-back. */
function handles(listing: unknown): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const item of (listing as { nftables: Record<string, Record<string, unknown>>[] }).nftables) {
    const r = item['rule'];
    if (r === undefined) continue;
    const list = out.get(String(r['chain'])) ?? [];
    list.push(Number(r['handle']));
    out.set(String(r['chain']), list);
  }
  return out;
}

void test('nft driver in a real namespace', { skip }, async (t) => {
  const ns = await createNetns(t);
  await ns.execOk(['nft', 'add table inet other; add chain inet other c { type filter hook input priority 5; }; add rule inet other c accept']);
  const foreignBefore = await ns.execOk(['nft', 'list', 'table', 'inet', 'other']);
  const driver = new NftDriver({ netnsPath: ns.path });
  t.after(() => driver.dispose());

  const state = stateOf(baseMessages());
  const desired = renderRuleset(state);

  await t.test('nft -c accepts the full ruleset, and nothing is applied by a check', async () => {
    await driver.check(desired);
    assert.equal(await driver.readBack(), undefined);
  });

  await t.test('first apply builds the table; the read-back matches the render', async () => {
    const r = await driver.apply(desired);
    assert.equal(r.delta.full, true);
    const fp = fingerprintFromListing(await driver.readBack());
    assert.ok(fp !== undefined);
    assert.deepEqual(describeDrift(fingerprintOf(desired), fp), []);
    const text = await ns.execOk(['nft', 'list', 'chain', 'inet', 'tricolor', 'tri-pi-np/ns1/everything']);
    assert.match(text, /log prefix "calico-packet "/);
    assert.match(text, /icmp type echo-request/);
    assert.match(text, /ip daddr \. meta l4proto \. (tcp|th) dport @tri-p4-n-http/);
  });

  let afterDelta: Ruleset = desired;
  await t.test('a delta changes only the edited chain and the changed set elements', async () => {
    const before = handles(await driver.readBack());
    const msgs = baseMessages();
    msgs.push(policy('ns1', 'web-only', [rule({ protocol: 6, destination: entity({ ports: ports(8080) }) })]));
    msgs.push({ type: 'IPSetUpdate', id: 's:web', ipsetType: 'net', members: ['10.0.0.2/32', '10.0.0.3/32', 'fd00::1/128'] });
    afterDelta = renderRuleset(stateOf(msgs));
    const r = await driver.apply(afterDelta);
    assert.equal(r.delta.full, false);
    assert.equal(r.delta.chainsWritten, 1);
    assert.equal(r.delta.elementsAdded, 1);
    assert.equal(r.delta.elementsDeleted, 1);
    const listing = await driver.readBack();
    assert.deepEqual(describeDrift(fingerprintOf(afterDelta), fingerprintFromListing(listing) ?? assert.fail('no table')), []);
    const now = handles(listing);
    for (const [chain, hs] of before) {
      if (chain === 'tri-pi-np/ns1/web-only') assert.notDeepEqual(now.get(chain), hs);
      else assert.deepEqual(now.get(chain), hs, `${chain} was rewritten`);
    }
  });

  await t.test('a batch nft rejects applies nothing and is reported', async () => {
    const bad: Ruleset = {
      ...afterDelta,
      chains: new Map([
        ...afterDelta.chains,
        ['tri-bogus', { name: 'tri-bogus', base: undefined, rules: [{ expr: [{ jump: { target: 'tri-no-such-chain' } }], comment: 'tri:AAAAAAAAAAAAAAAA', id: 'tri:AAAAAAAAAAAAAAAA' }] }],
      ]),
    };
    await assert.rejects(driver.apply(bad), (e: Error & { code?: string }) => e.code === 'ERR_IO' && /nft/.test(e.message));
    assert.equal(driver.stats.failures, 1);
    const fp = fingerprintFromListing(await driver.readBack());
    assert.deepEqual(describeDrift(fingerprintOf(afterDelta), fp ?? assert.fail('table lost')), []);
    // The next good apply starts from a read-back and succeeds.
    const r = await driver.apply(afterDelta);
    assert.equal(r.commandCount, 0);
  });

  await t.test('resync repairs a flushed chain and a removed set element', async () => {
    assert.deepEqual((await driver.resync(afterDelta)).drift, []);
    await ns.execOk(['nft', 'flush', 'chain', 'inet', 'tricolor', 'tri-tw-cali0a']);
    await ns.execOk(['nft', 'delete', 'element', 'inet', 'tricolor', 'tri-s4-s-web', '{ 10.0.0.2 }']);
    const r = await driver.resync(afterDelta);
    assert.deepEqual([...r.drift].sort(), ['chain tri-tw-cali0a rules differ', 'set tri-s4-s-web elements differ']);
    assert.equal(r.repaired, true);
    assert.equal(driver.stats.repairs, 1);
    assert.deepEqual(describeDrift(fingerprintOf(afterDelta), (await driver.observe()) ?? assert.fail('no table')), []);
  });

  await t.test('resync rebuilds a deleted table', async () => {
    await ns.execOk(['nft', 'delete', 'table', 'inet', 'tricolor']);
    const r = await driver.resync(afterDelta);
    assert.deepEqual(r.drift, ['table missing']);
    assert.equal(driver.stats.repairs, 2);
    assert.deepEqual(describeDrift(fingerprintOf(afterDelta), (await driver.observe()) ?? assert.fail('no table')), []);
  });

  await t.test('other tables are untouched, and disposing the driver leaves our table in place', async () => {
    assert.equal(await ns.execOk(['nft', 'list', 'table', 'inet', 'other']), foreignBefore);
    driver.dispose();
    assert.ok((await driver.observe()) !== undefined);
  });
});
