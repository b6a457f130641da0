// Rule IR → nft expressions, one case per IR feature, asserted as JSON (the real-kernel half of
// the check is test/e2e/nft-driver.test.ts, which loads these through `nft -c` and for real).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RuleIR } from '../../calc/index.ts';
import { mergeCIDRs, renderRule, ruleFamilies } from './rule-renderer.ts';
import type { RuleRenderContext } from './rule-renderer.ts';
import { entity, ports, rule } from '../test-support.ts';

const ACT = [{ accept: null }];
const ctx: RuleRenderContext = { setName: (id, fam, kind) => (id.endsWith(':gone') ? undefined : `${kind}${fam}-${id}`), action: ACT };

const m = (op: string, left: unknown, right: unknown) => ({ match: { op, left, right } });
const nf = (f: 'ipv4' | 'ipv6') => m('==', { meta: { key: 'nfproto' } }, f);
const l4 = (op: string, n: unknown) => m(op, { meta: { key: 'l4proto' } }, n);
const pl = (protocol: string, field: string) => ({ payload: { protocol, field } });
const named = (ip: string, dir: string, port: string) => ({ concat: [pl(ip, dir), { meta: { key: 'l4proto' } }, pl('th', port)] });

const cases: { name: string; rule: RuleIR; want: unknown[][] }[] = [
  { name: 'match-all is one family-neutral rule', rule: rule(), want: [ACT] },
  { name: 'unsupported never matches', rule: rule({ unsupported: true }), want: [] },
  { name: 'protocol', rule: rule({ protocol: 17 }), want: [[l4('==', 17), ...ACT]] },
  { name: 'notProtocol', rule: rule({ notProtocol: 6 }), want: [[l4('!=', 6), ...ACT]] },
  { name: 'ipVersion only', rule: rule({ ipVersion: 6 }), want: [[nf('ipv6'), ...ACT]] },
  {
    name: 'tcp ports merged; single ports share one hash set, each range is its own alternative (no interval set)',
    rule: rule({ protocol: 6, destination: entity({ ports: ports(80, [1000, 2000], [1500, 2500], 82, 443) }) }),
    want: [
      [l4('==', 6), m('==', pl('tcp', 'dport'), { set: [80, 82, 443] }), ...ACT],
      [l4('==', 6), m('==', pl('tcp', 'dport'), { range: [1000, 2500] }), ...ACT],
    ],
  },
  {
    name: 'more alternatives than MAX_SPLIT_ALTERNATIVES fall back to one anonymous interval set',
    rule: rule({ protocol: 6, destination: entity({ ports: ports(...Array.from({ length: 9 }, (_, i): [number, number] => [i * 10, i * 10 + 1])) }) }),
    want: [[l4('==', 6), m('==', pl('tcp', 'dport'), { set: Array.from({ length: 9 }, (_, i) => ({ range: [i * 10, i * 10 + 1] })) }), ...ACT]],
  },
  {
    name: 'notPorts',
    rule: rule({ protocol: 17, source: entity({ notPorts: ports(53) }) }),
    want: [[l4('==', 17), m('!=', pl('udp', 'sport'), 53), ...ACT]],
  },
  {
    name: 'notPorts with ranges: a conjunction of negations',
    rule: rule({ protocol: 17, source: entity({ notPorts: ports(53, 67, [100, 200]) }) }),
    want: [[l4('==', 17), m('!=', pl('udp', 'sport'), { set: [53, 67] }), m('!=', pl('udp', 'sport'), { range: [100, 200] }), ...ACT]],
  },
  {
    name: 'nets split by family; covered CIDRs merged; hosts in one set, each prefix its own alternative; a family with no positive CIDR is skipped',
    rule: rule({ source: entity({ nets: ['10.0.0.0/8', '10.1.0.0/16', '192.168.1.7/32', '192.168.1.8/32'] }) }),
    want: [
      [nf('ipv4'), m('==', pl('ip', 'saddr'), { set: ['192.168.1.7', '192.168.1.8'] }), ...ACT],
      [nf('ipv4'), m('==', pl('ip', 'saddr'), { prefix: { addr: '10.0.0.0', len: 8 } }), ...ACT],
    ],
  },
  {
    name: 'notNets with hosts and prefixes: a conjunction of negations',
    rule: rule({ source: entity({ notNets: ['10.0.0.0/8', '192.168.1.7/32', '192.168.1.8/32'] }) }),
    want: [
      [nf('ipv4'), m('!=', pl('ip', 'saddr'), { set: ['192.168.1.7', '192.168.1.8'] }), m('!=', pl('ip', 'saddr'), { prefix: { addr: '10.0.0.0', len: 8 } }), ...ACT],
      [nf('ipv6'), ...ACT],
    ],
  },
  {
    name: 'a set that is not programmed (empty): a positive match drops the rule, a negated one drops the term',
    rule: rule({ ipVersion: 4, source: entity({ notIpSetIds: ['s:gone'] }), destination: entity({ namedPortIpSetIds: ['n:gone', 'n:x'] }) }),
    want: [[nf('ipv4'), m('==', named('ip', 'daddr', 'dport'), '@port4-n:x'), ...ACT]],
  },
  {
    name: 'notNets apply to both families, each its own',
    rule: rule({ destination: entity({ notNets: ['10.0.0.0/8', 'fd00::/8'] }) }),
    want: [
      [nf('ipv4'), m('!=', pl('ip', 'daddr'), { prefix: { addr: '10.0.0.0', len: 8 } }), ...ACT],
      [nf('ipv6'), m('!=', pl('ip6', 'daddr'), { prefix: { addr: 'fd00::', len: 8 } }), ...ACT],
    ],
  },
  {
    name: 'selector and notSelector sets, both families',
    rule: rule({ source: entity({ ipSetIds: ['s:a', 's:b'], notIpSetIds: ['s:c'] }) }),
    want: [
      [nf('ipv4'), m('==', pl('ip', 'saddr'), '@addr4-s:a'), m('==', pl('ip', 'saddr'), '@addr4-s:b'), m('!=', pl('ip', 'saddr'), '@addr4-s:c'), ...ACT],
      [nf('ipv6'), m('==', pl('ip6', 'saddr'), '@addr6-s:a'), m('==', pl('ip6', 'saddr'), '@addr6-s:b'), m('!=', pl('ip6', 'saddr'), '@addr6-s:c'), ...ACT],
    ],
  },
  {
    name: 'numeric ports OR named ports become alternatives',
    rule: rule({ ipVersion: 4, protocol: 6, destination: entity({ ports: ports(443), namedPortIpSetIds: ['n:x'] }) }),
    want: [
      [nf('ipv4'), l4('==', 6), m('==', pl('tcp', 'dport'), 443), ...ACT],
      [nf('ipv4'), l4('==', 6), m('==', named('ip', 'daddr', 'dport'), '@port4-n:x'), ...ACT],
    ],
  },
  {
    name: 'notNamedPorts',
    rule: rule({ ipVersion: 4, source: entity({ notNamedPortIpSetIds: ['n:y'] }) }),
    want: [[nf('ipv4'), m('!=', named('ip', 'saddr', 'sport'), '@port4-n:y'), ...ACT]],
  },
  {
    name: 'ports without a protocol are guarded to port-carrying protocols',
    rule: rule({ destination: entity({ ports: ports(8080) }) }),
    want: [[m('==', { meta: { key: 'l4proto' } }, { set: [6, 17, 132] }), m('==', pl('th', 'dport'), 8080), ...ACT]],
  },
  {
    name: 'ICMP type and code (IPv4 only)',
    rule: rule({ protocol: 1, icmp: { kind: 'ICMPMatch', type: 8, code: 0 } }),
    want: [[nf('ipv4'), l4('==', 1), m('==', pl('icmp', 'type'), 8), m('==', pl('icmp', 'code'), 0), ...ACT]],
  },
  {
    name: 'notICMP type (ICMPv6 only)',
    rule: rule({ protocol: 58, notICMP: { kind: 'ICMPMatch', type: 128, code: undefined } }),
    want: [[nf('ipv6'), l4('==', 58), m('!=', pl('icmpv6', 'type'), 128), ...ACT]],
  },
  {
    name: 'notICMP type and code',
    rule: rule({ protocol: 1, notICMP: { kind: 'ICMPMatch', type: 3, code: 4 } }),
    want: [[nf('ipv4'), l4('==', 1), m('!=', { concat: [pl('icmp', 'type'), pl('icmp', 'code')] }, { set: [{ concat: [3, 4] }] }), ...ACT]],
  },
];

