// `lab up`: the phases of building a lab, each recorded in state.json before the next starts
// (so `lab down` can undo a half-built lab): underlay and external host, the lab's etcd, node
// namespaces with their CNI plugins, the tor router, the datastore's seed documents and the
// pointer file, then one agent and one proxy per node, and a bounded wait until all are ready.

import { existsSync, mkdirSync } from 'node:fs';
import { TricolorError, quote } from '../../base/index.ts';
import { mountBpffs } from '../../dataplane/io/index.ts';
import { LAB_TYPHA_PORT, UNDERLAY_GATEWAY, describeLabDatastore, labTyphaNodes, labExternals, labSeedDocuments, logsDir, nodeBpffsDir, planLab, podsDir, type LabState, type LabUpOptions } from '../lab-model.ts';
import { startLabEtcd, waitForEtcd, withLabClient } from './datastore.ts';
import { startExternalServers, startTor } from './externals.ts';
import { LAB_FLOWS_FLUSH_INTERVAL, labFlowLogFields, startLabFlows } from './flows.ts';
import { planMonitoring } from '../monitoring-model.ts';
import { startLabMonitoring } from './monitoring.ts';
import { ensureNamespace } from './namespaces.ts';
import { installNodeCni, spawnAgent, spawnControllers, spawnProxy, spawnTypha, waitForNodesReady } from './nodes.ts';
import { mapLimit } from './processes.ts';
import { writeLabState, writePointer } from './state.ts';
import { addNodeNamespace, addUnderlay, labNetnsNames } from './topology.ts';

