// The lab's io half: build and tear down a cluster of network namespaces (underlay bridge,
// nodes, external host), run one agent and one service proxy per node, plug pods in with the
// real CNI plugin, keep Kubernetes-side objects in the lab's embedded datastore, and probe.
// Everything lives under the lab's run directory and its `tri-<lab>-` namespace prefix, so
// `lab down` can remove it all even when the process that built it crashed half way.

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TricolorError, isTricolorError, quote } from '../../base/index.ts';
import {
  CLUSTER_AS,
  ETCD_SOCKET_NAME,
  EXTERNAL_GATEWAY,
  EXTERNAL_TCP_PORTS,
  EXTERNAL_UDP_PORTS,
  LAB_POINTER_FILE,
  LAB_ROOT,
  UNDERLAY_GATEWAY,
  allocateClusterIP,
  describeLabDatastore,
  labDatastoreEnv,
  labPrefix,
  labRunDir,
  pickNode,
  planLab,
  podFileName,
  podNetnsName,
  renderHostsFile,
  renderPointerConfig,
  renderTorConfig,
  servePortName,
  type Encap,
  type LabDatastore,
  type LabNode,
  type LabPod,
  type LabState,
  type ServePort,
  type ServicePortSpec,
} from '../lab-model.ts';
import { mapLimit, pidAlive, sh, shOk, startDetached, stopPids, waitFor } from './shell.ts';

const REPO = join(import.meta.dirname, '..', '..', '..');
const TRICOLOR_BIN = join(REPO, 'bin', 'tricolor.ts');
const CNI_BIN = join(REPO, 'bin', 'tricolor-cni.ts');
/** Where lab up installs a node's CNI plugins (tricolor-cni talks to the node agent's socket). */
const cniBinDir = (n: { runDir: string }): string => join(n.runDir, 'cni-bin');
const PROBER = join(import.meta.dirname, 'prober-main.ts');
const NETNS_ETC = '/etc/netns';

export type Progress = (line: string) => void;

// ---- state on disk -----------------------------------------------------------------------------

function statePath(runDir: string): string {
  return join(runDir, 'state.json');
}

function writeJson(path: string, value: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  renameSync(tmp, path);
}

export function readLabState(lab: string, root = LAB_ROOT): LabState | undefined {
  const p = statePath(labRunDir(lab, root));
  if (!existsSync(p)) return undefined;
  return JSON.parse(readFileSync(p, 'utf8')) as LabState;
}

export function requireLab(lab: string): LabState {
  const s = readLabState(lab);
  if (s === undefined) {
    throw new TricolorError('ERR_NOT_FOUND', `lab ${quote(lab)} is not up (start it with \`tricolor lab up --name ${lab}\`)`, { value: lab });
  }
  return s;
}

/** The lab named by the pointer file (the most recent `lab up`), if any. */
export function currentLabName(): string | undefined {
  try {
    const m = /\n\s+name:\s*"?([a-z0-9]+)"?/.exec(readFileSync(LAB_POINTER_FILE, 'utf8'));
    return m?.[1];
  } catch {
    return undefined;
  }
}

/**
 * The run dir of a lab node's agent (`<labdir>/nodes/<node>`), for `tricolor node status --name
 * NODE` on the host: the lab is `lab` if given, else $TRICOLOR_LAB, else the pointer's. Undefined
 * when no such lab is up or it has no such node.
 */
export function labNodeRunDir(node: string, lab?: string): string | undefined {
  const name = lab ?? process.env['TRICOLOR_LAB'] ?? currentLabName();
  if (name === undefined || !/^[a-z0-9]{1,12}$/.test(name)) return undefined;
  try {
    return readLabState(name)?.nodes.find((n) => n.name === node)?.runDir;
  } catch {
    return undefined;
  }
}

function podsDir(s: LabState): string {
  return join(s.runDir, 'pods');
}

export function listPods(s: LabState): LabPod[] {
  const dir = podsDir(s);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as LabPod)
    .sort((a, b) => (`${a.namespace}/${a.name}` < `${b.namespace}/${b.name}` ? -1 : 1));
}

export function findPod(s: LabState, ns: string, name: string): LabPod | undefined {
  const p = join(podsDir(s), podFileName(ns, name));
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as LabPod) : undefined;
}

/** The environment of every lab process: ours, with the lab's datastore in place of any other. */
function datastoreEnv(s: LabState): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(CALICO_)?(DATASTORE_TYPE|ETCD_|TRICOLOR_DATASTORE_PATH)/.test(k)) env[k] = v;
  return { ...env, ...labDatastoreEnv(s) };
}

/** Run fn with a resource client over the lab's datastore, closed afterwards. */
export async function withLabClient<T>(s: LabState, fn: (c: import('../../datastore/index.ts').ResourceClient) => Promise<T>): Promise<T> {
  const { openBackend, datastoreConfigFromEnv, ResourceClient } = await import('../../datastore/index.ts');
  const backend = await openBackend(datastoreConfigFromEnv(labDatastoreEnv(s)));
  try {
    return await fn(new ResourceClient(backend));
  } finally {
    await backend.close();
  }
}

async function getOrUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (isTricolorError(e, 'ERR_NOT_FOUND')) return undefined;
    throw e;
  }
}

