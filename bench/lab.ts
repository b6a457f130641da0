// Lab benchmark: `lab up` time for 3 and 10 nodes, pods added per second (CNI ADD + servers +
// the agent programming the endpoint), memory per pod server, and route convergence in BGP and
// in VXLAN mode: a pod added on one node → the first successful TCP probe to it from a pod on
// another node, timed from the start of the add. Samples alternate between the two other nodes;
// the first pod on a node also needs a fresh block (a new BGP route or VXLAN route + FDB entry),
// and those samples are reported on their own as `newBlock`. One JSON line on stdout; progress on
// stderr. Args: [PODS] [SAMPLES] (defaults 40 and 12).

import { readFileSync } from 'node:fs';
import { labDown, labUp, podAdd, probeFrom, mapLimit, type LabState } from '../src/lab/index.ts';

const PODS = Number(process.argv[2] ?? '40');
const SAMPLES = Number(process.argv[3] ?? '12');
const log = (l: string): void => void process.stderr.write(`${l}\n`);
const name = `b${process.pid.toString(36).slice(-6)}`;

function rssKb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? 0 : Number(m[1]);
  } catch {
    return 0;
  }
}

/** Proportional set size: shared library pages split among the processes that map them. */
function pssKb(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m === null ? 0 : Number(m[1]);
  } catch {
    return 0;
  }
}

function pct(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? null;
}

async function timedUp(nodes: number, encap: 'none' | 'vxlan' = 'none', labName = name): Promise<{ ms: number; lab: LabState }> {
  const t0 = performance.now();
  const lab = await labUp({ name: labName, nodes, encap, podCidr: '10.244.0.0/16', progress: (l) => log(`  ${l}`) });
  return { ms: Math.round(performance.now() - t0), lab };
}

const PROBE_GIVE_UP_MS = 30_000;

/**
 * Route convergence samples in a 3-node lab: a source pod on node-1, then SAMPLES pods added on
 * node-2 and node-3 in turn, each timed from the start of its add to the first probe from the
 * source that connects (probes of 200 ms, back to back).
 */
interface Convergence {
  p50: number | null;
  p99: number | null;
  max: number | null;
  samples: number;
  /** The same samples timed from the moment `pod add` returned (plugged, programmed on its node). */
  afterAddP50: number | null;
  afterAddP99: number | null;
  newBlock: number[];
  timeouts: number;
}

async function convergence(lab: LabState, tag: string): Promise<Convergence> {
  const src = await podAdd(lab, { namespace: 'conv', name: `src-${tag}`, node: 'node-1', labels: {}, serve: [] });
  const samples: number[] = [];
  const afterAdd: number[] = [];
  const newBlock: number[] = [];
  let timeouts = 0;
  for (let i = 0; i < SAMPLES; i++) {
    const node = i % 2 === 0 ? 'node-2' : 'node-3';
    const t = performance.now();
    const p = await podAdd(lab, { namespace: 'conv', name: `${tag}${i}`, node, labels: {}, serve: [{ protocol: 'tcp', port: 80 }] });
    const added = performance.now();
    let ok = false;
    while (!ok && performance.now() - t < PROBE_GIVE_UP_MS) {
      const [r] = await probeFrom(src.netns, [p.ip], 80, 'tcp', 200);
      ok = r === true;
    }
    const ms = Math.round(performance.now() - t);
    if (!ok) timeouts++;
    else if (i < 2) newBlock.push(ms);
    else {
      samples.push(ms);
      afterAdd.push(Math.round(performance.now() - added));
    }
  }
  samples.sort((a, b) => a - b);
  afterAdd.sort((a, b) => a - b);
  return { p50: pct(samples, 50), p99: pct(samples, 99), max: samples.at(-1) ?? null, samples: samples.length, afterAddP50: pct(afterAdd, 50), afterAddP99: pct(afterAdd, 99), newBlock, timeouts };
}

const figures: Record<string, unknown> = { bench: 'lab' };
process.on('exit', () => undefined);
try {
  log('lab up, 10 nodes');
  const ten = await timedUp(10);
  figures['up10NodesMs'] = ten.ms;
  await labDown(name);
  log('lab up, 3 nodes');
  const three = await timedUp(3);
  figures['up3NodesMs'] = three.ms;
  const lab = three.lab;

  log(`adding ${PODS} pods (2 at a time)`);
  const t0 = performance.now();
  const pods = await mapLimit(Array.from({ length: PODS }, (_, i) => i), 2, (i) =>
    podAdd(lab, { namespace: 'bench', name: `p${i}`, node: lab.nodes[i % lab.nodes.length]?.name, labels: { app: 'bench' }, serve: [{ protocol: 'tcp', port: 80 }] }),
  );
  const secs = (performance.now() - t0) / 1000;
  figures['pods'] = PODS;
  figures['podsPerSec'] = Number((PODS / secs).toFixed(2));
  // a server pid is its supervising shell; the socat it runs is that shell's child: count both
  const withChildren = (pid: number): number[] => {
    try {
      return [pid, ...readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter((x) => x !== '').map(Number)];
    } catch {
      return [pid];
    }
  };
  const servers = pods.flatMap((p) => p.serverPids.flatMap(withChildren));
  figures['serverRssKbPerPod'] = servers.length === 0 ? null : Math.round(servers.map(rssKb).reduce((a, b) => a + b, 0) / pods.length);
  figures['serverPssKbPerPod'] = servers.length === 0 ? null : Math.round(servers.map(pssKb).reduce((a, b) => a + b, 0) / pods.length);

  await labDown(name);

  // convergence on fresh labs, so the first pods on node-2/-3 really open new blocks
  log(`route convergence, BGP (${SAMPLES} samples)`);
  const bgp = await timedUp(3, 'none');
  figures['routeConvergenceBgpMs'] = await convergence(bgp.lab, 'b');
  await labDown(name);
  log(`route convergence, VXLAN (${SAMPLES} samples)`);
  const vx = await timedUp(3, 'vxlan');
  figures['routeConvergenceVxlanMs'] = await convergence(vx.lab, 'v');
} finally {
  await labDown(name);
}
process.stdout.write(JSON.stringify(figures) + '\n');
