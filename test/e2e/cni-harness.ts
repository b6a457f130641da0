// Shared rig for the CNI namespace tests and the CNI benchmark: a "node" namespace with an
// uplink veth to an "underlay" namespace and a default route, an embedded datastore in a temp
// file holding an IPPool, and `invoke` that runs bin/tricolor-cni.ts (or, with `wrapper`, an
// installed `tricolor-cni` script) inside the node namespace exactly as a container runtime
// does (CNI_* env + netconf on stdin). `installWrapper` and `startAgent` give the fast path:
// the installed script talking to a node agent that runs in the node namespace.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installCni } from '../../src/cni/index.ts';
import { ResourceClient, SQLiteBackend } from '../../src/datastore/index.ts';
import { createNetns, run, type CleanupRegistrar, type ExecResult, type TestNetns } from '../support/netns.ts';

export const REPO = join(import.meta.dirname, '..', '..');
export const CNI_BIN = join(REPO, 'bin', 'tricolor-cni.ts');
export const IPAM_BIN = join(REPO, 'bin', 'tricolor-ipam.ts');
export const NODE_NAME = 'node-a';

export interface Rig {
  readonly node: TestNetns;
  readonly underlay: TestNetns;
  readonly dir: string;
  readonly dbPath: string;
  netconf(extra?: Record<string, unknown>): Record<string, unknown>;
  invoke(command: string, opts: InvokeOptions): Promise<ExecResult & { json: Record<string, unknown> | undefined }>;
  client(): Promise<{ client: ResourceClient; close(): Promise<void> }>;
  dispose(): Promise<void>;
}

export interface InvokeOptions {
  readonly containerId?: string;
  readonly netns?: string;
  readonly ifName?: string;
  readonly args?: string;
  readonly conf?: Record<string, unknown>;
  readonly stdin?: string;
  readonly env?: Record<string, string | undefined>;
  readonly bin?: string;
  /** Run this executable (an installed wrapper script) instead of `node bin`. */
  readonly wrapper?: string;
}

export async function makeRig(cleanup: CleanupRegistrar, pool: { cidr: string; blockSize: number }): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'tri-cni-'));
  const dbPath = join(dir, 'datastore.db');
  const node = await createNetns(cleanup);
  const underlay = await createNetns(cleanup);
  // Uplink: node uplink0 192.168.77.2/24 <-> underlay ul0 192.168.77.1/24, default route up it
  // (a pod gateway answered by proxy ARP needs the node to have a default route).
  await node.execOk(['ip', 'link', 'add', 'uplink0', 'type', 'veth', 'peer', 'name', 'ul0', 'netns', underlay.path]);
  await node.execOk(['ip', 'addr', 'add', '192.168.77.2/24', 'dev', 'uplink0']);
  await node.execOk(['ip', 'link', 'set', 'uplink0', 'up']);
  await underlay.execOk(['ip', 'addr', 'add', '192.168.77.1/24', 'dev', 'ul0']);
  await underlay.execOk(['ip', 'link', 'set', 'ul0', 'up']);
  await node.execOk(['ip', 'route', 'add', 'default', 'via', '192.168.77.1']);
  await node.execOk(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);

  const backend = new SQLiteBackend({ path: dbPath });
  const client = new ResourceClient(backend);
  await client.initialise();
  await client.apply({
    apiVersion: 'projectcalico.org/v3',
    kind: 'IPPool',
    metadata: { name: 'pool-a' },
    spec: { cidr: pool.cidr, blockSize: pool.blockSize, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: false, nodeSelector: 'all()' },
  });
  await backend.close();
  writeFileSync(join(dir, 'nodename'), NODE_NAME);

  const rig: Rig = {
    node,
    underlay,
    dir,
    dbPath,
    netconf: (extra = {}) => ({
      cniVersion: '1.0.0',
      name: 'k8s-pod-network',
      type: 'tricolor-cni',
      datastore_type: 'embedded',
      datastore_path: dbPath,
      nodename_file: join(dir, 'nodename'),
      mtu: 1440,
      ipam: { type: 'tricolor-ipam' },
      policy: { type: 'k8s' },
      ...extra,
    }),
    invoke: async (command, o) => {
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        CNI_COMMAND: command,
        ...(o.containerId === undefined ? {} : { CNI_CONTAINERID: o.containerId }),
        ...(o.netns === undefined ? {} : { CNI_NETNS: o.netns }),
        CNI_IFNAME: o.ifName ?? 'eth0',
        CNI_PATH: '/usr/lib/cni',
        ...(o.args === undefined ? {} : { CNI_ARGS: o.args }),
        ...o.env,
      };
      for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
      const stdin = o.stdin ?? JSON.stringify(o.conf ?? rig.netconf());
      const argv = o.wrapper === undefined ? [process.execPath, o.bin ?? CNI_BIN] : [o.wrapper];
      const r = await run(['ip', 'netns', 'exec', node.name, ...argv], { input: stdin, env });
      let json: Record<string, unknown> | undefined;
      try {
        json = r.stdout.trim() === '' ? undefined : (JSON.parse(r.stdout) as Record<string, unknown>);
      } catch {
        json = undefined;
      }
      return { ...r, json };
    },
    client: async () => {
      const b = new SQLiteBackend({ path: dbPath });
      return { client: new ResourceClient(b), close: () => b.close() };
    },
    dispose: async () => {
      await node.delete();
      await underlay.delete();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  if (typeof cleanup === 'function') cleanup(() => rig.dispose());
  else cleanup.after(() => rig.dispose());
  return rig;
}

