// Policy programming latency of the node agent: time from a policy write to (a) our nft table
// holding its chain and (b) a real TCP probe between two pods flipping, with L local endpoints
// (2 real pods + WorkloadEndpoints on veth interfaces in the node namespace) and P policies in the datastore; plus the
// agent's resident memory at the largest case. Prints one JSON line; progress on stderr.
//   npm run bench -- programming [--samples 5] [--full]
// Default matrix (to stay within a few minutes on 2 cores): (10,100) (100,1000) (250,1000)
// (250,5000); --full runs all 9 combinations of 10/100/250 × 100/1000/5000.

import { workloadEndpointName } from '../src/api/index.ts';
import { policyChain } from '../src/dataplane/index.ts';
import { makeAgentRig, TCP_PORT, type AgentProc, type AgentRig, type Pod } from '../test/e2e/agent-harness.ts';
import { NODE_NAME } from '../test/e2e/cni-harness.ts';
import { netnsSkipReason } from '../test/support/netns.ts';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const SAMPLES = opt('samples', 5);
const FULL = argv.includes('--full');
const log = (s: string): void => void process.stderr.write(`${s}\n`);
const GROUPS = 50;

function pct(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round((s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN) * 10) / 10;
}

const gnp = (name: string, order: number, selector: string, ingress: unknown[]): object => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'GlobalNetworkPolicy',
  metadata: { name },
  spec: { order, selector, types: ['Ingress'], ingress },
});

async function writeAll(ar: AgentRig, docs: readonly object[]): Promise<void> {
  const c = await ar.rig.client();
  try {
    for (let i = 0; i < docs.length; i += 500) {
      const r = await c.client.applyMany(docs.slice(i, i + 500));
      if ('failures' in r && Array.isArray(r.failures) && r.failures.length > 0) throw new Error(JSON.stringify(r.failures[0]));
    }
  } finally {
    await c.close();
  }
}

async function deleteGnp(ar: AgentRig, name: string): Promise<void> {
  const c = await ar.rig.client();
  try {
    await c.client.backend.delete(`/calico/resources/v3/projectcalico.org/globalnetworkpolicies/${name}`);
  } finally {
    await c.close();
  }
}

async function dummies(ar: AgentRig, from: number, to: number): Promise<void> {
  const docs: object[] = [];
  const lines: string[] = [];
  for (let i = from; i < to; i++) {
    const ifName = `calib${String(i).padStart(10, '0')}`.slice(0, 15);
    // veth pairs (the dummy module is not always loadable); the peer stays in the node namespace
    lines.push(`link add ${ifName} type veth peer name xb${String(i).padStart(10, '0')}`, `link set ${ifName} up`);
    const pod = `dummy-${i}`;
    docs.push({
      apiVersion: 'projectcalico.org/v3',
      kind: 'WorkloadEndpoint',
      metadata: { name: workloadEndpointName({ node: NODE_NAME, orchestrator: 'k8s', pod, endpoint: 'eth0' }), namespace: 'bench', labels: { group: `g${i % GROUPS}`, 'projectcalico.org/namespace': 'bench', 'projectcalico.org/orchestrator': 'k8s' } },
      spec: { orchestrator: 'k8s', node: NODE_NAME, pod, endpoint: 'eth0', interfaceName: ifName, ipNetworks: [`10.250.${Math.floor(i / 250)}.${(i % 250) + 1}/32`], profiles: ['kns.bench'] },
    });
  }
  if (lines.length > 0) {
    const { run } = await import('../test/support/netns.ts');
    const r = await run(['ip', '-n', ar.rig.node.name, '-batch', '-'], { input: lines.join('\n') + '\n' });
    if (r.status !== 0) throw new Error(r.stderr);
  }
  await writeAll(ar, docs);
}

async function chainExists(ar: AgentRig, chain: string): Promise<boolean> {
  return (await ar.nodeExec(['nft', 'list', 'chain', 'inet', 'tricolor', chain])).status === 0;
}

async function timeUntil(fn: () => Promise<boolean>, timeoutMs = 60_000): Promise<number> {
  const t0 = performance.now();
  while (!(await fn())) {
    if (performance.now() - t0 > timeoutMs) throw new Error('timed out');
  }
  return performance.now() - t0;
}

async function tcpOk(src: Pod, dst: Pod): Promise<boolean> {
  const js = `const s=require('node:net').connect({host:${JSON.stringify(dst.ip)},port:${TCP_PORT}});s.setTimeout(150,()=>{process.stdout.write('0');process.exit()});s.on('data',()=>{process.stdout.write('1');process.exit()});s.on('error',()=>{process.stdout.write('0');process.exit()})`;
  return (await src.netns.exec([process.execPath, '-e', js])).stdout === '1';
}

