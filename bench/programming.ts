// Policy programming latency of the node agent: time from a policy write to (a) our nft table
// holding its chain and (b) a real TCP probe between two pods flipping, with L local endpoints
// (2 real pods + WorkloadEndpoints on veth interfaces in the node namespace) and P policies in
// the datastore; plus the agent's resident memory at 250 × 5000. Prints one JSON line; progress
// on stderr.
//   npm run bench -- programming [--samples 10] [--full | --cases LxP,...] [--raw]
// Default matrix (to stay within a few minutes on 2 cores): (10,100) (100,1000) (250,1000)
// (250,5000); --full runs all 9 combinations of 10/100/250 × 100/1000/5000; --cases 250x1000,…
// picks some; --raw adds every sample to the output.
//
// Each sample: a long-lived prober in pod a opens a new TCP connection to pod b every 4 ms; the
// bench writes (in-process, to the embedded store the agent watches) a GlobalNetworkPolicy
// denying a → b, and takes (a) the start of the first `nft list chain` that shows the policy's
// chain, (b) the send time of the first blocked connection attempt; then deletes it and takes
// the first attempt that connects again. The agent's own apply durations (its log) are reported
// alongside, to split the latency into "reaching the agent" and "nft".

import { spawn } from 'node:child_process';
import { workloadEndpointName } from '../src/api/index.ts';
import { policyChain } from '../src/dataplane/index.ts';
import { makeAgentRig, TCP_PORT, type AgentProc, type AgentRig, type Pod } from '../test/e2e/agent-harness.ts';
import { NODE_NAME, type Rig } from '../test/e2e/cni-harness.ts';
import { netnsSkipReason } from '../test/support/netns.ts';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const SAMPLES = opt('samples', 10);
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

const dummyWep = (i: number): string => workloadEndpointName({ node: NODE_NAME, orchestrator: 'k8s', pod: `dummy-${i}`, endpoint: 'eth0' });
/** Dummy interfaces made so far (they outlive their endpoints when the matrix shrinks L). */
let linksMade = 0;

async function dummies(ar: AgentRig, from: number, to: number): Promise<void> {
  const docs: object[] = [];
  const lines: string[] = [];
  for (let i = from; i < to; i++) {
    const ifName = `calib${String(i).padStart(10, '0')}`.slice(0, 15);
    // veth pairs (the dummy module is not always loadable); the peer stays in the node namespace
    if (i >= linksMade) lines.push(`link add ${ifName} type veth peer name xb${String(i).padStart(10, '0')}`, `link set ${ifName} up`);
    const pod = `dummy-${i}`;
    docs.push({
      apiVersion: 'projectcalico.org/v3',
      kind: 'WorkloadEndpoint',
      metadata: { name: dummyWep(i), namespace: 'bench', labels: { group: `g${i % GROUPS}`, 'projectcalico.org/namespace': 'bench', 'projectcalico.org/orchestrator': 'k8s' } },
      spec: { orchestrator: 'k8s', node: NODE_NAME, pod, endpoint: 'eth0', interfaceName: ifName, ipNetworks: [`10.250.${Math.floor(i / 250)}.${(i % 250) + 1}/32`], profiles: ['kns.bench'] },
    });
  }
  if (lines.length > 0) {
    const { run } = await import('../test/support/netns.ts');
    const r = await run(['ip', '-n', ar.rig.node.name, '-batch', '-'], { input: lines.join('\n') + '\n' });
    if (r.status !== 0) throw new Error(r.stderr);
  }
  linksMade = Math.max(linksMade, to);
  await writeAll(ar, docs);
}

/** Delete the keys `key(i)` for i in [from, to) in one transaction. */
async function deleteKeys(ar: AgentRig, from: number, to: number, key: (i: number) => string): Promise<void> {
  const c = await ar.rig.client();
  try {
    for (let i = from; i < to; i += 500) {
      const ops = [];
      for (let j = i; j < Math.min(to, i + 500); j++) ops.push({ op: 'delete' as const, key: key(j) });
      const r = await c.client.backend.txn([], ops);
      if (!r.succeeded) throw new Error('bulk delete failed');
    }
  } finally {
    await c.close();
  }
}

