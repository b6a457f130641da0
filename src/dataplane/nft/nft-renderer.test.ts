// The whole-table renderer and the delta: endpoint chain structure (tiers, Pass, end of tier,
// profiles, fail-closed dispatch), workload-to-host, failsafes, NAT outgoing, IP set flavours,
// and the delta's minimality and correctness (replayed on a model of the table, as a property).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CalcMessage } from '../../calc/index.ts';
import { DataplaneState, resolveDataplaneConfig } from '../dataplane-state.ts';
import { describeDrift, diffRuleset, fingerprintOf } from './nft-delta.ts';
import { CHAIN, MAP, POOL_SETS, ipSetName, policyChain, renderRuleset, workloadChain } from './nft-renderer.ts';
import type { Ruleset } from './nft-renderer.ts';
import { entity, policy, ports, profile, rule, tierInfo, workload } from '../test-support.ts';
import { replay } from './test-support.ts';

const P_ALLOW = policy('ns1', 'allow-web', [rule({ protocol: 6, destination: entity({ ports: ports(80) }) })]);
const P_PASS = policy('', 'pass-all', [rule({ action: 'pass' })], [], 'security');
const KNS = profile('kns.ns1', [rule()]);

function render(msgs: CalcMessage[], felix = {}, pools: { cidr: string; natOutgoing: boolean }[] = []): Ruleset {
  const s = new DataplaneState(resolveDataplaneConfig(felix, pools));
  s.applyAll(msgs);
  return renderRuleset(s);
}

/** A chain as text lines (the rule comments' human part), which reads like the design doc. */
function notes(r: Ruleset, chain: string): string[] {
  const c = r.chains.get(chain);
  assert.ok(c !== undefined, `chain ${chain} missing`);
  return c.rules.map((x) => x.comment.replace(/^tri:\S+ ?/, ''));
}

void test('workload chains: tiers in order, Pass skips the tier, end-of-tier deny, profiles, final drop', () => {
  const w = workload('ns1', 'a', 'cali0a', '10.0.0.1', [
    tierInfo('security', [P_PASS.key], [], 'Pass'),
    tierInfo('default', [P_ALLOW.key], []),
  ]);
  const r = render([P_ALLOW, P_PASS, KNS, w]);
  assert.deepEqual(notes(r, workloadChain('cali0a', 'to')), [
    'clear accept/pass marks',
    'start of tier security',
    `policy ${P_PASS.key}`,
    'return if policy accepted',
    'start of tier default',
    `policy ${P_ALLOW.key}`,
    'return if policy accepted',
    'end of tier default: deny',
    'profile kns.ns1',
    'return if profile accepted',
    'no policy or profile allowed the packet',
  ]);
  // Egress: no tier has egress policies, so straight to profiles.
  assert.deepEqual(notes(r, workloadChain('cali0a', 'from')).slice(2), [
    'clear accept/pass marks',
    'profile kns.ns1',
    'return if profile accepted',
    'no policy or profile allowed the packet',
  ]);
  // The jump is guarded by "pass bit clear", the end of tier drop too.
  const tw = r.chains.get(workloadChain('cali0a', 'to'));
  assert.deepEqual(tw?.rules[5]?.expr, [
    { match: { op: '==', left: { '&': [{ meta: { key: 'mark' } }, 0x20000] }, right: 0 } },
    { jump: { target: policyChain(P_ALLOW.key, 'in') } },
  ]);
  assert.equal(policyChain(P_ALLOW.key, 'in'), 'tri-pi-np/ns1/allow-web');
  assert.deepEqual(r.chains.get('tri-pi-np/ns1/allow-web')?.rules[0]?.expr, [
    { match: { op: '==', left: { meta: { key: 'l4proto' } }, right: 6 } },
    { match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 80 } },
    { mangle: { key: { meta: { key: 'mark' } }, value: { '|': [{ meta: { key: 'mark' } }, 0x10000] } } },
    { return: null },
  ]);
});

