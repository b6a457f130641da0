// The status the running agent publishes in its run directory (`<runDir>/status.json`, rewritten
// atomically after every apply and on health changes) and how `tricolor node status` prints it.
// It carries BIRD's state and BGP sessions (polled every 2 s) and the node's VXLAN/route state.

import { renderPeerTable } from '../bgp/index.ts';
import type { BGPPeerStatus } from '../bgp/index.ts';
import type { PodMtuState } from './mtu-plan.ts';
import type { WireGuardStatus } from './wireguard-status.ts';
import { renderWireGuardStatusText } from './wireguard-status.ts';

export const STATUS_FILE_NAME = 'status.json';

export interface AgentStatus {
  readonly nodeName: string;
  readonly pid: number;
  readonly startedAt: string;
  /** When this file was written. */
  readonly updatedAt: string;
  readonly live: boolean;
  readonly ready: boolean;
  /** Datastore syncer status (WaitForDatastore / ResyncInProgress / InSync). */
  readonly datastore: string;
  /** Present while the datastore cannot be reached (the last programmed state stays in force). */
  readonly datastoreUnreachable?: { readonly since: string; readonly detail: string };
  readonly healthEndpoint: string | undefined;
  readonly metricsEndpoint: string | undefined;
  /**
   * The dataplane FelixConfiguration selects (`nft`, `bpf`) and, when it cannot run (not built
   * in, or a switch that needs a restart), why: nothing new is programmed meanwhile.
   */
  readonly dataplane?: { readonly kind: string; readonly running: string | undefined; readonly problem?: string };
  readonly endpoints: { readonly workload: number; readonly host: number };
  readonly policies: number;
  readonly profiles: number;
  readonly ipSets: number;
  readonly routes: number;
  readonly lastApplyAt: string | undefined;
  readonly lastApplyMs: number | undefined;
  readonly applies: number;
  readonly resyncRepairs: number;
  /** Apply, route and datastore errors since start. */
  readonly errors: number;
  /** The most recent errors, newest last (bounded). */
  readonly recentErrors: readonly { readonly at: string; readonly message: string }[];
  /** Stored values that failed validation and are treated as absent: key → problem. */
  readonly invalidValues: Readonly<Record<string, string>>;
  /** FelixConfiguration fields set in the datastore that this agent accepts but does not act on. */
  readonly felixFieldsNotInEffect?: readonly string[];
  /** BGP sessions while BIRD runs (absent when it does not). */
  readonly bgp?: readonly BGPPeerStatus[] | undefined;
  readonly bird?: {
    readonly running: boolean;
    readonly pid: number | undefined;
    readonly restarts: number;
    /** Why BIRD runs on this node or not. */
    readonly reason: string;
    readonly socket: string | undefined;
  };
  readonly routing?: {
    readonly vxlanDevice: string | undefined;
    readonly vxlanTunnelAddress: string | undefined;
    /** Proto-80 routes held: blackholes and remote VXLAN blocks. */
    readonly agentRoutes: number;
    readonly vxlanPeers: number;
    readonly waiting: readonly string[];
  };
  /** WireGuard: device, peers (key, endpoint, handshake, bytes), plaintext and blocked nodes. */
  readonly wireguard?: WireGuardStatus;
  /** The pod MTU written for the CNI plugin, and IPIP pools this node cannot serve. */
  readonly podMtu?: PodMtuState | undefined;
}

export interface StatusView {
  readonly status: AgentStatus | undefined;
  /** Whether the process named in the file still runs. */
  readonly running: boolean;
  /** Result of asking the health port, when reachable. */
  readonly probed?: { readonly live: boolean; readonly ready: boolean };
}