for (const c of cases) {
  void test(`renderRule: ${c.name}`, () => {
    assert.deepEqual(JSON.parse(JSON.stringify(renderRule(c.rule, ctx))), c.want);
  });
}

void test('ruleFamilies: an IPv4-only rule with IPv6 nets renders nothing', () => {
  assert.deepEqual(ruleFamilies(rule({ ipVersion: 4, source: entity({ nets: ['fd00::/8'] }) })), []);
});

void test('mergeCIDRs drops covered prefixes and keeps disjoint or adjacent ones', () => {
  const table: [string[], string[]][] = [
    [['10.0.0.0/8', '10.1.0.0/16'], ['10.0.0.0/8']],
    [['10.0.0.0/25', '10.0.0.128/25'], ['10.0.0.0/25', '10.0.0.128/25']],
    [['fd00::/8', 'fd00:1::/32', '10.0.0.1/32'], ['10.0.0.1/32', 'fd00::/8']],
    [['0.0.0.0/0', '1.2.3.4/32'], ['0.0.0.0/0']],
  ];
  for (const [input, want] of table) assert.deepEqual(mergeCIDRs(input), want);
});

void test('mergeCIDRs property: no output prefix is covered by another, and every input is covered by an output', () => {
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  for (let round = 0; round < 200; round++) {
    const input = Array.from({ length: 1 + rnd(8) }, () => `10.${rnd(4)}.${rnd(4) * 64}.0/${[8, 16, 18, 24, 26][rnd(5)]}`).map((c) => {
      const [a = '', l = '32'] = c.split('/');
      const v = a.split('.').reduce((x, o) => x * 256 + Number(o), 0);
      const len = Number(l);
      const masked = len === 0 ? 0 : Math.floor(v / 2 ** (32 - len)) * 2 ** (32 - len);
      return `${[24, 16, 8, 0].map((s) => Math.floor(masked / 2 ** s) % 256).join('.')}/${len}`;
    });
    const out = mergeCIDRs(input);
    const covers = (outer: string, inner: string) => {
      const [oa = '', ol = ''] = outer.split('/');
      const [ia = '', il = ''] = inner.split('/');
      const bits = (a: string) => a.split('.').map((o) => Number(o).toString(2).padStart(8, '0')).join('');
      return Number(ol) <= Number(il) && bits(oa).slice(0, Number(ol)) === bits(ia).slice(0, Number(ol));
    };
    for (const a of out) for (const b of out) if (a !== b) assert.ok(!covers(a, b), `${a} covers ${b} in ${out.join(',')}`);
    for (const i of input) assert.ok(out.some((o) => covers(o, i)), `${i} lost`);
  }
});