export async function labUp(o: LabUpOptions): Promise<LabState> {
  const planned = planLab({
    name: o.name,
    nodes: o.nodes,
    encap: o.encap,
    podCidr: o.podCidr,
    routeReflector: o.routeReflector,
    ...(o.datastore === undefined ? {} : { datastore: o.datastore }),
    tor: o.tor === true,
    ...(o.externals === undefined ? {} : { externals: o.externals }),
    ...(o.dataplane === undefined ? {} : { dataplane: o.dataplane }),
    wireguard: o.wireguard === true,
    ...(o.typha === undefined ? {} : { typha: o.typha }),
    ...(o.etcdMembers === undefined ? {} : { etcdMembers: o.etcdMembers }),
  });
  const state: LabState = o.monitoring === true ? { ...planned, monitoring: planMonitoring(planned) } : planned;
  if (existsSync(state.runDir)) {
    throw new TricolorError('ERR_ALREADY_EXISTS', `lab ${quote(o.name)} is already up (run directory ${state.runDir} exists); run \`tricolor lab down --name ${o.name}\` first`, {
      value: o.name,
    });
  }
  const leftovers = await labNetnsNames(state.prefix);
  if (leftovers.length > 0) {
    throw new TricolorError('ERR_ALREADY_EXISTS', `lab ${quote(o.name)}: namespaces ${leftovers.slice(0, 3).join(', ')} already exist; run \`tricolor lab down --name ${o.name}\` first`, {
      value: o.name,
    });
  }
  const logs = logsDir(state);
  mkdirSync(logs, { recursive: true });
  mkdirSync(podsDir(state), { recursive: true });
  writeLabState(state);
  const t0 = Date.now();

  const externals = labExternals(state);
  o.progress(`underlay ${UNDERLAY_GATEWAY.replace(/\.1$/, '.0')}/24 and external host${externals.length > 1 ? 's' : ''} ${externals.map((e) => e.ip).join(', ')}`);
  await addUnderlay(state);
  await startExternalServers(state, logs);
  writeLabState(state);
  if (state.etcd !== undefined) {
    o.progress(
      state.etcd.members === undefined
        ? `etcd on ${state.etcd.endpoint} (namespace ${state.etcd.netns})`
        : `etcd cluster of ${state.etcd.members} members (namespaces ${state.etcd.netns}-1 … -${state.etcd.members}, mutual TLS between members) on ${state.etcd.endpoint}`,
    );
    await startLabEtcd(state, logs);
    writeLabState(state);
  }

  o.progress(`${state.nodes.length} node namespaces on the underlay`);
  await mapLimit(state.nodes, 4, async (n) => {
    await addNodeNamespace(state, n);
    await installNodeCni(state, n);
  });

  if (state.etcd !== undefined) await waitForEtcd(state.etcd, logs);
  if (state.tor !== undefined) {
    o.progress(`tor router ${state.tor.address} (gobgpd, AS ${state.tor.asNumber}) on the underlay`);
    await startTor(state, logs);
    writeLabState(state);
  }

  o.progress(`datastore ${describeLabDatastore(state)}: IPPool ${state.podCidr} (natOutgoing, vxlanMode ${state.encap === 'vxlan' ? 'Always' : 'Never'}), ${state.nodes.length} Nodes`);
  await withLabClient(state, async (c) => {
    await c.initialise();
    for (const d of labSeedDocuments(state)) await c.apply(d);
    for (const ns of ['default', 'kube-system']) await ensureNamespace(c, ns, {});
  });
  writePointer(state);

  // FelixConfiguration default is rewritten whole below: keep the eBPF selection and WireGuard in it
  const felix: Record<string, unknown> = {};
  if (o.flowLogs === true) {
    const flows = await startLabFlows(state);
    state.pids.push(flows.pid);
    writeLabState(state);
    Object.assign(felix, labFlowLogFields(state));
    o.progress(`flow logs on (flush every ${LAB_FLOWS_FLUSH_INTERVAL}); flow UI and API on ${flows.url}/`);
  }
  if (state.monitoring !== undefined) {
    // Felix's metrics on every agent (port 9091, every address of the node's namespace).
    felix['prometheusMetricsEnabled'] = true;
    const controllersAddress = o.controllers !== false ? state.nodes[0]?.address : undefined;
    try {
      const url = await startLabMonitoring(state, { controllersAddress, flows: o.flowLogs === true });
      o.progress(`Prometheus (namespace ${state.monitoring.netns}, ${state.monitoring.address}) scraping every agent${controllersAddress === undefined ? '' : ', the controllers'}${o.flowLogs === true ? ', the flow aggregator' : ''}; on ${url}/`);
    } finally {
      writeLabState(state);
    }
  }
  if (Object.keys(felix).length > 0) {
    if (state.dataplane === 'bpf') felix['bpfEnabled'] = true;
    if (state.wireguard === true) felix['wireguardEnabled'] = true;
    await withLabClient(state, async (c) => {
      await c.apply({ apiVersion: 'projectcalico.org/v3', kind: 'FelixConfiguration', metadata: { name: 'default' }, spec: felix });
    });
  }

  const typhaNodes = labTyphaNodes(state);
  if (typhaNodes.length > 0) {
    o.progress(`starting ${typhaNodes.length} Typha replica(s) (${typhaNodes.map((n) => `${n.name} ${n.address}:${LAB_TYPHA_PORT}`).join(', ')}); the agents read through them`);
    for (const n of typhaNodes) state.pids.push(await spawnTypha(state, n));
    writeLabState(state);
  }

  const bpf = state.dataplane === 'bpf';
  o.progress(`starting ${state.nodes.length} node agents and service proxies${bpf ? ' (eBPF dataplane: the proxies write BPF NAT maps)' : ''}`);
  for (const n of state.nodes) {
    // eBPF: the node's own bpffs, mounted here in the host's mount namespace so its pins outlive
    // the agent (`ip netns exec` gives the agent a copy of this mount table) and lab down finds it.
    if (bpf) await mountBpffs(nodeBpffsDir(n));
    n.agentPid = await spawnAgent(state, n);
    n.proxyPid = await spawnProxy(state, n);
  }
  if (o.controllers !== false) {
    o.progress('starting the controllers (IPAM GC, node cleanup) in the first node');
    state.pids.push(await spawnControllers(state));
  }
  writeLabState(state);

  await waitForNodesReady(state, o.readyTimeoutMs ?? 120_000, o.progress);
  if (state.wireguard === true) o.progress(`WireGuard on: node-to-node traffic goes through wireguard.cali (UDP 51820), every node has a keyed peer for every other (\`tricolor node status --name NODE\` lists them)`);
  o.progress(`lab ${quote(state.name)} is up (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  return state;
}
