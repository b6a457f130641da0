import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MetricsRegistry, parseMetricsText } from '../base/index.ts';
import { registerWireGuardMetrics, renderWireGuardStatusText } from './wireguard-status.ts';
import type { WireGuardStatus } from './wireguard-status.ts';

const key = (n: number): string => Buffer.alloc(32, n).toString('base64');
const now = Date.parse('2026-12-05T07:00:00Z');
const status: WireGuardStatus = {
  enabled: true,
  reason: 'wireguardEnabled',
  device: { name: 'wireguard.cali', implementation: 'wireguard-go', pid: 42, running: true, restarts: 1, listenPort: 51820, publicKey: key(1), mtu: 1440, address: '10.244.1.0', table: 1, rulePriority: 99, error: undefined },
  peers: [
    { node: 'node-2', publicKey: key(2), endpoint: '172.31.0.12:51820', lastHandshake: '2026-12-05T06:59:55.000Z', rxBytes: 2048, txBytes: 100, remembered: false },
    { node: 'node-4', publicKey: key(4), endpoint: '172.31.0.14:51820', lastHandshake: undefined, rxBytes: 0, txBytes: 0, remembered: true },
  ],
  plaintext: [{ node: 'node-3', reason: 'no WireGuard public key published' }],
  blocked: [],
  degraded: [{ node: 'node-4', reason: 'Node is absent or does not validate; using its last known key' }],
};

void test('node status: device, one row per peer, plaintext and degraded nodes with reasons', () => {
  const text = renderWireGuardStatusText(status, now);
  assert.match(text, /WireGuard: wireguard\.cali \(wireguard-go, pid 42, restarts 1\), port 51820, MTU 1440, address 10\.244\.1\.0/);
  assert.match(text, /Peers: +2 encrypted \(1 with a remembered key\), 1 plaintext, 0 blocked/);
  assert.match(text, new RegExp(`node-2 +${key(2).replace(/[+/]/g, '\\$&')} +172\\.31\\.0\\.12:51820 +5s ago +2\\.0 KiB +100 B`));
  assert.match(text, /node-4 \(remembered\) .* never/);
  assert.match(text, /PLAINTEXT to node-3: no WireGuard public key published/);
  assert.match(renderWireGuardStatusText({ ...status, device: { ...(status.device as NonNullable<WireGuardStatus['device']>), error: 'wireguard-go: "x" not found' } }, now), /ERROR: +wireguard-go: "x" not found/);
  assert.equal(renderWireGuardStatusText({ enabled: false, reason: 'wireguardEnabled is not true in FelixConfiguration', peers: [], plaintext: [], blocked: [], degraded: [] }), '\nWireGuard: off (wireguardEnabled is not true in FelixConfiguration).\n');
});

void test("metrics: Felix's per-peer series and ours by peer state", () => {
  const r = new MetricsRegistry();
  registerWireGuardMetrics(r, () => status);
  const m = parseMetricsText(r.render());
  const peer = `peer_key="${key(2)}",peer_endpoint="172.31.0.12:51820"`;
  assert.equal(m.get(`wireguard_bytes_rcvd{${peer}}`), 2048);
  assert.equal(m.get(`wireguard_bytes_sent{${peer}}`), 100);
  assert.equal(m.get(`wireguard_latest_handshake_seconds{${peer}}`), Date.parse('2026-12-05T06:59:55.000Z') / 1000);
  assert.equal(m.get(`wireguard_meta{iface="wireguard.cali",listen_port="51820",public_key="${key(1)}"}`), 1);
  assert.equal(m.get('tricolor_wireguard_peers{state="encrypted"}'), 1);
  assert.equal(m.get('tricolor_wireguard_peers{state="degraded"}'), 1);
  assert.equal(m.get('tricolor_wireguard_peers{state="plaintext"}'), 1);
  assert.equal(m.get('tricolor_wireguard_device_up'), 1);
  assert.equal(m.get('tricolor_wireguard_restarts'), 1);
});
