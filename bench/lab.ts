// Lab benchmark: `lab up` time for 3 and 10 nodes, pods added per second (CNI ADD + servers +
// the agent programming the endpoint), memory per pod server, and route convergence (pod added
// on one node → first successful probe from another) when the agents run BIRD. One JSON line on
// stdout; progress on stderr. Args: [PODS] (default 40).

import { readFileSync } from 'node:fs';
import { labDown, labUp, podAdd, probeFrom, mapLimit, type LabState } from '../src/lab/index.ts';
import { sh } from '../src/lab/index.ts';

const PODS = Number(process.argv[2] ?? '40');
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

async function timedUp(nodes: number): Promise<{ ms: number; lab: LabState }> {
  const t0 = performance.now();
  const lab = await labUp({ name, nodes, encap: 'none', podCidr: '10.244.0.0/16', progress: (l) => log(`  ${l}`) });
  return { ms: Math.round(performance.now() - t0), lab };
}

async function birdRunning(netns: string): Promise<boolean> {
  const r = await sh(['ip', 'netns', 'pids', netns]);
  for (const pid of r.stdout.split('\n').filter((x) => x.trim() !== '')) {
    try {
      if (readFileSync(`/proc/${pid.trim()}/comm`, 'utf8').trim() === 'bird') return true;
    } catch {
      // gone
    }
  }
  return false;
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
  const servers = pods.flatMap((p) => p.serverPids);
  figures['serverRssKbPerPod'] = servers.length === 0 ? null : Math.round(servers.map(rssKb).reduce((a, b) => a + b, 0) / pods.length);
  figures['serverPssKbPerPod'] = servers.length === 0 ? null : Math.round(servers.map(pssKb).reduce((a, b) => a + b, 0) / pods.length);

  if (await birdRunning(lab.nodes[0]?.netns ?? '')) {
    const samples: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t = performance.now();
      const p = await podAdd(lab, { namespace: 'bench', name: `conv${i}`, node: 'node-2', labels: {}, serve: [{ protocol: 'tcp', port: 80 }] });
      const src = pods.find((x) => x.node === 'node-1');
      if (src === undefined) break;
      for (;;) {
        const [ok] = await probeFrom(src.netns, [p.ip], 80, 'tcp', 200);
        if (ok === true || performance.now() - t > 30_000) break;
      }
      samples.push(Math.round(performance.now() - t));
    }
    samples.sort((a, b) => a - b);
    figures['routeConvergenceBgpMs'] = { p50: pct(samples, 50), p99: pct(samples, 99) };
  } else {
    figures['routeConvergenceBgpMs'] = null;
    figures['routeConvergenceNote'] = 'agent does not run BIRD yet: no cross-node routes';
  }
  figures['routeConvergenceVxlanMs'] = null;
} finally {
  await labDown(name);
}
process.stdout.write(JSON.stringify(figures) + '\n');
