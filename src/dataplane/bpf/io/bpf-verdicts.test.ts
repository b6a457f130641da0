// Verdict tests: the compiled eBPF programs run on crafted packets (BPF_PROG_TEST_RUN), table
// driven, with map state written through the real programmer/encoders before and conntrack and
// counters asserted after. Root only (skipped otherwise); no interface of any namespace gets a
// program attached, and the rig's namespace and bpffs are removed at the end.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CalcMessage, RuleIR } from '../../../calc/index.ts';
import { DataplaneState } from '../../dataplane-state.ts';
import { entity, policy, ports, profile, rule, tierInfo, workload } from '../../test-support.ts';
import { BpfProgrammer, commandText } from '../bpf-programmer.ts';
import { CT_FLAGS, cfgValue, ctKey, ctValue, natAffKey, natAffValue, natBeKey, natBeValue, natFeKey, natFeValue, u32Key } from '../encoding.ts';
import type { CounterName } from '../encoding.ts';
import { TCP_FLAGS, ethPacket, ipv4Packet } from '../packet.ts';
import type { PacketSpec } from '../packet.ts';
import { BpfTestRig } from './bpf-test-rig.ts';
import type { RunCase, ScenarioResult } from './bpf-test-rig.ts';

const root = typeof process.getuid === 'function' && process.getuid() === 0;

const A_IP = '10.65.0.1';
const B_IP = '10.65.0.2';
const REMOTE = '10.65.1.5';
const VIP = '10.96.0.10';

type Hook = 'from' | 'to';
interface Step {
  readonly hook: Hook;
  readonly ep: 'A' | 'B' | 'unknown';
  readonly pkt: PacketSpec | Buffer;
  readonly expect: 'allow' | 'drop';
  /** Expected addresses after the program (NAT). */
  readonly out?: { src?: string; dst?: string; sport?: number; dport?: number };
}

interface Scenario {
  readonly name: string;
  readonly msgs: readonly CalcMessage[];
  /** Extra raw map writes (services, config), given the map path function. */
  readonly extra?: (path: (m: 'natFe' | 'natBe' | 'natAff' | 'cfg' | 'ct') => string) => string[];
  readonly steps: readonly Step[];
  readonly counters?: Partial<Record<CounterName, number>>;
  readonly check?: (r: ScenarioResult) => void;
}

const tcp = (src: string, dst: string, dport: number, o: Partial<PacketSpec> = {}): PacketSpec => ({ src, dst, proto: 'tcp', sport: 40000, dport, ...o });
const udp = (src: string, dst: string, dport: number, o: Partial<PacketSpec> = {}): PacketSpec => ({ src, dst, proto: 'udp', sport: 40000, dport, ...o });
const allow = (p: Partial<Omit<RuleIR, 'kind'>> = {}): RuleIR => rule({ action: 'allow', ...p });
const deny = (p: Partial<Omit<RuleIR, 'kind'>> = {}): RuleIR => rule({ action: 'deny', ...p });
const TCP = 6;
const UDP = 17;

/** Workload A (egress policies `outKeys`) and B (ingress `inKeys`), default tier, no profiles. */
function eps(aEgress: string[], bIngress: string[], o: { aIngress?: string[]; bEgress?: string[]; profiles?: string[] } = {}): CalcMessage[] {
  return [
    workload('x', 'a', 'caliA', A_IP, [tierInfo('default', o.aIngress ?? [], aEgress)], o.profiles ?? []),
    workload('x', 'b', 'caliB', B_IP, [tierInfo('default', bIngress, o.bEgress ?? [])], o.profiles ?? []),
  ];
}
const key = (name: string, ns = 'x'): string => `${ns === '' ? 'GlobalNetworkPolicy' : 'NetworkPolicy'}/${ns}/${name}`;