/** Human text for `tricolor node status`. */
export function renderStatusText(v: StatusView, runDir: string): string {
  const s = v.status;
  if (s === undefined) return `Tricolor node agent is not running (no status in ${runDir}).\n`;
  const live = v.probed?.live ?? (v.running && s.live);
  const ready = v.probed?.ready ?? (v.running && s.ready);
  const lines = [
    v.running ? `Tricolor node agent is running (node ${s.nodeName}, pid ${s.pid}, since ${s.startedAt}).` : `Tricolor node agent is NOT running (node ${s.nodeName}; last status ${s.updatedAt}).`,
    '',
    `  Liveness:          ${live ? 'live' : 'NOT live'}`,
    `  Readiness:         ${ready ? 'ready' : 'NOT ready'}${v.probed === undefined ? ' (from status file)' : ` (health port ${s.healthEndpoint ?? ''})`}`,
    `  Datastore:         ${s.datastore}${s.datastoreUnreachable === undefined ? '' : ` — UNREACHABLE since ${s.datastoreUnreachable.since} (${s.datastoreUnreachable.detail}); last programmed state in force`}`,
    ...(s.dataplane === undefined
      ? []
      : [`  Dataplane:         ${s.dataplane.running ?? 'none'}${s.dataplane.problem === undefined ? '' : ` — ${s.dataplane.problem}`}`]),
    `  Endpoints:         ${s.endpoints.workload} workload, ${s.endpoints.host} host`,
    `  Active policies:   ${s.policies}`,
    `  Active profiles:   ${s.profiles}`,
    `  IP sets:           ${s.ipSets}`,
    `  Workload routes:   ${s.routes}`,
    `  Last apply:        ${s.lastApplyAt === undefined ? 'never' : `${s.lastApplyAt} (${(s.lastApplyMs ?? 0).toFixed(1)} ms)`}`,
    `  Applies:           ${s.applies}`,
    `  Resync repairs:    ${s.resyncRepairs}`,
    `  Errors:            ${s.errors}`,
  ];
  for (const e of s.recentErrors.slice(-5)) lines.push(`    ${e.at} ${e.message}`);
  const invalid = Object.entries(s.invalidValues);
  if (invalid.length > 0) {
    lines.push(`  Invalid stored values (treated as absent): ${invalid.length}`);
    for (const [k, p] of invalid.slice(0, 5)) lines.push(`    ${k}: ${p}`);
  }
  const notInEffect = s.felixFieldsNotInEffect ?? [];
  if (notInEffect.length > 0) lines.push(`  FelixConfiguration fields accepted, not acted on: ${notInEffect.join(', ')}`);
  return lines.join('\n') + '\n';
}

/**
 * The BGP part of `tricolor node status`, shaped like `calicoctl node status`: per family a
 * boxed table of sessions (`peers` read from BIRD just now when the caller could, else the
 * status file's copy), or why BIRD does not run on this node.
 */
export function renderBGPStatusText(s: AgentStatus, running: boolean, peers: readonly BGPPeerStatus[] | undefined): string {
  const bird = s.bird;
  const lines: string[] = [''];
  if (!running || bird === undefined || !bird.running) {
    lines.push(`The BGP backend process (BIRD) is not running${bird === undefined ? '' : `: ${bird.reason}`}.`);
  } else {
    lines.push(`BIRD is running (pid ${bird.pid ?? '?'}, restarts ${bird.restarts}).`);
    const list = peers ?? s.bgp ?? [];
    for (const family of [4, 6] as const) {
      const ps = list.filter((p) => p.family === family);
      lines.push('', `IPv${family} BGP status`, ps.length === 0 ? `No IPv${family} peers found.` : renderPeerTable(ps));
    }
  }
  const r = s.routing;
  if (r !== undefined && running) {
    lines.push('');
    lines.push(`  VXLAN:             ${r.vxlanDevice === undefined ? 'off' : `${r.vxlanDevice} ${r.vxlanTunnelAddress ?? ''}, ${r.vxlanPeers} remote VTEPs`}`);
    lines.push(`  Agent routes:      ${r.agentRoutes} (blackholes and remote VXLAN blocks, proto 80)`);
    for (const w of r.waiting.slice(0, 5)) lines.push(`    waiting: ${w}`);
  }
  const m = s.podMtu;
  if (m !== undefined && running) {
    lines.push(`  Pod MTU:           ${m.podMtu} (host ${m.hostMtu}${m.encaps.length > 0 ? `; ${m.encaps.join(', ')}` : ''})${m.file === null ? '' : ` in ${m.file}`}`);
    if (m.ipipNotServed.length > 0) lines.push(`  IPIP:              pools ${m.ipipNotServed.join(', ')} NOT served on this node: ${m.ipipReason ?? ''}`);
  }
  if (running) lines.push(renderWireGuardStatusText(s.wireguard).trimEnd());
  return lines.join('\n') + '\n';
}
