// Workload route planning: desired /32 (/128) routes from local endpoints, planned against what
// the kernel shows (repair, grace for unknown routes, the CNI plugin's metric-0 route replaced).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WORKLOAD_ROUTE_METRIC } from './dataplane.ts';
import { desiredRoutes, planRoutes } from './route-plan.ts';

void describe('planRoutes', () => {
  const wep = (name: string, ifName: string, ips: string[]) =>
    ({ type: 'WorkloadEndpointUpdate', key: `WorkloadEndpoint/ns/${name}`, namespace: 'ns', name, pod: name, interfaceName: ifName, mac: undefined, ipv4Nets: ips, ipv6Nets: [], profileIds: [], tiers: [] }) as const;
  const desired = desiredRoutes([wep('a', 'caliA', ['10.0.0.1/32']), wep('b', 'caliB', ['10.0.0.2/32'])]);
  const base = { desired, interfacePrefixes: ['cali'], previouslyDesired: new Set<string>(), unexpectedSince: new Map<string, number>(), nowMs: 100_000, graceMs: 10_000 };
  const r = (dst: string, dev: string, protocol?: string, metric = WORKLOAD_ROUTE_METRIC) => ({ dst, dev, family: 4 as const, protocol, metric });
  const cases: { name: string; observed: ReturnType<typeof r>[]; links: string[]; prev?: string[]; since?: [string, number][]; add: string[]; remove: string[]; replace?: string[]; waiting?: number }[] = [
    { name: 'all present', observed: [r('10.0.0.1', 'caliA'), r('10.0.0.2', 'caliB')], links: ['caliA', 'caliB'], add: [], remove: [] },
    { name: 'missing route repaired', observed: [r('10.0.0.1', 'caliA')], links: ['caliA', 'caliB'], add: ['10.0.0.2/32 caliB'], remove: [] },
    { name: 'interface not there yet', observed: [], links: ['caliA'], add: ['10.0.0.1/32 caliA'], remove: [], waiting: 1 },
    { name: 'route on the wrong interface', observed: [r('10.0.0.1', 'caliX'), r('10.0.0.2', 'caliB')], links: ['caliA', 'caliB', 'caliX'], add: ['10.0.0.1/32 caliA'], remove: ['10.0.0.1 caliX'] },
    { name: 'deleted endpoint: removed at once', observed: [r('10.0.0.1', 'caliA'), r('10.0.0.2', 'caliB'), r('10.0.0.9', 'caliZ')], links: ['caliA', 'caliB', 'caliZ'], prev: ['10.0.0.9 dev caliZ'], add: [], remove: ['10.0.0.9 caliZ'] },
    { name: 'unknown route: kept in grace', observed: [r('10.0.0.1', 'caliA'), r('10.0.0.2', 'caliB'), r('10.0.0.9', 'caliZ')], links: ['caliA', 'caliB', 'caliZ'], add: [], remove: [] },
    { name: 'unknown route: removed after grace', observed: [r('10.0.0.1', 'caliA'), r('10.0.0.2', 'caliB'), r('10.0.0.9', 'caliZ')], links: ['caliA', 'caliB', 'caliZ'], since: [['10.0.0.9 dev caliZ', 80_000]], add: [], remove: ['10.0.0.9 caliZ'] },
    { name: "the CNI plugin's metric-0 route is replaced by ours", observed: [r('10.0.0.1', 'caliA', undefined, 0), r('10.0.0.2', 'caliB')], links: ['caliA', 'caliB'], add: ['10.0.0.1/32 caliA'], remove: [], replace: ['10.0.0.1 caliA'] },
    { name: 'ours and a leftover metric-0 route: only the leftover goes', observed: [r('10.0.0.1', 'caliA'), r('10.0.0.1', 'caliA', undefined, 0), r('10.0.0.2', 'caliB')], links: ['caliA', 'caliB'], add: [], remove: [], replace: ['10.0.0.1 caliA'] },
    { name: 'other interfaces and kernel routes untouched', observed: [r('10.0.0.1', 'caliA'), r('10.0.0.2', 'caliB'), r('192.168.1.0/24', 'eth0'), r('fe80::/64', 'caliA', 'kernel')], links: ['caliA', 'caliB'], add: [], remove: [] },
  ];
  for (const c of cases) {
    void it(c.name, () => {
      const plan = planRoutes({ ...base, observed: c.observed, links: new Set(c.links), previouslyDesired: new Set(c.prev ?? []), unexpectedSince: new Map(c.since ?? []) });
      assert.deepEqual(plan.add.map((x) => `${x.cidr} ${x.ifName}`).sort(), c.add);
      assert.deepEqual(plan.remove.map((x) => `${x.dst} ${x.dev}`).sort(), c.remove);
      assert.deepEqual(plan.replace.map((x) => `${x.dst} ${x.dev}`).sort(), c.replace ?? []);
      assert.equal(plan.waiting.length, c.waiting ?? 0);
    });
  }
});
