// The agent's pure parts: settings resolution, what it reads and how that becomes calc input,
// the tunnel-address write-back decision, the metrics text and the coalescing runner.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FelixConfiguration } from '../api/index.ts';
import { mergeFelixSpecs, parseDurationMs, poolInfos, resolveAgentSettings } from './agent-config.ts';
import { MetricsRegistry, parseMetricsText } from './metrics.ts';
import { renderBGPStatusText } from './agent-status.ts';
import type { AgentStatus } from './agent-status.ts';
import { DecodingUpdateSource, selectionPrefixes } from '../datastore/index.ts';
import { AGENT_SELECTION, calcUpdateOf, isCalcUpdate } from './update-selection.ts';
import { tunnelAddressAction } from './io/node-tunnel-writer.ts';
import type { EncapsulationUpdate, HostMetadataUpdate } from '../calc/index.ts';

const felix = (name: string, spec: Record<string, unknown>): FelixConfiguration =>
  ({ apiVersion: 'projectcalico.org/v3', kind: 'FelixConfiguration', metadata: { name }, spec });

void describe('agent settings', () => {
  for (const [text, ms] of [
    ['90s', 90_000],
    ['1m30s', 90_000],
    ['250ms', 250],
    ['1h', 3_600_000],
    ['0', 0],
  ] as const) {
    void it(`duration ${text}`, () => assert.equal(parseDurationMs(text, 'x'), ms));
  }
  for (const bad of ['', '10', 'abc', '5s x']) {
    void it(`bad duration ${JSON.stringify(bad)}`, () => assert.throws(() => parseDurationMs(bad, 'routeRefreshInterval'), /spec\.routeRefreshInterval/));
  }
  const cases: { name: string; flags: Parameters<typeof resolveAgentSettings>[0]; global?: Record<string, unknown>; node?: Record<string, unknown>; want: Partial<ReturnType<typeof resolveAgentSettings>> }[] = [
    { name: 'defaults', flags: { nodeName: 'n1' }, want: { healthPort: 9099, healthHost: 'localhost', metricsPort: undefined, runDir: '/var/run/tricolor', nftRefreshMs: 90_000 } },
    { name: 'global config', flags: { nodeName: 'n1' }, global: { healthPort: 9100, prometheusMetricsEnabled: true, nftablesRefreshInterval: '30s' }, want: { healthPort: 9100, metricsPort: 9091, nftRefreshMs: 30_000 } },
    { name: 'node config wins', flags: { nodeName: 'n1' }, global: { healthPort: 9100 }, node: { healthPort: 9200 }, want: { healthPort: 9200 } },
    { name: 'flags win', flags: { nodeName: 'n1', healthPort: 1234, metricsPort: 4321 }, global: { healthPort: 9100 }, want: { healthPort: 1234, metricsPort: 4321 } },
    { name: 'health disabled', flags: { nodeName: 'n1' }, global: { healthEnabled: false }, want: { healthPort: 0 } },
  ];
  for (const c of cases) {
    void it(c.name, () => {
      const spec = mergeFelixSpecs(c.global === undefined ? undefined : felix('default', c.global), c.node === undefined ? undefined : felix('node.n1', c.node));
      const s = resolveAgentSettings(c.flags, spec);
      for (const [k, v] of Object.entries(c.want)) assert.equal(s[k as keyof typeof s], v, k);
    });
  }
  void it('pools: disabled ones left out, sorted', () => {
    const pool = (name: string, cidr: string, extra: Record<string, unknown> = {}) =>
      ({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name }, spec: { cidr, ...extra } }) as never;
    assert.deepEqual(poolInfos([pool('b', '10.2.0.0/16', { natOutgoing: true }), pool('a', '10.1.0.0/16'), pool('c', '10.3.0.0/16', { disabled: true })]), [
      { cidr: '10.1.0.0/16', natOutgoing: false },
      { cidr: '10.2.0.0/16', natOutgoing: true },
    ]);
  });
});

void describe('agent update selection', () => {
  void it('watches every prefix once, block affinities included', () => {
    const p = selectionPrefixes(AGENT_SELECTION);
    assert.equal(new Set(p).size, p.length);
    assert.ok(p.some((x) => x.includes('networking.k8s.io')));
    assert.ok(p.some((x) => x.includes('felixconfigurations')));
    assert.ok(p.includes('/calico/ipam/v2/host/'));
  });
  void it('calc kinds go to the calc graph, config kinds to the agent; absent values become deletions', () => {
    const source = new DecodingUpdateSource({ start: () => undefined, stop: async () => undefined }, AGENT_SELECTION, 'test');
    const gnpKey = '/calico/resources/v3/projectcalico.org/globalnetworkpolicies/p1';
    const gnp = { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'p1' }, spec: { selector: 'all()' } };
    const pool = { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '10.0.0.0/16' } };
    const out = source.decode([
      { key: gnpKey, value: JSON.stringify(gnp), revision: 2 },
      { key: '/calico/resources/v3/projectcalico.org/ippools/p', value: JSON.stringify(pool), revision: 3 },
      { key: gnpKey, value: '{nope', revision: 4 },
    ]);
    const rs = out.filter((u) => u.type === 'resource');
    assert.deepEqual(rs.map((u) => isCalcUpdate(u)), [true, false, true]);
    const [put, , bad] = rs.map((u) => calcUpdateOf(u));
    assert.deepEqual({ ...put, value: undefined }, { kind: 'GlobalNetworkPolicy', apiVersion: 'projectcalico.org/v3', name: 'p1', value: undefined });
    assert.equal(bad?.value, undefined);
    assert.equal(bad?.name, 'p1');
  });
});

