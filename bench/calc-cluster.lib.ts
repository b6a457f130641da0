// Seeded synthetic cluster for the policy-engine benchmarks: 50,000 workload endpoints over 200
// nodes and 100 namespaces, 5,000 policies (NetworkPolicies and GlobalNetworkPolicies, two rules
// each whose selectors pick other endpoints, some with named ports or network sets), 500 network
// sets. Resources are built already in their stored (defaulted) shape.

import type { AnyResource } from '../src/api/index.ts';
import { seededRandom } from '../src/base/index.ts';

export interface ClusterSpec {
  readonly endpoints: number;
  readonly nodes: number;
  readonly namespaces: number;
  readonly policies: number;
  readonly apps: number;
  readonly networkSets: number;
  readonly seed: number;
}

export const DEFAULT_SPEC: ClusterSpec = {
  endpoints: 50_000,
  nodes: 200,
  namespaces: 100,
  policies: 5_000,
  apps: 1_000,
  networkSets: 500,
  seed: 42,
};

export const rng = seededRandom;

export function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)] as T;
}

export interface Cluster {
  readonly resources: AnyResource[];
  readonly endpoints: AnyResource[];
  readonly policies: AnyResource[];
}

export function makeCluster(spec: ClusterSpec = DEFAULT_SPEC): Cluster {
  const r = rng(spec.seed);
  const resources: AnyResource[] = [];
  const endpoints: AnyResource[] = [];
  const policies: AnyResource[] = [];
  const roles = ['frontend', 'backend', 'db', 'cache', 'batch'];
  for (let n = 0; n < spec.namespaces; n++) {
    resources.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `ns${n}`, labels: { env: n % 3 === 0 ? 'prod' : 'dev', team: `t${n % 10}` } } });
  }
  for (let i = 0; i < spec.endpoints; i++) {
    const ns = `ns${i % spec.namespaces}`;
    const node = `node${i % spec.nodes}`;
    const pod = `pod${i}`;
    const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const e: AnyResource = {
      apiVersion: 'projectcalico.org/v3',
      kind: 'WorkloadEndpoint',
      metadata: { name: `${node}-k8s-${pod}-eth0`, namespace: ns, labels: { app: `app${Math.floor(r() * spec.apps)}`, role: pick(r, roles) } },
      spec: {
        orchestrator: 'k8s',
        node,
        pod,
        endpoint: 'eth0',
        interfaceName: `cali${i}`,
        ipNetworks: [`${ip}/32`],
        profiles: [`kns.${ns}`],
        ports: [{ name: 'http', protocol: 'TCP', port: 8080 }, { name: 'metrics', protocol: 'TCP', port: 9090 }],
      },
    };
    endpoints.push(e);
    resources.push(e);
  }
  for (let s = 0; s < spec.networkSets; s++) {
    resources.push({
      apiVersion: 'projectcalico.org/v3',
      kind: 'GlobalNetworkSet',
      metadata: { name: `gns${s}`, labels: { feed: `feed${s % 50}` } },
      spec: { nets: [`100.${s >> 8}.${s & 255}.0/24`, `101.${s >> 8}.${s & 255}.0/24`] },
    });
  }
  for (let p = 0; p < spec.policies; p++) {
    const app = `app${Math.floor(r() * spec.apps)}`;
    const peerApp = `app${Math.floor(r() * spec.apps)}`;
    const kind = p % 4 === 0 ? 'GlobalNetworkPolicy' : 'NetworkPolicy';
    const ns = `ns${p % spec.namespaces}`;
    const named = p % 5 === 0;
    const useNetset = p % 7 === 0;
    const policy: AnyResource = {
      apiVersion: 'projectcalico.org/v3',
      kind,
      metadata: kind === 'NetworkPolicy' ? { name: `pol${p}`, namespace: ns } : { name: `gpol${p}` },
      spec: {
        tier: 'default',
        order: Math.floor(r() * 1000),
        selector: `app == '${app}'`,
        types: ['Ingress', 'Egress'],
        ingress: [
          {
            action: 'Allow',
            protocol: 'TCP',
            source: { selector: `app == '${peerApp}' && role == '${pick(r, roles)}'`, ...(kind === 'NetworkPolicy' ? { namespaceSelector: 'all()' } : {}) },
            destination: { ports: named ? ['http', 443] : [80, '8000:8100'] },
          },
        ],
        egress: [
          useNetset
            ? { action: 'Allow', destination: { selector: `feed == 'feed${p % 50}'` } }
            : { action: 'Allow', protocol: 'TCP', destination: { selector: `app == '${peerApp}'`, ports: named ? ['metrics'] : [5432] } },
        ],
      },
    };
    policies.push(policy);
    resources.push(policy);
  }
  return { resources, endpoints, policies };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}
