// CNI ADD/DEL latency of the path a runtime really uses — the `tricolor-cni` that `tricolor
// install-cni` writes (a sh script) handing the call over socat to a node agent running in the
// node namespace — next to Debian's reference `bridge` + `host-local` plugins, each invoked
// exactly as a runtime does (env + stdin, `ip netns exec` into the node namespace), for N pods
// sequentially and 8 at a time, in the same run, the two taking turns chunk by chunk.
// `--standalone` adds the no-agent path (the same script with no socket: Node runs the plugin).
// Prints one JSON line; progress on stderr.
// Everything lives in namespaces and temp dirs this script creates and removes.
//   npm run bench -- cni [--pods 100] [--parallel 8] [--standalone]

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { installWrapper, makeRig, podArgs, startAgent, type Rig } from '../test/e2e/cni-harness.ts';
import { createNetns, netnsSkipReason, run, type TestNetns } from '../test/support/netns.ts';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const PODS = opt('pods', 100);
const PARALLEL = opt('parallel', 8);
const STANDALONE = argv.includes('--standalone');
const REF_DIR = '/usr/lib/cni';

const log = (s: string): void => void process.stderr.write(`${s}\n`);

function pct(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const v = s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
  return Math.round(v * 10) / 10;
}

async function pool<T>(items: readonly T[], width: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const x = items[next++] as T;
        await fn(x);
      }
    }),
  );
}

type Invoke = (cmd: 'ADD' | 'DEL', i: number, pod: TestNetns) => Promise<void>;
type Figures = Record<string, number>;

interface Contender {
  readonly name: string;
  readonly pods: readonly TestNetns[];
  readonly invoke: Invoke;
}

function figures(name: string, width: number, add: number[], del: number[]): Figures {
  log(`${name} x${width}: ADD p50 ${pct(add, 50)} ms, DEL p50 ${pct(del, 50)} ms`);
  return { add_p50_ms: pct(add, 50), add_p99_ms: pct(add, 99), del_p50_ms: pct(del, 50), del_p99_ms: pct(del, 99) };
}

/**
 * ADD every pod, then DEL every pod, `width` calls at a time, the contenders taking turns chunk
 * by chunk (who goes first alternates): this machine's background load drifts over seconds,
 * and interleaving makes both sides meet the same load, so their ratio stays meaningful.
 */
async function measure(contenders: readonly Contender[], width: number): Promise<Figures[]> {
  const lat = contenders.map(() => ({ ADD: [] as number[], DEL: [] as number[] }));
  const n = Math.min(...contenders.map((c) => c.pods.length));
  for (const cmd of ['ADD', 'DEL'] as const) {
    for (let start = 0, round = 0; start < n; start += width, round++) {
      const idx = Array.from({ length: Math.min(width, n - start) }, (_, k) => start + k);
      const order = contenders.map((_, k) => k);
      if (round % 2 === 1) order.reverse();
      for (const k of order) {
        const c = contenders[k] as Contender;
        const out = lat[k]?.[cmd] as number[];
        await pool(idx, width, async (i) => {
          const t0 = performance.now();
          await c.invoke(cmd, i, c.pods[i] as TestNetns);
          out.push(performance.now() - t0);
        });
      }
    }
  }
  return contenders.map((c, k) => figures(c.name, width, lat[k]?.ADD ?? [], lat[k]?.DEL ?? []));
}

