// Shared rig for the node-agent namespace tests and benchmarks: the CNI rig's node namespace and
// embedded datastore, pods plugged in through bin/tricolor-cni.ts, a tiny TCP/UDP server in each
// pod, probes run from inside pod namespaces, the agent started inside the node namespace as
// `tricolor node run`, and the verdict oracle (src/calc) computed from the same datastore.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kindInfoFor } from '../../src/api/index.ts';
import type { AnyResource } from '../../src/api/index.ts';
import { CALC_KINDS, PolicyModel, explainAll, updateOf } from '../../src/calc/index.ts';
import type { AgentStatus } from '../../src/agent/index.ts';
import { createNetns, run, type CleanupRegistrar, type ExecResult, type TestNetns } from '../support/netns.ts';
import { NODE_NAME, REPO, makeRig, podArgs, type Rig } from './cni-harness.ts';

export const TRICOLOR_BIN = join(REPO, 'bin', 'tricolor.ts');
export const TCP_PORT = 8080;
export const TCP_OTHER_PORT = 9090;
export const UDP_PORT = 8081;

/** Runs in every pod: TCP servers that answer "ok" and a UDP echo. */
const SERVER_JS = `
const net = require('node:net'); const dgram = require('node:dgram');
for (const p of [${TCP_PORT}, ${TCP_OTHER_PORT}]) net.createServer((s) => { s.on('error', () => {}); s.end('ok\\n'); }).listen(p, '0.0.0.0');
const u = dgram.createSocket('udp4'); u.on('message', (m, r) => u.send(m, r.port, r.address)); u.bind(${UDP_PORT}, '0.0.0.0');
setInterval(() => {}, 1 << 30);
`;

/** Runs in a source pod: probe every target once, print one JSON line of results. */
const PROBE_JS = `
const net = require('node:net'); const dgram = require('node:dgram');
const [targets, timeoutMs] = [JSON.parse(process.argv[1]), Number(process.argv[2])];
function tcp(ip, port) { return new Promise((res) => { const s = net.connect({ host: ip, port }); let done = false;
  const fin = (v) => { if (!done) { done = true; s.destroy(); res(v); } };
  s.setTimeout(timeoutMs, () => fin(false)); s.on('data', () => fin(true)); s.on('error', () => fin(false)); s.on('close', () => fin(false)); }); }
function udp(ip, port) { return new Promise((res) => { const s = dgram.createSocket('udp4'); let done = false;
  const fin = (v) => { if (!done) { done = true; clearTimeout(t); s.close(); res(v); } };
  const t = setTimeout(() => fin(false), timeoutMs); s.on('message', () => fin(true)); s.on('error', () => fin(false));
  s.send('x', port, ip); }); }
Promise.all(targets.map(async (t) => ({ key: t.key, ok: t.proto === 'UDP' ? await udp(t.ip, t.port) : await tcp(t.ip, t.port) })))
  .then((r) => { process.stdout.write(JSON.stringify(r) + '\\n'); });
`;

export interface Pod {
  /** `namespace/name`, as the oracle names it. */
  readonly id: string;
  readonly namespace: string;
  readonly name: string;
  readonly netns: TestNetns;
  readonly ip: string;
  readonly containerId: string;
}

export type ProbeProto = 'TCP' | 'UDP' | 'ICMP';
export interface ProbeSpec {
  readonly proto: ProbeProto;
  readonly port: number | undefined;
}
export const PROBES: readonly ProbeSpec[] = [
  { proto: 'TCP', port: TCP_PORT },
  { proto: 'TCP', port: TCP_OTHER_PORT },
  { proto: 'UDP', port: UDP_PORT },
  { proto: 'ICMP', port: undefined },
];

export function probeLabel(p: ProbeSpec): string {
  return p.port === undefined ? p.proto : `${p.proto}/${p.port}`;
}

/** `from -> to probe` → allowed. */
export type Matrix = Map<string, boolean>;

export function pairKey(from: string, to: string, p: ProbeSpec): string {
  return `${from} -> ${to} ${probeLabel(p)}`;
}

export interface AgentProc {
  readonly child: ChildProcess;
  readonly log: () => string;
  readonly exited: Promise<number | null>;
}

