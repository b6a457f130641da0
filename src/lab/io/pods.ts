// Pods of the lab: a Pod object in the datastore, a network namespace plugged in by the real CNI
// plugin run inside the node's namespace exactly as a container runtime runs it, socat servers on
// the ports the pod serves, and a record under the run directory. A failed add undoes itself.

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { TricolorError, quote } from '../../base/index.ts';
import {
  NETNS_ETC,
  cniArgs,
  cniBinDir,
  logsDir,
  pickNode,
  podFileName,
  podNetnsName,
  podServerArgv,
  podsDir,
  renderCniNetconf,
  servePortName,
  unboundServePorts,
  type LabNode,
  type LabPod,
  type LabState,
  type PodAddOptions,
} from '../lab-model.ts';
import { getOrUndefined, kind, withLabClient } from './datastore.ts';
import { ensureNamespace, ensureServiceAccount } from './namespaces.ts';
import { nodeOf, waitForEndpointsProgrammed } from './nodes.ts';
import { CNI_BIN, UDP_ECHO } from './paths.ts';
import { sh, startDetached, stopPids } from './processes.ts';
import { serviceEntries, writeHosts } from './services.ts';
import { findPod, listPods, writePodRecord } from './state.ts';
import { netnsAdd } from './topology.ts';

/** Run the CNI plugin in a node's namespace exactly as a container runtime does. */
async function invokeCni(s: LabState, n: LabNode, command: 'ADD' | 'DEL', pod: { namespace: string; name: string; containerId: string; netns: string }): Promise<Record<string, unknown>> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    CNI_COMMAND: command,
    CNI_CONTAINERID: pod.containerId,
    CNI_NETNS: `/var/run/netns/${pod.netns}`,
    CNI_IFNAME: 'eth0',
    CNI_PATH: '/opt/cni/bin',
    CNI_ARGS: cniArgs(pod),
  };
  // the installed plugin, as a runtime finds it; a lab brought up before it was installed runs the entry point
  const installed = join(cniBinDir(n), 'tricolor-cni');
  const plugin = existsSync(installed) ? [installed] : [process.execPath, CNI_BIN];
  const r = await sh(['ip', 'netns', 'exec', n.netns, ...plugin], { input: renderCniNetconf(s, n), env });
  let json: Record<string, unknown>;
  try {
    json = r.stdout.trim() === '' ? {} : (JSON.parse(r.stdout) as Record<string, unknown>);
  } catch {
    json = {};
  }
  if (r.status !== 0) {
    const msg = typeof json['msg'] === 'string' ? `${json['msg']}${typeof json['details'] === 'string' && json['details'] !== '' ? `: ${json['details']}` : ''}` : r.stderr.trim();
    throw new TricolorError('ERR_IO', `pod ${pod.namespace}/${pod.name}: CNI ${command} on ${n.name} failed: ${msg}`);
  }
  return json;
}

export async function podAdd(s: LabState, o: PodAddOptions): Promise<LabPod> {
  if (findPod(s, o.namespace, o.name) !== undefined) {
    throw new TricolorError('ERR_ALREADY_EXISTS', `pod ${quote(`${o.namespace}/${o.name}`)} already exists`, { value: `${o.namespace}/${o.name}` });
  }
  const nodeName = o.node ?? pickNode(s.nodes.map((n) => n.name), listPods(s));
  const n = nodeOf(s, nodeName);
  const sa = o.serviceAccount ?? 'default';
  const netns = podNetnsName(s.name, o.namespace, o.name);
  const containerId = randomBytes(32).toString('hex');
  await withLabClient(s, async (c) => {
    await ensureNamespace(c, o.namespace, {});
    await ensureServiceAccount(c, o.namespace, sa);
    await c.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: o.name, namespace: o.namespace, labels: o.labels },
      spec: {
        nodeName,
        serviceAccountName: sa,
        containers: [
          {
            name: 'server',
            image: 'tricolor/lab-server',
            ports: [
              ...o.serve.map((p) => ({ name: servePortName(p), containerPort: p.port, protocol: p.protocol.toUpperCase() })),
              ...(o.namedPorts ?? []).map((p) => ({ name: p.name, containerPort: p.port, protocol: p.protocol.toUpperCase() })),
            ],
          },
        ],
      },
    });
  });
  const record: { -readonly [K in keyof LabPod]: LabPod[K] } = {
    namespace: o.namespace,
    name: o.name,
    node: nodeName,
    netns,
    containerId,
    ip: '',
    serve: o.serve,
    ...(o.namedPorts === undefined || o.namedPorts.length === 0 ? {} : { namedPorts: o.namedPorts }),
    serverPids: [],
    labels: o.labels,
    serviceAccount: sa,
  };
  try {
    await netnsAdd(netns);
    writePodRecord(s, record);
    const result = await invokeCni(s, n, 'ADD', record);
    const ips = (result['ips'] ?? []) as { address?: string }[];
    const ip = (ips[0]?.address ?? '').split('/')[0] ?? '';
    if (ip === '') throw new TricolorError('ERR_IO', `pod ${o.namespace}/${o.name}: CNI ADD returned no address`);
    record.ip = ip;
    const pids: number[] = [];
    const log = join(logsDir(s), 'pods.log');
    for (const p of o.serve) pids.push(await startDetached(podServerArgv(netns, p, `${o.namespace}/${o.name}`, [process.execPath, UDP_ECHO]), log));
    record.serverPids = pids;
    writePodRecord(s, record);
    await waitForServers(record, log);
    await withLabClient(s, async (c) => {
      const pod = await c.get(await kind('v1', 'Pod'), o.name, o.namespace);
      await c.update({ ...pod, status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] } });
      writeHosts(record, await serviceEntries(c));
    });
  } catch (e) {
    await podDel(s, o.namespace, o.name).catch(() => undefined);
    throw e;
  }
  await waitForEndpointsProgrammed(s, n);
  return record;
}