/** Epoch milliseconds with sub-millisecond resolution, comparable across processes on this host. */
const nowMs = (): number => performance.timeOrigin + performance.now();

/**
 * A long-lived prober in the source pod: while started, it opens a new TCP connection to the
 * target every PROBE_EVERY_MS (each with its own timeout) and reports the epoch time at which
 * each attempt's SYN left and whether the server answered. A flip is thus timed by when the
 * first blocked attempt was SENT, not when its timeout fired (the old loop spawned a process per
 * probe and waited out a 150 ms timeout, which put ~200 ms of probe cost into every figure).
 */
const PROBE_EVERY_MS = 4;
const PROBER_JS = `
const net = require('node:net');
const [ip, port] = [process.argv[1], Number(process.argv[2])];
let timer;
const now = () => performance.timeOrigin + performance.now();
function attempt() {
  const at = now(); let done = false;
  const s = net.connect({ host: ip, port });
  const fin = (ok) => { if (done) return; done = true; s.destroy(); process.stdout.write(at.toFixed(2) + ' ' + (ok ? 1 : 0) + '\\n'); };
  s.setTimeout(250, () => fin(false)); s.on('data', () => fin(true)); s.on('error', () => fin(false)); s.on('close', () => fin(false));
}
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  if (d.includes('start') && timer === undefined) timer = setInterval(attempt, ${PROBE_EVERY_MS});
  if (d.includes('stop') && timer !== undefined) { clearInterval(timer); timer = undefined; }
});
process.stdin.on('end', () => process.exit(0));
`;

interface Prober {
  start(): void;
  stop(): void;
  /** Start time of the first attempt sent at or after `since` with outcome `ok`, followed by `confirm` more such. */
  until(since: number, ok: boolean, timeoutMs?: number): Promise<number>;
  close(): void;
}

function startProber(src: Pod, dst: Pod): Prober {
  const child = spawn('ip', ['netns', 'exec', src.netns.name, process.execPath, '-e', PROBER_JS, dst.ip, String(TCP_PORT)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let attempts: { at: number; ok: boolean }[] = [];
  let buf = '';
  let wake: (() => void) | undefined;
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const l of lines) {
      const [at, ok] = l.split(' ');
      attempts.push({ at: Number(at), ok: ok === '1' });
    }
    wake?.();
  });
  const CONFIRM = 3;
  return {
    start: () => child.stdin.write('start\n'),
    stop: () => child.stdin.write('stop\n'),
    until: async (since, ok, timeoutMs = 60_000) => {
      const deadline = nowMs() + timeoutMs;
      for (;;) {
        // attempts resolve out of order (a blocked one only after its timeout): look at them by send time
        const later = attempts.filter((a) => a.at >= since).sort((a, b) => a.at - b.at);
        const i = later.findIndex((a, j) => a.ok === ok && later.slice(j, j + CONFIRM + 1).length === CONFIRM + 1 && later.slice(j, j + CONFIRM + 1).every((b) => b.ok === ok));
        if (i >= 0) {
          const at = later[i]!.at;
          attempts = attempts.filter((a) => a.at > at);
          return at;
        }
        if (nowMs() > deadline) throw new Error(`prober: no ${ok ? 'connected' : 'blocked'} attempt within ${timeoutMs} ms`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 50);
        });
      }
    },
    close: () => {
      child.stdin.end();
      child.kill('SIGKILL');
    },
  };
}

/**
 * When does the kernel hold `chain`? A shell loop in the node namespace runs `nft list chain` back
 * to back and prints the epoch time at which the first successful listing started (the commit
 * happened between the previous, failed listing and this one). `nft monitor` would be push-based
 * but needs its full cache first, which with 100k rules in the table takes minutes.
 */