export interface AgentRig {
  readonly rig: Rig;
  readonly runDir: string;
  readonly pods: Pod[];
  readonly env: NodeJS.ProcessEnv;
  addPod(namespace: string, name: string, labels: Record<string, string>, opts?: { serve?: boolean }): Promise<Pod>;
  removePod(pod: Pod): Promise<void>;
  /** `tricolor apply -f` with a YAML/JSON document list. */
  apply(docs: readonly object[]): Promise<void>;
  delete(docs: readonly object[]): Promise<void>;
  startAgent(extraArgs?: readonly string[], extraEnv?: NodeJS.ProcessEnv): AgentProc;
  stopAgent(a: AgentProc, signal: NodeJS.Signals): Promise<void>;
  status(): AgentStatus | undefined;
  /** Run argv inside the node namespace. */
  nodeExec(argv: readonly string[]): Promise<ExecResult>;
  /** GET a URL from inside the node namespace (health, metrics). */
  nodeFetch(url: string): Promise<{ status: number; body: string }>;
  expected(pods?: readonly Pod[], probes?: readonly ProbeSpec[]): Promise<Matrix>;
  probe(pods?: readonly Pod[], probes?: readonly ProbeSpec[], timeoutMs?: number, targets?: readonly Pod[]): Promise<Matrix>;
}


