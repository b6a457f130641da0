// Cross-node pod routing by the real node agent: three node namespaces on a bridge (in an
// underlay namespace), `tricolor node run` in each on one embedded datastore, one pod per node
// plugged by the real CNI plugin. BGP mode: the agents run BIRD (mesh), every node learns the
// other blocks (proto bird) and blackholes its own, pods reach each other (ICMP and TCP),
// `tricolor node status` lists the sessions, a BIRD killed with SIGKILL is restarted by its
// agent and relearns the routes, and an agent killed with SIGKILL or stopped with SIGTERM leaves
// its BIRD (and routes) running and its successor adopts that BIRD; SIGINT stops BIRD too. VXLAN mode: no BIRD; vxlan.calico with VNI 4096, port 4789,
// MTU underlay − 50, tunnel addresses from IPAM on the Nodes, routes/neighbours/FDB per remote
// node, pods reach each other; deleting a Node removes its route, neighbour and FDB entry.
// Needs root, BIRD and nft; everything is removed also on failure.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { kindInfoFor } from '../../src/api/index.ts';
import type { Node } from '../../src/api/index.ts';
import type { AgentStatus } from '../../src/agent/index.ts';
import { vtepMAC } from '../../src/calc/index.ts';
import { ResourceClient, SQLiteBackend } from '../../src/datastore/index.ts';
import { createNetns, netnsSkipReason, run, type ExecResult, type TestNetns } from '../support/netns.ts';
import { CNI_BIN, REPO, podArgs } from './cni-harness.ts';
import {
  ensureVXLANDevice,
  reconcileAgentRoutes,
  reconcileVXLANFDB,
  reconcileVXLANNeighbours,
} from '../../src/dataplane/io/index.ts';
import { until } from '../support/wait.ts';

const skip =
  netnsSkipReason() ??
  (spawnSync('bird', ['--version']).status === 0 ? undefined : 'BIRD is not installed') ??
  (spawnSync('nft', ['--version']).status === 0 ? undefined : 'nft is not installed');

const TRICOLOR_BIN = join(REPO, 'bin', 'tricolor.ts');
const NODE_INFO = kindInfoFor('projectcalico.org/v3', 'Node') ?? assert.fail('Node kind');
const N = 3;
const nodeName = (i: number) => `rt-n${i}`;
const nodeIP = (i: number) => `10.98.0.${11 + i}`;
const UNDERLAY_GW = '10.98.0.1';
const POOL = '10.245.0.0/16';
const TCP_PORT = 8080;
const SERVER_JS = `require('node:net').createServer((s) => { s.on('error', () => {}); s.end('ok\\n'); }).listen(${TCP_PORT}, '0.0.0.0'); setInterval(() => {}, 1 << 30);`;
const TCP_PROBE_JS = `const s = require('node:net').connect({ host: process.argv[1], port: ${TCP_PORT} }); s.setTimeout(1500, () => process.exit(1)); s.on('data', () => process.exit(0)); s.on('error', () => process.exit(1));`;

interface RouteJSON {
  dst?: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  type?: string;
  flags?: string[];
}

interface Cluster {
  readonly dir: string;
  readonly dbPath: string;
  readonly underlay: TestNetns;
  readonly nodes: TestNetns[];
  readonly env: NodeJS.ProcessEnv;
  readonly agents: Map<number, { child: ChildProcess; log: () => string }>;
  readonly pods: { ns: TestNetns; ip: string; node: number }[];
  runDir(i: number): string;
  status(i: number): AgentStatus | undefined;
  startAgent(i: number): void;
  /** SIGINT (default) stops the agent and its BIRD; SIGTERM (a restart) leaves BIRD running. */
  stopAgent(i: number, signal?: NodeJS.Signals): Promise<void>;
  addPod(i: number): Promise<{ ns: TestNetns; ip: string; node: number }>;
  cli(args: readonly string[], input?: string): Promise<ExecResult>;
  routes(i: number): Promise<RouteJSON[]>;
  blockOf(i: number): Promise<string>;
  withClient<T>(fn: (c: ResourceClient) => Promise<T>): Promise<T>;
}