/**
 * Wait until every port the pod serves is bound in its namespace (read from /proc of a server's
 * shell, which lives there), as a runtime waits for a container's readiness: a pod is not
 * reported running while a probe of it could meet a server that is still starting.
 */
async function waitForServers(p: LabPod, log: string): Promise<void> {
  const pid = p.serverPids[0];
  if (pid === undefined) return;
  const deadline = Date.now() + 30_000;
  let missing = p.serve;
  for (;;) {
    try {
      missing = unboundServePorts(p.serve, readFileSync(`/proc/${pid}/net/tcp`, 'utf8'), readFileSync(`/proc/${pid}/net/udp`, 'utf8'));
    } catch {
      // the shell is gone: its port stays missing and the deadline reports it
    }
    if (missing.length === 0) return;
    if (Date.now() > deadline) {
      throw new TricolorError('ERR_IO', `pod ${p.namespace}/${p.name}: its server did not bind ${missing.map((m) => `${m.protocol}:${m.port}`).join(', ')} within 30 s (see ${log})`);
    }
    await sleep(50);
  }
}

export async function podDel(s: LabState, ns: string, name: string): Promise<void> {
  const p = findPod(s, ns, name);
  const exists = await withLabClient(s, async (c) => (await getOrUndefined(c.get(await kind('v1', 'Pod'), name, ns))) !== undefined);
  if (p === undefined && !exists) throw new TricolorError('ERR_NOT_FOUND', `pod ${quote(`${ns}/${name}`)} not found`, { value: `${ns}/${name}` });
  if (p !== undefined) {
    await stopPids(p.serverPids, 1000);
    const n = s.nodes.find((x) => x.name === p.node);
    if (n !== undefined) await invokeCni(s, n, 'DEL', p).catch(() => undefined);
    const r = await sh(['ip', 'netns', 'pids', p.netns]);
    await stopPids(r.stdout.split('\n').map((t) => Number(t.trim())).filter((x) => x > 1), 500);
    await sh(['ip', 'netns', 'del', p.netns]);
    rmSync(join(NETNS_ETC, p.netns), { recursive: true, force: true });
  }
  await withLabClient(s, async (c) => {
    await getOrUndefined(c.delete(await kind('v1', 'Pod'), name, ns));
  });
  rmSync(join(podsDir(s), podFileName(ns, name)), { force: true });
}

export async function podLabel(s: LabState, ns: string, name: string, edit: (l: Readonly<Record<string, string>>) => Record<string, string>): Promise<Record<string, string>> {
  const rec = findPod(s, ns, name);
  return withLabClient(s, async (c) => {
    const podInfo = await kind('v1', 'Pod');
    const pod = await c.get(podInfo, name, ns);
    const labels = edit(pod.metadata.labels ?? {});
    await c.update({ ...pod, metadata: { ...pod.metadata, labels } });
    // The endpoint carries the pod's labels (as Calico's WorkloadEndpoint does) plus its own projectcalico.org/* ones.
    const wepInfo = await kind('projectcalico.org/v3', 'WorkloadEndpoint');
    for (const w of (await c.list(wepInfo, ns)).items) {
      const spec = (w.spec ?? {}) as { pod?: string };
      if (spec.pod !== name) continue;
      const keep = Object.fromEntries(Object.entries(w.metadata.labels ?? {}).filter(([k]) => k.startsWith('projectcalico.org/')));
      await c.update({ ...w, metadata: { ...w.metadata, labels: { ...labels, ...keep } } });
    }
    if (rec !== undefined) writePodRecord(s, { ...rec, labels });
    return labels;
  });
}
