// Pod-to-pod TCP throughput with iperf3 in a lab: same node, cross node routed by BGP (BIRD in the
// nodes, plain L3 over the underlay) and cross node over VXLAN (vxlan.calico, MTU 1450); the
// cross-node figures also as ratios to same-node. A cross-node path that does not answer a probe
// is reported as null with a note rather than measured. One JSON line on stdout; progress on stderr.

import { readFileSync } from 'node:fs';
import { labDown, labUp, podAdd, probeFrom, sh, startDetached, stopPids, type LabPod, type LabState } from '../src/lab/index.ts';

const log = (l: string): void => void process.stderr.write(`${l}\n`);
const SECONDS = 3;

async function iperf(lab: LabState, from: LabPod, to: LabPod): Promise<number | null> {
  const pid = await startDetached(['ip', 'netns', 'exec', to.netns, 'iperf3', '-s', '-1'], `${lab.runDir}/logs/iperf.log`);
  try {
    await new Promise((r) => setTimeout(r, 300));
    const r = await sh(['ip', 'netns', 'exec', from.netns, 'iperf3', '-c', to.ip, '-t', String(SECONDS), '-J']);
    if (r.status !== 0) return null;
    const j = JSON.parse(r.stdout) as { end?: { sum_received?: { bits_per_second?: number } } };
    const bps = j.end?.sum_received?.bits_per_second;
    return bps === undefined ? null : Math.round(bps / 1e6);
  } finally {
    await stopPids([pid], 500);
  }
}

async function birdRunning(netns: string): Promise<boolean> {
  const r = await sh(['ip', 'netns', 'pids', netns]);
  return r.stdout
    .split('\n')
    .filter((x) => x.trim() !== '')
    .some((pid) => {
      try {
        return readFileSync(`/proc/${pid.trim()}/comm`, 'utf8').trim() === 'bird';
      } catch {
        return false;
      }
    });
}

const figures: Record<string, unknown> = { bench: 'throughput', seconds: SECONDS };
for (const encap of ['none', 'vxlan'] as const) {
  const name = `tp${encap === 'none' ? 'b' : 'v'}${process.pid.toString(36).slice(-5)}`;
  try {
    log(`lab (${encap})`);
    const lab = await labUp({ name, nodes: 2, encap, podCidr: '10.244.0.0/16', progress: (l) => log(`  ${l}`) });
    const a = await podAdd(lab, { namespace: 'tp', name: 'a', node: 'node-1', labels: {}, serve: [] });
    const b = await podAdd(lab, { namespace: 'tp', name: 'b', node: 'node-1', labels: {}, serve: [] });
    const c = await podAdd(lab, { namespace: 'tp', name: 'c', node: 'node-2', labels: {}, serve: [] });
    if (encap === 'none') {
      log('same node');
      figures['sameNodeMbps'] = await iperf(lab, a, b);
    }
    const key = encap === 'none' ? 'crossNodeBgp' : 'crossNodeVxlan';
    // iperf3 to an unroutable pod would sit in SYN retries: check the path first
    const c2 = await podAdd(lab, { namespace: 'tp', name: 'c2', node: 'node-2', labels: {}, serve: [{ protocol: 'tcp', port: 80 }] });
    const [reachable] = await probeFrom(a.netns, [c2.ip], 80, 'tcp', 2000);
    const routed = reachable === true && (encap === 'vxlan' || (await birdRunning(lab.nodes[0]?.netns ?? '')));
    log(`cross node (${encap})`);
    const mbps = routed ? await iperf(lab, a, c) : null;
    figures[`${key}Mbps`] = mbps;
    if (!routed) figures[`${key}Note`] = `no cross-node route between the pods (${encap === 'none' ? 'BIRD not running or no session' : 'VXLAN not programmed'})`;
    const same = figures['sameNodeMbps'];
    figures[`${key}Ratio`] = mbps !== null && typeof same === 'number' && same > 0 ? Number((mbps / same).toFixed(3)) : null;
  } finally {
    await labDown(name);
  }
}
process.stdout.write(JSON.stringify(figures) + '\n');
