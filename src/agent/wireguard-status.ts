// How the node's WireGuard state is shown (pure): the `WireGuard` part of `tricolor node status`
// and the Prometheus series — Felix's (`wireguard_meta`, `wireguard_bytes_sent`,
// `wireguard_bytes_rcvd`, `wireguard_latest_handshake_seconds`, labels `peer_key` and
// `peer_endpoint`) plus ours for what Felix does not count: peers by state (encrypted,
// plaintext, blocked, degraded) and wireguard-go restarts.

import type { MetricsRegistry } from '../base/index.ts';
import type { NodeProblem } from './wireguard-plan.ts';

export interface WireGuardPeerStatus {
  readonly node: string;
  readonly publicKey: string;
  readonly endpoint: string;
  /** ISO time of the last handshake; undefined: none yet. */
  readonly lastHandshake: string | undefined;
  readonly rxBytes: number;
  readonly txBytes: number;
  /** Configured from memory while the peer's Node is unusable. */
  readonly remembered: boolean;
}

export interface WireGuardStatus {
  readonly enabled: boolean;
  readonly reason: string;
  readonly device?: {
    readonly name: string;
    readonly implementation: 'wireguard-go';
    readonly pid: number | undefined;
    readonly running: boolean;
    readonly restarts: number;
    readonly listenPort: number;
    readonly publicKey: string | undefined;
    readonly mtu: number;
    readonly address: string | undefined;
    readonly table: number;
    readonly rulePriority: number;
    /** Set while the device cannot be brought up or configured. */
    readonly error: string | undefined;
  };
  readonly peers: readonly WireGuardPeerStatus[];
  readonly plaintext: readonly NodeProblem[];
  readonly blocked: readonly NodeProblem[];
  readonly degraded: readonly NodeProblem[];
}


/** Register the WireGuard series on `r`; `state` is read at every scrape. */
export function registerWireGuardMetrics(r: MetricsRegistry, state: () => WireGuardStatus): void {
  const peerLabels = (p: WireGuardStatus['peers'][number]) => ({ peer_key: p.publicKey, peer_endpoint: p.endpoint });
  const peers = (v: (p: WireGuardStatus['peers'][number]) => number) => () => state().peers.map((p) => [peerLabels(p), v(p)] as const);
  r.gauge('wireguard_meta', 'WireGuard device of this node (value 1).', {
    labelNames: ['iface', 'listen_port', 'public_key'],
    collect: () => {
      const d = state().device;
      return d === undefined ? [] : [[{ iface: d.name, listen_port: String(d.listenPort), public_key: d.publicKey ?? '' }, 1]];
    },
  });
  r.counter('wireguard_bytes_sent', 'Bytes sent to the peer.', { labelNames: ['peer_key', 'peer_endpoint'], collect: peers((p) => p.txBytes) });
  r.counter('wireguard_bytes_rcvd', 'Bytes received from the peer.', { labelNames: ['peer_key', 'peer_endpoint'], collect: peers((p) => p.rxBytes) });
  r.gauge('wireguard_latest_handshake_seconds', 'Unix time of the latest handshake with the peer (0: none).', {
    labelNames: ['peer_key', 'peer_endpoint'],
    collect: peers((p) => (p.lastHandshake === undefined ? 0 : Date.parse(p.lastHandshake) / 1000)),
  });
  r.counter('tricolor_wireguard_restarts', 'Times wireguard-go stopped and was restarted by the agent.', { collect: () => state().device?.restarts ?? 0 });
  r.gauge('tricolor_wireguard_device_up', '1 while wireguard-go runs and took its configuration.', () => {
    const d = state().device;
    return d !== undefined && d.running && d.error === undefined ? 1 : 0;
  });
  r.gauge(
    'tricolor_wireguard_peers',
    'Remote nodes by how traffic to them travels: encrypted, degraded (encrypted with a remembered key), plaintext (no key: Calico sends in clear), blocked (dropped rather than sent in clear).',
    {
      labelNames: ['state'],
      collect: () => {
        const s = state();
        const remembered = s.peers.filter((p) => p.remembered).length;
        return [
          [{ state: 'encrypted' }, s.peers.length - remembered],
          [{ state: 'degraded' }, remembered],
          [{ state: 'plaintext' }, s.plaintext.length],
          [{ state: 'blocked' }, s.blocked.length],
        ];
      },
    },
  );
}

function ago(iso: string | undefined, now: number): string {
  if (iso === undefined) return 'never';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.floor(s / 60)}m${s % 60}s ago` : iso;
}

function bytes(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : n < 1024 ** 3 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** The `WireGuard` part of `tricolor node status`. */
export function renderWireGuardStatusText(s: WireGuardStatus | undefined, now = Date.now()): string {
  if (s === undefined) return '';
  const lines = [''];
  if (!s.enabled || s.device === undefined) {
    lines.push(`WireGuard: off (${s.reason}).`);
    return lines.join('\n') + '\n';
  }
  const d = s.device;
  lines.push(
    `WireGuard: ${d.name} (${d.implementation}${d.pid === undefined ? ', NOT running' : `, pid ${d.pid}`}, restarts ${d.restarts}), port ${d.listenPort}, MTU ${d.mtu}${d.address === undefined ? '' : `, address ${d.address}`}`,
    `  Public key:        ${d.publicKey ?? '(none yet)'}`,
    `  Routing:           table ${d.table}, rule priority ${d.rulePriority} (not fwmark 0x200000/0x200000)`,
    `  Peers:             ${s.peers.length} encrypted${s.degraded.length > 0 ? ` (${s.degraded.length} with a remembered key)` : ''}, ${s.plaintext.length} plaintext, ${s.blocked.length} blocked`,
  );
  if (d.error !== undefined) lines.push(`  ERROR:             ${d.error}`);
  if (s.peers.length > 0) {
    const rows = [['NODE', 'PUBLIC KEY', 'ENDPOINT', 'LAST HANDSHAKE', 'RECEIVED', 'SENT']];
    for (const p of s.peers) rows.push([p.node + (p.remembered ? ' (remembered)' : ''), p.publicKey, p.endpoint, ago(p.lastHandshake, now), bytes(p.rxBytes), bytes(p.txBytes)]);
    const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
    for (const r of rows) lines.push(`    ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()}`);
  }
  for (const p of s.plaintext) lines.push(`    PLAINTEXT to ${p.node}: ${p.reason}`);
  for (const p of s.blocked) lines.push(`    BLOCKED to ${p.node}: ${p.reason}`);
  for (const p of s.degraded) lines.push(`    degraded ${p.node}: ${p.reason}`);
  return lines.join('\n') + '\n';
}
