// Per-packet cost of policy: pod-to-pod TCP throughput (iperf3) and request/response latency
// (TCP_RR-style round trips over one connection) between two real pods on one node, first with no
// policy, then with 1000 GlobalNetworkPolicies in effect on both pods (the traffic passes through
// every one of them before an allow at the end). Prints one JSON line with the ratios.
//   npm run bench -- packet-cost [--seconds 5] [--policies 1000]

import { spawn } from 'node:child_process';
import { makeAgentRig, until, type AgentRig, type Pod } from '../test/e2e/agent-harness.ts';
import { netnsSkipReason } from '../test/support/netns.ts';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const SECONDS = opt('seconds', 5);
const POLICIES = opt('policies', 1000);
const RR_PORT = 7000;
const log = (s: string): void => void process.stderr.write(`${s}\n`);

const RR_SERVER = `require('node:net').createServer((s) => s.on('data', (d) => s.write(d))).listen(${RR_PORT}, '0.0.0.0')`;
const RR_CLIENT = (ip: string, n: number) => `
const s = require('node:net').connect({ host: ${JSON.stringify(ip)}, port: ${RR_PORT} }); s.setNoDelay(true);
const lat = []; let t0 = 0; let i = 0;
s.on('connect', () => { t0 = process.hrtime.bigint(); s.write('x'); });
s.on('data', () => { lat.push(Number(process.hrtime.bigint() - t0) / 1000); if (++i >= ${n}) { s.end(); lat.sort((a, b) => a - b);
  process.stdout.write(JSON.stringify({ p50: lat[Math.floor(lat.length / 2)], p99: lat[Math.floor(lat.length * 0.99)] })); return; }
  t0 = process.hrtime.bigint(); s.write('x'); });`;

async function iperf(ar: AgentRig, src: Pod, dst: Pod): Promise<number> {
  const r = await src.netns.exec(['iperf3', '-c', dst.ip, '-t', String(SECONDS), '-J']);
  if (r.status !== 0) throw new Error(`iperf3: ${r.stderr}${r.stdout.slice(0, 500)}`);
  const j = JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } };
  void ar;
  return Math.round(j.end.sum_received.bits_per_second / 1e6);
}

async function rr(src: Pod, dst: Pod): Promise<{ p50: number; p99: number }> {
  const r = await src.netns.exec([process.execPath, '-e', RR_CLIENT(dst.ip, 5000)]);
  return JSON.parse(r.stdout) as { p50: number; p99: number };
}

async function main(): Promise<void> {
  const skip = netnsSkipReason();
  if (skip !== undefined) {
    process.stdout.write(JSON.stringify({ bench: 'packet-cost', skipped: skip }) + '\n');
    return;
  }
  const cleanups: (() => Promise<void>)[] = [];
  const out: Record<string, unknown> = { bench: 'packet-cost', seconds: SECONDS, policies: POLICIES };
  try {
    const ar = await makeAgentRig((fn) => cleanups.push(fn));
    await ar.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'red' } }]);
    const a = await ar.addPod('red', 'a', { app: 'a' }, { serve: false });
    const b = await ar.addPod('red', 'b', { app: 'b' }, { serve: false });
    const srv = spawn('ip', ['netns', 'exec', b.netns.name, 'iperf3', '-s'], { stdio: 'ignore' });
    const rrs = spawn('ip', ['netns', 'exec', b.netns.name, process.execPath, '-e', RR_SERVER], { stdio: 'ignore' });
    cleanups.push(() => {
      srv.kill('SIGKILL');
      rrs.kill('SIGKILL');
      return Promise.resolve();
    });
    const agent = ar.startAgent(['--nft-refresh-ms', '0']);
    cleanups.push(() => ar.stopAgent(agent, 'SIGKILL'));
    await until(() => Promise.resolve(ar.status()?.ready === true ? true : undefined), 60_000, () => agent.log());
    await new Promise((r) => setTimeout(r, 500));
    log('no policy');
    const base = { mbps: await iperf(ar, a, b), rrUs: await rr(a, b) };
    log(JSON.stringify(base));
    // 1000 policies that select both pods and match nothing the benchmark sends, then one allow
    const docs: object[] = [];
    for (let i = 0; i < POLICIES; i++) {
      docs.push({
        apiVersion: 'projectcalico.org/v3',
        kind: 'GlobalNetworkPolicy',
        metadata: { name: `cost-${i}` },
        spec: { order: 10 + i, selector: 'all()', ingress: [{ action: 'Deny', protocol: 'UDP', destination: { ports: [20000 + i] } }], egress: [{ action: 'Deny', protocol: 'UDP', destination: { ports: [20000 + i] } }] },
      });
    }
    docs.push({ apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'cost-allow' }, spec: { order: 100000, selector: 'all()', ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] } });
    const c = await ar.rig.client();
    for (let i = 0; i < docs.length; i += 500) await c.client.applyMany(docs.slice(i, i + 500));
    await c.close();
    await until(() => Promise.resolve((ar.status()?.policies ?? 0) >= POLICIES + 1 ? true : undefined), 180_000, () => `policies not programmed: ${ar.status()?.policies}`);
    await new Promise((r) => setTimeout(r, 1000));
    log(`${POLICIES} policies`);
    const withPolicy = { mbps: await iperf(ar, a, b), rrUs: await rr(a, b) };
    log(JSON.stringify(withPolicy));
    Object.assign(out, {
      noPolicy: base,
      withPolicies: withPolicy,
      throughputRatio: Math.round((withPolicy.mbps / base.mbps) * 1000) / 1000,
      latencyP50Ratio: Math.round((withPolicy.rrUs.p50 / base.rrUs.p50) * 1000) / 1000,
      note: 'new connections traverse every policy; established flows are accepted by conntrack first, so throughput mostly measures the established path',
    });
  } finally {
    for (const f of cleanups.reverse()) await f();
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

await main();
process.exit(0);