void describe('tunnel address write-back decision', () => {
  const encap = (vxlanEnabled: boolean): EncapsulationUpdate => ({ type: 'EncapsulationUpdate', vxlanEnabled, vxlanPools: vxlanEnabled ? ['p'] : [], ipipEnabled: false, vxlanVNI: 4096, vxlanPort: 4789, vxlanMTU: undefined });
  const me = (addr?: string, mac?: string): HostMetadataUpdate => ({
    type: 'HostMetadataUpdate', name: 'n1', local: true, ipv4: '10.0.0.1', ipv4Network: '10.0.0.0/24', ipv6: undefined,
    vxlanTunnelAddr: addr, vxlanTunnelMAC: mac, ipipTunnelAddr: undefined, wireguardTunnelAddr: undefined, wireguardPublicKey: undefined, blocks: [], borrowed: [],
  });
  const cases: [string, EncapsulationUpdate | undefined, HostMetadataUpdate | undefined, ReturnType<typeof tunnelAddressAction>][] = [
    ['VXLAN on, no address: allocate', encap(true), me(), 'allocate'],
    ['VXLAN on, address but no MAC: allocate (rewrites both)', encap(true), me('10.244.1.0'), 'allocate'],
    ['VXLAN on, both written: nothing', encap(true), me('10.244.1.0', '66:00:00:00:00:01'), undefined],
    ['VXLAN off, an address held: release', encap(false), me('10.244.1.0', '66:00:00:00:00:01'), 'release'],
    ['VXLAN off, nothing held: nothing', encap(false), me(), undefined],
    ['no Node yet: nothing', encap(true), undefined, undefined],
    ['no encapsulation known yet: nothing', undefined, me(), undefined],
  ];
  for (const [name, e, m, want] of cases) void it(name, () => assert.equal(tunnelAddressAction(e, m), want));
});

void describe('metrics', () => {
  void it('renders counters, gauges and cumulative histograms that parse back', () => {
    const m = new MetricsRegistry();
    m.counter('c_total', 'a counter').inc(3);
    m.gauge('g', 'a gauge', () => 7);
    const h = m.histogram('h_seconds', 'a histogram', [0.1, 1]);
    for (const v of [0.05, 0.5, 5]) h.observe(v);
    const text = m.render();
    assert.match(text, /# TYPE h_seconds histogram/);
    const p = parseMetricsText(text);
    assert.equal(p.get('c_total'), 3);
    assert.equal(p.get('g'), 7);
    assert.equal(p.get('h_seconds_bucket{le="0.1"}'), 1);
    assert.equal(p.get('h_seconds_bucket{le="1"}'), 2);
    assert.equal(p.get('h_seconds_bucket{le="+Inf"}'), 3);
    assert.equal(p.get('h_seconds_count'), 3);
  });
});

void describe('node status: BGP part', () => {
  const base: AgentStatus = {
    nodeName: 'n1', pid: 1, startedAt: 't', updatedAt: 't', live: true, ready: true, datastore: 'InSync',
    healthEndpoint: undefined, metricsEndpoint: undefined, endpoints: { workload: 0, host: 0 }, policies: 0, profiles: 0,
    ipSets: 0, routes: 0, lastApplyAt: undefined, lastApplyMs: undefined, applies: 0, resyncRepairs: 0, errors: 0,
    recentErrors: [], invalidValues: {},
  };
  const peer = { peerAddress: '10.0.0.2', family: 4 as const, peerType: 'node-to-node mesh' as const, state: 'up', since: '09:14:02', info: 'Established' };
  void it('BIRD running: calicoctl-style tables per family', () => {
    const s: AgentStatus = { ...base, bgp: [peer], bird: { running: true, pid: 42, restarts: 1, reason: 'x', socket: '/r/bird.ctl' } };
    const text = renderBGPStatusText(s, true, undefined);
    assert.match(text, /BIRD is running \(pid 42, restarts 1\)/);
    assert.match(text, /IPv4 BGP status\n\+-+/);
    assert.match(text, /\| 10\.0\.0\.2 +\| node-to-node mesh \| up +\| 09:14:02 \| Established \|/);
    assert.match(text, /No IPv6 peers found\./);
    // peers read live from BIRD win over the file's copy
    assert.match(renderBGPStatusText(s, true, [{ ...peer, info: 'Active' }]), /\| Active +\|/);
  });
  void it('BIRD not running: says why', () => {
    const s: AgentStatus = { ...base, bird: { running: false, pid: undefined, restarts: 0, reason: 'every enabled IP pool uses VXLAN', socket: undefined } };
    assert.match(renderBGPStatusText(s, true, undefined), /BIRD\) is not running: every enabled IP pool uses VXLAN\./);
    assert.match(renderBGPStatusText({ ...s, bird: { ...s.bird!, running: true } }, false, undefined), /not running/);
  });
});
