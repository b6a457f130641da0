// Terse builders for policy-engine tests and benchmarks: validated, defaulted resources (through
// src/api's validateResource, as the datastore would store them) for namespaces, pods' workload
// endpoints, Calico and Kubernetes policies, tiers, network sets.

import { validateResource } from '../api/index.ts';
import type { AnyResource } from '../api/index.ts';

type Labels = Record<string, string>;

function v(doc: unknown): AnyResource {
  return validateResource(doc);
}

export function namespace(name: string, labels: Labels = {}): AnyResource {
  return v({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } } });
}

export function serviceAccount(ns: string, name: string, labels: Labels = {}): AnyResource {
  return v({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns, labels } });
}

export interface WEPOptions {
  readonly node?: string;
  readonly ports?: ReadonlyArray<{ name: string; protocol: string; port: number }>;
  readonly serviceAccount?: string;
  readonly profiles?: readonly string[];
  readonly orchestrator?: string;
}

function wepSegment(s: string): string {
  return s.replaceAll('-', '--');
}

/** The WorkloadEndpoint CNI would write for pod `pod` in `ns` with address `ip`. */
export function workload(ns: string, pod: string, ip: string, labels: Labels = {}, o: WEPOptions = {}): AnyResource {
  const node = o.node ?? 'node1';
  const spec: Record<string, unknown> = {
    orchestrator: o.orchestrator ?? 'k8s',
    node,
    pod,
    endpoint: 'eth0',
    ipNetworks: [ip.includes(':') ? `${ip}/128` : `${ip}/32`],
    interfaceName: `cali${wepSegment(pod).slice(0, 11)}`,
  };
  if (o.serviceAccount !== undefined) spec['serviceAccountName'] = o.serviceAccount;
  if (o.ports !== undefined) spec['ports'] = o.ports;
  if (o.profiles !== undefined) spec['profiles'] = o.profiles;
  return v({
    apiVersion: 'projectcalico.org/v3',
    kind: 'WorkloadEndpoint',
    metadata: { name: `${wepSegment(node)}-k8s-${wepSegment(pod)}-eth0`, namespace: ns, labels },
    spec,
  });
}

export function k8sPolicy(ns: string, name: string, spec: unknown): AnyResource {
  return v({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: ns }, spec });
}

export function calicoPolicy(ns: string, name: string, spec: unknown): AnyResource {
  return v({ apiVersion: 'projectcalico.org/v3', kind: 'NetworkPolicy', metadata: { name, namespace: ns }, spec });
}

export function globalPolicy(name: string, spec: unknown, kind = 'GlobalNetworkPolicy'): AnyResource {
  return v({ apiVersion: 'projectcalico.org/v3', kind, metadata: { name }, spec });
}

export function tier(name: string, order: number | undefined, defaultAction: 'Deny' | 'Pass' = 'Deny'): AnyResource {
  return v({ apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name }, spec: { ...(order === undefined ? {} : { order }), defaultAction } });
}

export function globalNetworkSet(name: string, nets: string[], labels: Labels = {}): AnyResource {
  return v({ apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkSet', metadata: { name, labels }, spec: { nets } });
}

export function networkSet(ns: string, name: string, nets: string[], labels: Labels = {}): AnyResource {
  return v({ apiVersion: 'projectcalico.org/v3', kind: 'NetworkSet', metadata: { name, namespace: ns, labels }, spec: { nets } });
}

export function hostEndpoint(name: string, node: string, ips: string[], labels: Labels = {}, profiles: string[] = []): AnyResource {
  return v({
    apiVersion: 'projectcalico.org/v3',
    kind: 'HostEndpoint',
    metadata: { name, labels },
    spec: { node, interfaceName: 'eth0', expectedIPs: ips, profiles },
  });
}

/** The upstream Kubernetes network-policy e2e model: namespaces x, y, z; pods a, b, c (pod=<name>). */
export function e2eModel(): AnyResource[] {
  const out: AnyResource[] = [];
  const nss = ['x', 'y', 'z'];
  const pods = ['a', 'b', 'c'];
  nss.forEach((ns, i) => {
    out.push(namespace(ns, { ns }));
    pods.forEach((pod, j) => {
      out.push(
        workload(ns, pod, `10.0.${i}.${j + 1}`, { pod }, {
          node: `node${j % 2}`,
          ports: [
            { name: 'serve-80-tcp', protocol: 'TCP', port: 80 },
            { name: 'serve-81-tcp', protocol: 'TCP', port: 81 },
            { name: 'serve-80-udp', protocol: 'UDP', port: 80 },
            { name: 'serve-81-udp', protocol: 'UDP', port: 81 },
          ],
        }),
      );
    });
  });
  return out;
}
