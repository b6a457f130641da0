// Issue 5 §3, "datastore unreachable": the node agent on a REAL etcd (served on a unix socket,
// so the agent inside the node namespace, the CNI plugin and this test all reach it through the
// file system), three pods plugged in through tricolor-cni, a Kubernetes NetworkPolicy applied
// with `tricolor apply`. Then etcd is killed: the pods' traffic keeps following the policy (the
// agent flushes nothing and keeps repairing its table), the agent stays live and its status —
// file, `tricolor node status` — names the datastore problem. etcd comes back on the same data
// dir: the agent's watches resume and a policy written after the restart is enforced. Every
// probe matrix is checked against the verdict oracle (`policy explain`) over the same datastore.
// Needs root; skipped otherwise.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { kindInfoFor, type AnyResource } from '../../src/api/index.ts';
import type { AgentStatus } from '../../src/agent/index.ts';
import { CALC_KINDS, PolicyModel, explainAll, updateOf } from '../../src/calc/index.ts';
import { EtcdBackend, ResourceClient } from '../../src/datastore/index.ts';
import { startEtcd, type RunningEtcd } from '../support/etcd.ts';
import { createNetns, netnsSkipReason, run, type TestNetns } from '../support/netns.ts';
import { NODE_NAME, REPO, makeRig, podArgs, type Rig } from './cni-harness.ts';

const skip = netnsSkipReason();
const CONVERGE_MS = 30_000;
const PORT = 8080;
const TRICOLOR = join(REPO, 'bin', 'tricolor.ts');

const SERVER_JS = `require('node:net').createServer((s) => { s.on('error', () => {}); s.end('ok\\n'); }).listen(${PORT}, '0.0.0.0'); setInterval(() => {}, 1 << 30);`;
/** From one pod: connect to every target at once, print {ip: connected}. */
const PROBE_JS = `
const net = require('node:net');
const ips = JSON.parse(process.argv[1]);
Promise.all(ips.map((ip) => new Promise((res) => { const s = net.connect({ host: ip, port: ${PORT} }); let done = false;
  const fin = (ok) => { if (!done) { done = true; s.destroy(); res([ip, ok]); } };
  s.setTimeout(600, () => fin(false)); s.on('data', () => fin(true)); s.on('error', () => fin(false)); s.on('close', () => fin(false)); })))
  .then((r) => process.stdout.write(JSON.stringify(Object.fromEntries(r))));
`;

interface Pod {
  readonly id: string;
  readonly netns: TestNetns;
  readonly ip: string;
}

async function until<T>(fn: () => Promise<T | undefined>, timeoutMs: number, what: () => string): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

