// ClusterIP services of the lab: a Service object in the datastore (its address allocated from
// the service range), every pod's /etc/hosts updated to name it, and a bounded wait until every
// node's service proxy has programmed it.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TricolorError, quote } from '../../base/index.ts';
import type { ResourceClient } from '../../datastore/index.ts';
import { NETNS_ETC, allocateClusterIP, renderHostsFile, type HostsService, type LabPod, type LabState, type ServicePortSpec } from '../lab-model.ts';
import { kind, withLabClient } from './datastore.ts';
import { ensureNamespace } from './namespaces.ts';
import { pidAlive, waitFor } from './processes.ts';
import { listPods, readProxyStatus } from './state.ts';

export async function serviceEntries(c: ResourceClient): Promise<{ namespace: string; name: string; clusterIP: string }[]> {
  const list = await c.list(await kind('v1', 'Service'));
  return list.items
    .map((svc) => ({ namespace: svc.metadata.namespace ?? '', name: svc.metadata.name, clusterIP: String((svc.spec as { clusterIP?: string } | undefined)?.clusterIP ?? '') }))
    .filter((x) => x.clusterIP !== '');
}

/** The pod's /etc/hosts (`ip netns exec` mounts /etc/netns/<ns>/hosts over it): itself and every service. */
export function writeHosts(p: LabPod, services: readonly HostsService[]): void {
  const dir = join(NETNS_ETC, p.netns);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'hosts'), renderHostsFile(p, services));
}

/** Session affinity of a lab Service (spec.sessionAffinity and its ClientIP timeout), as given: the Service's validation judges it. */
export interface ServiceAffinitySpec {
  readonly sessionAffinity?: string;
  readonly affinityTimeoutSeconds?: number;
}

export async function svcAdd(s: LabState, ns: string, name: string, selector: Record<string, string>, ports: readonly ServicePortSpec[], affinity: ServiceAffinitySpec = {}): Promise<string> {
  const clusterIP = await withLabClient(s, async (c) => {
    await ensureNamespace(c, ns, {});
    const existing = await serviceEntries(c);
    if (existing.some((e) => e.namespace === ns && e.name === name)) {
      throw new TricolorError('ERR_ALREADY_EXISTS', `service ${quote(`${ns}/${name}`)} already exists`, { value: `${ns}/${name}` });
    }
    const ip = allocateClusterIP(s.serviceCidr, new Set(existing.map((e) => e.clusterIP)));
    await c.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: ns },
      spec: {
        type: 'ClusterIP',
        clusterIP: ip,
        clusterIPs: [ip],
        selector,
        ports: ports.map((p) => ({ name: `${p.protocol.toLowerCase()}-${p.port}`, port: p.port, targetPort: p.targetPort, protocol: p.protocol })),
        ...(affinity.sessionAffinity === undefined ? {} : { sessionAffinity: affinity.sessionAffinity }),
        ...(affinity.affinityTimeoutSeconds === undefined ? {} : { sessionAffinityConfig: { clientIP: { timeoutSeconds: affinity.affinityTimeoutSeconds } } }),
      },
    });
    const all = await serviceEntries(c);
    for (const p of listPods(s)) if (p.ip !== '') writeHosts(p, all);
    return ip;
  });
  // Bounded wait for every node's proxy to program the service (so a probe right after succeeds).
  const keys = ports.map((p) => `${clusterIP}:${p.port}/${p.protocol.toLowerCase()}`);
  await waitFor(() => (s.nodes.every((n) => n.proxyPid === undefined || !pidAlive(n.proxyPid) || keys.every((k) => readProxyStatus(n)?.backends[k] !== undefined)) ? true : undefined), 10_000, 50);
  return clusterIP;
}