const SCENARIOS: Scenario[] = [
  {
    name: 'an endpoint with no policy and no profile denies everything',
    msgs: [workload('x', 'a', 'caliA', A_IP, [], []), { type: 'InSync' }],
    steps: [
      { hook: 'from', ep: 'A', pkt: tcp(A_IP, REMOTE, 80), expect: 'drop' },
      { hook: 'to', ep: 'A', pkt: tcp(REMOTE, A_IP, 80), expect: 'drop' },
    ],
    counters: { denied_by_policy: 2, allowed_by_policy: 0 },
  },
  {
    name: 'an interface the agent has not configured drops (fail closed)',
    msgs: [],
    steps: [{ hook: 'from', ep: 'unknown', pkt: tcp(A_IP, REMOTE, 80), expect: 'drop' }],
    counters: { unknown_interface: 1 },
  },
  {
    name: 'egress policy: allow tcp/80 only; the tier ends in deny',
    msgs: [policy('x', 'p', [], [allow({ protocol: TCP, destination: entity({ ports: ports(80) }) })]), ...eps([key('p')], [])],
    steps: [
      { hook: 'from', ep: 'A', pkt: tcp(A_IP, REMOTE, 80), expect: 'allow' },
      { hook: 'from', ep: 'A', pkt: tcp(A_IP, REMOTE, 81, { sport: 40001 }), expect: 'drop' },
      { hook: 'from', ep: 'A', pkt: udp(A_IP, REMOTE, 80), expect: 'drop' },
    ],
  },
  {
    name: 'profiles run after the tiers; the end-of-tier deny comes first',
    msgs: [
      policy('x', 'p', [], [allow({ protocol: TCP, destination: entity({ ports: ports(80) }) })]),
      profile('kns.x', [allow()], [allow()]),
      ...eps([key('p')], [], { profiles: ['kns.x'] }),
      workload('x', 'b', 'caliB', B_IP, [], ['kns.x']),
    ],
    steps: [
      { hook: 'from', ep: 'A', pkt: tcp(A_IP, REMOTE, 81), expect: 'drop' },
      { hook: 'from', ep: 'B', pkt: tcp(B_IP, REMOTE, 81), expect: 'allow' },
    ],
  },
  {
    name: 'Pass skips the rest of the tier into the next; a Pass-default tier falls through',
    msgs: [
      policy('x', 'p1', [], [rule({ action: 'pass', protocol: TCP, destination: entity({ ports: ports(82) }) }), allow({ protocol: TCP, destination: entity({ ports: ports(80) }) })], 't1'),
      policy('x', 'p2', [], [deny({ protocol: TCP, destination: entity({ ports: ports(82) }) })], 't1'),
      policy('x', 'p3', [], [allow({ protocol: TCP, destination: entity({ ports: ports(82, 83) }) })], 't2'),
      workload('x', 'a', 'caliA', A_IP, [tierInfo('t1', [], [key('p1'), key('p2')]), tierInfo('t2', [], [key('p3')])], []),
      workload('x', 'b', 'caliB', B_IP, [tierInfo('t1', [], [key('p2')], 'Pass'), tierInfo('t2', [], [key('p3')])], []),
    ],
    steps: [
      { hook: 'from', ep: 'A', pkt: tcp(A_IP, REMOTE, 80), expect: 'allow' },
      { hook: 'from', ep: 'A', pkt: tcp(A_IP, REMOTE, 82, { sport: 1 }), expect: 'allow' },
      { hook: 'from', ep: 'A', pkt: tcp(A_IP, REMOTE, 83, { sport: 2 }), expect: 'drop' },
      { hook: 'from', ep: 'B', pkt: tcp(B_IP, REMOTE, 83), expect: 'allow' },
      { hook: 'from', ep: 'B', pkt: tcp(B_IP, REMOTE, 82, { sport: 3 }), expect: 'drop' },
    ],
  },
  {
    name: 'rules in order: deny before allow; Log counts and continues',
    msgs: [
      policy('x', 'p', [rule({ action: 'log' }), deny({ source: entity({ nets: ['10.65.1.0/24'] }) }), allow()]),
      ...eps([], [key('p')]),
    ],
    steps: [
      { hook: 'to', ep: 'B', pkt: tcp(REMOTE, B_IP, 80), expect: 'drop' },
      { hook: 'to', ep: 'B', pkt: tcp('10.65.2.9', B_IP, 80), expect: 'allow' },
    ],
    counters: { log_rule: 2 },
  },
  {
    name: 'IP sets, notNets and notSelector sets',
    msgs: [
      { type: 'IPSetUpdate', id: 's:pods', ipsetType: 'net', members: ['10.65.0.0/24', '10.65.1.5'] },
      { type: 'IPSetUpdate', id: 's:bad', ipsetType: 'net', members: ['10.65.0.9/32'] },
      policy('x', 'p', [allow({ source: entity({ ipSetIds: ['s:pods'], notIpSetIds: ['s:bad'], notNets: ['10.65.0.7/32'] }) })]),
      ...eps([], [key('p')]),
    ],
    steps: [
      { hook: 'to', ep: 'B', pkt: tcp(REMOTE, B_IP, 80), expect: 'allow' },
      { hook: 'to', ep: 'B', pkt: tcp('10.65.0.3', B_IP, 80), expect: 'allow' },
      { hook: 'to', ep: 'B', pkt: tcp('10.65.0.9', B_IP, 80), expect: 'drop' },
      { hook: 'to', ep: 'B', pkt: tcp('10.65.0.7', B_IP, 80), expect: 'drop' },
      { hook: 'to', ep: 'B', pkt: tcp('10.65.1.6', B_IP, 80), expect: 'drop' },
    ],
  },
  {
    name: 'named ports: (address, protocol, port) members; OR with numeric ports; port ranges',
    msgs: [
      { type: 'IPSetUpdate', id: 'n:http', ipsetType: 'ip-port', members: [{ ip: B_IP, protocol: TCP, port: 8080 }] },
      policy('x', 'p', [allow({ protocol: TCP, destination: entity({ ports: ports([9000, 9010]), namedPortIpSetIds: ['n:http'] }) })]),
      ...eps([], [key('p')]),
    ],
    steps: [
      { hook: 'to', ep: 'B', pkt: tcp(REMOTE, B_IP, 8080), expect: 'allow' },
      { hook: 'to', ep: 'B', pkt: tcp(REMOTE, B_IP, 9005, { sport: 2 }), expect: 'allow' },
      { hook: 'to', ep: 'B', pkt: tcp(REMOTE, B_IP, 9011, { sport: 3 }), expect: 'drop' },
      { hook: 'to', ep: 'B', pkt: udp(REMOTE, B_IP, 8080), expect: 'drop' },
    ],
  },
  {
    name: 'notPorts, notProtocol and ICMP type matches',
    msgs: [
      policy('x', 'p', [
        allow({ protocol: 1, icmp: { kind: 'ICMPMatch', type: 8, code: undefined } }),
        allow({ protocol: TCP, destination: entity({ notPorts: ports(22) }) }),
        allow({ notProtocol: TCP, protocol: undefined, destination: entity({ ports: [] }) , source: entity({ nets: ['10.65.9.0/24'] }) }),
      ]),
      ...eps([], [key('p')]),
    ],
    steps: [
      { hook: 'to', ep: 'B', pkt: { src: REMOTE, dst: B_IP, proto: 'icmp', icmpType: 8 }, expect: 'allow' },
      { hook: 'to', ep: 'B', pkt: { src: REMOTE, dst: B_IP, proto: 'icmp', icmpType: 13, icmpId: 9 }, expect: 'drop' },
      { hook: 'to', ep: 'B', pkt: tcp(REMOTE, B_IP, 80), expect: 'allow' },
      { hook: 'to', ep: 'B', pkt: tcp(REMOTE, B_IP, 22, { sport: 2 }), expect: 'drop' },
      { hook: 'to', ep: 'B', pkt: udp('10.65.9.1', B_IP, 53), expect: 'allow' },
      { hook: 'to', ep: 'B', pkt: tcp('10.65.9.1', B_IP, 22, { sport: 3 }), expect: 'drop' },
    ],
  },
  {
    name: 'an endpoint naming a policy we do not hold is denied (fail closed)',
    msgs: [profile('kns.x', [allow()]), workload('x', 'b', 'caliB', B_IP, [tierInfo('default', [key('missing')])], ['kns.x'])],
    steps: [{ hook: 'to', ep: 'B', pkt: tcp(REMOTE, B_IP, 80), expect: 'drop' }],
  },
  {
    name: 'conntrack: replies pass without policy once both legs approved; flags recorded',
    msgs: [policy('x', 'out', [], [allow()]), policy('x', 'in', [allow()]), ...eps([key('out')], [key('in')])],
    steps: [
      { hook: 'from', ep: 'A', pkt: tcp(A_IP, B_IP, 80), expect: 'allow' },
      { hook: 'to', ep: 'B', pkt: tcp(A_IP, B_IP, 80), expect: 'allow' },
      { hook: 'from', ep: 'B', pkt: tcp(B_IP, A_IP, 40000, { sport: 80, tcpFlags: TCP_FLAGS.SYN | TCP_FLAGS.ACK }), expect: 'allow' },
      { hook: 'to', ep: 'A', pkt: tcp(B_IP, A_IP, 40000, { sport: 80, tcpFlags: TCP_FLAGS.SYN | TCP_FLAGS.ACK }), expect: 'allow' },
      { hook: 'from', ep: 'A', pkt: tcp(A_IP, B_IP, 80, { tcpFlags: TCP_FLAGS.ACK }), expect: 'allow' },
    ],
    counters: { allowed_by_policy: 2, established: 3 },
    // the SYN is seen on two hooks, the SYN-ACK on two, the ACK on one
    check: (r) => {
      assert.equal(r.ct.length, 1);
      const e = r.ct[0];
      assert.ok(e !== undefined);
      assert.equal(e.a, A_IP);
      assert.equal(e.pb, 80);
      assert.equal(e.flags & (CT_FLAGS.LEG_SRC | CT_FLAGS.LEG_DST | CT_FLAGS.REPLY_SEEN | CT_FLAGS.OPENER_A), CT_FLAGS.LEG_SRC | CT_FLAGS.LEG_DST | CT_FLAGS.REPLY_SEEN | CT_FLAGS.OPENER_A);
      assert.equal(e.packets, 5n);
    },
  },
  {
    name: 'conntrack: a reply on a leg the destination never approved is dropped; no entry for a denied flow',
    msgs: [policy('x', 'out', [], [allow()]), ...eps([key('out')], [])],
    steps: [
      { hook: 'from', ep: 'A', pkt: tcp(A_IP, B_IP, 80), expect: 'allow' },
      { hook: 'to', ep: 'B', pkt: tcp(A_IP, B_IP, 80), expect: 'drop' },
      { hook: 'from', ep: 'B', pkt: tcp(B_IP, A_IP, 40000, { sport: 80, tcpFlags: TCP_FLAGS.ACK }), expect: 'drop' },
      { hook: 'from', ep: 'B', pkt: tcp(B_IP, REMOTE, 80), expect: 'drop' },
    ],
    counters: { reverse_unapproved: 1 },
    check: (r) => assert.equal(r.ct.length, 1),
  },
  {
    name: 'conntrack: a flow from outside is approved on the destination hook for both legs',
    msgs: [policy('x', 'in', [allow()]), ...eps([], [key('in')])],
    steps: [
      { hook: 'to', ep: 'B', pkt: udp(REMOTE, B_IP, 53), expect: 'allow' },
      { hook: 'from', ep: 'B', pkt: udp(B_IP, REMOTE, 40000, { sport: 53 }), expect: 'allow' },
    ],
    counters: { established: 1 },
  },
  {
    name: 'conntrack: an ICMP error about a tracked flow is related; an unrelated one meets policy',
    msgs: [policy('x', 'out', [], [allow()]), ...eps([key('out')], [])],
    steps: [
      { hook: 'from', ep: 'A', pkt: udp(A_IP, REMOTE, 53), expect: 'allow' },
      { hook: 'to', ep: 'A', pkt: { src: REMOTE, dst: A_IP, proto: 'icmp', icmpType: 3, icmpCode: 3, icmpBody: ipv4Packet(udp(A_IP, REMOTE, 53)).slice(0, 28), icmpId: 0 }, expect: 'allow' },
      { hook: 'to', ep: 'A', pkt: { src: REMOTE, dst: A_IP, proto: 'icmp', icmpType: 3, icmpCode: 3, icmpBody: ipv4Packet(udp(A_IP, REMOTE, 54)).slice(0, 28), icmpId: 0 }, expect: 'drop' },
    ],
    counters: { icmp_related: 1 },
  },
  {
    name: 'conntrack: entries expire by the configured timeouts (UDP 1 s here; TCP established keeps the default)',
    msgs: [policy('x', 'in', [allow({ protocol: TCP, destination: entity({ ports: ports(1) }) })]), ...eps([], [key('in')])],
    extra: (path) => {
      const now = process.hrtime.bigint(); // CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns
      const est = CT_FLAGS.LEG_SRC | CT_FLAGS.LEG_DST | CT_FLAGS.REPLY_SEEN;
      const u = ctKey(REMOTE, 40000, B_IP, 53, UDP);
      const t = ctKey(REMOTE, 40000, B_IP, 80, TCP);
      const v = (srcIsA: boolean): string => ctValue({ createdNs: now - 5_000_000_000n, lastSeenNs: now - 2_000_000_000n, flags: est | (srcIsA ? CT_FLAGS.OPENER_A : 0) });
      return [
        `map update pinned ${path('cfg')} key ${u32Key(0)} value ${cfgValue({ tcpSynSent: 0, tcpEstablished: 0, tcpFinsSeen: 0, tcpResetSeen: 0, udp: 1, generic: 0, icmp: 0 })}`,
        `map update pinned ${path('ct')} key ${u.key} value ${v(u.srcIsA)}`,
        `map update pinned ${path('ct')} key ${t.key} value ${v(t.srcIsA)}`,
      ];
    },
    steps: [
      { hook: 'to', ep: 'B', pkt: udp(REMOTE, B_IP, 53), expect: 'drop' },
      { hook: 'to', ep: 'B', pkt: tcp(REMOTE, B_IP, 80, { tcpFlags: TCP_FLAGS.ACK }), expect: 'allow' },
    ],
    counters: { conntrack_expired: 1, established: 1, denied_by_policy: 1 },
  },
  {
    name: 'service DNAT: ClusterIP → backend, policy on the backend, replies un-NATted, source kept',
    msgs: [policy('x', 'out', [], [allow({ destination: entity({ nets: [`${B_IP}/32`] }) })]), ...eps([key('out')], [])],
    extra: (path) => [
      `map update pinned ${path('natFe')} key ${natFeKey(VIP, 80, TCP)} value ${natFeValue({ svc: 7, count: 1, affinitySecs: 0 })}`,
      `map update pinned ${path('natBe')} key ${natBeKey(7, 0)} value ${natBeValue(B_IP, 8080)}`,
    ],
    steps: [
      { hook: 'from', ep: 'A', pkt: tcp(A_IP, VIP, 80), expect: 'allow', out: { src: A_IP, dst: B_IP, dport: 8080 } },
      { hook: 'from', ep: 'A', pkt: tcp(A_IP, VIP, 80, { tcpFlags: TCP_FLAGS.ACK }), expect: 'allow', out: { dst: B_IP, dport: 8080 } },
      { hook: 'to', ep: 'A', pkt: tcp(B_IP, A_IP, 40000, { sport: 8080, tcpFlags: TCP_FLAGS.SYN | TCP_FLAGS.ACK }), expect: 'allow', out: { src: VIP, sport: 80, dst: A_IP } },
      { hook: 'from', ep: 'A', pkt: udp(A_IP, VIP, 80), expect: 'drop' },
    ],
    counters: { nat_frontend_hit: 1, nat_reverse: 1 },
    check: (r) => {
      assert.deepEqual(r.ct.map((e) => e.type).sort(), ['nat-fwd', 'normal']);
      const fwd = r.ct.find((e) => e.type === 'nat-fwd');
      assert.equal(fwd?.natIP, B_IP);
      assert.equal(fwd?.natPort, 8080);
    },
  },
  {
    name: 'service DNAT: no backend drops; ClientIP affinity keeps one backend',
    msgs: [policy('x', 'out', [], [allow()]), ...eps([key('out')], [])],
    extra: (path) => [
      `map update pinned ${path('natFe')} key ${natFeKey(VIP, 80, TCP)} value ${natFeValue({ svc: 7, count: 0, affinitySecs: 0 })}`,
      `map update pinned ${path('natFe')} key ${natFeKey(VIP, 81, TCP)} value ${natFeValue({ svc: 8, count: 2, affinitySecs: 600 })}`,
      `map update pinned ${path('natBe')} key ${natBeKey(8, 0)} value ${natBeValue(B_IP, 81)}`,
      `map update pinned ${path('natBe')} key ${natBeKey(8, 1)} value ${natBeValue(REMOTE, 81)}`,
    ],
    steps: [
      { hook: 'from', ep: 'A', pkt: tcp(A_IP, VIP, 80), expect: 'drop' },
      ...Array.from({ length: 12 }, (_, i): Step => ({ hook: 'from', ep: 'A', pkt: tcp(A_IP, VIP, 81, { sport: 1000 + i }), expect: 'allow' })),
    ],
    counters: { nat_no_backend: 1, nat_frontend_hit: 13 },
    check: (r) => {
      const backends = new Set(r.runs.slice(1).map((x) => x.out?.dst));
      assert.equal(backends.size, 1, `affinity: one backend, got ${[...backends].join(',')}`);
      assert.ok(r.runs.slice(1).every((x) => x.out?.checksumsOk === true));
    },
  },
  {
    name: 'service affinity by time: a pin younger than the timeout holds, an older one is replaced; no affinity spreads',
    msgs: [policy('x', 'out', [], [allow()]), ...eps([key('out')], [])],
    extra: (path) => {
      const now = process.hrtime.bigint(); // CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns
      return [
        // :82 and :83 have one backend (B) and a 2 s timeout; the client is pinned to REMOTE,
        // 1 s ago on :82 (still valid: REMOTE wins over the only listed backend), 3 s ago on :83
        `map update pinned ${path('natFe')} key ${natFeKey(VIP, 82, TCP)} value ${natFeValue({ svc: 9, count: 1, affinitySecs: 2 })}`,
        `map update pinned ${path('natBe')} key ${natBeKey(9, 0)} value ${natBeValue(B_IP, 82)}`,
        `map update pinned ${path('natAff')} key ${natAffKey(VIP, 82, TCP, A_IP)} value ${natAffValue({ tsNs: now - 1_000_000_000n, ip: REMOTE, port: 82 })}`,
        `map update pinned ${path('natFe')} key ${natFeKey(VIP, 83, TCP)} value ${natFeValue({ svc: 10, count: 1, affinitySecs: 2 })}`,
        `map update pinned ${path('natBe')} key ${natBeKey(10, 0)} value ${natBeValue(B_IP, 83)}`,
        `map update pinned ${path('natAff')} key ${natAffKey(VIP, 83, TCP, A_IP)} value ${natAffValue({ tsNs: now - 3_000_000_000n, ip: REMOTE, port: 83 })}`,
        // :84: two backends, no affinity
        `map update pinned ${path('natFe')} key ${natFeKey(VIP, 84, TCP)} value ${natFeValue({ svc: 11, count: 2, affinitySecs: 0 })}`,
        `map update pinned ${path('natBe')} key ${natBeKey(11, 0)} value ${natBeValue(B_IP, 84)}`,
        `map update pinned ${path('natBe')} key ${natBeKey(11, 1)} value ${natBeValue(REMOTE, 84)}`,
      ];
    },
    steps: [
      { hook: 'from', ep: 'A', pkt: tcp(A_IP, VIP, 82, { sport: 2000 }), expect: 'allow', out: { dst: REMOTE, dport: 82 } },
      { hook: 'from', ep: 'A', pkt: tcp(A_IP, VIP, 82, { sport: 2001 }), expect: 'allow', out: { dst: REMOTE, dport: 82 } },
      { hook: 'from', ep: 'A', pkt: tcp(A_IP, VIP, 83, { sport: 2002 }), expect: 'allow', out: { dst: B_IP, dport: 83 } },
      { hook: 'from', ep: 'A', pkt: tcp(A_IP, VIP, 83, { sport: 2003 }), expect: 'allow', out: { dst: B_IP, dport: 83 } },
      ...Array.from({ length: 24 }, (_, i): Step => ({ hook: 'from', ep: 'A', pkt: tcp(A_IP, VIP, 84, { sport: 3000 + i }), expect: 'allow' })),
    ],
    counters: { nat_frontend_hit: 28 },
    check: (r) => {
      // 24 random picks over two backends all landing on one: 2 × 2^-24
      const spread = new Set(r.runs.slice(4).map((x) => x.out?.dst));
      assert.deepEqual([...spread].sort(), [B_IP, REMOTE].sort(), 'without affinity, new connections spread over the backends');
    },
  },
];