void describe('node agent: datastore (etcd) outage', { skip, timeout: 120_000 }, () => {
  const cleanups: (() => Promise<void>)[] = [];
  const procs: ChildProcess[] = [];
  let etcd: RunningEtcd;
  let rig: Rig;
  let backend: EtcdBackend;
  let client: ResourceClient;
  let env: NodeJS.ProcessEnv;
  let runDir: string;
  let agent: ChildProcess;
  let agentLog = '';
  const pods: Pod[] = [];

  after(async () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    for (const f of cleanups.reverse()) await f().catch(() => undefined);
  });

  const cli = (args: readonly string[], input?: string) => run([process.execPath, TRICOLOR, ...args], { env, ...(input === undefined ? {} : { input }) });
  const apply = async (docs: readonly object[]): Promise<void> => {
    const r = await cli(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: docs }));
    assert.equal(r.status, 0, `tricolor apply: ${r.stdout}${r.stderr}`);
  };
  const status = (): AgentStatus | undefined => {
    try {
      return JSON.parse(readFileSync(join(runDir, 'status.json'), 'utf8')) as AgentStatus;
    } catch {
      return undefined;
    }
  };
  const nodeFetch = async (url: string): Promise<number> => {
    const js = `fetch(${JSON.stringify(url)}).then((r) => process.stdout.write(String(r.status)), () => process.stdout.write('0'))`;
    return Number((await rig.node.exec([process.execPath, '-e', js])).stdout || '0');
  };

  /** What `policy explain` says for every ordered pair of our pods, from the datastore now. */
  async function expected(): Promise<Map<string, boolean>> {
    const resources: AnyResource[] = [];
    for (const [v, k] of CALC_KINDS) {
      const info = kindInfoFor(v, k);
      if (info !== undefined) resources.push(...(await client.list(info)).items);
    }
    const model = PolicyModel.fromUpdates(resources.map(updateOf));
    const ids = new Set(pods.map((p) => p.id));
    const keys = model
      .workloads()
      .filter((e) => ids.has(`${e.namespace}/${e.pod ?? e.name}`))
      .map((e) => e.key);
    const out = new Map<string, boolean>();
    for (const r of explainAll(model, 'TCP', PORT, keys)) out.set(`${r.from} -> ${r.to}`, r.verdict === 'Allow');
    assert.equal(out.size, pods.length * (pods.length - 1), 'the oracle covers every pair');
    return out;
  }

  async function probe(): Promise<Map<string, boolean>> {
    const out = new Map<string, boolean>();
    await Promise.all(
      pods.map(async (src) => {
        const targets = pods.filter((p) => p !== src);
        const r = await src.netns.exec([process.execPath, '-e', PROBE_JS, JSON.stringify(targets.map((t) => t.ip))]);
        const got = JSON.parse(r.stdout || '{}') as Record<string, boolean>;
        for (const t of targets) out.set(`${src.id} -> ${t.id}`, got[t.ip] === true);
      }),
    );
    return out;
  }

  const diff = (want: Map<string, boolean>, got: Map<string, boolean>): string[] =>
    [...want].filter(([k, v]) => got.get(k) !== v).map(([k, v]) => `${k}: expected ${v ? 'allow' : 'deny'}, probe ${got.get(k) === true ? 'connected' : 'blocked'}`);

  async function converge(step: string, want: Map<string, boolean>): Promise<void> {
    let last: string[] = [];
    await until(
      async () => {
        last = diff(want, await probe());
        return last.length === 0 ? true : undefined;
      },
      CONVERGE_MS,
      () => `${step}: probes disagree with policy explain:\n  ${last.join('\n  ')}\nagent log:\n${agentLog.slice(-3000)}`,
    );
  }

  before(async () => {
    etcd = await startEtcd({ unixSocket: true });
    cleanups.push(() => etcd.stop());
    rig = await makeRig((fn) => cleanups.push(fn), { cidr: '10.245.0.0/24', blockSize: 26 });
    env = { PATH: process.env.PATH, DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: etcd.endpoints };
    runDir = mkdtempSync(join(tmpdir(), 'tri-faults-run-'));
    cleanups.push(async () => rmSync(runDir, { recursive: true, force: true }));
    backend = new EtcdBackend({ endpoints: [etcd.endpoints] });
    cleanups.push(() => backend.close());
    client = new ResourceClient(backend);
    await client.initialise();
    await client.applyMany([
      {
        apiVersion: 'projectcalico.org/v3',
        kind: 'IPPool',
        metadata: { name: 'pool-f' },
        spec: { cidr: '10.245.0.0/24', blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: false, nodeSelector: 'all()' },
      },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'red' } },
    ]);
    const netconf = rig.netconf({ datastore_type: 'etcdv3', etcd_endpoints: etcd.endpoints });
    for (const [name, app] of [
      ['web', 'web'],
      ['client', 'client'],
      ['other', 'other'],
    ] as const) {
      await client.applyMany([{ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'red', labels: { app } }, spec: { containers: [{ name: 'c', image: 'x' }] } }]);
      const netns = await createNetns((fn) => cleanups.push(fn));
      const containerId = `ctr-faults-${name}`;
      const r = await rig.invoke('ADD', { containerId, netns: netns.path, args: podArgs('red', name, containerId), conf: netconf });
      assert.equal(r.status, 0, `CNI ADD red/${name}: ${r.stdout}${r.stderr}`);
      const ip = (((r.json?.ips ?? []) as { address: string }[])[0]?.address ?? '').split('/')[0] ?? '';
      procs.push(spawn('ip', ['netns', 'exec', netns.name, process.execPath, '-e', SERVER_JS], { stdio: 'ignore' }));
      pods.push({ id: `red/${name}`, netns, ip });
    }
    agent = spawn(
      'ip',
      ['netns', 'exec', rig.node.name, process.execPath, TRICOLOR, 'node', 'run', '--name', NODE_NAME, '--run-dir', runDir, '--nodename-file', join(runDir, 'nodename'), '--mtu-file', join(runDir, 'mtu'), '--health-port', '9099', '--metrics-port', '9091', '--nft-refresh-ms', '1000'],
      { env, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    procs.push(agent);
    agent.stderr?.on('data', (b: Buffer) => {
      agentLog += b.toString();
      if (process.env.TRI_AGENT_LOG === '1') process.stderr.write(b);
    });
    await until(async () => (status()?.ready === true ? true : undefined), CONVERGE_MS, () => `agent never became ready:\n${agentLog.slice(-3000)}`);
  });

  void it('policy programmed from etcd', async () => {
    await apply([
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'web-from-client', namespace: 'red' },
        spec: { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }] }] },
      },
    ]);
    const want = await expected();
    assert.equal(want.get('red/client -> red/web'), true);
    assert.equal(want.get('red/other -> red/web'), false);
    await converge('policy applied', want);
  });

  void it('etcd down: the programmed policy stays in force, the agent stays live and reports the outage', async () => {
    const want = await expected();
    await etcd.kill();
    const st = await until(
      async () => {
        const s = status();
        return s?.datastoreUnreachable !== undefined && s.errors > 0 ? s : undefined;
      },
      CONVERGE_MS,
      () => `status never showed the datastore outage: ${JSON.stringify(status())}\n${agentLog.slice(-2000)}`,
    );
    assert.equal(st.datastore, 'InSync', 'what was synced stays the last word');
    assert.match(st.recentErrors.at(-1)?.message ?? '', /datastore unreachable/);
    // through a few periodic nft resyncs (1 s) the pods keep following the policy
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(diff(want, await probe()), [], `probe round ${i} during the outage`);
      await new Promise((r) => setTimeout(r, 700));
    }
    assert.equal(agent.exitCode, null, 'agent still running');
    assert.equal(await nodeFetch('http://127.0.0.1:9099/liveness'), 200);
    const text = await cli(['node', 'status', '--run-dir', runDir]);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /Datastore:\s+InSync — UNREACHABLE since/);
    // the CLI itself fails cleanly against the dead datastore, naming it
    const r = await cli(['get', 'networkpolicy', '-n', 'red']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /etcd/);
  });

  void it('etcd back on the same data: the agent resumes and enforces a policy written after the restart', async () => {
    await etcd.restart();
    await until(
      async () => (status()?.datastoreUnreachable === undefined ? true : undefined),
      CONVERGE_MS,
      () => `status still shows the outage: ${JSON.stringify(status())}\n${agentLog.slice(-2000)}`,
    );
    await apply([
      {
        apiVersion: 'projectcalico.org/v3',
        kind: 'GlobalNetworkPolicy',
        metadata: { name: 'client-not-from-other' },
        spec: { order: 10, selector: "app == 'client'", types: ['Ingress'], ingress: [{ action: 'Deny', source: { selector: "app == 'other'" } }, { action: 'Allow' }] },
      },
    ]);
    const want = await expected();
    assert.equal(want.get('red/other -> red/client'), false, 'the new policy changes something');
    assert.equal(want.get('red/web -> red/client'), true);
    await converge('policy written after the restart', want);
    assert.equal(status()?.ready, true);
    assert.equal(agent.exitCode, null);
  });
});
