// The WireGuard port and host endpoint policy, with real nftables and real packets: a "host"
// namespace whose eth0 is a host endpoint with no policy (everything but the failsafe ports is
// dropped, as in Calico) and a "peer" namespace on the other end of the link. With
// wireguardEnabled the host still receives and sends UDP on the WireGuard port (Calico's static
// INPUT/OUTPUT accept, node contract §4.6); with it off the same packets are dropped, and another
// UDP port is dropped either way. Each probe is followed by a packet to a failsafe port through
// the same link: when that one has arrived, the probe has either arrived before it or been dropped,
// so no wait decides the outcome. Needs root; skipped otherwise.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import type { CalcMessage } from '../../src/calc/index.ts';
import { DataplaneState, renderRuleset, resolveDataplaneConfig } from '../../src/dataplane/index.ts';
import { NftDriver } from '../../src/dataplane/io/index.ts';
import { createNetns, netnsSkipReason, type TestNetns } from '../support/netns.ts';

const HOST_IP = '10.213.254.1';
const PEER_IP = '10.213.254.2';
const OTHER_PORT = 51900;

const HEP: CalcMessage = {
  type: 'HostEndpointUpdate',
  key: 'HostEndpoint//host-eth0',
  name: 'host-eth0',
  interfaceName: 'eth0',
  expectedIPs: [HOST_IP],
  profileIds: [],
  tiers: [],
  untrackedTiers: [],
  preDNATTiers: [],
  forwardTiers: [],
};

// Binds every port given, prints "bound", then one line per datagram ("<port>"), and exits once
// the sentinel port (the last one) has received.
const RECEIVER = `
const dgram = require('node:dgram');
const ports = process.argv.slice(1).map(Number);
let bound = 0;
for (const p of ports) {
  const s = dgram.createSocket('udp4');
  s.on('message', () => { process.stdout.write(p + '\\n'); if (p === ports[ports.length - 1]) process.exit(0); });
  s.bind(p, () => { if (++bound === ports.length) process.stdout.write('bound\\n'); });
}
setTimeout(() => process.exit(2), 60000);
`;

// Sends one datagram to each port in order (from the WireGuard port itself, as wireguard-go does).
const SENDER = `
const dgram = require('node:dgram');
const [to, from, ...ports] = process.argv.slice(1);
const s = dgram.createSocket('udp4');
s.bind(Number(from), () => {
  const next = (i) => { if (i === ports.length) return s.close(); s.send('x', Number(ports[i]), to, () => next(i + 1)); };
  next(0);
});
`;

/** Which of `probes` reach `to` from `from` (the failsafe `sentinel` sent last must arrive). */
async function delivered(from: TestNetns, to: TestNetns, toIp: string, srcPort: number, probes: readonly number[], sentinel: number): Promise<number[]> {
  const rx = spawn('ip', ['netns', 'exec', to.name, process.execPath, '-e', RECEIVER, ...probes.map(String), String(sentinel)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  rx.stdout.on('data', (d: Buffer) => (out += d.toString()));
  rx.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => rx.once('exit', r));
  try {
    while (!out.includes('bound\n')) {
      if (rx.exitCode !== null) throw new Error(`receiver exited ${rx.exitCode}: ${err}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await from.execOk([process.execPath, '-e', SENDER, toIp, String(srcPort), ...probes.map(String), String(sentinel)]);
    const code = await exited;
    assert.equal(code, 0, `the failsafe packet to ${sentinel} never arrived: ${out}${err}`);
  } finally {
    if (rx.exitCode === null) rx.kill('SIGKILL');
  }
  return out
    .split('\n')
    .filter((l) => /^\d+$/.test(l))
    .map(Number)
    .filter((p) => p !== sentinel);
}

void test('WireGuard port through host endpoint policy: accepted in and out only with wireguardEnabled', { skip: netnsSkipReason(), timeout: 120_000 }, async (t) => {
  const host = await createNetns(t, 'tri-wgp-');
  const peer = await createNetns(t, 'tri-wgq-');
  await host.execOk(['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', peer.name]);
  for (const [ns, ip] of [
    [host, HOST_IP],
    [peer, PEER_IP],
  ] as const) {
    await ns.execOk(['ip', 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    await ns.execOk(['ip', 'link', 'set', 'eth0', 'up']);
  }
  const driver = new NftDriver({ netnsPath: host.path });
  t.after(() => driver.dispose());
  const apply = async (felix: Record<string, unknown>): Promise<void> => {
    const s = new DataplaneState(resolveDataplaneConfig(felix));
    s.applyAll([HEP]);
    await driver.apply(renderRuleset(s));
    // earlier probes' flows must not pass as established ones
    await host.execOk(['conntrack', '-F']);
  };
  // failsafe ports of Calico's defaults: UDP 68 in, UDP 53 out
  const inbound = (wgPort: number): Promise<number[]> => delivered(peer, host, HOST_IP, wgPort, [wgPort, OTHER_PORT], 68);
  const outbound = (wgPort: number): Promise<number[]> => delivered(host, peer, PEER_IP, wgPort + 1, [wgPort, OTHER_PORT], 53);

  await t.test('reference: WireGuard off, the host endpoint drops the port both ways', async () => {
    await apply({});
    assert.deepEqual(await inbound(51820), []);
    assert.deepEqual(await outbound(51820), []);
  });

  await t.test('wireguardEnabled: the port passes both ways, other UDP is still dropped', async () => {
    await apply({ wireguardEnabled: true });
    assert.deepEqual(await inbound(51820), [51820]);
    assert.deepEqual(await outbound(51820), [51820]);
  });

  await t.test('wireguardListeningPort moves the accept with it', async () => {
    await apply({ wireguardEnabled: true, wireguardListeningPort: 51999 });
    assert.deepEqual(await inbound(51999), [51999]);
    assert.deepEqual(await inbound(51820), []);
  });
});
