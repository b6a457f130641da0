// The dataplane cost of flow logs, measured in one lab run: two pods on different nodes, an allow
// policy on the server, and flow logs turned off and on (FelixConfiguration
// flowLogsGoldmaneServer, Calico's switch) in interleaved rounds — off, on, on, off, off, on … —
// so drift of a shared, busy machine falls on both sides alike. Each round measures
//   - the connection rate: new TCP connections per second from the client pod to the server pod
//     (each one a full handshake, a byte back, and a close; CONCURRENCY at a time), and
//   - throughput: iperf3, one stream.
// Medians per side and the ratios on/off are returned.

import { labDown, labFlowLogFields, labFlowsUrl, labUp, podAdd, sh, shOk, startDetached, stopPids, waitFor, withLabClient, type LabPod, type LabState } from '../src/lab/index.ts';

const CONN_PORT = 7100;
const CONCURRENCY = 8;
const log = (l: string): void => void process.stderr.write(`${l}\n`);

// A server that answers each connection with one byte and closes (the server side of TIME_WAIT,
// so the client's ports are not held).
const CONN_SERVER = `require('node:net').createServer((s) => { s.on('error', () => {}); s.end('x'); }).listen(${CONN_PORT}, '0.0.0.0')`;
// CONCURRENCY loops of connect → read the byte → close, for SECONDS; prints connections/s.
const CONN_CLIENT = (ip: string, seconds: number): string => `
const net = require('node:net'); const end = performance.now() + ${seconds * 1000}; let done = 0, failed = 0, live = ${CONCURRENCY};
const t0 = performance.now();
function one() {
  if (performance.now() >= end) { if (--live === 0) process.stdout.write(JSON.stringify({ done, perS: done / ((performance.now() - t0) / 1000), failed })); return; }
  const s = net.connect({ host: ${JSON.stringify(ip)}, port: ${CONN_PORT} });
  let ok = false;
  s.on('data', () => { ok = true; });
  s.on('error', () => {});
  s.on('close', () => { if (ok) done++; else failed++; one(); });
}
for (let i = 0; i < ${CONCURRENCY}; i++) one();`;

export interface FlowsDataplaneFigures {
  readonly rounds: number;
  readonly connSeconds: number;
  readonly iperfSeconds: number;
  readonly connPerS: { readonly off: number; readonly on: number; readonly ratio: number; readonly offRuns: number[]; readonly onRuns: number[] };
  readonly throughputMbps: { readonly off: number; readonly on: number; readonly ratio: number; readonly offRuns: number[]; readonly onRuns: number[] };
  /** Connections made while flow logs were on, and those the aggregator counted (reporter dst). */
  readonly connectionsOn: number;
  readonly connectionsLogged: number;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
}

async function connRate(from: LabPod, to: LabPod, seconds: number): Promise<{ perS: number; done: number }> {
  const out = await shOk(['ip', 'netns', 'exec', from.netns, process.execPath, '-e', CONN_CLIENT(to.ip, seconds)]);
  const r = JSON.parse(out) as { done: number; perS: number; failed: number };
  if (r.failed > 0) log(`  (${r.failed} connections failed)`);
  return { perS: Math.round(r.perS), done: r.done };
}

async function iperf(from: LabPod, to: LabPod, seconds: number): Promise<number> {
  const out = await shOk(['ip', 'netns', 'exec', from.netns, 'iperf3', '-c', to.ip, '-t', String(seconds), '-J']);
  const j = JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } };
  return Math.round(j.end.sum_received.bits_per_second / 1e6);
}