async function kind(apiVersion: string, k: string): Promise<import('../../api/index.ts').KindInfo> {
  const { kindInfoFor } = await import('../../api/index.ts');
  const info = kindInfoFor(apiVersion, k);
  if (info === undefined) throw new TricolorError('ERR_INTERNAL', `kind ${apiVersion} ${k} is not registered`);
  return info;
}

// ---- namespaces and links ------------------------------------------------------------------------

async function netnsAdd(name: string): Promise<void> {
  await shOk(['ip', 'netns', 'add', name]);
  await shOk(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
}

/** Run an iproute2 batch inside a namespace (one process for many commands). */
async function ipBatch(ns: string, lines: readonly string[]): Promise<void> {
  await shOk(['ip', '-n', ns, '-batch', '-'], { input: lines.join('\n') + '\n' });
}

async function nsSysctl(ns: string, key: string, value: string): Promise<void> {
  await shOk(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', `${key}=${value}`]);
}

async function labNetnsNames(prefix: string): Promise<string[]> {
  const r = await sh(['ip', 'netns', 'list']);
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.startsWith(prefix));
}

/** Inode of each named network namespace (what `/proc/PID/ns/net` links to as `net:[INODE]`). */
function netnsInodes(names: readonly string[]): Set<number> {
  const out = new Set<number>();
  for (const ns of names) {
    try {
      out.add(statSync(join('/var/run/netns', ns)).ino);
    } catch {
      // deleted meanwhile
    }
  }
  return out;
}

/** Every process whose network namespace is one of `inodes` (even a namespace already deleted). */
function pidsInNetns(inodes: ReadonlySet<number>): number[] {
  if (inodes.size === 0) return [];
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    const pid = Number(d);
    if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) continue;
    try {
      const m = /^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/ns/net`));
      if (m !== null && inodes.has(Number(m[1]))) out.push(pid);
    } catch {
      // exited, or a kernel thread
    }
  }
  return out;
}

// ---- up ----------------------------------------------------------------------------------------

export interface LabUpOptions {
  readonly name: string;
  readonly nodes: number;
  readonly encap: Encap;
  readonly podCidr: string;
  readonly routeReflector?: string | undefined;
  /** embedded (default): a SQLite file in the run dir; etcdv3: the lab's own etcd on a unix socket there. */
  readonly datastore?: LabDatastore | undefined;
  /** Add the `tor` router (gobgpd, AS 64513) on the underlay, peered with every node. */
  readonly tor?: boolean | undefined;
  readonly readyTimeoutMs?: number;
  readonly progress: Progress;
}

export async function labUp(o: LabUpOptions): Promise<LabState> {
  const state = planLab({
    name: o.name,
    nodes: o.nodes,
    encap: o.encap,
    podCidr: o.podCidr,
    routeReflector: o.routeReflector,
    ...(o.datastore === undefined ? {} : { datastore: o.datastore }),
    tor: o.tor === true,
  });
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
  mkdirSync(join(state.runDir, 'logs'), { recursive: true });
  mkdirSync(podsDir(state), { recursive: true });
  writeJson(statePath(state.runDir), state);
  const t0 = Date.now();

  o.progress(`underlay ${UNDERLAY_GATEWAY.replace(/\.1$/, '.0')}/24 and external host ${state.externalIP}`);
  await netnsAdd(state.underlayNetns);
  await ipBatch(state.underlayNetns, ['link add br0 type bridge', `addr add ${UNDERLAY_GATEWAY}/24 dev br0`, 'link set br0 up']);
  await nsSysctl(state.underlayNetns, 'net.ipv4.ip_forward', '1');
  await netnsAdd(state.externalNetns);
  await shOk(['ip', '-n', state.underlayNetns, 'link', 'add', 'ext0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', state.externalNetns]);
  await ipBatch(state.underlayNetns, [`addr add ${EXTERNAL_GATEWAY}/24 dev ext0`, 'link set ext0 up']);
  await ipBatch(state.externalNetns, [`addr add ${state.externalIP}/24 dev eth0`, 'link set eth0 up', `route add default via ${EXTERNAL_GATEWAY}`]);
  const logs = join(state.runDir, 'logs');
  // The external host: TCP answers with the address it sees the client as (the NAT check reads it).
  for (const port of EXTERNAL_TCP_PORTS) {
    state.pids.push(await startDetached(['ip', 'netns', 'exec', state.externalNetns, 'socat', `TCP4-LISTEN:${port},reuseaddr,fork`, 'SYSTEM:echo $SOCAT_PEERADDR'], join(logs, 'external.log')));
  }
  for (const port of EXTERNAL_UDP_PORTS) {
    state.pids.push(await startDetached(['ip', 'netns', 'exec', state.externalNetns, 'socat', `UDP4-RECVFROM:${port},fork`, 'SYSTEM:echo $SOCAT_PEERADDR'], join(logs, 'external.log')));
  }
  writeJson(statePath(state.runDir), state);
  if (state.etcd !== undefined) {
    o.progress(`etcd on ${state.etcd.endpoint} (namespace ${state.etcd.netns})`);
    await startLabEtcd(state, logs);
    writeJson(statePath(state.runDir), state);
  }

  o.progress(`${state.nodes.length} node namespaces on the underlay`);
  await mapLimit(state.nodes, 4, async (n) => {
    await netnsAdd(n.netns);
    await shOk(['ip', '-n', state.underlayNetns, 'link', 'add', n.uplink, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', n.netns]);
    await ipBatch(state.underlayNetns, [`link set ${n.uplink} master br0`, `link set ${n.uplink} up`]);
    await ipBatch(n.netns, [`addr add ${n.address}/24 dev eth0`, 'link set eth0 up', `route add default via ${UNDERLAY_GATEWAY}`]);
    await nsSysctl(n.netns, 'net.ipv4.ip_forward', '1');
    mkdirSync(n.runDir, { recursive: true });
    // what calico-node writes to /var/lib/calico/nodename, here per node; the CNI netconf points at it
    writeFileSync(join(n.runDir, 'nodename'), n.name);
    // the node's CNI plugins, as `tricolor install-cni` puts them on a host: tricolor-cni hands
    // each call to this node's agent over <runDir>/cni.sock (and runs it itself while no agent answers)
    const { installCni, datastoreEnvOf } = await import('../../cni/index.ts');
    await installCni({
      binDir: cniBinDir(n),
      confDir: join(n.runDir, 'cni-conf'),
      nodePath: process.execPath,
      repoRoot: REPO,
      env: datastoreEnvOf(labDatastoreEnv(state)),
      nodename: n.name,
      mtuBytes: state.encap === 'vxlan' ? 1450 : 1500,
      agentSocket: join(n.runDir, 'cni.sock'),
    });
  });

  if (state.etcd !== undefined) await waitForEtcd(state.etcd, logs);
  if (state.tor !== undefined) {
    o.progress(`tor router ${state.tor.address} (gobgpd, AS ${state.tor.asNumber}) on the underlay`);
    await startTor(state, logs);
    writeJson(statePath(state.runDir), state);
  }

  o.progress(`datastore ${describeLabDatastore(state)}: IPPool ${state.podCidr} (natOutgoing, vxlanMode ${state.encap === 'vxlan' ? 'Always' : 'Never'}), ${state.nodes.length} Nodes`);
  await withLabClient(state, async (c) => {
    await c.initialise();
    const docs: unknown[] = [
      {
        apiVersion: 'projectcalico.org/v3',
        kind: 'IPPool',
        metadata: { name: 'default-ipv4-ippool' },
        spec: { cidr: state.podCidr, blockSize: 26, ipipMode: 'Never', vxlanMode: state.encap === 'vxlan' ? 'Always' : 'Never', natOutgoing: true, nodeSelector: 'all()' },
      },
      { apiVersion: 'projectcalico.org/v3', kind: 'FelixConfiguration', metadata: { name: 'default' }, spec: {} },
      {
        apiVersion: 'projectcalico.org/v3',
        kind: 'BGPConfiguration',
        metadata: { name: 'default' },
        spec: { asNumber: CLUSTER_AS, nodeToNodeMeshEnabled: state.routeReflector === undefined, logSeverityScreen: 'Info' },
      },
      ...state.nodes.map((n) => ({
        apiVersion: 'projectcalico.org/v3',
        kind: 'Node',
        metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name, ...(n.name === state.routeReflector ? { 'route-reflector': 'true' } : {}) } },
        spec: { bgp: { ipv4Address: `${n.address}/24`, ...(n.name === state.routeReflector ? { routeReflectorClusterID: '224.0.0.1' } : {}) } },
      })),
    ];
    if (state.routeReflector !== undefined) {
      docs.push({
        apiVersion: 'projectcalico.org/v3',
        kind: 'BGPPeer',
        metadata: { name: 'peer-with-route-reflectors' },
        spec: { nodeSelector: 'all()', peerSelector: "route-reflector == 'true'" },
      });
    }
    if (state.tor !== undefined) {
      // a global peer (no node selector): every node opens an eBGP session to the tor
      docs.push({ apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name: 'tor' }, spec: { peerIP: state.tor.address, asNumber: state.tor.asNumber } });
    }
    for (const d of docs) await c.apply(d);
    for (const ns of ['default', 'kube-system']) await ensureNamespace(c, ns, {});
  });
  writePointer(state);

  o.progress(`starting ${state.nodes.length} node agents and service proxies`);
  const env = datastoreEnv(state);
  for (const n of state.nodes) {
    n.agentPid = await spawnAgent(state, n);
    n.proxyPid = await startDetached(
      ['ip', 'netns', 'exec', n.netns, process.execPath, TRICOLOR_BIN, 'proxy', 'run', '--name', n.name, '--run-dir', n.runDir],
      join(logs, `${n.name}-proxy.log`),
      env,
    );
  }
  writeJson(statePath(state.runDir), state);

  const timeoutMs = o.readyTimeoutMs ?? 120_000;
  const notReady = new Set(state.nodes.map((n) => n.name));
  let lastShown = -1;
  await waitFor(
    async () => {
      const { readStatusFile } = await import('../../agent/index.ts');
      for (const n of state.nodes) {
        if (!notReady.has(n.name)) continue;
        if (n.agentPid !== undefined && !pidAlive(n.agentPid)) {
          throw new TricolorError('ERR_IO', `lab ${quote(state.name)}: the agent of ${n.name} exited; see ${join(logs, `${n.name}-agent.log`)} (the lab is left up: \`tricolor lab down --name ${state.name}\`)`);
        }
        let ready: boolean;
        try {
          ready = readStatusFile(n.runDir)?.ready === true;
        } catch {
          ready = false;
        }
        const proxyReady = readProxyStatus(n)?.inSync === true;
        if (ready && proxyReady) notReady.delete(n.name);
      }
      const done = state.nodes.length - notReady.size;
      if (done !== lastShown) {
        lastShown = done;
        o.progress(`  ${done}/${state.nodes.length} nodes ready`);
      }
      return notReady.size === 0 ? true : undefined;
    },
    timeoutMs,
    200,
  );
  if (notReady.size > 0) {
    throw new TricolorError('ERR_TIMEOUT', `lab ${quote(state.name)}: ${[...notReady].join(', ')} not ready after ${timeoutMs / 1000}s; see ${logs} (the lab is left up: \`tricolor lab down --name ${state.name}\`)`);
  }
  o.progress(`lab ${quote(state.name)} is up (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  return state;
}

// ---- etcd and the tor router ---------------------------------------------------------------------

/** etcd in a namespace of its own, serving clients only on a unix socket under the run dir. */
async function startLabEtcd(s: LabState, logs: string): Promise<void> {
  const e = s.etcd;
  if (e === undefined) return;
  mkdirSync(e.dir, { recursive: true });
  await netnsAdd(e.netns);
  const peer = 'http://127.0.0.1:2380'; // inside the etcd namespace: no port on the host
  const env: NodeJS.ProcessEnv = {};
  // etcd reads every ETCD_* variable as a flag
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ETCD_')) env[k] = v;
  e.pid = await startDetached(
    [
      'ip', 'netns', 'exec', e.netns, 'etcd',
      '--name', 'lab',
      '--data-dir', join(e.dir, 'data'),
      '--listen-client-urls', `unix://${ETCD_SOCKET_NAME}`,
      '--advertise-client-urls', `unix://${ETCD_SOCKET_NAME}`,
      '--listen-peer-urls', peer,
      '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `lab=${peer}`,
      '--initial-cluster-state', 'new',
      '--snapshot-count', '100000',
      '--quota-backend-bytes', String(1024 * 1024 * 1024),
    ],
    join(logs, 'etcd.log'),
    env,
    e.dir,
  );
}

