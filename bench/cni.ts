// CNI ADD/DEL latency: tricolor-cni (+ its in-process IPAM) next to Debian's reference `bridge`
// + `host-local` plugins, each invoked exactly as a runtime does (env + stdin, inside a node
// namespace), for N pods sequentially and 8 at a time. Prints one JSON line; progress on
// stderr. Everything lives in namespaces this script creates and removes.
//   npm run bench -- cni [--pods 100] [--parallel 8]

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CNI_BIN, makeRig, podArgs, type Rig } from '../test/e2e/cni-harness.ts';
import { createNetns, netnsSkipReason, run, type TestNetns } from '../test/support/netns.ts';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const PODS = opt('pods', 100);
const PARALLEL = opt('parallel', 8);
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

async function measure(name: string, pods: readonly TestNetns[], width: number, invoke: Invoke): Promise<Record<string, number>> {
  const add: number[] = [];
  const del: number[] = [];
  const idx = pods.map((_, i) => i);
  for (const [cmd, out] of [['ADD', add], ['DEL', del]] as const) {
    await pool(idx, width, async (i) => {
      const t0 = performance.now();
      await invoke(cmd, i, pods[i] as TestNetns);
      out.push(performance.now() - t0);
    });
  }
  log(`${name} x${width}: ADD p50 ${pct(add, 50)} ms, DEL p50 ${pct(del, 50)} ms`);
  return { add_p50_ms: pct(add, 50), add_p99_ms: pct(add, 99), del_p50_ms: pct(del, 50), del_p99_ms: pct(del, 99) };
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
    log(`creating ${PODS} pod namespaces`);
    const pods: TestNetns[] = [];
    for (let i = 0; i < PODS; i++) pods.push(await createNetns(reg));

    const tricolor = (tag: string): Invoke => async (cmd, i, pod) => {
      const id = `${tag}-${i}`;
      const r = await rig.invoke(cmd, { containerId: id, netns: pod.path, args: podArgs('bench', `pod-${tag}-${i}`, id) });
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
    await reference('warm')('ADD', 0, pods[0] as TestNetns);
    await reference('warm')('DEL', 0, pods[0] as TestNetns);

    const t1 = await measure('tricolor', pods, 1, tricolor('s'));
    const r1 = await measure('reference', pods, 1, reference('s'));
    const t8 = await measure('tricolor', pods, PARALLEL, tricolor('p'));
    const r8 = await measure('reference', pods, PARALLEL, reference('p'));
    const ratio = (a: number | undefined, b: number | undefined): number => Math.round(((a ?? NaN) / (b ?? NaN)) * 100) / 100;
    const version = await run(['ip', 'netns', 'exec', rig.node.name, process.execPath, CNI_BIN], { input: '{}', env: { CNI_COMMAND: 'VERSION', PATH: process.env.PATH } });
    void version;
    process.stdout.write(
      JSON.stringify({
        bench: 'cni',
        pods: PODS,
        parallel: PARALLEL,
        tricolor: { sequential: t1, parallel: t8 },
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