/** Set flow logs on or off for every node and wait until each node's ruleset says so. */
async function setFlowLogs(lab: LabState, on: boolean, fields: Record<string, string>): Promise<void> {
  await withLabClient(lab, async (c) => {
    await c.apply({ apiVersion: 'projectcalico.org/v3', kind: 'FelixConfiguration', metadata: { name: 'default' }, spec: on ? fields : {} });
  });
  const ok = await waitFor(async () => {
    for (const n of lab.nodes) {
      const r = await sh(['ip', 'netns', 'exec', n.netns, 'nft', 'list', 'table', 'inet', 'tricolor']);
      if (/\blog prefix "/.test(r.stdout) !== on) return undefined;
      const ulogd = await sh(['ip', 'netns', 'pids', n.netns]);
      const running = (
        await Promise.all(ulogd.stdout.split('\n').filter((x) => x.trim() !== '').map(async (pid) => (await sh(['cat', `/proc/${pid.trim()}/comm`])).stdout.trim()))
      ).includes('ulogd');
      if (running !== on) return undefined;
    }
    return true;
  }, 60_000, 250);
  if (ok !== true) throw new Error(`flow logs did not turn ${on ? 'on' : 'off'} in 60 s`);
  // let the collector settle (first conntrack poll, ulogd's files opened)
  await new Promise((r) => setTimeout(r, 1500));
}

export async function measureFlowsDataplane(o: { rounds: number; connSeconds: number; iperfSeconds: number }): Promise<FlowsDataplaneFigures> {
  const name = `fl${process.pid.toString(36).slice(-6)}`;
  try {
    log('lab (2 nodes, flow logs)');
    const lab = await labUp({ name, nodes: 2, encap: 'none', podCidr: '10.244.0.0/16', flowLogs: true, controllers: false, progress: (l) => log(`  ${l}`) });
    const fields = labFlowLogFields(lab);
    const client = await podAdd(lab, { namespace: 'bench', name: 'client', node: 'node-1', labels: { app: 'client' }, serve: [] });
    const server = await podAdd(lab, { namespace: 'bench', name: 'server', node: 'node-2', labels: { app: 'server' }, serve: [] });
    await withLabClient(lab, async (c) => {
      await c.apply({
        apiVersion: 'projectcalico.org/v3',
        kind: 'NetworkPolicy',
        metadata: { name: 'allow-client', namespace: 'bench' },
        spec: { selector: "app == 'server'", types: ['Ingress'], ingress: [{ action: 'Allow', protocol: 'TCP', source: { selector: "app == 'client'" }, destination: { ports: [CONN_PORT, 5201] } }] },
      });
    });
    // Many short connections from one client: the whole ephemeral range.
    await shOk(['ip', 'netns', 'exec', client.netns, 'sysctl', '-qw', 'net.ipv4.ip_local_port_range=1024 65000']);
    const pids = [
      await startDetached(['ip', 'netns', 'exec', server.netns, process.execPath, '-e', CONN_SERVER], `${lab.runDir}/logs/bench-conn.log`),
      await startDetached(['ip', 'netns', 'exec', server.netns, 'iperf3', '-s'], `${lab.runDir}/logs/bench-iperf.log`),
    ];
    try {
      const ready = await waitFor(async () => ((await sh(['ip', 'netns', 'exec', client.netns, 'socat', '-u', `TCP4:${server.ip}:${CONN_PORT},connect-timeout=1`, '-'])).stdout === 'x' ? true : undefined), 30_000, 300);
      if (ready !== true) throw new Error('the server pod does not answer');
      // warm-up (JIT, neighbour entries, conntrack)
      await connRate(client, server, 1);
      const runs = { off: { conn: [] as number[], tp: [] as number[] }, on: { conn: [] as number[], tp: [] as number[] } };
      // off on on off off on on off …: each side gets the first and the second slot equally
      const order: boolean[] = [];
      for (let i = 0; i < o.rounds; i++) order.push(...(i % 2 === 0 ? [false, true] : [true, false]));
      let current: boolean | undefined;
      let connectionsOn = 0;
      for (const on of order) {
        if (on !== current) await setFlowLogs(lab, on, fields);
        current = on;
        const side = on ? runs.on : runs.off;
        const c = await connRate(client, server, o.connSeconds);
        const conn = c.perS;
        if (on) connectionsOn += c.done;
        const tp = await iperf(client, server, o.iperfSeconds);
        side.conn.push(conn);
        side.tp.push(tp);
        log(`  flow logs ${on ? 'on ' : 'off'}: ${conn} connections/s, ${tp} Mbit/s`);
      }
      // What the aggregator saw: connections started, as the server side reported them, once the
      // last on-round's flows are flushed (flush 5 s, conntrack poll 5 s).
      const url = labFlowsUrl(lab);
      let connectionsLogged = 0;
      if (url !== undefined) {
        const logged = async (): Promise<number> => {
          const filter = encodeURIComponent(JSON.stringify({ dest_ports: [CONN_PORT], reporters: ['dst'] }));
          const r = (await (await fetch(`${url}/api/v1/flows?startTimeGte=-3600&pageSize=1000&filter=${filter}`)).json()) as { flows: { stats: { started: number } }[] };
          return r.flows.reduce((a, f) => a + f.stats.started, 0);
        };
        let last = -1;
        await waitFor(async () => {
          const n = await logged();
          const settled = n === last && n > 0;
          last = n;
          return settled ? true : undefined;
        }, 40_000, 6000);
        connectionsLogged = last;
      }
      const pair = (off: number[], on: number[]) => ({ off: median(off), on: median(on), ratio: Number((median(on) / median(off)).toFixed(3)), offRuns: off, onRuns: on });
      return { rounds: o.rounds, connSeconds: o.connSeconds, iperfSeconds: o.iperfSeconds, connPerS: pair(runs.off.conn, runs.on.conn), throughputMbps: pair(runs.off.tp, runs.on.tp), connectionsOn, connectionsLogged };
    } finally {
      await stopPids(pids, 500);
    }
  } finally {
    await labDown(name);
  }
}