function etcdHealthy(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    void import('node:http').then(({ request }) => {
      const req = request({ socketPath, host: 'localhost', path: '/health', method: 'GET', timeout: 1000, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(res.statusCode === 200 && body.includes('true')));
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
      req.end();
    });
  });
}

async function waitForEtcd(e: NonNullable<LabState['etcd']>, logs: string, timeoutMs = 30_000): Promise<void> {
  const socket = join(e.dir, ETCD_SOCKET_NAME);
  const ok = await waitFor(async () => {
    if (e.pid !== undefined && !pidAlive(e.pid)) {
      throw new TricolorError('ERR_IO', `the lab's etcd exited; see ${join(logs, 'etcd.log')}`);
    }
    return (await etcdHealthy(socket)) ? true : undefined;
  }, timeoutMs, 100);
  if (ok !== true) throw new TricolorError('ERR_TIMEOUT', `the lab's etcd is not healthy after ${timeoutMs / 1000}s on ${e.endpoint}; see ${join(logs, 'etcd.log')}`);
}

/** gobgpd's gRPC API, inside the tor namespace only. */
const TOR_API_PORT = 50051;

/** The tor router: a namespace on the underlay running gobgpd with one eBGP neighbour per node. */
async function startTor(s: LabState, logs: string): Promise<void> {
  const t = s.tor;
  if (t === undefined) return;
  mkdirSync(dirname(t.configPath), { recursive: true });
  writeFileSync(t.configPath, renderTorConfig(t, s.nodes, CLUSTER_AS));
  await netnsAdd(t.netns);
  await shOk(['ip', '-n', s.underlayNetns, 'link', 'add', t.uplink, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', t.netns]);
  await ipBatch(s.underlayNetns, [`link set ${t.uplink} master br0`, `link set ${t.uplink} up`]);
  await ipBatch(t.netns, [`addr add ${t.address}/24 dev eth0`, 'link set eth0 up', `route add default via ${UNDERLAY_GATEWAY}`]);
  t.pid = await startDetached(
    ['ip', 'netns', 'exec', t.netns, 'gobgpd', '-f', t.configPath, '-t', 'toml', '-p', '--api-hosts', `127.0.0.1:${TOR_API_PORT}`, '--pprof-disable'],
    join(logs, 'tor-gobgpd.log'),
  );
}

export interface TorView {
  readonly netns: string;
  readonly address: string;
  readonly asNumber: number;
  readonly running: boolean;
  readonly sessions: { peer: string; asNumber: number; state: string }[];
  /** Prefixes in the tor's RIB (pod blocks learned from the nodes). */
  readonly routes: { prefix: string; nextHops: string[] }[];
}

/** What the tor router has: its BGP sessions and RIB, read with `gobgp -j` in its namespace. */
export async function torStatus(s: LabState): Promise<TorView | undefined> {
  const t = s.tor;
  if (t === undefined) return undefined;
  const running = t.pid !== undefined && pidAlive(t.pid);
  const gobgp = async (args: string[]): Promise<unknown> => {
    if (!running) return undefined;
    const r = await sh(['ip', 'netns', 'exec', t.netns, 'gobgp', '-j', '-u', '127.0.0.1', '-p', String(TOR_API_PORT), ...args]);
    if (r.status !== 0) return undefined;
    try {
      return JSON.parse(r.stdout) as unknown;
    } catch {
      return undefined;
    }
  };
  const neighbors = ((await gobgp(['neighbor'])) ?? []) as { conf?: { neighbor_address?: string; peer_asn?: number }; state?: { session_state?: number | string } }[];
  const rib = ((await gobgp(['global', 'rib'])) ?? {}) as Record<string, { nlri?: { prefix?: string }; attrs?: { type?: number; nexthop?: string }[] }[]>;
  // gobgp's session_state enum (api.PeerState_SessionState): 1 idle … 6 established
  const STATES = ['unknown', 'Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'];
  return {
    netns: t.netns,
    address: t.address,
    asNumber: t.asNumber,
    running,
    sessions: neighbors.map((n) => {
      const st = n.state?.session_state;
      return { peer: n.conf?.neighbor_address ?? '?', asNumber: n.conf?.peer_asn ?? 0, state: typeof st === 'number' ? (STATES[st] ?? String(st)) : String(st ?? 'unknown') };
    }),
    routes: Object.entries(rib)
      .map(([prefix, paths]) => ({ prefix, nextHops: paths.flatMap((p) => (p.attrs ?? []).filter((a) => typeof a.nexthop === 'string').map((a) => a.nexthop as string)) }))
      .sort((a, b) => (a.prefix < b.prefix ? -1 : 1)),
  };
}

function spawnAgent(s: LabState, n: LabNode): Promise<number> {
  return startDetached(
    ['ip', 'netns', 'exec', n.netns, process.execPath, TRICOLOR_BIN, 'node', 'run', '--name', n.name, '--run-dir', n.runDir, '--nodename-file', join(n.runDir, 'nodename')],
    join(s.runDir, 'logs', `${n.name}-agent.log`),
    { ...datastoreEnv(s), NODENAME: n.name },
  );
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
  writeJson(statePath(s.runDir), s);
  const { readStatusFile } = await import('../../agent/index.ts');
  const ready = await waitFor(() => {
    try {
      const st = readStatusFile(n.runDir);
      return st !== undefined && st.pid === n.agentPid && st.ready ? true : undefined;
    } catch {
      return undefined;
    }
  }, timeoutMs, 100);
  if (ready !== true) throw new TricolorError('ERR_TIMEOUT', `the restarted agent of ${node} is not ready after ${(Date.now() - startedAt) / 1000}s; see ${join(s.runDir, 'logs', `${node}-agent.log`)}`);
  return n;
}

function writePointer(s: LabState): void {
  mkdirSync(LAB_ROOT, { recursive: true });
  const text = renderPointerConfig(s);
  const tmp = `${LAB_POINTER_FILE}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, LAB_POINTER_FILE);
}

export interface ProxyStatusView {
  readonly inSync: boolean;
  readonly backends: Readonly<Record<string, readonly string[]>>;
}

function readProxyStatus(n: LabNode): ProxyStatusView | undefined {
  try {
    return JSON.parse(readFileSync(join(n.runDir, 'proxy.json'), 'utf8')) as ProxyStatusView;
  } catch {
    return undefined;
  }
}

// ---- down --------------------------------------------------------------------------------------

export interface LabDownResult {
  readonly namespaces: number;
  readonly processes: number;
}

/** Remove everything of a lab: processes, namespaces, /etc/netns entries, run dir, pointer. Works from a half-built or crashed lab. */
export async function labDown(lab: string, root = LAB_ROOT): Promise<LabDownResult> {
  const prefix = labPrefix(lab);
  const runDir = labRunDir(lab, root);
  const pids: number[] = [];
  const state = (() => {
    try {
      return readLabState(lab, root);
    } catch {
      return undefined;
    }
  })();
  if (state !== undefined) {
    pids.push(...state.pids);
    for (const n of state.nodes) for (const p of [n.agentPid, n.proxyPid]) if (p !== undefined) pids.push(p);
    for (const p of [state.etcd?.pid, state.tor?.pid]) if (p !== undefined) pids.push(p);
    try {
      for (const p of listPods(state)) pids.push(...p.serverPids);
    } catch {
      // damaged pod records: the namespace sweep below still finds their processes
    }
  }
  await stopPids(pids);
  // Whatever still runs inside the lab's namespaces (BIRD, forked servers, probes) goes too.
  // Processes are found by namespace identity (one /proc scan for a 1000-namespace lab), and
  // looked for again after the namespaces are deleted: a `pod add` still in flight can start a
  // server in between, and it would keep running in the deleted namespace.
  const names = await labNetnsNames(prefix);
  const inodes = netnsInodes(names);
  const inside = pidsInNetns(inodes);
  await stopPids(inside, 1000);
  if (names.length > 0) await sh(['ip', '-force', '-batch', '-'], { input: names.map((ns) => `netns del ${ns}\n`).join('') });
  const late = pidsInNetns(inodes);
  await stopPids(late, 500);
  inside.push(...late);
  if (existsSync(NETNS_ETC)) {
    for (const d of readdirSync(NETNS_ETC)) if (d.startsWith(prefix)) rmSync(join(NETNS_ETC, d), { recursive: true, force: true });
  }
  rmSync(runDir, { recursive: true, force: true });
  if (currentLabName() === lab) rmSync(LAB_POINTER_FILE, { force: true });
  // The last lab down also removes the directories `lab up` created, so the host keeps nothing.
  for (const dir of root === LAB_ROOT ? [root, dirname(root)] : [root]) {
    try {
      if (existsSync(dir) && readdirSync(dir).length === 0) rmdirSync(dir);
    } catch {
      // another lab or agent is using it: leave it
    }
  }
  return { namespaces: names.length, processes: new Set([...pids, ...inside]).size };
}

// ---- namespaces (Kubernetes) -----------------------------------------------------------------

async function ensureNamespace(c: import('../../datastore/index.ts').ResourceClient, name: string, labels: Record<string, string>): Promise<boolean> {
  const info = await kind('v1', 'Namespace');
  const existing = await getOrUndefined(c.get(info, name));
  if (existing !== undefined) return false;
  try {
    await c.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { ...labels, 'kubernetes.io/metadata.name': name } } });
  } catch (e) {
    // a concurrent `pod add` created it first
    if (isTricolorError(e, 'ERR_ALREADY_EXISTS')) return false;
    throw e;
  }
  await ensureServiceAccount(c, name, 'default');
  return true;
}

async function ensureServiceAccount(c: import('../../datastore/index.ts').ResourceClient, ns: string, name: string): Promise<void> {
  const info = await kind('v1', 'ServiceAccount');
  if ((await getOrUndefined(c.get(info, name, ns))) !== undefined) return;
  try {
    await c.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns } });
  } catch (e) {
    if (!isTricolorError(e, 'ERR_ALREADY_EXISTS')) throw e;
  }
}

export async function nsAdd(s: LabState, name: string, labels: Record<string, string>): Promise<void> {
  await withLabClient(s, async (c) => {
    if (!(await ensureNamespace(c, name, labels))) {
      throw new TricolorError('ERR_ALREADY_EXISTS', `namespace ${quote(name)} already exists`, { value: name });
    }
  });
}

export async function nsLabel(s: LabState, name: string, edit: (l: Readonly<Record<string, string>>) => Record<string, string>): Promise<void> {
  await withLabClient(s, async (c) => {
    const ns = await c.get(await kind('v1', 'Namespace'), name);
    const labels = { ...edit(ns.metadata.labels ?? {}), 'kubernetes.io/metadata.name': name };
    await c.update({ ...ns, metadata: { ...ns.metadata, labels } });
  });
}

// ---- pods ----------------------------------------------------------------------------------------

export interface PodAddOptions {
  readonly namespace: string;
  readonly name: string;
  readonly node?: string | undefined;
  readonly labels: Record<string, string>;
  readonly serviceAccount?: string | undefined;
  readonly serve: readonly ServePort[];
}

function cniArgs(p: { namespace: string; name: string; containerId: string }): string {
  return `IgnoreUnknown=1;K8S_POD_NAMESPACE=${p.namespace};K8S_POD_NAME=${p.name};K8S_POD_INFRA_CONTAINER_ID=${p.containerId}`;
}

function netconf(s: LabState, n: LabNode): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: 'k8s-pod-network',
    type: 'tricolor-cni',
    ...(s.datastore === 'etcdv3' && s.etcd !== undefined ? { datastore_type: 'etcdv3', etcd_endpoints: s.etcd.endpoint } : { datastore_type: 'embedded', datastore_path: s.datastorePath }),
    nodename: n.name,
    nodename_file: join(n.runDir, 'nodename'),
    mtu: s.encap === 'vxlan' ? 1450 : 1500,
    ipam: { type: 'tricolor-ipam' },
    policy: { type: 'k8s' },
  });
}

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
  const r = await sh(['ip', 'netns', 'exec', n.netns, ...plugin], { input: netconf(s, n), env });
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

function nodeOf(s: LabState, name: string): LabNode {
  const n = s.nodes.find((x) => x.name === name);
  if (n === undefined) {
    throw new TricolorError('ERR_NOT_FOUND', `--node: ${quote(name)} is not a node of lab ${quote(s.name)} (${s.nodes.map((x) => x.name).join(', ')})`, { value: name });
  }
  return n;
}

function serverArgv(netns: string, p: ServePort): string[] {
  // socat forks a child per connection (TCP) or datagram (UDP) and echoes what it gets: enough for
  // a probe, and a few hundred kB per idle listener, so 500 pods fit.
  const listen = p.protocol === 'tcp' ? `TCP4-LISTEN:${p.port},reuseaddr,fork` : `UDP4-RECVFROM:${p.port},fork`;
  return ['ip', 'netns', 'exec', netns, 'socat', listen, 'PIPE'];
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
            ports: o.serve.map((p) => ({ name: servePortName(p), containerPort: p.port, protocol: p.protocol.toUpperCase() })),
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
    serverPids: [],
    labels: o.labels,
    serviceAccount: sa,
  };
  const file = join(podsDir(s), podFileName(o.namespace, o.name));
  try {
    await netnsAdd(netns);
    writeJson(file, record);
    const result = await invokeCni(s, n, 'ADD', record);
    const ips = (result['ips'] ?? []) as { address?: string }[];
    const ip = (ips[0]?.address ?? '').split('/')[0] ?? '';
    if (ip === '') throw new TricolorError('ERR_IO', `pod ${o.namespace}/${o.name}: CNI ADD returned no address`);
    record.ip = ip;
    const pids: number[] = [];
    const log = join(s.runDir, 'logs', 'pods.log');
    for (const p of o.serve) pids.push(await startDetached(serverArgv(netns, p), log));
    record.serverPids = pids;
    writeJson(file, record);
    await withLabClient(s, async (c) => {
      const pod = await c.get(await kind('v1', 'Pod'), o.name, o.namespace);
      await c.update({ ...pod, status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] } });
      writeHosts(record, await serviceEntries(c));
    });
  } catch (e) {
    await podDel(s, o.namespace, o.name).catch(() => undefined);
    throw e;
  }
  await waitForEndpointProgrammed(s, n);
  return record;
}

/** Wait (bounded, best effort) until the node's agent has programmed as many endpoints as the node has pods. */
async function waitForEndpointProgrammed(s: LabState, n: LabNode, timeoutMs = 15_000): Promise<boolean> {
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
    if (rec !== undefined) writeJson(join(podsDir(s), podFileName(ns, name)), { ...rec, labels });
    return labels;
  });
}

// ---- services ------------------------------------------------------------------------------------

async function serviceEntries(c: import('../../datastore/index.ts').ResourceClient): Promise<{ namespace: string; name: string; clusterIP: string }[]> {
  const list = await c.list(await kind('v1', 'Service'));
  return list.items
    .map((svc) => ({ namespace: svc.metadata.namespace ?? '', name: svc.metadata.name, clusterIP: String((svc.spec as { clusterIP?: string } | undefined)?.clusterIP ?? '') }))
    .filter((x) => x.clusterIP !== '');
}

function writeHosts(p: LabPod, services: readonly { namespace: string; name: string; clusterIP: string }[]): void {
  const dir = join(NETNS_ETC, p.netns);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'hosts'), renderHostsFile(p, services));
}

export async function svcAdd(s: LabState, ns: string, name: string, selector: Record<string, string>, ports: readonly ServicePortSpec[]): Promise<string> {
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

// ---- probes --------------------------------------------------------------------------------------

export interface ProbeTarget {
  readonly label: string;
  readonly ip: string;
}

/** FROM: `NS/POD` or `external` → the namespace to probe from. */
export function resolveSource(s: LabState, from: string): string {
  if (from === 'external') return s.externalNetns;
  const [ns, name] = from.split('/');
  const p = ns !== undefined && name !== undefined ? findPod(s, ns, name) : undefined;
  if (p === undefined) throw new TricolorError('ERR_NOT_FOUND', `probe: FROM ${quote(from)} is not a pod of lab ${quote(s.name)} (NS/POD or external)`, { value: from });
  return p.netns;
}

/** TO: `NS/POD`, `NS/SERVICE`, `external` or an IP → the address to probe. */
export async function resolveTarget(s: LabState, to: string): Promise<string> {
  if (to === 'external') return s.externalIP;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(to)) return to;
  const [ns, name] = to.split('/');
  if (ns !== undefined && name !== undefined) {
    const p = findPod(s, ns, name);
    if (p !== undefined && p.ip !== '') return p.ip;
    const svc = await withLabClient(s, async (c) => getOrUndefined(c.get(await kind('v1', 'Service'), name, ns)));
    const ip = (svc?.spec as { clusterIP?: string } | undefined)?.clusterIP;
    if (ip !== undefined && ip !== '') return ip;
  }
  throw new TricolorError('ERR_NOT_FOUND', `probe: TO ${quote(to)} is not a pod or service of lab ${quote(s.name)}, external, or an IPv4 address`, { value: to });
}

/** Probe from one namespace to many addresses with one prober process. */
export async function probeFrom(netns: string, ips: readonly string[], port: number, protocol: 'tcp' | 'udp', timeoutMs: number): Promise<boolean[]> {
  if (ips.length === 0) return [];
  const input = JSON.stringify({ timeoutMs, parallel: 64, targets: ips.map((ip) => ({ ip, port, protocol })) });
  const r = await sh(['ip', 'netns', 'exec', netns, process.execPath, PROBER], { input });
  if (r.status !== 0) throw new TricolorError('ERR_IO', `prober in ${netns} failed: ${r.stderr.trim().split('\n').slice(-2).join(' / ')}`);
  return JSON.parse(r.stdout) as boolean[];
}

export interface ProbeAllResult {
  readonly port: number;
  readonly protocol: 'tcp' | 'udp';
  readonly results: { from: string; to: string; connected: boolean }[];
}

export async function probeAll(s: LabState, port: number, protocol: 'tcp' | 'udp', timeoutMs: number, parallel = 4): Promise<ProbeAllResult> {
  const pods = listPods(s).filter((p) => p.ip !== '');
  const rows = await mapLimit(pods, parallel, async (src) => {
    const dsts = pods.filter((d) => d !== src);
    const res = await probeFrom(src.netns, dsts.map((d) => d.ip), port, protocol, timeoutMs);
    return dsts.map((d, i) => ({ from: `${src.namespace}/${src.name}`, to: `${d.namespace}/${d.name}`, connected: res[i] === true }));
  });
  return { port, protocol, results: rows.flat() };
}

// ---- exec and status ------------------------------------------------------------------------------

export function podExecArgv(s: LabState, target: string, argv: readonly string[]): string[] {
  return ['ip', 'netns', 'exec', resolveSource(s, target), ...argv];
}

/** One BGP session of a node, as `calicoctl node status` lists it. */
export interface LabBGPSession {
  readonly peerAddress: string;
  readonly peerType: string;
  readonly state: string;
  readonly since: string;
  readonly info: string;
}

export interface LabStatusView {
  readonly name: string;
  readonly runDir: string;
  /** `embedded <path>` or `etcdv3 unix://…`. */
  readonly datastore: string;
  readonly datastorePath: string;
  readonly encap: Encap;
  readonly routeReflector: string | null;
  readonly tor: TorView | null;
  readonly podCidr: string;
  readonly serviceCidr: string;
  readonly external: { readonly netns: string; readonly ip: string };
  readonly nodes: {
    name: string;
    netns: string;
    address: string;
    agent: { running: boolean; ready: boolean; endpoints: number; policies: number };
    proxy: { running: boolean; services: number };
    /** null when the node runs no BIRD (or it cannot be asked). */
    bgp: LabBGPSession[] | null;
  }[];
  readonly pods: { namespace: string; name: string; node: string; ip: string; labels: Readonly<Record<string, string>>; serve: string[] }[];
  readonly services: { namespace: string; name: string; clusterIP: string; ports: string[]; endpoints: number }[];
}

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
  const pods = listPods(s).map((p) => ({ namespace: p.namespace, name: p.name, node: p.node, ip: p.ip, labels: p.labels, serve: p.serve.map((x) => `${x.protocol}:${x.port}`) }));
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
    podCidr: s.podCidr,
    serviceCidr: s.serviceCidr,
    external: { netns: s.externalNetns, ip: s.externalIP },
    nodes,
    pods,
    services,
  };
}

