// Pod-to-pod TCP throughput with iperf3 in a lab: same node, cross node routed by BGP (BIRD in the
// nodes, plain L3 over the underlay) and cross node over VXLAN (vxlan.calico, MTU 1450), each
// also with WireGuard on (`lab up --wireguard`: wireguard-go per node, pod MTU 1440) — same run,
// same machine, so the WireGuard rows compare against the plain ones beside them. Per path:
// throughput (one stream; WireGuard also with 4 parallel streams and 4 MiB socket buffers), RTT
// (ping, 100 × 10 ms) and CPU per Gbit/s (iperf3's own CPU figures plus wireguard-go's CPU time,
// in cores per Gbit/s). A cross-node path that does not answer a probe is reported as null with
// a note rather than measured. One JSON line on stdout; progress on stderr.

import { readFileSync } from 'node:fs';
import { labDown, labUp, podAdd, probeFrom, sh, startDetached, stopPids, type LabPod, type LabState } from '../src/lab/index.ts';

const log = (l: string): void => void process.stderr.write(`${l}\n`);
const SECONDS = 3;

interface IperfResult {
  readonly mbps: number;
  /** iperf3's CPU on both ends, in cores (100 % = one core). */
  readonly cores: number;
}

async function iperf(lab: LabState, from: LabPod, to: LabPod, extra: readonly string[] = []): Promise<IperfResult | null> {
  const pid = await startDetached(['ip', 'netns', 'exec', to.netns, 'iperf3', '-s', '-1'], `${lab.runDir}/logs/iperf.log`);
  try {
    await new Promise((r) => setTimeout(r, 300));
    const r = await sh(['ip', 'netns', 'exec', from.netns, 'iperf3', '-c', to.ip, '-t', String(SECONDS), '-J', ...extra]);
    if (r.status !== 0) return null;
    const j = JSON.parse(r.stdout) as { end?: { sum_received?: { bits_per_second?: number }; cpu_utilization_percent?: { host_total?: number; remote_total?: number } } };
    const bps = j.end?.sum_received?.bits_per_second;
    const cpu = j.end?.cpu_utilization_percent;
    return bps === undefined ? null : { mbps: Math.round(bps / 1e6), cores: ((cpu?.host_total ?? 0) + (cpu?.remote_total ?? 0)) / 100 };
  } finally {
    await stopPids([pid], 500);
  }
}

/** CPU seconds used so far by the wireguard-go of every node (0 without WireGuard). */
function wireguardCpuSeconds(lab: LabState): number {
  let ticks = 0;
  for (const n of lab.nodes) {
    try {
      const pid = Number(readFileSync(`${n.runDir}/wireguard/wireguard-go.pid`, 'utf8'));
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      ticks += Number(f[11] ?? 0) + Number(f[12] ?? 0); // utime, stime (fields 14, 15)
    } catch {
      // no WireGuard on this lab
    }
  }
  return ticks / 100;
}

/** iperf3 plus wireguard-go CPU, per Gbit/s moved. */
async function measured(lab: LabState, from: LabPod, to: LabPod, extra: readonly string[] = []): Promise<{ mbps: number | null; coresPerGbps: number | null }> {
  const wg0 = wireguardCpuSeconds(lab);
  const t0 = performance.now();
  const r = await iperf(lab, from, to, extra);
  const wallS = (performance.now() - t0) / 1000;
  const wgCores = (wireguardCpuSeconds(lab) - wg0) / wallS;
  if (r === null || r.mbps === 0) return { mbps: r?.mbps ?? null, coresPerGbps: null };
  return { mbps: r.mbps, coresPerGbps: Number(((r.cores + wgCores) / (r.mbps / 1000)).toFixed(3)) };
}

async function rttMs(from: LabPod, to: LabPod): Promise<number | null> {
  const r = await sh(['ip', 'netns', 'exec', from.netns, 'ping', '-q', '-c', '100', '-i', '0.01', to.ip]);
  const m = /= [\d.]+\/([\d.]+)\//.exec(r.stdout);
  return m === null ? null : Number(m[1]);
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
  for (const wireguard of [false, true]) {
    const name = `tp${encap === 'none' ? 'b' : 'v'}${wireguard ? 'w' : ''}${process.pid.toString(36).slice(-5)}`;
    try {
      log(`lab (${encap}${wireguard ? ', wireguard' : ''})`);
      const lab = await labUp({ name, nodes: 2, encap, podCidr: '10.244.0.0/16', wireguard, progress: (l) => log(`  ${l}`) });
      const a = await podAdd(lab, { namespace: 'tp', name: 'a', node: 'node-1', labels: {}, serve: [] });
      const b = await podAdd(lab, { namespace: 'tp', name: 'b', node: 'node-1', labels: {}, serve: [] });
      const c = await podAdd(lab, { namespace: 'tp', name: 'c', node: 'node-2', labels: {}, serve: [] });
      if (encap === 'none' && !wireguard) {
        log('same node');
        figures['sameNodeMbps'] = (await iperf(lab, a, b))?.mbps ?? null;
      }
      const key = `${encap === 'none' ? 'crossNodeBgp' : 'crossNodeVxlan'}${wireguard ? 'Wireguard' : ''}`;
      // iperf3 to an unroutable pod would sit in SYN retries: check the path first
      const c2 = await podAdd(lab, { namespace: 'tp', name: 'c2', node: 'node-2', labels: {}, serve: [{ protocol: 'tcp', port: 80 }] });
      const [reachable] = await probeFrom(a.netns, [c2.ip], 80, 'tcp', 2000);
      const routed = reachable === true && (encap === 'vxlan' || (await birdRunning(lab.nodes[0]?.netns ?? '')));
      log(`cross node (${key})`);
      if (!routed) {
        figures[`${key}Mbps`] = null;
        figures[`${key}Note`] = `no cross-node route between the pods (${encap === 'none' ? 'BIRD not running or no session' : 'VXLAN not programmed'})`;
        continue;
      }
      const one = await measured(lab, a, c);
      figures[`${key}Mbps`] = one.mbps;
      figures[`${key}CoresPerGbps`] = one.coresPerGbps;
      figures[`${key}RttMs`] = await rttMs(a, c);
      if (wireguard) {
        // what the userspace path gains from more flows and bigger socket buffers
        const p4 = await measured(lab, a, c, ['-P', '4']);
        figures[`${key}P4Mbps`] = p4.mbps;
        const w4 = await measured(lab, a, c, ['-w', '4M']);
        figures[`${key}Win4MMbps`] = w4.mbps;
      }
      const same = figures['sameNodeMbps'];
      figures[`${key}Ratio`] = one.mbps !== null && typeof same === 'number' && same > 0 ? Number((one.mbps / same).toFixed(3)) : null;
      const plain = figures[`${encap === 'none' ? 'crossNodeBgp' : 'crossNodeVxlan'}Mbps`];
      if (wireguard && typeof plain === 'number' && plain > 0 && one.mbps !== null) figures[`${key}VsPlain`] = Number((one.mbps / plain).toFixed(3));
    } finally {
      await labDown(name);
    }
  }
}
figures['loadAverage'] = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
process.stdout.write(JSON.stringify(figures) + '\n');