export async function makeAgentRig(cleanup: CleanupRegistrar, pool = { cidr: '10.244.0.0/24', blockSize: 26 }): Promise<AgentRig> {
  const rig = await makeRig(cleanup, pool);
  const runDir = mkdtempSync(join(tmpdir(), 'tri-agent-run-'));
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, DATASTORE_TYPE: 'embedded', TRICOLOR_DATASTORE_PATH: rig.dbPath };
  const pods: Pod[] = [];
  const procs = new Set<ChildProcess>();
  const reg = (fn: () => Promise<void>): void => {
    if (typeof cleanup === 'function') cleanup(fn);
    else cleanup.after(fn);
  };
  reg(async () => {
    for (const c of procs) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(runDir, { recursive: true, force: true });
  });
  process.on('exit', () => {
    for (const c of procs) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  const cli = async (args: readonly string[], input?: string): Promise<ExecResult> =>
    run([process.execPath, TRICOLOR_BIN, ...args], { env, ...(input === undefined ? {} : { input }) });

  const ar: AgentRig = {
    rig,
    runDir,
    pods,
    env,
    addPod: async (namespace, name, labels, opts = {}) => {
      const containerId = `ctr-${namespace}-${name}`;
      const netns = await createNetns(cleanup);
      const podDoc = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace, labels },
        spec: {
          containers: [
            {
              name: 'c',
              image: 'x',
              ports: [
                { name: 'http', containerPort: TCP_PORT, protocol: 'TCP' },
                { name: 'alt', containerPort: TCP_OTHER_PORT, protocol: 'TCP' },
                { name: 'echo', containerPort: UDP_PORT, protocol: 'UDP' },
              ],
            },
          ],
        },
      };
      await ar.apply([podDoc]);
      const r = await rig.invoke('ADD', { containerId, netns: netns.path, args: podArgs(namespace, name, containerId) });
      if (r.status !== 0) throw new Error(`CNI ADD ${namespace}/${name} failed: ${r.stdout}${r.stderr}`);
      const ips = (r.json?.ips ?? []) as { address: string }[];
      const ip = (ips[0]?.address ?? '').split('/')[0] ?? '';
      if (opts.serve ?? true) {
        const child = spawn('ip', ['netns', 'exec', netns.name, process.execPath, '-e', SERVER_JS], { stdio: 'ignore' });
        procs.add(child);
      }
      const pod: Pod = { id: `${namespace}/${name}`, namespace, name, netns, ip, containerId };
      pods.push(pod);
      return pod;
    },
    removePod: async (pod) => {
      await rig.invoke('DEL', { containerId: pod.containerId, netns: pod.netns.path, args: podArgs(pod.namespace, pod.name, pod.containerId) });
      pods.splice(pods.indexOf(pod), 1);
      await pod.netns.delete();
    },
    apply: async (docs) => {
      const r = await cli(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: docs }));
      if (r.status !== 0) throw new Error(`tricolor apply failed: ${r.stdout}${r.stderr}`);
    },
    delete: async (docs) => {
      const r = await cli(['delete', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: docs }));
      if (r.status !== 0) throw new Error(`tricolor delete failed: ${r.stdout}${r.stderr}`);
    },
    startAgent: (extraArgs = [], extraEnv = {}) => {
      const child = spawn(
        'ip',
        ['netns', 'exec', rig.node.name, process.execPath, TRICOLOR_BIN, 'node', 'run', '--name', NODE_NAME, '--run-dir', runDir, '--nodename-file', join(runDir, 'nodename'), '--mtu-file', join(runDir, 'mtu'), '--health-port', '9099', '--metrics-port', '9091', ...extraArgs],
        { env: { ...env, ...extraEnv }, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      procs.add(child);
      let log = '';
      child.stderr.on('data', (b: Buffer) => {
        log += b.toString();
        if (process.env.TRI_AGENT_LOG === '1') process.stderr.write(b);
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      return { child, log: () => log, exited };
    },
    stopAgent: async (a, signal) => {
      if (a.child.exitCode !== null || a.child.signalCode !== null) return;
      a.child.kill(signal);
      await a.exited;
    },
    status: () => {
      try {
        return JSON.parse(readFileSync(join(runDir, 'status.json'), 'utf8')) as AgentStatus;
      } catch {
        return undefined;
      }
    },
    nodeExec: (argv) => rig.node.exec(argv),
    nodeFetch: async (url) => {
      const js = `fetch(${JSON.stringify(url)}).then(async (r) => process.stdout.write(JSON.stringify({ status: r.status, body: await r.text() })), () => process.stdout.write('{"status":0,"body":""}'))`;
      const r = await rig.node.exec([process.execPath, '-e', js]);
      return JSON.parse(r.stdout || '{"status":0,"body":""}') as { status: number; body: string };
    },
    expected: async (subset = pods, probes = PROBES) => {
      const c = await rig.client();
      const resources: AnyResource[] = [];
      try {
        for (const [v, k] of CALC_KINDS) {
          const info = kindInfoFor(v, k);
          if (info !== undefined) resources.push(...(await c.client.list(info)).items);
        }
      } finally {
        await c.close();
      }
      const model = PolicyModel.fromUpdates(resources.map(updateOf));
      const ids = new Set(subset.map((p) => p.id));
      const keys = model
        .workloads()
        .filter((e) => ids.has(`${e.namespace}/${e.pod ?? e.name}`))
        .map((e) => e.key);
      const out: Matrix = new Map();
      for (const p of probes) {
        for (const r of explainAll(model, p.proto, p.port, keys)) out.set(pairKey(r.from, r.to, p), r.verdict === 'Allow');
      }
      return out;
    },
    probe: async (subset = pods, probes = PROBES, timeoutMs = 600, targetsIn) => {
      const targetsOf = targetsIn ?? subset;
      const out: Matrix = new Map();
      await Promise.all(
        subset.map(async (src) => {
          const targets: { key: string; ip: string; port: number; proto: string }[] = [];
          const pings: Promise<void>[] = [];
          for (const dst of targetsOf) {
            if (dst === src) continue;
            for (const p of probes) {
              const key = pairKey(src.id, dst.id, p);
              if (p.proto === 'ICMP') {
                pings.push(
                  src.netns.exec(['ping', '-c', '1', '-W', String(Math.max(1, Math.ceil(timeoutMs / 1000))), dst.ip]).then((r) => {
                    out.set(key, r.status === 0);
                  }),
                );
              } else {
                targets.push({ key, ip: dst.ip, port: p.port ?? 0, proto: p.proto });
              }
            }
          }
          if (targets.length > 0) {
            const r = await src.netns.exec([process.execPath, '-e', PROBE_JS, JSON.stringify(targets), String(timeoutMs)]);
            for (const x of JSON.parse(r.stdout || '[]') as { key: string; ok: boolean }[]) out.set(x.key, x.ok);
          }
          await Promise.all(pings);
        }),
      );
      return out;
    },
  };
  return ar;
}

/** Pairs where `got` differs from `want`, as readable lines. */
export function mismatches(want: Matrix, got: Matrix): string[] {
  const out: string[] = [];
  for (const [k, v] of want) {
    const g = got.get(k);
    if (g !== v) out.push(`${k}: expected ${v ? 'allow' : 'deny'}, probe ${g === undefined ? 'missing' : g ? 'connected' : 'blocked'}`);
  }
  return out;
}

/** Poll `fn` until it returns a value other than undefined, or throw after `timeoutMs` with `what()`. */
export async function until<T>(fn: () => Promise<T | undefined>, timeoutMs: number, what: () => string): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function writeTemp(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