void test('dispatch: verdict maps keyed by interface, unknown workload interfaces dropped', () => {
  const r = render([KNS, workload('ns1', 'a', 'cali0a', '10.0.0.1'), workload('ns1', 'b', 'cali0b', '10.0.0.2')]);
  assert.deepEqual([...(r.maps.get(MAP.fromWl)?.elems.values() ?? [])], [
    ['cali0a', { goto: { target: 'tri-fw-cali0a' } }],
    ['cali0b', { goto: { target: 'tri-fw-cali0b' } }],
  ]);
  assert.deepEqual(r.chains.get(CHAIN.toWlDispatch)?.rules.map((x) => x.expr), [
    [{ vmap: { key: { meta: { key: 'oifname' } }, data: `@${MAP.toWl}` } }],
    [{ drop: null }],
  ]);
  const fwd = r.chains.get(CHAIN.forward);
  assert.deepEqual(fwd?.base, { type: 'filter', hook: 'forward', prio: 0, policy: 'accept' });
  assert.deepEqual(fwd?.rules.slice(0, 2).map((x) => x.expr), [
    [{ match: { op: 'in', left: { ct: { key: 'state' } }, right: ['established', 'related'] } }, { accept: null }],
    [{ match: { op: 'in', left: { ct: { key: 'state' } }, right: ['invalid'] } }, { drop: null }],
  ]);
  assert.deepEqual(fwd?.rules[3]?.expr, [
    { match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'cali*' } },
    { jump: { target: CHAIN.fromWlDispatch } },
  ]);
});

void test('workload to host follows defaultEndpointToHostAction', () => {
  for (const [action, verdict] of [
    ['Drop', { drop: null }],
    ['Accept', { accept: null }],
    ['Return', { return: null }],
  ] as const) {
    const r = render([], { defaultEndpointToHostAction: action });
    assert.deepEqual(r.chains.get(CHAIN.wlToHost)?.rules.map((x) => x.expr), [[{ jump: { target: CHAIN.fromWlDispatch } }], [verdict]]);
  }
});

void test('host endpoints: failsafe ports first, default deny without policy; Reject deny action', () => {
  const hep: CalcMessage = {
    type: 'HostEndpointUpdate',
    key: 'HostEndpoint//h1',
    name: 'h1',
    interfaceName: 'eth0',
    expectedIPs: ['192.0.2.1'],
    profileIds: [],
    tiers: [],
    untrackedTiers: [],
    preDNATTiers: [],
    forwardTiers: [],
  };
  const r = render([hep], { nftablesFilterDenyAction: 'Reject' });
  assert.deepEqual(notes(r, 'tri-fh-eth0'), ['failsafe ports', 'clear accept/pass marks', 'no policy or profile allowed the packet']);
  assert.deepEqual(r.chains.get('tri-fh-eth0')?.rules[2]?.expr, [{ reject: null }]);
  assert.deepEqual([...(r.maps.get(MAP.fromHep)?.elems.keys() ?? [])], ['eth0']);
  assert.deepEqual(notes(r, CHAIN.failsafeIn), [
    'failsafe in 6:22',
    'failsafe in 17:68',
    'failsafe in 6:179',
    'failsafe in 6:2379',
    'failsafe in 6:2380',
    'failsafe in 6:5473',
    'failsafe in 6:6443',
    'failsafe in 6:6666',
    'failsafe in 6:6667',
  ]);
  assert.deepEqual(r.chains.get(CHAIN.failsafeIn)?.rules[0]?.expr, [
    { match: { op: '==', left: { meta: { key: 'l4proto' } }, right: 6 } },
    { match: { op: '==', left: { payload: { protocol: 'th', field: 'dport' } }, right: 22 } },
    { accept: null },
  ]);
  const custom = render([], { failsafeInboundHostPorts: [{ protocol: 'UDP', port: 53, net: '10.0.0.0/8' }] });
  assert.deepEqual(custom.chains.get(CHAIN.failsafeIn)?.rules[0]?.expr[0], {
    match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: { prefix: { addr: '10.0.0.0', len: 8 } } },
  });
});