function chainAppears(ar: AgentRig, chain: string): { readonly at: Promise<number>; cancel(): void } {
  const script = 't=$(date +%s.%N); until nft list chain inet tricolor "$0" >/dev/null 2>&1; do t=$(date +%s.%N); done; echo "$t"';
  const child = spawn('ip', ['netns', 'exec', ar.rig.node.name, 'sh', '-c', script, chain], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => (out += d));
  const at = new Promise<number>((resolve, reject) =>
    child.on('exit', (code, sig) => {
      const t = Number(out.trim()) * 1000;
      if (code === 0 && Number.isFinite(t) && t > 0) resolve(t);
      else reject(new Error(`waiting for chain ${chain}: ${sig ?? String(code)} ${out}`));
    }),
  );
  return { at, cancel: () => child.kill('SIGKILL') };
}

async function timeUntil(fn: () => Promise<boolean>, timeoutMs = 60_000): Promise<number> {
  const t0 = performance.now();
  while (!(await fn())) {
    if (performance.now() - t0 > timeoutMs) throw new Error('timed out');
  }
  return performance.now() - t0;
}

/** The durations of the agent's own "applied N nft commands in X ms" log lines. */
function applyTimes(log: string): number[] {
  return [...log.matchAll(/applied (\d+) nft commands in ([\d.]+) ms/g)].map((m) => Number(m[2]));
}