async function main(): Promise<void> {
  const skip = netnsSkipReason();
  if (skip !== undefined) {
    process.stdout.write(JSON.stringify({ bench: 'programming', skipped: skip }) + '\n');
    return;
  }
  const matrix: [number, number][] = FULL
    ? [10, 100, 250].flatMap((l) => [100, 1000, 5000].map((p): [number, number] => [l, p]))
    : [
        [10, 100],
        [100, 1000],
        [250, 1000],
        [250, 5000],
      ];
  const results: Record<string, unknown>[] = [];
  let memory: number | undefined;
  const cleanups: (() => Promise<void>)[] = [];
  let ar: AgentRig | undefined;
  let agent: AgentProc | undefined;
  try {
    ar = await makeAgentRig((fn) => cleanups.push(fn));
    await ar.apply([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'red' } },
    ]);
    const a = await ar.addPod('red', 'a', { app: 'src', group: 'probe' });
    const b = await ar.addPod('red', 'b', { app: 'dst', group: 'probe' });
    agent = ar.startAgent(['--nft-refresh-ms', '0']);
    let endpoints = 2;
    let policies = 0;
    for (const [L, P] of matrix) {
      log(`case: ${L} endpoints, ${P} policies`);
      if (L > endpoints) {
        await dummies(ar, endpoints - 2, L - 2);
        endpoints = L;
      }
      if (P > policies) {
        const docs: object[] = [];
        for (let i = policies; i < P; i++) {
          docs.push(gnp(`bench-${i}`, 1000 + i, `group == 'g${i % GROUPS}'`, [{ action: 'Allow', protocol: 'TCP', source: { selector: `group == 'g${(i + 1) % GROUPS}'` }, destination: { ports: [1000 + (i % 1000)] } }]));
        }
        await writeAll(ar, docs);
        policies = P;
      }
      const ready = (): Promise<boolean> => Promise.resolve(ar?.status()?.ready === true && ar.status()?.policies !== undefined);
      await timeUntil(ready, 240_000);
      // wait for the bulk load to land: the agent's active policy count stops changing
      let last = -1;
      await timeUntil(async () => {
        await new Promise((r) => setTimeout(r, 500));
        const n = ar?.status()?.policies ?? 0;
        const same = n === last;
        last = n;
        return same;
      }, 240_000);
      const ruleset: number[] = [];
      const flip: number[] = [];
      for (let s = 0; s < SAMPLES; s++) {
        const name = `bench-probe-${L}-${P}-${s}`;
        const chain = policyChain(`GlobalNetworkPolicy//${name}`, 'in');
        // (a) + (b): a deny on b from a, ordered first
        const t0 = performance.now();
        await writeAll(ar, [gnp(name, 1, "app == 'dst'", [{ action: 'Deny', source: { selector: "app == 'src'" } }])]);
        const write = performance.now() - t0;
        const [tr, tf] = await Promise.all([timeUntil(() => chainExists(ar as AgentRig, chain)), timeUntil(async () => !(await tcpOk(a, b)))]);
        ruleset.push(tr + write);
        flip.push(tf + write);
        await deleteGnp(ar, name);
        await timeUntil(() => tcpOk(a, b));
      }
      results.push({ endpoints: L, policies: P, rulesetMs: { p50: pct(ruleset, 50), p99: pct(ruleset, 99) }, probeFlipMs: { p50: pct(flip, 50), p99: pct(flip, 99) } });
      log(JSON.stringify(results[results.length - 1]));
      if (L === 250 && P === 5000) {
        const m = await ar.nodeFetch('http://127.0.0.1:9091/metrics');
        const line = m.body.split('\n').find((l) => l.startsWith('process_resident_memory_bytes '));
        memory = line === undefined ? undefined : Math.round(Number(line.split(' ')[1]) / 1048576);
      }
    }
  } finally {
    if (agent !== undefined && ar !== undefined) await ar.stopAgent(agent, 'SIGKILL');
    for (const f of cleanups.reverse()) await f();
  }
  process.stdout.write(
    JSON.stringify({
      bench: 'programming',
      samples: SAMPLES,
      matrix: FULL ? 'full' : 'sampled (10,100) (100,1000) (250,1000) (250,5000)',
      note: 'probe flip measured with a 150 ms TCP timeout; ruleset = our policy chain present in `nft list`',
      results,
      agentRssMiBAt250Endpoints5000Policies: memory,
    }) + '\n',
  );
}

await main();
process.exit(0);