void test('WireGuard on: its UDP port to and from this host is accepted before host endpoint policy (not before workload policy)', () => {
  const hep: CalcMessage = {
    type: 'HostEndpointUpdate',
    key: 'HostEndpoint//h1',
    name: 'h1',
    interfaceName: 'eth0',
    expectedIPs: ['192.0.2.1'],
    profileIds: [],
    tiers: [],
    untrackedTiers: [],
    preDNATTiers: [],
    forwardTiers: [],
  };
  const wgIn = (port: number): unknown[] => [
    { match: { op: '==', left: { meta: { key: 'nfproto' } }, right: 'ipv4' } },
    { match: { op: '==', left: { payload: { protocol: 'udp', field: 'dport' } }, right: port } },
    { match: { op: '==', left: { fib: { result: 'type', flags: ['daddr'] } }, right: 'local' } },
    { accept: null },
  ];
  // off (Calico's default): nothing about the port anywhere
  const off = render([hep], { wireguardListeningPort: 51820 });
  assert.deepEqual(notes(off, CHAIN.input), ['conntrack: established/related', 'conntrack: invalid', 'workload to host', 'host endpoint ingress policy']);
  assert.deepEqual(notes(off, CHAIN.output), ['conntrack: established/related', 'conntrack: invalid', 'host to workload', 'host endpoint egress policy']);

  const on = render([hep], { wireguardEnabled: true });
  assert.deepEqual(notes(on, CHAIN.input), [
    'conntrack: established/related',
    'conntrack: invalid',
    'workload to host',
    'allow incoming IPv4 WireGuard packets',
    'host endpoint ingress policy',
  ]);
  assert.deepEqual(on.chains.get(CHAIN.input)?.rules[3]?.expr, wgIn(51820));
  assert.deepEqual(notes(on, CHAIN.output), [
    'conntrack: established/related',
    'conntrack: invalid',
    'host to workload',
    'allow outgoing IPv4 WireGuard packets',
    'host endpoint egress policy',
  ]);
  assert.deepEqual(on.chains.get(CHAIN.output)?.rules[3]?.expr, [
    { match: { op: '==', left: { meta: { key: 'nfproto' } }, right: 'ipv4' } },
    { match: { op: '==', left: { payload: { protocol: 'udp', field: 'dport' } }, right: 51820 } },
    { match: { op: '==', left: { fib: { result: 'type', flags: ['saddr'] } }, right: 'local' } },
    { accept: null },
  ]);
  // wireguardListeningPort moves it; the host endpoint's own chain is unchanged
  const moved = render([hep], { wireguardEnabled: true, wireguardListeningPort: 51999 });
  assert.deepEqual(moved.chains.get(CHAIN.input)?.rules[3]?.expr, wgIn(51999));
  assert.deepEqual(notes(moved, 'tri-fh-eth0'), notes(off, 'tri-fh-eth0'));
});

void test('natOutgoing: masquerade from natOutgoing pools to destinations outside all pools', () => {
  const r = render([], {}, [
    { cidr: '10.10.0.0/16', natOutgoing: true },
    { cidr: '10.20.0.0/16', natOutgoing: false },
  ]);
  assert.deepEqual([...(r.sets.get(POOL_SETS.all4)?.elems.keys() ?? [])], ['10.10.0.0/16', '10.20.0.0/16']);
  assert.deepEqual([...(r.sets.get(POOL_SETS.masq4)?.elems.keys() ?? [])], ['10.10.0.0/16']);
  assert.deepEqual(r.chains.get(CHAIN.natOutgoing)?.rules.map((x) => x.expr), [
    [
      { match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: `@${POOL_SETS.masq4}` } },
      { match: { op: '!=', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: `@${POOL_SETS.all4}` } },
      { masquerade: null },
    ],
  ]);
  assert.deepEqual(r.chains.get(CHAIN.natPostrouting)?.base, { type: 'nat', hook: 'postrouting', prio: 110, policy: 'accept' });
  assert.equal(render([]).chains.get(CHAIN.natOutgoing)?.rules.length, 0);
});

void test('IP sets: host members use a hash set, CIDR members the interval flavour (merged), ip-port sets are concatenations', () => {
  const r = render([
    { type: 'IPSetUpdate', id: 's:h', ipsetType: 'net', members: ['10.0.0.1/32', 'fd00::1/128'] },
    { type: 'IPSetUpdate', id: 's:n', ipsetType: 'net', members: ['10.0.0.0/8', '10.1.0.0/16', '10.0.0.1/32'] },
    { type: 'IPSetUpdate', id: 'n:p', ipsetType: 'ip-port', members: [{ ip: '10.0.0.1', protocol: 6, port: 80 }] },
  ]);
  const h4 = r.sets.get(ipSetName('s:h', 4, 'addr', false));
  assert.deepEqual(h4 && { type: h4.type, flags: h4.flags, elems: [...h4.elems.values()] }, { type: 'ipv4_addr', flags: [], elems: ['10.0.0.1'] });
  assert.deepEqual([...(r.sets.get(ipSetName('s:h', 6, 'addr', false))?.elems.values() ?? [])], ['fd00::1']);
  const n4 = r.sets.get(ipSetName('s:n', 4, 'addr', true));
  assert.deepEqual(n4 && { flags: n4.flags, elems: [...n4.elems.values()] }, { flags: ['interval'], elems: [{ prefix: { addr: '10.0.0.0', len: 8 } }] });
  assert.equal(ipSetName('s:n', 4, 'addr', true), 'tri-n4-s-n');
  const p4 = r.sets.get(ipSetName('n:p', 4, 'port', false));
  assert.deepEqual(p4 && { type: p4.type, elems: [...p4.elems.values()] }, {
    type: ['ipv4_addr', 'inet_proto', 'inet_service'],
    elems: [{ concat: ['10.0.0.1', 6, 80] }],
  });
});