async function main(): Promise<void> {
  const skip = netnsSkipReason();
  if (skip !== undefined) {
    process.stdout.write(JSON.stringify({ bench: 'programming', skipped: skip }) + '\n');
    return;
  }
  const only = argv.indexOf('--cases');
  const matrix: [number, number][] = only >= 0
    ? (argv[only + 1] ?? '').split(',').map((c): [number, number] => {
        const [l, p] = c.split('x').map(Number);
        return [l ?? 0, p ?? 0];
      })
    : FULL
    ? // policies outer: shrinking the endpoints between rows is cheap, deleting 4900 policies is not
      [100, 1000, 5000].flatMap((p) => [10, 100, 250].map((l): [number, number] => [l, p]))
    : [
        [10, 100],
        [100, 1000],
        [250, 1000],
        [250, 5000],
      ];
  const results: Record<string, unknown>[] = [];
  let memory: number | undefined;
  let heap: number | undefined;
  const cleanups: (() => Promise<void>)[] = [];
  let ar: AgentRig | undefined;
  let agent: AgentProc | undefined;
  let writer: Awaited<ReturnType<Rig['client']>> | undefined;
  let prober: Prober | undefined;
  try {
    ar = await makeAgentRig((fn) => cleanups.push(fn));
    await ar.apply([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'red' } },
    ]);
    const a = await ar.addPod('red', 'a', { app: 'src', group: 'probe' });
    const b = await ar.addPod('red', 'b', { app: 'dst', group: 'probe' });
    agent = ar.startAgent(['--nft-refresh-ms', '0']);
    writer = await ar.rig.client();
    prober = startProber(a, b);
    let endpoints = 2;
    let policies = 0;
    for (const [L, P] of matrix) {
      log(`case: ${L} endpoints, ${P} policies`);
      if (L > endpoints) {
        await dummies(ar, endpoints - 2, L - 2);
        endpoints = L;
      } else if (L < endpoints) {
        await deleteKeys(ar, L - 2, endpoints - 2, (i) => `/calico/resources/v3/projectcalico.org/workloadendpoints/bench/${dummyWep(i)}`);
        endpoints = L;
      }
      if (P < policies) {
        await deleteKeys(ar, P, policies, (i) => `/calico/resources/v3/projectcalico.org/globalnetworkpolicies/bench-${i}`);
        policies = P;
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
      // the last bulk policy's chain is in the kernel (a bulk apply can take seconds: the status's
      // counts change before it starts)
      // (only policies selecting a local group are programmed: dummies i carry group i % GROUPS)
      let lastLocal = P - 1;
      while (lastLocal > 0 && lastLocal % GROUPS >= Math.min(GROUPS, L - 2)) lastLocal--;
      const lastChain = policyChain(`GlobalNetworkPolicy//bench-${lastLocal}`, 'in');
      await timeUntil(async () => {
        await new Promise((r) => setTimeout(r, 500));
        return (await ar!.nodeExec(['nft', 'list', 'chain', 'inet', 'tricolor', lastChain])).status === 0;
      }, 240_000);
      // every workload route in place (the agent adds them one by one after the bulk apply)
      await timeUntil(async () => {
        await new Promise((r) => setTimeout(r, 200));
        return (ar?.status()?.routes ?? 0) >= L;
      }, 240_000);
      // and for the agent to go idle: no apply for a second
      let lastApplies = -1;
      await timeUntil(async () => {
        await new Promise((r) => setTimeout(r, 1000));
        const n = ar?.status()?.applies ?? 0;
        const same = n === lastApplies;
        lastApplies = n;
        return same;
      }, 240_000);
      const ruleset: number[] = [];
      const flip: number[] = [];
      const restore: number[] = [];
      const logFrom = agent.log().length;
      try {
        for (let s = 0; s < SAMPLES; s++) {
          const name = `bench-probe-${L}-${P}-${s}`;
          const chain = policyChain(`GlobalNetworkPolicy//${name}`, 'in');
          prober.start();
          await prober.until(nowMs(), true); // connected before the write
          // (a) + (b): a deny on b from a, ordered first
          const holds = chainAppears(ar, chain);
          await new Promise((r) => setTimeout(r, 50)); // the chain watcher is running
          const t0 = nowMs();
          const r = await writer.client.applyMany([gnp(name, 1, "app == 'dst'", [{ action: 'Deny', source: { selector: "app == 'src'" } }])]);
          if ('failures' in r && Array.isArray(r.failures) && r.failures.length > 0) throw new Error(JSON.stringify(r.failures[0]));
          const [tr, tf] = await Promise.all([holds.at, prober.until(t0, false)]).finally(() => holds.cancel());
          ruleset.push(tr - t0);
          flip.push(tf - t0);
          const t1 = nowMs();
          await writer.client.backend.delete(`/calico/resources/v3/projectcalico.org/globalnetworkpolicies/${name}`);
          restore.push((await prober.until(t1, true)) - t1);
          prober.stop();
          await new Promise((r) => setTimeout(r, 300)); // let the last attempts settle
        }
      } finally {
        prober.stop();
      }
      const applies = applyTimes(agent.log().slice(logFrom));
      results.push({
        endpoints: L,
        policies: P,
        rulesetMs: { p50: pct(ruleset, 50), p99: pct(ruleset, 99) },
        probeFlipMs: { p50: pct(flip, 50), p99: pct(flip, 99) },
        deleteFlipMs: { p50: pct(restore, 50), p99: pct(restore, 99) },
        agentApplyMs: { p50: pct(applies, 50), p99: pct(applies, 99), n: applies.length },
        ...(argv.includes('--raw') ? { raw: { ruleset: ruleset.map(Math.round), flip: flip.map(Math.round), restore: restore.map(Math.round), applies: applies.map(Math.round) } } : {}),
      });
      log(JSON.stringify(results[results.length - 1]));
      if (L === 250 && P === 5000) {
        const m = await ar.nodeFetch('http://127.0.0.1:9091/metrics');
        const mib = (name: string): number | undefined => {
          const line = m.body.split('\n').find((l) => l.startsWith(`${name} `));
          return line === undefined ? undefined : Math.round(Number(line.split(' ')[1]) / 1048576);
        };
        memory = mib('process_resident_memory_bytes');
        heap = mib('process_heap_bytes');
      }
    }
  } finally {
    prober?.close();
    await writer?.close();
    if (agent !== undefined && ar !== undefined) await ar.stopAgent(agent, 'SIGKILL');
    for (const f of cleanups.reverse()) await f();
  }
  process.stdout.write(
    JSON.stringify({
      bench: 'programming',
      samples: SAMPLES,
      matrix: matrix.map(([l, p]) => `${l}x${p}`).join(','),
      note: `from the write (in-process, embedded store) to: ruleset = nft list chain (run back to back in the node namespace) first shows the policy's chain; probeFlip = send time of the first TCP attempt blocked (a new connection every ${PROBE_EVERY_MS} ms); deleteFlip = same for the policy's deletion; agentApply = the agent's own apply durations`,
      results,
      agentRssMiBAt250Endpoints5000Policies: memory,
      agentHeapMiBAt250Endpoints5000Policies: heap,
    }) + '\n',
  );
}

await main();
process.exit(0);