export function podArgs(namespace: string, pod: string, containerId: string): string {
  return `IgnoreUnknown=1;K8S_POD_NAMESPACE=${namespace};K8S_POD_NAME=${pod};K8S_POD_INFRA_CONTAINER_ID=${containerId}`;
}

/** `tricolor install-cni` into `<rig dir>/<tag>/cni-bin`, datastore baked in; returns the tricolor-cni path. */
export async function installWrapper(rig: Rig, agentSocket: string, tag = 'inst'): Promise<string> {
  const binDir = join(rig.dir, tag, 'cni-bin');
  await installCni({
    binDir,
    confDir: join(rig.dir, tag, 'cni-conf'),
    nodePath: process.execPath,
    repoRoot: REPO,
    env: { DATASTORE_TYPE: 'embedded', TRICOLOR_DATASTORE_PATH: rig.dbPath },
    nodename: NODE_NAME,
    agentSocket,
  });
  return join(binDir, 'tricolor-cni');
}

export interface CniAgent {
  readonly child: ChildProcess;
  readonly socketPath: string;
  log(): string;
  /** SIGTERM (clean stop: socket removed) or SIGKILL (socket file left behind); waits for exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * `tricolor node run` inside the rig's node namespace on the rig's datastore, health and
 * metrics off; resolves once its CNI socket is in place.
 */
export async function startAgent(rig: Rig, cleanup: CleanupRegistrar, runDir = join(rig.dir, 'run')): Promise<CniAgent> {
  const socketPath = join(runDir, 'cni.sock');
  const env = { ...process.env, DATASTORE_TYPE: 'embedded', TRICOLOR_DATASTORE_PATH: rig.dbPath };
  const bin = join(REPO, 'bin', 'tricolor.ts');
  const child = spawn('ip', ['netns', 'exec', rig.node.name, process.execPath, bin, 'node', 'run', '--name', NODE_NAME, '--run-dir', runDir, '--nodename-file', join(runDir, 'nodename'), '--mtu-file', join(runDir, 'mtu'), '--health-port', '0'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (b: Buffer) => {
    log += b.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await exited;
  };
  const fn = () => stop('SIGKILL');
  if (typeof cleanup === 'function') cleanup(fn);
  else cleanup.after(fn);
  for (let i = 0; !existsSync(socketPath) || !log.includes('serving CNI requests'); i++) {
    if (child.exitCode !== null || i > 600) throw new Error(`agent did not open ${socketPath}: ${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, socketPath, log: () => log, stop };
}