void test('a policy referencing an IP set the calc graph never sent matches nothing through it (no set is programmed)', () => {
  const p = policy('ns1', 'sel', [rule({ source: entity({ ipSetIds: ['s:ghost'] }) }), rule({ source: entity({ notIpSetIds: ['s:ghost'] }), index: 1 })]);
  const r = render([{ type: 'IPSetUpdate', id: 's:x', ipsetType: 'net', members: ['10.0.0.1/32'] }, p]);
  assert.equal(r.sets.get(ipSetName('s:ghost', 4, 'addr', false)), undefined);
  // Rule 0 can never match; rule 1's negation always holds (per family).
  assert.deepEqual(notes(r, policyChain(p.key, 'in')), ['policy sel rule 1 allow', 'policy sel rule 1 allow']);
});

void test('IPv6 sets (and rules that could only match through one) exist only once some IP set has an IPv6 member', () => {
  const p = policy('ns1', 'sel', [rule({ source: entity({ ipSetIds: ['s:x'] }) })]);
  const v4 = render([{ type: 'IPSetUpdate', id: 's:x', ipsetType: 'net', members: ['10.0.0.1/32'] }, p]);
  assert.deepEqual([...v4.sets.keys()].filter((n) => n.startsWith('tri-s')), ['tri-s4-s-x']);
  assert.equal(v4.chains.get(policyChain(p.key, 'in'))?.rules.length, 1);
  const dual = render([{ type: 'IPSetUpdate', id: 's:x', ipsetType: 'net', members: ['10.0.0.1/32'] }, { type: 'IPSetUpdate', id: 's:y', ipsetType: 'net', members: ['fd00::1/128'] }, p]);
  assert.deepEqual([...dual.sets.keys()].filter((n) => n.startsWith('tri-s')), ['tri-s4-s-x', 'tri-s6-s-x', 'tri-s4-s-y', 'tri-s6-s-y']);
  assert.equal(dual.chains.get(policyChain(p.key, 'in'))?.rules.length, 2);
});

// ---------------------------------------------------------------------------------------------
// Delta

void test('delta: first apply is a full rebuild; identical state is an empty delta', () => {
  const r = render([KNS, workload('ns1', 'a', 'cali0a', '10.0.0.1')]);
  const first = diffRuleset(undefined, r);
  assert.equal(first.full, true);
  assert.deepEqual(first.commands.slice(0, 3), [
    { add: { table: { family: 'inet', name: 'tricolor' } } },
    { delete: { table: { family: 'inet', name: 'tricolor' } } },
    { add: { table: { family: 'inet', name: 'tricolor' } } },
  ]);
  assert.deepEqual(diffRuleset(fingerprintOf(r), r).commands, []);
});

void test('delta: one policy edit flushes and refills exactly that chain', () => {
  const w = workload('ns1', 'a', 'cali0a', '10.0.0.1', [tierInfo('default', [P_ALLOW.key])]);
  const before = render([P_ALLOW, KNS, w]);
  const edited = policy('ns1', 'allow-web', [rule({ protocol: 6, destination: entity({ ports: ports(8080) }) })]);
  const after = render([P_ALLOW, KNS, w, edited]);
  const d = diffRuleset(fingerprintOf(before), after);
  assert.equal(d.full, false);
  assert.deepEqual(
    d.commands.map((c) => `${Object.keys(c)[0]} ${Object.keys(Object.values(c)[0] ?? {})[0]}`),
    ['flush chain', 'add rule'],
  );
  assert.equal(d.chainsWritten, 1);
});