async function main(): Promise<void> {
  const skip = netnsSkipReason();
  if (skip !== undefined) throw new Error(skip);
  if (!existsSync(join(REF_DIR, 'bridge'))) throw new Error(`${REF_DIR}/bridge missing: apt-get install -y containernetworking-plugins`);
  const cleanups: (() => Promise<void>)[] = [];
  const reg = (fn: () => Promise<void>): void => void cleanups.push(fn);
  const refState = mkdtempSync(join(tmpdir(), 'tri-bench-hl-'));
  try {
    const rig: Rig = await makeRig(reg, { cidr: '10.240.0.0/16', blockSize: 26 });
    const agent = await startAgent(rig, reg);
    const wrapper = await installWrapper(rig, agent.socketPath);
    const standaloneWrapper = await installWrapper(rig, `${rig.dir}/no-agent.sock`, 'standalone');
    log(`creating ${PODS} pod namespaces`);
    // separate pod namespaces per contender: their calls interleave
    const pods: TestNetns[] = [];
    const refPods: TestNetns[] = [];
    for (let i = 0; i < PODS; i++) pods.push(await createNetns(reg));
    for (let i = 0; i < PODS; i++) refPods.push(await createNetns(reg));

    const tricolor = (tag: string, via = wrapper): Invoke => async (cmd, i, pod) => {
      const id = `${tag}-${i}`;
      const r = await rig.invoke(cmd, { containerId: id, netns: pod.path, args: podArgs('bench', `pod-${tag}-${i}`, id), wrapper: via });
      if (r.status !== 0) throw new Error(`tricolor ${cmd} ${id}: ${r.stdout} ${r.stderr}`);
    };
    const refConf = JSON.stringify({
      cniVersion: '1.0.0',
      name: 'refnet',
      type: 'bridge',
      bridge: 'tribr0',
      isGateway: true,
      ipMasq: false,
      ipam: { type: 'host-local', subnet: '10.250.0.0/16', dataDir: refState },
    });
    const reference = (tag: string): Invoke => async (cmd, i, pod) => {
      const env = { PATH: process.env.PATH, CNI_COMMAND: cmd, CNI_CONTAINERID: `${tag}-${i}`, CNI_NETNS: pod.path, CNI_IFNAME: 'eth0', CNI_PATH: REF_DIR };
      const r = await run(['ip', 'netns', 'exec', rig.node.name, join(REF_DIR, 'bridge')], { input: refConf, env });
      if (r.status !== 0) throw new Error(`bridge ${cmd} ${tag}-${i}: ${r.stdout} ${r.stderr}`);
    };

    // Warm both (page cache, first-use setup) outside the figures.
    await tricolor('warm')('ADD', 0, pods[0] as TestNetns);
    await tricolor('warm')('DEL', 0, pods[0] as TestNetns);
    await reference('warm')('ADD', 0, refPods[0] as TestNetns);
    await reference('warm')('DEL', 0, refPods[0] as TestNetns);

    const pair = (tag: string): Contender[] => [
      { name: 'tricolor', pods, invoke: tricolor(tag) },
      { name: 'reference', pods: refPods, invoke: reference(tag) },
    ];
    const [t1 = {}, r1 = {}] = await measure(pair('s'), 1);
    const [t8 = {}, r8 = {}] = await measure(pair('p'), PARALLEL);
    const standalone = STANDALONE ? (await measure([{ name: 'tricolor stand-alone', pods, invoke: tricolor('n', standaloneWrapper) }], 1))[0] : undefined;
    if (!agent.log().includes('cni: ADD s-0 ok')) throw new Error(`the agent did not serve the calls:\n${agent.log()}`);
    const ratio = (a: number | undefined, b: number | undefined): number => Math.round(((a ?? NaN) / (b ?? NaN)) * 100) / 100;
    process.stdout.write(
      JSON.stringify({
        bench: 'cni',
        pods: PODS,
        parallel: PARALLEL,
        path: 'installed tricolor-cni (sh) -> socat -> node agent',
        tricolor: { sequential: t1, parallel: t8, ...(standalone === undefined ? {} : { standalone_sequential: standalone }) },
        reference_bridge_host_local: { sequential: r1, parallel: r8 },
        ratio_add_p50_sequential: ratio(t1.add_p50_ms, r1.add_p50_ms),
        ratio_add_p50_parallel: ratio(t8.add_p50_ms, r8.add_p50_ms),
        ratio_del_p50_sequential: ratio(t1.del_p50_ms, r1.del_p50_ms),
        ratio_del_p50_parallel: ratio(t8.del_p50_ms, r8.del_p50_ms),
      }) + '\n',
    );
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    rmSync(refState, { recursive: true, force: true });
  }
}

await main();
