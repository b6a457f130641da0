// The lab's nodes: each node namespace runs one node agent (which supervises BIRD) and one
// service proxy, started detached with the lab's datastore in their environment, and has the
// CNI plugins installed as `tricolor install-cni` puts them on a host.

import { join } from 'node:path';
import { TricolorError, quote } from '../../base/index.ts';
import { existsSync, readFileSync } from 'node:fs';
import { LAB_TYPHA_HEALTH_PORT, LAB_TYPHA_PORT, cniBinDir, labDatastoreEnv, labMtuFile, labTyphaAddr, logsDir, nodeBpffsDir, type LabNode, type LabState, type Progress } from '../lab-model.ts';
import { datastoreEnv } from './datastore.ts';
import { REPO, TRICOLOR_BIN } from './paths.ts';
import { pidAlive, startDetached, waitFor } from './processes.ts';
import { listPods, readProxyStatus, writeLabState } from './state.ts';

export function nodeOf(s: LabState, name: string): LabNode {
  const n = s.nodes.find((x) => x.name === name);
  if (n === undefined) {
    throw new TricolorError('ERR_NOT_FOUND', `--node: ${quote(name)} is not a node of lab ${quote(s.name)} (${s.nodes.map((x) => x.name).join(', ')})`, { value: name });
  }
  return n;
}

/**
 * The node's CNI plugins, as `tricolor install-cni` puts them on a host: tricolor-cni hands each
 * call to this node's agent over <runDir>/cni.sock (and runs it itself while no agent answers).
 */
export async function installNodeCni(s: LabState, n: LabNode): Promise<void> {
  const { installCni, datastoreEnvOf } = await import('../../cni/index.ts');
  await installCni({
    binDir: cniBinDir(n),
    confDir: join(n.runDir, 'cni-conf'),
    nodePath: process.execPath,
    repoRoot: REPO,
    env: datastoreEnvOf(labDatastoreEnv(s, 'cni')),
    nodename: n.name,
    agentSocket: join(n.runDir, 'cni.sock'),
  });
}

/** The node's WireGuard runs, has its key published and an encrypted peer for every other node. */
function wireguardReady(runDir: string, peers: number): boolean {
  try {
    const wg = (JSON.parse(readFileSync(join(runDir, 'status.json'), 'utf8')) as { wireguard?: { device?: { running?: boolean; error?: string }; peers?: unknown[]; plaintext?: unknown[] } }).wireguard;
    return wg?.device?.running === true && wg.device.error === undefined && (wg.peers?.length ?? 0) >= peers && (wg.plaintext?.length ?? 1) === 0;
  } catch {
    return false;
  }
}

export function spawnAgent(s: LabState, n: LabNode): Promise<number> {
  const typha = labTyphaAddr(s);
  return startDetached(
    ['ip', 'netns', 'exec', n.netns, process.execPath, TRICOLOR_BIN, 'node', 'run', '--name', n.name, '--run-dir', n.runDir, '--nodename-file', join(n.runDir, 'nodename'), '--mtu-file', labMtuFile(n), '--cni-socket', join(n.runDir, 'cni.sock')],
    join(logsDir(s), `${n.name}-agent.log`),
    { ...datastoreEnv(s, 'agent'), NODENAME: n.name, ...(typha !== undefined ? { FELIX_TYPHAADDR: typha } : {}) },
  );
}

/** The proxy's environment: the datastore, and Typha when the lab runs it (syncer `proxy`). */
function proxyEnv(s: LabState): NodeJS.ProcessEnv {
  const typha = labTyphaAddr(s);
  return { ...datastoreEnv(s, 'proxy'), ...(typha !== undefined ? { FELIX_TYPHAADDR: typha } : {}) };
}

/**
 * A Typha replica in a node's namespace, as a Deployment's pod would land on a node: listening on
 * the node's underlay address (every agent reaches it over the underlay), metrics on :9093 there,
 * health (`/liveness`, `/readiness`) on the namespace's own loopback :9098, where a kubelet probe
 * would look.
 */
export function spawnTypha(s: LabState, n: LabNode, env: NodeJS.ProcessEnv = datastoreEnv(s, 'typha')): Promise<number> {
  return startDetached(
    ['ip', 'netns', 'exec', n.netns, process.execPath, TRICOLOR_BIN, 'typha', 'run', '--host', n.address, '--port', String(LAB_TYPHA_PORT), '--metrics-host', n.address, '--metrics-port', '9093', '--health-host', '127.0.0.1', '--health-port', String(LAB_TYPHA_HEALTH_PORT)],
    join(logsDir(s), `${n.name}-typha.log`),
    env,
  );
}

export function spawnProxy(s: LabState, n: LabNode, env: NodeJS.ProcessEnv = proxyEnv(s)): Promise<number> {
  // eBPF labs: the proxy programs the node's BPF NAT maps instead of its nft table
  const bpf = s.dataplane === 'bpf' ? ['--dataplane', 'bpf', '--bpffs', nodeBpffsDir(n)] : [];
  return startDetached(
    ['ip', 'netns', 'exec', n.netns, process.execPath, TRICOLOR_BIN, 'proxy', 'run', '--name', n.name, '--run-dir', n.runDir, ...bpf],
    join(logsDir(s), `${n.name}-proxy.log`),
    env,
  );
}

