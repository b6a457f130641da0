// `lab status`: what each node's agent, proxy and BIRD report, the tor router's sessions and RIB,
// the pods and the services, gathered into one view (rendered by the model's renderLabStatus).

import { labFlowsUrl } from './flows.ts';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describeLabDatastore, labExternals, labTyphaAddr, type LabBGPSession, type LabNode, type LabState, type LabStatusView } from '../lab-model.ts';
import { kind, withLabClient } from './datastore.ts';
import { torStatus } from './externals.ts';
import { mapLimit, pidAlive } from './processes.ts';
import { listPods, readProxyStatus } from './state.ts';

/** A node's BGP sessions: the agent's status file when it reports them, else BIRD's control socket in the node's run dir. */
async function nodeBGPSessions(n: LabNode, fromStatus: unknown): Promise<LabBGPSession[] | null> {
  const text = (v: unknown, dflt: string): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : dflt);
  const pick = (x: Record<string, unknown>): LabBGPSession => ({
    peerAddress: text(x['peerAddress'] ?? x['peer'], '?'),
    peerType: text(x['peerType'], ''),
    state: text(x['state'], '?'),
    since: text(x['since'], ''),
    info: text(x['info'], ''),
  });
  if (Array.isArray(fromStatus)) return (fromStatus as Record<string, unknown>[]).map(pick);
  const ctl = join(n.runDir, 'bird.ctl');
  if (!existsSync(ctl)) return null;
  try {
    const { showBGPPeers } = await import('../../bgp/index.ts');
    return (await showBGPPeers(ctl, 1000)).map((p) => pick(p as unknown as Record<string, unknown>));
  } catch {
    return null;
  }
}

export async function labStatus(s: LabState): Promise<LabStatusView> {
  const { readStatusFile } = await import('../../agent/index.ts');
  const nodes = await mapLimit(s.nodes, 8, async (n) => {
    let st: (import('../../agent/index.ts').AgentStatus & { bgp?: unknown }) | undefined;
    try {
      st = readStatusFile(n.runDir);
    } catch {
      st = undefined;
    }
    const running = n.agentPid !== undefined && pidAlive(n.agentPid);
    const px = readProxyStatus(n);
    return {
      name: n.name,
      netns: n.netns,
      address: n.address,
      agent: { running, ready: running && st?.ready === true, endpoints: st?.endpoints.workload ?? 0, policies: st?.policies ?? 0 },
      proxy: { running: n.proxyPid !== undefined && pidAlive(n.proxyPid), services: px === undefined ? 0 : Object.keys(px.backends).length },
      bgp: await nodeBGPSessions(n, st?.bgp),
    };
  });
  const pods = listPods(s).map((p) => ({ namespace: p.namespace, name: p.name, node: p.node, ip: p.ip, labels: p.labels, serve: p.serve.map((x) => `${x.protocol}:${x.port}`), namedPorts: (p.namedPorts ?? []).map((x) => `${x.name}=${x.protocol}:${x.port}`) }));
  const firstProxy = s.nodes.map(readProxyStatus).find((x) => x !== undefined);
  const services = await withLabClient(s, async (c) =>
    (await c.list(await kind('v1', 'Service'))).items.map((svc) => {
      const spec = (svc.spec ?? {}) as { clusterIP?: string; ports?: { port: number; targetPort?: number | string; protocol?: string }[] };
      const ports = (spec.ports ?? []).map((p) => `${p.port}:${String(p.targetPort ?? p.port)}/${(p.protocol ?? 'TCP').toLowerCase()}`);
      const first = spec.ports?.[0];
      const key = first === undefined ? '' : `${spec.clusterIP ?? ''}:${first.port}/${(first.protocol ?? 'TCP').toLowerCase()}`;
      return { namespace: svc.metadata.namespace ?? '', name: svc.metadata.name, clusterIP: spec.clusterIP ?? '', ports, endpoints: firstProxy?.backends[key]?.length ?? 0 };
    }),
  );
  return {
    name: s.name,
    runDir: s.runDir,
    datastore: describeLabDatastore(s),
    datastorePath: s.datastorePath,
    encap: s.encap,
    routeReflector: s.routeReflector ?? null,
    tor: (await torStatus(s)) ?? null,
    flows: ((u) => (u === undefined ? null : { url: u }))(labFlowsUrl(s)),
    monitoring: s.monitoring?.url === undefined ? null : { url: s.monitoring.url, netns: s.monitoring.netns, address: s.monitoring.address },
    typha: (labTyphaAddr(s) ?? '').split(',').filter((a) => a !== ''),
    podCidr: s.podCidr,
    serviceCidr: s.serviceCidr,
    external: { netns: s.externalNetns, ip: s.externalIP },
    externals: labExternals(s).map((e) => ({ name: e.name, ip: e.ip })),
    nodes,
    pods,
    services,
  };
}