// Malformed packets: every one dropped (or, for ARP, passed) before any policy or map lookup.
const good = [...ethPacket(tcp(A_IP, REMOTE, 80))];
const mutate = (f: (b: number[]) => void): Buffer => {
  const b = [...good];
  f(b);
  return Buffer.from(b);
};
const MALFORMED: { name: string; pkt: Buffer; expect: 'allow' | 'drop'; counter: CounterName }[] = [
  // (BPF_PROG_TEST_RUN itself refuses an IPv4 frame shorter than Ethernet + 20 bytes)
  { name: 'IP options past the end of the frame', pkt: mutate((b) => (b[14] = 0x46)).subarray(0, 14 + 20), expect: 'drop', counter: 'malformed' },
  { name: 'TCP with no L4 header at all', pkt: Buffer.from(good.slice(0, 14 + 20)), expect: 'drop', counter: 'malformed' },
  { name: 'IHL below 5', pkt: mutate((b) => (b[14] = 0x44)), expect: 'drop', counter: 'malformed' },
  { name: 'IP version 6 in an IPv4 frame', pkt: mutate((b) => (b[14] = 0x65)), expect: 'drop', counter: 'malformed' },
  { name: 'IHL past the end of the packet', pkt: Buffer.from(mutate((b) => (b[14] = 0x4f)).subarray(0, 14 + 40)), expect: 'drop', counter: 'malformed' },
  { name: 'total length below the header', pkt: mutate((b) => ((b[16] = 0), (b[17] = 10))), expect: 'drop', counter: 'malformed' },
  { name: 'TCP header cut short', pkt: Buffer.from(good.slice(0, 14 + 20 + 10)), expect: 'drop', counter: 'malformed' },
  { name: 'TCP data offset below 5', pkt: mutate((b) => (b[14 + 20 + 12] = 0x40)), expect: 'drop', counter: 'malformed' },
  { name: 'a later fragment (no L4 header)', pkt: mutate((b) => ((b[14 + 6] = 0x00), (b[14 + 7] = 0x10))), expect: 'drop', counter: 'fragment' },
  { name: 'IPv6 ethertype', pkt: mutate((b) => ((b[12] = 0x86), (b[13] = 0xdd))), expect: 'drop', counter: 'not_ipv4' },
  { name: 'ARP passes (proxy ARP for the pod gateway needs it)', pkt: mutate((b) => ((b[12] = 0x08), (b[13] = 0x06))), expect: 'allow', counter: 'arp' },
];