/**
 * The controllers (calico-kube-controllers' role), in the first node's namespace as a Deployment
 * would land on some node; metrics on that namespace's loopback :9094, Calico's port (on the
 * node's underlay address when the lab runs Prometheus).
 */
export function spawnControllers(s: LabState, env: NodeJS.ProcessEnv = datastoreEnv(s, 'controllers')): Promise<number> {
  const n = s.nodes[0];
  if (n === undefined) throw new TricolorError('ERR_INTERNAL', `lab ${quote(s.name)} has no node to run the controllers on`);
  // With the lab's Prometheus, metrics listen on the node's underlay address so it can scrape them.
  const host = s.monitoring === undefined ? [] : ['--metrics-host', n.address];
  return startDetached(
    ['ip', 'netns', 'exec', n.netns, process.execPath, TRICOLOR_BIN, 'controllers', 'run', '--identity', `${s.name}-controllers`, '--metrics-port', '9094', ...host],
    join(logsDir(s), 'controllers.log'),
    env,
  );
}

/** Wait (bounded) until every node's agent is ready and its proxy in sync; a dead agent fails at once. */
export async function waitForNodesReady(s: LabState, timeoutMs: number, progress: Progress): Promise<void> {
  const logs = logsDir(s);
  const notReady = new Set(s.nodes.map((n) => n.name));
  let lastShown = -1;
  await waitFor(
    async () => {
      const { readStatusFile } = await import('../../agent/index.ts');
      for (const n of s.nodes) {
        if (!notReady.has(n.name)) continue;
        if (n.agentPid !== undefined && !pidAlive(n.agentPid)) {
          throw new TricolorError('ERR_IO', `lab ${quote(s.name)}: the agent of ${n.name} exited; see ${join(logs, `${n.name}-agent.log`)} (the lab is left up: \`tricolor lab down --name ${s.name}\`)`);
        }
        let ready: boolean;
        try {
          ready = readStatusFile(n.runDir)?.ready === true;
        } catch {
          ready = false;
        }
        const proxyReady = readProxyStatus(n)?.inSync === true;
        // pods take their MTU from the file the agent writes; with WireGuard, every node also has
        // its peers before the lab counts as up (else the first packets would go in plaintext)
        if (ready && proxyReady && existsSync(labMtuFile(n)) && (s.wireguard !== true || wireguardReady(n.runDir, s.nodes.length - 1))) notReady.delete(n.name);
      }
      const done = s.nodes.length - notReady.size;
      if (done !== lastShown) {
        lastShown = done;
        progress(`  ${done}/${s.nodes.length} nodes ready`);
      }
      return notReady.size === 0 ? true : undefined;
    },
    timeoutMs,
    200,
  );
  if (notReady.size > 0) {
    throw new TricolorError('ERR_TIMEOUT', `lab ${quote(s.name)}: ${[...notReady].join(', ')} not ready after ${timeoutMs / 1000}s; see ${logs} (the lab is left up: \`tricolor lab down --name ${s.name}\`)`);
  }
}

/**
 * Start a node's agent again after it died or was killed (tests, benchmarks, a user who stopped
 * it): same command line as `lab up`, new pid recorded in state.json; waits (bounded) for ready.
 * Refused while the recorded agent still runs.
 */
export async function restartNodeAgent(s: LabState, node: string, timeoutMs = 60_000): Promise<LabNode> {
  const n = nodeOf(s, node);
  if (n.agentPid !== undefined && pidAlive(n.agentPid)) {
    throw new TricolorError('ERR_ALREADY_EXISTS', `the agent of ${node} still runs (pid ${n.agentPid})`, { value: node });
  }
  const startedAt = Date.now();
  n.agentPid = await spawnAgent(s, n);
  writeLabState(s);
  const { readStatusFile } = await import('../../agent/index.ts');
  const ready = await waitFor(() => {
    try {
      const st = readStatusFile(n.runDir);
      return st !== undefined && st.pid === n.agentPid && st.ready ? true : undefined;
    } catch {
      return undefined;
    }
  }, timeoutMs, 100);
  if (ready !== true) throw new TricolorError('ERR_TIMEOUT', `the restarted agent of ${node} is not ready after ${(Date.now() - startedAt) / 1000}s; see ${join(logsDir(s), `${node}-agent.log`)}`);
  return n;
}

/** Wait (bounded, best effort) until the node's agent has programmed as many endpoints as the node has pods. */
export async function waitForEndpointsProgrammed(s: LabState, n: LabNode, timeoutMs = 15_000): Promise<boolean> {
  if (n.agentPid === undefined || !pidAlive(n.agentPid)) return false;
  const want = listPods(s).filter((p) => p.node === n.name && p.ip !== '').length;
  const { readStatusFile } = await import('../../agent/index.ts');
  const ok = await waitFor(() => {
    try {
      const st = readStatusFile(n.runDir);
      return st !== undefined && st.endpoints.workload >= want ? true : undefined;
    } catch {
      return undefined;
    }
  }, timeoutMs, 50);
  return ok === true;
}