async function makeCluster(reg: (fn: () => Promise<void>) => void, vxlanMode: 'Never' | 'Always'): Promise<Cluster> {
  const dir = mkdtempSync('/tmp/tri-rt-');
  const dbPath = join(dir, 'datastore.db');
  const procs = new Set<ChildProcess>();
  reg(async () => {
    for (const c of procs) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  process.on('exit', () => {
    for (const c of procs) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
  const underlay = await createNetns(reg, 'tri-t-rt-');
  await underlay.execOk(['ip', 'link', 'add', 'br0', 'type', 'bridge']);
  await underlay.execOk(['ip', 'addr', 'add', `${UNDERLAY_GW}/24`, 'dev', 'br0']);
  await underlay.execOk(['ip', 'link', 'set', 'br0', 'up']);
  const nodes: TestNetns[] = [];
  for (let i = 0; i < N; i++) {
    const ns = await createNetns(reg, 'tri-t-rt-');
    nodes.push(ns);
    await underlay.execOk(['ip', 'link', 'add', `up${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.name]);
    await underlay.execOk(['ip', 'link', 'set', `up${i}`, 'master', 'br0']);
    await underlay.execOk(['ip', 'link', 'set', `up${i}`, 'up']);
    await ns.execOk(['ip', 'addr', 'add', `${nodeIP(i)}/24`, 'dev', 'eth0']);
    await ns.execOk(['ip', 'link', 'set', 'eth0', 'up']);
    await ns.execOk(['ip', 'route', 'add', 'default', 'via', UNDERLAY_GW]);
    await ns.execOk(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    mkdirSync(join(dir, nodeName(i)));
    writeFileSync(join(dir, nodeName(i), 'nodename'), nodeName(i));
  }

  const backend = new SQLiteBackend({ path: dbPath });
  try {
    const c = new ResourceClient(backend);
    await c.initialise();
    const V = 'projectcalico.org/v3';
    const docs: unknown[] = [
      { apiVersion: V, kind: 'IPPool', metadata: { name: 'pool' }, spec: { cidr: POOL, blockSize: 26, ipipMode: 'Never', vxlanMode, natOutgoing: false, nodeSelector: 'all()' } },
      { apiVersion: V, kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { asNumber: 64512, nodeToNodeMeshEnabled: true, logSeverityScreen: 'Info' } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default', labels: { 'kubernetes.io/metadata.name': 'default' } } },
      ...Array.from({ length: N }, (_, i) => ({ apiVersion: V, kind: 'Node', metadata: { name: nodeName(i) }, spec: { bgp: { ipv4Address: `${nodeIP(i)}/24` } } })),
    ];
    for (const d of docs) await c.apply(d);
  } finally {
    await backend.close();
  }

  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, DATASTORE_TYPE: 'embedded', TRICOLOR_DATASTORE_PATH: dbPath };
  const agents = new Map<number, { child: ChildProcess; log: () => string }>();
  const pods: { ns: TestNetns; ip: string; node: number }[] = [];
  const cl: Cluster = {
    dir,
    dbPath,
    underlay,
    nodes,
    env,
    agents,
    pods,
    runDir: (i) => join(dir, nodeName(i)),
    status: (i) => {
      try {
        return JSON.parse(readFileSync(join(cl.runDir(i), 'status.json'), 'utf8')) as AgentStatus;
      } catch {
        return undefined;
      }
    },
    startAgent: (i) => {
      const ns = nodes[i];
      if (ns === undefined) throw new Error(`no node ${i}`);
      const child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, TRICOLOR_BIN, 'node', 'run', '--name', nodeName(i), '--run-dir', cl.runDir(i), '--nodename-file', join(cl.runDir(i), 'nodename'), '--mtu-file', join(cl.runDir(i), 'mtu'), '--cni-socket', 'none'], {
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      procs.add(child);
      let log = '';
      child.stderr?.on('data', (b: Buffer) => {
        log += b.toString();
        if (process.env.TRI_AGENT_LOG === '1') process.stderr.write(b);
      });
      agents.set(i, { child, log: () => log });
    },
    stopAgent: async (i, signal = 'SIGINT') => {
      const a = agents.get(i);
      if (a === undefined || a.child.exitCode !== null || a.child.signalCode !== null) return;
      const exited = new Promise((r) => a.child.once('exit', r));
      a.child.kill(signal);
      await exited;
    },
    addPod: async (i) => {
      const node = nodes[i];
      if (node === undefined) throw new Error(`no node ${i}`);
      const ns = await createNetns(reg, 'tri-t-rt-');
      const pod = `pod-${i}`;
      const containerId = `ctr-${pod}-${ns.name}`;
      const conf = {
        cniVersion: '1.0.0',
        name: 'k8s-pod-network',
        type: 'tricolor-cni',
        datastore_type: 'embedded',
        datastore_path: dbPath,
        nodename_file: join(cl.runDir(i), 'nodename'),
        mtu: vxlanMode === 'Never' ? 1500 : 1450,
        ipam: { type: 'tricolor-ipam' },
        policy: { type: 'k8s' },
      };
      const r = await run(['ip', 'netns', 'exec', node.name, process.execPath, CNI_BIN], {
        input: JSON.stringify(conf),
        env: { PATH: process.env.PATH, CNI_COMMAND: 'ADD', CNI_CONTAINERID: containerId, CNI_NETNS: ns.path, CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni', CNI_ARGS: podArgs('default', pod, containerId) },
      });
      if (r.status !== 0) throw new Error(`CNI ADD on ${nodeName(i)} failed: ${r.stdout}${r.stderr}`);
      const ip = (((JSON.parse(r.stdout) as { ips?: { address: string }[] }).ips ?? [])[0]?.address ?? '').split('/')[0] ?? '';
      const server = spawn('ip', ['netns', 'exec', ns.name, process.execPath, '-e', SERVER_JS], { stdio: 'ignore' });
      procs.add(server);
      const p = { ns, ip, node: i };
      pods.push(p);
      return p;
    },
    cli: (args, input) => run([process.execPath, TRICOLOR_BIN, ...args], { env, ...(input === undefined ? {} : { input }) }),
    routes: async (i) => (await nodes[i]?.ipJson(['-4', 'route', 'show'])) as RouteJSON[],
    blockOf: async (i) => {
      const name = nodeName(i);
      return until(
        () => `a block affine to ${name}`,
        async () => {
          const b = new SQLiteBackend({ path: dbPath });
          try {
            const kvs = await b.list(`/calico/ipam/v2/host/${name}/ipv4/block/`);
            const k = kvs.items[0]?.key;
            return k === undefined ? undefined : k.slice(k.lastIndexOf('/') + 1).replace(/-(\d+)$/, '/$1');
          } finally {
            await b.close();
          }
        },
      );
    },
    withClient: async (fn) => {
      const b = new SQLiteBackend({ path: dbPath });
      try {
        return await fn(new ResourceClient(b));
      } finally {
        await b.close();
      }
    },
  };
  return cl;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function ping(from: TestNetns, ip: string): Promise<boolean> {
  return (await from.exec(['ping', '-c', '1', '-W', '1', ip])).status === 0;
}

async function tcp(from: TestNetns, ip: string): Promise<boolean> {
  return (await from.exec([process.execPath, '-e', TCP_PROBE_JS, ip])).status === 0;
}

/** Every pod reaches every pod on another node, over ICMP and TCP (retried while routes converge). */
async function allPairsConnect(cl: Cluster, timeoutMs = 20_000): Promise<void> {
  for (const a of cl.pods) {
    for (const b of cl.pods) {
      if (a.node === b.node) continue;
      await until(() => `ping ${nodeName(a.node)}/${a.ip} -> ${nodeName(b.node)}/${b.ip}`, async () => ((await ping(a.ns, b.ip)) ? true : undefined), timeoutMs);
      assert.ok(await tcp(a.ns, b.ip), `TCP ${a.ip} -> ${b.ip}:${TCP_PORT}`);
    }
  }
}

void describe('agent routing across nodes', { skip }, () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    // TRI_DEBUG_PAUSE_MS=N keeps the namespaces N ms after the tests, to look around by hand
    if (process.env.TRI_DEBUG_PAUSE_MS !== undefined) await new Promise((r) => setTimeout(r, Number(process.env.TRI_DEBUG_PAUSE_MS)));
    for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
  });
  const reg = (fn: () => Promise<void>) => {
    cleanups.push(fn);
  };

  void test('BGP mode: BIRD run by the agent routes pod blocks; restarted after kill -9', async () => {
    const cl = await makeCluster(reg, 'Never');
    for (let i = 0; i < N; i++) await cl.addPod(i);
    for (let i = 0; i < N; i++) cl.startAgent(i);
    const blocks = await Promise.all(Array.from({ length: N }, (_, i) => cl.blockOf(i)));

    // every node: its own block blackholed by BIRD, the others via their node addresses
    for (let i = 0; i < N; i++) {
      await until(
        () => `BGP routes on ${nodeName(i)}: ${JSON.stringify(cl.status(i)?.bgp)} ${cl.agents.get(i)?.log().slice(-2000)}`,
        async () => {
          const rs = await cl.routes(i);
          for (let j = 0; j < N; j++) {
            const r = rs.find((x) => x.dst === blocks[j]);
            if (i === j ? r?.type !== 'blackhole' || r.protocol !== 'bird' : r?.gateway !== nodeIP(j) || r.protocol !== 'bird') return undefined;
          }
          return true;
        },
      );
    }
    await allPairsConnect(cl);

    // only the aggregate blocks travel: the agent's workload routes carry Felix's metric 1024, so
    // BIRD's aggregation filter keeps pod /32s inside a node's own block at home
    for (let i = 0; i < N; i++) {
      let learned: RouteJSON[] = [];
      await until(
        () => `pod /32s learned over BGP on ${nodeName(i)}: ${JSON.stringify(learned)}`,
        async () => {
          learned = (await cl.routes(i)).filter((r) => r.protocol === 'bird' && !(r.dst ?? '').includes('/'));
          return learned.length === 0 ? true : undefined;
        },
      );
    }

    // status file and `node status` show the mesh sessions, read from BIRD
    await until(
      () => `status bgp of ${nodeName(0)}: ${JSON.stringify(cl.status(0)?.bgp)}`,
      async () => (cl.status(0)?.bgp?.filter((p) => p.info.startsWith('Established')).length === N - 1 ? true : undefined),
    );
    const st = await cl.cli(['node', 'status', '--run-dir', cl.runDir(0)]);
    assert.equal(st.status, 0, st.stderr);
    assert.match(st.stdout, /IPv4 BGP status/);
    for (let j = 1; j < N; j++) assert.match(st.stdout, new RegExp(`\\| ${nodeIP(j).replace(/\./g, '\\.')} +\\| node-to-node mesh \\| up +\\|.*Established`));
    const js = JSON.parse((await cl.cli(['node', 'status', '--run-dir', cl.runDir(0), '-o', 'json'])).stdout) as { status: AgentStatus };
    assert.equal(js.status.bgp?.length, N - 1);
    assert.equal(js.status.bird?.running, true);

    // kill -9 BIRD on node 1 and wipe what it programmed: the agent restarts it and it relearns
    const victim = 1;
    const oldPid = cl.status(victim)?.bird?.pid;
    assert.ok(oldPid !== undefined);
    process.kill(oldPid, 'SIGKILL');
    await cl.nodes[victim]?.execOk(['ip', 'route', 'flush', 'proto', 'bird']);
    const newPid = await until(
      () => `a new BIRD on ${nodeName(victim)}`,
      async () => {
        const s = cl.status(victim)?.bird;
        return s?.running === true && s.pid !== undefined && s.pid !== oldPid ? s.pid : undefined;
      },
    );
    assert.notEqual(newPid, oldPid);
    await until(
      () => `routes back on ${nodeName(victim)}`,
      async () => {
        const rs = await cl.routes(victim);
        return [0, 2].every((j) => rs.some((r) => r.dst === blocks[j] && r.gateway === nodeIP(j) && r.protocol === 'bird')) &&
          rs.some((r) => r.dst === blocks[victim] && r.type === 'blackhole')
          ? true
          : undefined;
      },
      40_000,
    );
    assert.ok((cl.status(victim)?.bird?.restarts ?? 0) >= 1);
    await allPairsConnect(cl);

    // kill -9 the agent itself: its BIRD lives on (routes stay); the new agent renders the same
    // configuration and adopts that BIRD instead of replacing it, so no session flaps
    const orphan = newPid;
    cl.agents.get(victim)?.child.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(alive(orphan), 'BIRD outlives a SIGKILLed agent');
    cl.startAgent(victim);
    await until(
      () => `the orphaned BIRD adopted with Established sessions on ${nodeName(victim)}: ${JSON.stringify(cl.status(victim)?.bird)} ${JSON.stringify(cl.status(victim)?.bgp)}`,
      async () => {
        const s = cl.status(victim);
        return s?.bird?.running === true && s.bird.pid === orphan && alive(orphan) && s.bgp?.filter((p) => p.info.startsWith('Established')).length === N - 1 ? true : undefined;
      },
      40_000,
    );
    await allPairsConnect(cl);

    // SIGTERM is a restart: the agent leaves its BIRD running, unsupervised, and the next agent
    // adopts it the same way
    await cl.stopAgent(victim, 'SIGTERM');
    assert.ok(alive(orphan), 'BIRD outlives a SIGTERMed agent');
    cl.startAgent(victim);
    await until(
      () => `BIRD adopted again after SIGTERM on ${nodeName(victim)}: ${JSON.stringify(cl.status(victim)?.bird)}`,
      async () => {
        const s = cl.status(victim);
        return s?.bird?.running === true && s.bird.pid === orphan && alive(orphan) && s.bgp?.filter((p) => p.info.startsWith('Established')).length === N - 1 ? true : undefined;
      },
      40_000,
    );
    await allPairsConnect(cl);

    // SIGINT: the agent stops its BIRD
    for (let i = 0; i < N; i++) await cl.stopAgent(i);
    for (let i = 0; i < N; i++) {
      const pids = (await run(['ip', 'netns', 'pids', cl.nodes[i]?.name ?? ''])).stdout.split('\n').filter((x) => x.trim() !== '');
      const birds = pids.filter((p) => {
        try {
          return readFileSync(`/proc/${p.trim()}/comm`, 'utf8').trim() === 'bird';
        } catch {
          return false;
        }
      });
      assert.deepEqual(birds, [], `BIRD left running in ${nodeName(i)}`);
    }
  });

  void test('VXLAN mode: vxlan.calico, tunnel addresses, routes/neighbours/FDB per remote node', async () => {
    const cl = await makeCluster(reg, 'Always');
    for (let i = 0; i < N; i++) cl.startAgent(i);
    // tunnel addresses come from IPAM and land on the Nodes (with the VTEP MAC)
    const nodes = await until(
      () => 'VXLAN tunnel addresses on every Node',
      () =>
        cl.withClient(async (c) => {
          const list = (await c.list(NODE_INFO)).items as Node[];
          return list.length === N && list.every((n) => n.spec?.ipv4VXLANTunnelAddr !== undefined && n.spec.vxlanTunnelMACAddr !== undefined) ? list : undefined;
        }),
    );
    const tunnel = new Map(nodes.map((n) => [n.metadata.name, n.spec?.ipv4VXLANTunnelAddr ?? '']));
    for (const n of nodes) assert.equal(n.spec?.vxlanTunnelMACAddr, vtepMAC(n.metadata.name));
    for (let i = 0; i < N; i++) await cl.addPod(i);
    const blocks = await Promise.all(Array.from({ length: N }, (_, i) => cl.blockOf(i)));

    for (let i = 0; i < N; i++) {
      const ns = cl.nodes[i]!;
      const dev = await until(
        () => `vxlan.calico on ${nodeName(i)}: ${cl.agents.get(i)?.log().slice(-1500)}`,
        async () => (await ns.ipJson(['-d', 'link', 'show', 'dev', 'vxlan.calico']).catch(() => []))[0],
      );
      const data = ((dev['linkinfo'] as Record<string, unknown>)['info_data'] ?? {}) as Record<string, unknown>;
      assert.equal(data['id'], 4096);
      assert.equal(data['port'], 4789);
      assert.equal(data['local'], nodeIP(i));
      assert.equal(dev['mtu'], 1450);
      assert.equal(dev['address'], vtepMAC(nodeName(i)));
      await until(
        () => `VXLAN routes on ${nodeName(i)}`,
        async () => {
          const rs = await cl.routes(i);
          for (let j = 0; j < N; j++) {
            const r = rs.find((x) => x.dst === blocks[j]);
            if (i === j) {
              if (r?.type !== 'blackhole') return undefined;
            } else if (r === undefined || r.gateway !== tunnel.get(nodeName(j)) || r.dev !== 'vxlan.calico' || !(r.flags ?? []).includes('onlink')) return undefined;
          }
          return true;
        },
      );
      const neigh = await ns.ipJson(['neigh', 'show', 'dev', 'vxlan.calico']);
      const fdb = JSON.parse(await ns.execOk(['bridge', '-j', 'fdb', 'show', 'dev', 'vxlan.calico'])) as { mac: string; dst?: string }[];
      for (let j = 0; j < N; j++) {
        if (j === i) continue;
        assert.ok(neigh.some((e) => e['dst'] === tunnel.get(nodeName(j)) && e['lladdr'] === vtepMAC(nodeName(j))), `neighbour for ${nodeName(j)} on ${nodeName(i)}`);
        assert.ok(fdb.some((e) => e.mac === vtepMAC(nodeName(j)) && e.dst === nodeIP(j)), `fdb for ${nodeName(j)} on ${nodeName(i)}`);
      }
      assert.equal(cl.status(i)?.bird?.running, false, 'no BIRD with every pool VXLAN');
    }
    await allPairsConnect(cl);
    const ifindex0 = (await cl.nodes[0]!.ipJson(['link', 'show', 'dev', 'vxlan.calico']))[0]?.['ifindex'];

    // a node goes: its agent stops, its Node is deleted → the others drop its route, neighbour and FDB entry
    const gone = 2;
    await cl.stopAgent(gone);
    const del = await cl.cli(['delete', 'node', nodeName(gone)]);
    assert.equal(del.status, 0, del.stderr);
    for (let i = 0; i < gone; i++) {
      const ns = cl.nodes[i]!;
      await until(
        () => `${nodeName(gone)} forgotten on ${nodeName(i)}`,
        async () => {
          const rs = await cl.routes(i);
          const neigh = await ns.ipJson(['neigh', 'show', 'dev', 'vxlan.calico']);
          const fdb = JSON.parse(await ns.execOk(['bridge', '-j', 'fdb', 'show', 'dev', 'vxlan.calico'])) as { mac: string }[];
          return !rs.some((r) => r.dst === blocks[gone]) && !neigh.some((e) => e['dst'] === tunnel.get(nodeName(gone))) && !fdb.some((e) => e.mac === vtepMAC(nodeName(gone)))
            ? true
            : undefined;
        },
      );
    }
    // the device was made once and only edited since (never re-created by a reconcile)
    assert.equal((await cl.nodes[0]!.ipJson(['link', 'show', 'dev', 'vxlan.calico']))[0]?.['ifindex'], ifindex0);
    assert.equal(cl.agents.get(0)?.log().match(/vxlan\.calico created/g)?.length, 1, cl.agents.get(0)?.log());
    const a = cl.pods.find((p) => p.node === 0)!;
    const b = cl.pods.find((p) => p.node === 1)!;
    assert.ok(await ping(a.ns, b.ip), 'the remaining nodes still route to each other');
    for (let i = 0; i < N; i++) await cl.stopAgent(i);
  });

  void test('VXLAN driver against the kernel: idempotent, edits in place, re-creates on VNI change, owns proto 80 only', async () => {
    const ns = await createNetns(reg, 'tri-t-rt-');
    const o = { netnsPath: ns.path };
    await ns.execOk(['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1']);
    await ns.execOk(['ip', 'addr', 'add', '10.97.0.1/24', 'dev', 'eth0']);
    await ns.execOk(['ip', 'link', 'set', 'eth0', 'up']);
    await ns.execOk(['ip', 'link', 'set', 'eth1', 'up']);
    const dev = { name: 'vxlan.calico', vni: 4096, port: 4789, localIP: '10.97.0.1', parent: 'eth0', mtu: 1450, mac: '66:01:02:03:04:05', address: '10.246.0.1' };
    assert.equal(await ensureVXLANDevice(dev, o), 'created');
    assert.equal(await ensureVXLANDevice(dev, o), 'unchanged');
    const idx = (await ns.ipJson(['link', 'show', 'dev', 'vxlan.calico']))[0]?.['ifindex'];
    assert.equal(await ensureVXLANDevice({ ...dev, mtu: 1400 }, o), 'updated');
    assert.equal((await ns.ipJson(['link', 'show', 'dev', 'vxlan.calico']))[0]?.['ifindex'], idx, 'an MTU change edits in place');
    assert.equal(await ensureVXLANDevice({ ...dev, vni: 5000 }, o), 'created');
    const link = (await ns.ipJson(['-d', 'link', 'show', 'dev', 'vxlan.calico']))[0] ?? {};
    assert.equal(((link['linkinfo'] as Record<string, unknown>)['info_data'] as Record<string, unknown>)['id'], 5000);
    assert.equal(link['mtu'], 1450);
    assert.deepEqual((await ns.ipJson(['-4', 'addr', 'show', 'dev', 'vxlan.calico'])).flatMap((l) => (l['addr_info'] as { local: string; prefixlen: number }[]).map((a) => `${a.local}/${a.prefixlen}`)), ['10.246.0.1/32']);

    const n1 = [{ ip: '10.246.1.0', mac: '66:aa:00:00:00:01' }, { ip: '10.246.2.0', mac: '66:aa:00:00:00:02' }];
    assert.deepEqual(await reconcileVXLANNeighbours('vxlan.calico', n1, o), { added: 2, removed: 0 });
    assert.deepEqual(await reconcileVXLANNeighbours('vxlan.calico', n1, o), { added: 0, removed: 0 });
    assert.deepEqual(await reconcileVXLANNeighbours('vxlan.calico', [{ ip: '10.246.1.0', mac: '66:aa:00:00:00:09' }], o), { added: 1, removed: 1 });
    const neigh = await ns.ipJson(['neigh', 'show', 'dev', 'vxlan.calico']);
    assert.deepEqual(neigh.map((e) => `${String(e['dst'])} ${String(e['lladdr'])}`), ['10.246.1.0 66:aa:00:00:00:09']);

    const f1 = [{ mac: '66:aa:00:00:00:01', dst: '10.97.0.2' }, { mac: '66:aa:00:00:00:02', dst: '10.97.0.3' }];
    assert.deepEqual(await reconcileVXLANFDB('vxlan.calico', f1, o), { added: 2, removed: 0 });
    assert.deepEqual(await reconcileVXLANFDB('vxlan.calico', f1, o), { added: 0, removed: 0 });
    assert.deepEqual(await reconcileVXLANFDB('vxlan.calico', [{ mac: '66:aa:00:00:00:01', dst: '10.97.0.4' }], o), { added: 1, removed: 2 });
    const fdb = (JSON.parse(await ns.execOk(['bridge', '-j', 'fdb', 'show', 'dev', 'vxlan.calico'])) as { mac: string; dst?: string }[]).filter((e) => e.dst !== undefined);
    assert.deepEqual(fdb.map((e) => `${e.mac} ${e.dst ?? ''}`), ['66:aa:00:00:00:01 10.97.0.4']);

    // a route of another protocol is left alone; ours converge to the desired set
    await ns.execOk(['ip', 'route', 'add', '10.250.0.0/24', 'via', '10.97.0.9']);
    const want = [
      { dst: '10.246.0.0/26', blackhole: true as const },
      { dst: '10.246.1.0/26', via: '10.246.1.0', dev: 'vxlan.calico' },
    ];
    assert.deepEqual(await reconcileAgentRoutes(want, o), { added: 2, removed: 0, errors: [] });
    assert.deepEqual(await reconcileAgentRoutes(want, o), { added: 0, removed: 0, errors: [] });
    assert.deepEqual(await reconcileAgentRoutes([{ dst: '10.246.1.0/26', via: '10.97.0.2', dev: 'eth0' }], o), { added: 1, removed: 1, errors: [] });
    const rs = (await ns.ipJson(['-4', 'route', 'show'])) as RouteJSON[];
    assert.ok(rs.some((r) => r.dst === '10.250.0.0/24'), 'foreign route kept');
    assert.ok(!rs.some((r) => r.dst === '10.246.0.0/26'), 'blackhole removed');
    assert.ok(rs.some((r) => r.dst === '10.246.1.0/26' && r.gateway === '10.97.0.2' && r.dev === 'eth0' && (r.flags ?? []).includes('onlink') && r.protocol === '80'));
  });
});
