// What sits outside the cluster: the external hosts (behind the underlay router's NAT-less
// gateway, reachable from pods only through the agents' natOutgoing masquerade) with its echo
// servers, and the optional `tor` router (gobgpd, eBGP with every node).

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CLUSTER_AS, EXTERNAL_TCP_PORTS, EXTERNAL_UDP_PORTS, GOBGP_SESSION_STATES, TOR_API_PORT, labExternals, renderTorConfig, type LabState, type TorView } from '../lab-model.ts';
import { pidAlive, sh, startDetached } from './processes.ts';
import { addUnderlayHost } from './topology.ts';

/** Every external host's servers: TCP answers with the address it sees the client as (the NAT check reads it). Pids go to state.pids. */
export async function startExternalServers(s: LabState, logs: string): Promise<void> {
  for (const e of labExternals(s)) {
    for (const port of EXTERNAL_TCP_PORTS) {
      s.pids.push(await startDetached(['ip', 'netns', 'exec', e.netns, 'socat', `TCP4-LISTEN:${port},reuseaddr,fork`, 'SYSTEM:echo $SOCAT_PEERADDR'], join(logs, 'external.log')));
    }
    for (const port of EXTERNAL_UDP_PORTS) {
      s.pids.push(await startDetached(['ip', 'netns', 'exec', e.netns, 'socat', `UDP4-RECVFROM:${port},fork`, 'SYSTEM:echo $SOCAT_PEERADDR'], join(logs, 'external.log')));
    }
  }
}

/** The tor router: a namespace on the underlay running gobgpd with one eBGP neighbour per node. */
export async function startTor(s: LabState, logs: string): Promise<void> {
  const t = s.tor;
  if (t === undefined) return;
  mkdirSync(dirname(t.configPath), { recursive: true });
  writeFileSync(t.configPath, renderTorConfig(t, s.nodes, CLUSTER_AS));
  await addUnderlayHost(s, t);
  t.pid = await startDetached(
    ['ip', 'netns', 'exec', t.netns, 'gobgpd', '-f', t.configPath, '-t', 'toml', '-p', '--api-hosts', `127.0.0.1:${TOR_API_PORT}`, '--pprof-disable'],
    join(logs, 'tor-gobgpd.log'),
  );
}

/** What the tor router has: its BGP sessions and RIB, read with `gobgp -j` in its namespace. */
export async function torStatus(s: LabState): Promise<TorView | undefined> {
  const t = s.tor;
  if (t === undefined) return undefined;
  const running = t.pid !== undefined && pidAlive(t.pid);
  const gobgp = async (args: string[]): Promise<unknown> => {
    if (!running) return undefined;
    const r = await sh(['ip', 'netns', 'exec', t.netns, 'gobgp', '-j', '-u', '127.0.0.1', '-p', String(TOR_API_PORT), ...args]);
    if (r.status !== 0) return undefined;
    try {
      return JSON.parse(r.stdout) as unknown;
    } catch {
      return undefined;
    }
  };
  const neighbors = ((await gobgp(['neighbor'])) ?? []) as { conf?: { neighbor_address?: string; peer_asn?: number }; state?: { session_state?: number | string } }[];
  const rib = ((await gobgp(['global', 'rib'])) ?? {}) as Record<string, { nlri?: { prefix?: string }; attrs?: { type?: number; nexthop?: string }[] }[]>;
  const states: readonly string[] = GOBGP_SESSION_STATES;
  return {
    netns: t.netns,
    address: t.address,
    asNumber: t.asNumber,
    running,
    sessions: neighbors.map((n) => {
      const st = n.state?.session_state;
      return { peer: n.conf?.neighbor_address ?? '?', asNumber: n.conf?.peer_asn ?? 0, state: typeof st === 'number' ? (states[st] ?? String(st)) : String(st ?? 'unknown') };
    }),
    routes: Object.entries(rib)
      .map(([prefix, paths]) => ({ prefix, nextHops: paths.flatMap((p) => (p.attrs ?? []).filter((a) => typeof a.nexthop === 'string').map((a) => a.nexthop as string)) }))
      .sort((a, b) => (a.prefix < b.prefix ? -1 : 1)),
  };
}