export function renderLabStatus(v: LabStatusView): string {
  const out: string[] = [];
  out.push(`Lab ${v.name}: encap ${v.encap}, pod CIDR ${v.podCidr}, service CIDR ${v.serviceCidr}`);
  out.push(`  datastore ${v.datastore}`);
  out.push(`  external host ${v.external.ip} (namespace ${v.external.netns})`);
  if (v.routeReflector !== null) out.push(`  route reflector ${v.routeReflector}`);
  out.push('', 'NODES');
  for (const n of v.nodes) {
    out.push(`  ${n.name.padEnd(10)} ${n.address.padEnd(15)} agent ${n.agent.running ? (n.agent.ready ? 'ready' : 'NOT ready') : 'NOT running'} (${n.agent.endpoints} endpoints, ${n.agent.policies} policies)  proxy ${n.proxy.running ? 'running' : 'NOT running'}`);
    if (n.bgp === null) out.push('    BGP: no BIRD status');
    for (const b of n.bgp ?? []) out.push(`    BGP ${b.peerAddress.padEnd(15)} ${b.peerType.padEnd(18)} ${b.state.padEnd(6)} ${b.since.padEnd(10)} ${b.info}`);
  }
  if (v.tor !== null) {
    const t = v.tor;
    const up = t.sessions.filter((x) => x.state === 'Established').length;
    out.push('', `TOR ${t.address} AS ${t.asNumber} (gobgpd ${t.running ? 'running' : 'NOT running'}, namespace ${t.netns}): ${up}/${t.sessions.length} sessions established, ${t.routes.length} routes`);
    for (const x of t.sessions) out.push(`  peer ${x.peer.padEnd(15)} AS ${x.asNumber}  ${x.state}`);
    for (const r of t.routes) out.push(`  route ${r.prefix.padEnd(18)} via ${r.nextHops.join(',')}`);
  }
  out.push('', 'PODS');
  if (v.pods.length === 0) out.push('  (none)');
  for (const p of v.pods) {
    const labels = Object.entries(p.labels).map(([k, x]) => `${k}=${x}`).join(',');
    out.push(`  ${`${p.namespace}/${p.name}`.padEnd(28)} ${p.ip.padEnd(15)} ${p.node.padEnd(10)} ${labels}${p.serve.length > 0 ? `  serves ${p.serve.join(',')}` : ''}`);
  }
  out.push('', 'SERVICES');
  if (v.services.length === 0) out.push('  (none)');
  for (const s of v.services) out.push(`  ${`${s.namespace}/${s.name}`.padEnd(28)} ${s.clusterIP.padEnd(15)} ${s.ports.join(',')}  ${s.endpoints} endpoints`);
  return out.join('\n') + '\n';
}
