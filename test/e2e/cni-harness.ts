// Shared rig for the CNI namespace tests and the CNI benchmark: a "node" namespace with an
// uplink veth to an "underlay" namespace and a default route, an embedded datastore in a temp
// file holding an IPPool, and `invoke` that runs bin/tricolor-cni.ts inside the node namespace
// exactly as a container runtime does (CNI_* env + netconf on stdin).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
      const r = await run(['ip', 'netns', 'exec', node.name, process.execPath, o.bin ?? CNI_BIN], { input: stdin, env });
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