void test('delta: set members change by element, an endpoint leaving removes its map entries and chains', () => {
  const s1: CalcMessage = { type: 'IPSetUpdate', id: 's:x', ipsetType: 'net', members: ['10.0.0.1/32', '10.0.0.2/32'] };
  const s2: CalcMessage = { type: 'IPSetUpdate', id: 's:x', ipsetType: 'net', members: ['10.0.0.2/32', '10.0.0.3/32'] };
  const a = workload('ns1', 'a', 'cali0a', '10.0.0.1');
  const b = workload('ns1', 'b', 'cali0b', '10.0.0.2');
  const before = render([s1, KNS, a, b]);
  const after = render([s2, KNS, a]);
  const d = diffRuleset(fingerprintOf(before), after);
  assert.deepEqual(d.commands, [
    { delete: { element: { family: 'inet', table: 'tricolor', name: 'tri-s4-s-x', elem: ['10.0.0.1'] } } },
    { add: { element: { family: 'inet', table: 'tricolor', name: 'tri-s4-s-x', elem: ['10.0.0.3'] } } },
    { delete: { element: { family: 'inet', table: 'tricolor', name: MAP.fromWl, elem: ['cali0b'] } } },
    { delete: { element: { family: 'inet', table: 'tricolor', name: MAP.toWl, elem: ['cali0b'] } } },
    { flush: { chain: { family: 'inet', table: 'tricolor', name: 'tri-tw-cali0b' } } },
    { flush: { chain: { family: 'inet', table: 'tricolor', name: 'tri-fw-cali0b' } } },
    { delete: { chain: { family: 'inet', table: 'tricolor', name: 'tri-tw-cali0b' } } },
    { delete: { chain: { family: 'inet', table: 'tricolor', name: 'tri-fw-cali0b' } } },
  ]);
});

void test('delta property: replaying diff(a → b) on a yields b, for random state sequences', () => {
  let seed = 42;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const randomState = (): CalcMessage[] => {
    const msgs: CalcMessage[] = [KNS];
    const nsets = rnd(4);
    for (let i = 0; i < nsets; i++) {
      const members = Array.from({ length: rnd(5) }, () => (rnd(3) === 0 ? `10.${rnd(3)}.0.0/16` : `10.${rnd(3)}.0.${rnd(4)}/32`));
      msgs.push({ type: 'IPSetUpdate', id: `s:${i}`, ipsetType: 'net', members: [...new Set(members)] });
    }
    const pols = Array.from({ length: rnd(4) }, (_, i) =>
      policy('ns1', `p${i}`, [rule({ source: entity({ ipSetIds: nsets > 0 ? [`s:${rnd(nsets)}`] : [] }), destination: entity({ ports: ports(rnd(3) + 80) }), protocol: 6 })]),
    );
    msgs.push(...pols);
    for (let w = 0; w < rnd(5); w++) {
      const chosen = pols.filter(() => rnd(2) === 0).map((p) => p.key);
      msgs.push(workload('ns1', `w${w}`, `cali${w}`, `10.0.0.${w}`, chosen.length > 0 ? [tierInfo('default', chosen, chosen, rnd(2) ? 'Deny' : 'Pass')] : []));
    }
    return msgs;
  };
  for (let i = 0; i < 150; i++) {
    const a = render(randomState(), {}, rnd(2) ? [{ cidr: '10.0.0.0/16', natOutgoing: true }] : []);
    const b = render(randomState(), {}, rnd(2) ? [{ cidr: '10.0.0.0/16', natOutgoing: rnd(2) === 0 }] : []);
    const d = diffRuleset(fingerprintOf(a), b);
    const got = replay(fingerprintOf(a), d.commands);
    assert.ok(got !== undefined);
    assert.deepEqual(describeDrift(fingerprintOf(b), got), [], `round ${i}`);
    // Minimality: no chain whose rules did not change is written.
    const unchanged = [...b.chains.values()].filter((c) => {
      const o = fingerprintOf(a).chains.get(c.name);
      return o !== undefined && o.ruleIds.join() === c.rules.map((x) => x.id).join();
    });
    for (const c of unchanged) {
      assert.ok(!d.commands.some((cmd) => JSON.stringify(cmd).includes(`"chain":"${c.name}"`) || JSON.stringify(cmd).includes(`"name":"${c.name}"}`)), `${c.name} touched`);
    }
  }
});