void describe('eBPF programs: verdicts on crafted packets (BPF_PROG_TEST_RUN)', { skip: root ? false : 'needs root' }, () => {
  let rig: BpfTestRig;
  before(async () => {
    rig = await BpfTestRig.create();
  });
  after(async () => {
    await rig?.dispose();
  });

  const ifOf = (ep: 'A' | 'B' | 'unknown'): number => (ep === 'A' ? rig.ifindexes[0] : ep === 'B' ? rig.ifindexes[1] : rig.ifindexes[2]) ?? 0;

  for (const s of SCENARIOS) {
    void it(s.name, async () => {
      const objs = await rig.fresh();
      const state = new DataplaneState();
      state.applyAll(s.msgs);
      const prog = new BpfProgrammer();
      const plan = prog.plan(state, (n) => (n === 'caliA' ? ifOf('A') : n === 'caliB' ? ifOf('B') : undefined));
      const writes = [...plan.commands.map((c) => commandText(c, rig.pathOf(objs))), ...(s.extra?.((m) => objs.maps[m]) ?? [])];
      const runs: RunCase[] = s.steps.map((st) => ({ hook: st.hook, ifindex: ifOf(st.ep), packet: st.pkt }));
      const r = await rig.scenario(objs, writes, runs);
      s.steps.forEach((st, i) => {
        const got = r.runs[i];
        assert.equal(got?.verdict, st.expect, `step ${i + 1} (${st.hook} ${st.ep}): expected ${st.expect}`);
        if (st.out !== undefined) {
          for (const [k, v] of Object.entries(st.out)) assert.equal(got?.out?.[k as keyof typeof st.out], v, `step ${i + 1}: ${k}`);
          assert.equal(got?.out?.checksumsOk, true, `step ${i + 1}: checksums after rewrite`);
        }
      });
      for (const [c, n] of Object.entries(s.counters ?? {})) assert.equal(r.counters.get(c as CounterName), BigInt(n), `counter ${c}`);
      s.check?.(r);
    });
  }

  void it('malformed packets: dropped before policy, each counted by reason', async () => {
    const objs = await rig.fresh();
    const state = new DataplaneState();
    state.applyAll([profile('kns.x', [allow()]), workload('x', 'a', 'caliA', A_IP, [], ['kns.x'])]);
    const plan = new BpfProgrammer().plan(state, () => ifOf('A'));
    const r = await rig.scenario(
      objs,
      plan.commands.map((c) => commandText(c, rig.pathOf(objs))),
      MALFORMED.map((m) => ({ hook: 'from', ifindex: ifOf('A'), packet: m.pkt })),
    );
    MALFORMED.forEach((m, i) => assert.equal(r.runs[i]?.verdict, m.expect, m.name));
    for (const c of new Set(MALFORMED.map((m) => m.counter))) {
      assert.equal(r.counters.get(c), BigInt(MALFORMED.filter((m) => m.counter === c).length), `counter ${c}`);
    }
    assert.equal(r.counters.get('allowed_by_policy'), 0n);
    assert.equal(r.ct.length, 0);
  });

  void it('a policy swap is two writes: the new block, then the slot flip; the old block still answers before the flip', async () => {
    const objs = await rig.fresh();
    const state = new DataplaneState();
    const prog = new BpfProgrammer();
    const ifindexOf = (): number => ifOf('B');
    state.applyAll([policy('x', 'p', [allow({ protocol: TCP, destination: entity({ ports: ports(80) }) })]), workload('x', 'b', 'caliB', B_IP, [tierInfo('default', [key('p')])], [])]);
    const first = prog.plan(state, ifindexOf);
    prog.commit();
    state.apply(policy('x', 'p', [allow({ protocol: TCP, destination: entity({ ports: ports(81) }) })]));
    const second = prog.plan(state, ifindexOf);
    const flipAt = second.commands.findIndex((c) => c.map === 'pol');
    assert.ok(flipAt > 0, 'the flip comes after the new block');
    assert.ok(second.commands.slice(0, flipAt).every((c) => c.map === 'rules' && c.op === 'update'));
    assert.equal(second.commands.filter((c) => c.map === 'ifs').length, 0, 'the endpoint program is untouched');
    const path = rig.pathOf(objs);
    const probe = (dport: number, sport: number): RunCase => ({ hook: 'to', ifindex: ifOf('B'), packet: tcp(REMOTE, B_IP, dport, { sport }) });
    // Prefix: the first plan plus the new block without the flip → still the old policy.
    const r1 = await rig.scenario(objs, [...first.commands, ...second.commands.slice(0, flipAt)].map((c) => commandText(c, path)), [probe(80, 1), probe(81, 2)]);
    assert.deepEqual(r1.runs.map((x) => x.verdict), ['allow', 'drop']);
    const r2 = await rig.scenario(objs, second.commands.slice(flipAt).map((c) => commandText(c, path)), [probe(80, 3), probe(81, 4)]);
    assert.deepEqual(r2.runs.map((x) => x.verdict), ['drop', 'allow']);
  });
});
