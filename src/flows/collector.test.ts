import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FlowCollector } from './collector.ts';
import type { ConntrackEntry } from './collector.ts';
import { RuleIdLookup } from './rule-id.ts';
import { ServiceIndex } from './service-index.ts';
import { PolicyModel, updateOf } from '../calc/index.ts';
import { calicoPolicy } from '../calc/fixtures.ts';
import { traceModels } from './policy-trace.ts';
import { API, PG, WEB, demoModels, demoResources } from './test-support.ts';

const T = 1_800_000_000;
const models = demoModels();

function lookup(): RuleIdLookup {
  const l = new RuleIdLookup();
  l.add({ owner: 'policy', action: 'allow', direction: 'ingress', index: 0, kind: 'NetworkPolicy', namespace: 'backend', name: 'allow-web', tier: 'default' });
  return l;
}

function ct(src: string, sport: number, dst: string, dport: number, po: number, pr: number, state = 'ESTABLISHED', origDst = dst, origDport = dport): ConntrackEntry {
  return { proto: 6, origSrc: src, origDst, origSport: sport, origDport, replySrc: dst, replySport: dport, packetsOrig: po, bytesOrig: po * 100, packetsReply: pr, bytesReply: pr * 50, state };
}

void describe('flow collector (verdict log + conntrack)', () => {
  void it('an allowed connection: logged trace, counters as deltas per window, completed at TIME_WAIT', () => {
    const c = new FlowCollector({ node: 'node-2' });
    c.addVerdict({ prefix: 'API0|np/backend/allow-web', group: 1, srcIP: WEB, dstIP: API, proto: 6, srcPort: 40000, dstPort: 8080, timeS: T });
    c.updateConntrack([ct(WEB, 40000, API, 8080, 5, 4)], T + 1);
    let [r] = c.flush(T + 2, models, lookup());
    assert.equal(r?.action, 'allow');
    assert.equal(r?.reporter, 'dst');
    assert.deepEqual(r?.policies.enforced, [{ kind: 'NetworkPolicy', namespace: 'backend', name: 'allow-web', tier: 'default', action: 'allow', policyIndex: 0, ruleIndex: 0 }]);
    assert.deepEqual(r?.stats, { packetsIn: 5, packetsOut: 4, bytesIn: 500, bytesOut: 200, started: 1, completed: 0, live: 1 });
    c.updateConntrack([ct(WEB, 40000, API, 8080, 9, 7, 'TIME_WAIT')], T + 3);
    [r] = c.flush(T + 4, models, lookup());
    assert.deepEqual(r?.stats, { packetsIn: 4, packetsOut: 3, bytesIn: 400, bytesOut: 150, started: 0, completed: 1, live: 0 });
    assert.equal(c.size, 0);
    assert.deepEqual(c.flush(T + 5, models, lookup()), []);
  });

  void it('a denied connection lives from the log alone, with the end-of-tier trigger from the oracle, and ages out', () => {
    const c = new FlowCollector({ node: 'node-2', ageTimeoutS: 10 });
    for (let i = 0; i < 3; i++) c.addVerdict({ prefix: 'DPI|default', group: 1, srcIP: WEB, dstIP: API, proto: 6, srcPort: 40001, dstPort: 9090, timeS: T + i });
    c.updateConntrack([], T + 3);
    const [r] = c.flush(T + 4, models, lookup());
    assert.equal(r?.action, 'deny');
    assert.deepEqual(r?.policies.enforced, [
      { kind: 'EndOfTier', namespace: '', name: '__NO_MATCH__', tier: 'default', action: 'deny', policyIndex: 0, ruleIndex: -1, trigger: { kind: 'NetworkPolicy', namespace: 'backend', name: 'default-deny' } },
    ]);
    assert.equal(r?.stats.started, 1);
    assert.equal(c.size, 1);
    assert.deepEqual(c.flush(T + 13, models, lookup()), []);
    assert.equal(c.size, 0);
  });

  void it('the end-of-tier trigger is the one in force when the verdict was read, though an allow came before the flush', () => {
    // the quickstart demo's case: a deny logged, then right away a policy allowing that traffic
    const allowedLater = traceModels(
      PolicyModel.fromUpdates(
        [...demoResources(), calicoPolicy('backend', 'allow-9090', { order: 50, selector: "app == 'api'", types: ['Ingress'], ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [9090] } }] })].map(updateOf),
      ),
    );
    const ev = { prefix: 'DPI|default', group: 1, srcIP: WEB, dstIP: API, proto: 6, srcPort: 40020, dstPort: 9090, timeS: T };
    const trigger = { kind: 'NetworkPolicy', namespace: 'backend', name: 'default-deny' };
    const taken = new FlowCollector({ node: 'node-2' });
    taken.addVerdict(ev, { models, lookup: lookup() });
    taken.addVerdict({ ...ev, timeS: T + 1 }, { models: allowedLater, lookup: lookup() }); // a retransmission: the first one's trigger stays
    const [r] = taken.flush(T + 2, allowedLater, lookup());
    assert.equal(r?.action, 'deny', 'the logged verdict, not the oracle of the flush');
    assert.deepEqual(r?.policies.enforced[0]?.trigger, trigger);
    // reference: the same verdict without the policies of its time has no trigger at the flush
    const late = new FlowCollector({ node: 'node-2' });
    late.addVerdict(ev);
    const [l] = late.flush(T + 2, allowedLater, lookup());
    assert.equal(l?.policies.enforced[0]?.kind, 'EndOfTier');
    assert.equal(l?.policies.enforced[0]?.trigger, undefined);
  });

  void it('joins DNATed connections on the reply tuple and keeps the pending trace from the oracle', () => {
    const c = new FlowCollector({ node: 'node-2' });
    c.addVerdict({ prefix: 'ARI0|kns.db', group: 1, srcIP: WEB, dstIP: PG, proto: 6, srcPort: 40002, dstPort: 5432, timeS: T });
    c.updateConntrack([ct(WEB, 40002, PG, 5432, 3, 3, 'ESTABLISHED', '10.96.0.10', 5432)], T + 1);
    const [r] = c.flush(T + 2, models, lookup());
    assert.equal(r?.stats.packetsIn, 3);
    assert.equal(r?.policies.enforced[0]?.kind, 'Profile');
    assert.equal(r?.policies.pending[0]?.name, 'deny-all');
    assert.equal(r?.policies.pending[0]?.action, 'deny');
    assert.equal(r?.service, undefined, 'no service index given: no service');
  });

  void it('names the service a DNATed connection was sent to (the pre-DNAT destination), and only that one', () => {
    const services = new ServiceIndex();
    services.update('db', 'postgres', { metadata: { name: 'postgres', namespace: 'db' }, spec: { clusterIP: '10.96.0.10', ports: [{ name: 'pg', port: 5432, targetPort: 5432, protocol: 'TCP' }] } });
    const c = new FlowCollector({ node: 'node-2' });
    c.addVerdict({ prefix: 'ARI0|kns.db', group: 1, srcIP: WEB, dstIP: PG, proto: 6, srcPort: 40002, dstPort: 5432, timeS: T });
    c.addVerdict({ prefix: 'ARI0|kns.db', group: 1, srcIP: WEB, dstIP: PG, proto: 6, srcPort: 40003, dstPort: 5432, timeS: T });
    c.updateConntrack([ct(WEB, 40002, PG, 5432, 3, 3, 'ESTABLISHED', '10.96.0.10', 5432), ct(WEB, 40003, PG, 5432, 2, 2)], T + 1);
    const rs = c.flush(T + 2, models, lookup(), services);
    assert.equal(rs.length, 2, 'the service is part of the flow key');
    const viaService = rs.find((r) => r.service !== undefined);
    assert.deepEqual(viaService?.service, { namespace: 'db', name: 'postgres', portName: 'pg', port: 5432 });
    assert.equal(viaService?.stats.packetsIn, 3);
    assert.equal(rs.find((r) => r.service === undefined)?.stats.packetsIn, 2, 'the direct connection names no service');
  });

  void it('holds an allowed connection back until conntrack has seen it (bounded), so its first record has the service', () => {
    const services = new ServiceIndex();
    services.update('db', 'postgres', { metadata: { name: 'postgres', namespace: 'db' }, spec: { clusterIP: '10.96.0.10', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] } });
    const c = new FlowCollector({ node: 'node-2', conntrackGraceS: 6 });
    c.addVerdict({ prefix: 'ARI0|kns.db', group: 1, srcIP: WEB, dstIP: PG, proto: 6, srcPort: 40010, dstPort: 5432, timeS: T });
    c.addVerdict({ prefix: 'ARI0|kns.db', group: 1, srcIP: WEB, dstIP: PG, proto: 6, srcPort: 40011, dstPort: 5432, timeS: T });
    assert.deepEqual(c.flush(T + 2, models, lookup(), services), [], 'not in conntrack yet: held back');
    c.updateConntrack([ct(WEB, 40010, PG, 5432, 2, 2, 'ESTABLISHED', '10.96.0.10', 5432)], T + 4);
    const [first, ...rest] = c.flush(T + 5, models, lookup(), services);
    assert.equal(rest.length, 0, 'the one conntrack never showed is still held');
    assert.equal(first?.service?.name, 'postgres');
    assert.equal(first?.stats.started, 1);
    // past the grace, a connection conntrack never showed is reported all the same
    c.updateConntrack([ct(WEB, 40010, PG, 5432, 2, 2, 'ESTABLISHED', '10.96.0.10', 5432)], T + 6);
    const late = c.flush(T + 7, models, lookup(), services).filter((r) => r.stats.started === 1);
    assert.equal(late.length, 1);
    assert.equal(late[0]?.service, undefined);
  });

  void it('holds at most maxConnections', () => {
    const c = new FlowCollector({ node: 'n', maxConnections: 2 });
    for (let i = 0; i < 5; i++) c.addVerdict({ prefix: 'DPI|default', group: 1, srcIP: WEB, dstIP: API, proto: 6, srcPort: 1000 + i, dstPort: 1, timeS: T });
    assert.equal(c.size, 2);
    assert.equal(c.stats.dropped, 3);
  });
});
