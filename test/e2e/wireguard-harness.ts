// Shared by the WireGuard end-to-end test and the throughput benchmark: a packet capture on the
// lab's underlay bridge (tcpdump inside the underlay namespace), a numbered UDP stream between two
// pods that reports how long the receiver went without a packet, and the plaintext check: any
// packet on the underlay whose own addresses are pod addresses went unencrypted.

import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { run } from '../support/netns.ts';

/** The payload marker the stream sends; it must never be seen on the underlay. */
export const MARKER = 'TRICOLOR-SECRET-PAYLOAD';

export interface Capture {
  /** Stop tcpdump and return its packets, one `tcpdump -nn` line each, plus the raw bytes. */
  stop(): Promise<{ lines: string[]; raw: Buffer }>;
}

/** tcpdump on `iface` inside `netns` (everything but ARP), written to a temporary pcap. */
export async function startCapture(netns: string, iface = 'br0'): Promise<Capture> {
  const file = join(tmpdir(), `wgcap-${randomBytes(4).toString('hex')}.pcap`);
  const child = spawn('ip', ['netns', 'exec', netns, 'tcpdump', '-i', iface, '-nn', '-U', '-s', '256', '-w', file, 'not', 'arp'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise((r) => child.once('exit', r));
  let err = '';
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  // tcpdump says "listening on …" once the capture runs
  for (let i = 0; i < 200 && !err.includes('listening on'); i++) await new Promise((r) => setTimeout(r, 10));
  return {
    async stop() {
      await new Promise((r) => setTimeout(r, 200));
      child.kill('SIGINT');
      await exited;
      const raw = (() => {
        try {
          return readFileSync(file);
        } catch {
          return Buffer.alloc(0);
        }
      })();
      const r = await run(['tcpdump', '-nn', '-r', file]);
      rmSync(file, { force: true });
      return { lines: r.stdout.split('\n').filter((l) => l.trim() !== ''), raw };
    },
  };
}

/** Packets with a pod address (in `podCidrPrefix`, e.g. "10.244.") as their own source or destination. */
export function plaintextPodPackets(lines: readonly string[], podCidrPrefix: string): string[] {
  const esc = podCidrPrefix.replace(/\./g, '\\.');
  const re = new RegExp(`IP ${esc}\\S+ > |> ${esc}\\S+:`);
  return lines.filter((l) => re.test(l));
}

/** Packets on the underlay that are not WireGuard UDP on `port` (ARP is not captured). */
export function nonWireGuardPackets(lines: readonly string[], nodePrefix: string, port: number): string[] {
  const esc = nodePrefix.replace(/\./g, '\\.');
  const between = new RegExp(`IP ${esc}\\d+\\.(\\d+) > ${esc}\\d+\\.(\\d+): `);
  return lines.filter((l) => {
    const m = between.exec(l);
    if (m === null) return false; // not node-to-node (gateway, external)
    if (m[1] === '179' || m[2] === '179') return false; // BGP between the hosts: host traffic, not pods'
    return !(l.includes('UDP') && (m[1] === String(port) || m[2] === String(port)));
  });
}

const RECEIVER = `
const dgram = require('node:dgram');
const [port, durationMs] = process.argv.slice(1).map(Number);
const s = dgram.createSocket('udp4');
const got = [];
s.on('message', (m) => got.push([Number(String(m).split(' ')[1]), performance.now()]));
s.bind(port, () => process.stdout.write('ready\\n'));
setTimeout(() => {
  s.close();
  let maxGap = 0, at = 0;
  for (let i = 1; i < got.length; i++) { const g = got[i][1] - got[i - 1][1]; if (g > maxGap) { maxGap = g; at = got[i - 1][0]; } }
  process.stdout.write(JSON.stringify({ received: got.length, maxGapMs: maxGap, gapAfterSeq: at, last: got.length ? got[got.length - 1][0] : -1 }) + '\\n');
}, durationMs);
`;

const SENDER = `
const dgram = require('node:dgram');
const [ip, port, intervalMs, durationMs] = process.argv.slice(1);
const s = dgram.createSocket('udp4');
let seq = 0;
const t0 = Date.now();
const tick = () => {
  if (Date.now() - t0 >= Number(durationMs)) { s.close(); process.stdout.write(JSON.stringify({ sent: seq }) + '\\n'); return; }
  s.send('${MARKER} ' + (seq++) + ' ' + 'x'.repeat(200), Number(port), ip, () => undefined);
  setTimeout(tick, Number(intervalMs));
};
tick();
`;

export interface StreamResult {
  readonly sent: number;
  readonly received: number;
  /** Longest time the receiver went without a packet. */
  readonly maxGapMs: number;
}

/**
 * A UDP stream from one pod namespace to another pod's address for `durationMs`, one packet
 * every `intervalMs`. `during` runs while the stream flows (after `leadMs`).
 */
export async function udpStream(
  o: { fromNetns: string; toNetns: string; toIP: string; port: number; intervalMs?: number; durationMs: number; leadMs?: number },
  during?: () => Promise<void>,
): Promise<StreamResult> {
  const recv = spawn('ip', ['netns', 'exec', o.toNetns, process.execPath, '-e', RECEIVER, String(o.port), String(o.durationMs + 1500)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const recvDone = new Promise((r) => recv.once('exit', r));
  let rout = '';
  recv.stdout.on('data', (b: Buffer) => (rout += b.toString()));
  for (let i = 0; i < 500 && !rout.includes('ready'); i++) await new Promise((r) => setTimeout(r, 10));
  const send = spawn('ip', ['netns', 'exec', o.fromNetns, process.execPath, '-e', SENDER, o.toIP, String(o.port), String(o.intervalMs ?? 5), String(o.durationMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const sendDone = new Promise((r) => send.once('exit', r));
  let sout = '';
  send.stdout.on('data', (b: Buffer) => (sout += b.toString()));
  if (during !== undefined) {
    await new Promise((r) => setTimeout(r, o.leadMs ?? 1000));
    await during();
  }
  await sendDone;
  await recvDone;
  const s = JSON.parse(sout.trim().split('\n').pop() ?? '{}') as { sent?: number };
  const r = JSON.parse(rout.trim().split('\n').pop() ?? '{}') as { received?: number; maxGapMs?: number };
  return { sent: s.sent ?? 0, received: r.received ?? 0, maxGapMs: Math.round((r.maxGapMs ?? 0) * 10) / 10 };
}
