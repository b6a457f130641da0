// The desired WireGuard state of one node (node contract §4.18), as a pure function of the calc
// graph's HostMetadataUpdate for every node (addresses, tunnel addresses, confirmed blocks,
// public key), this node's key and its parent interface: the device, one peer per remote node
// whose public key is known, and the WireGuard routing table with its rule — Calico's scheme
// (felix/wireguard) plus Tricolor's no-plaintext guard:
//
// - a peer with a usable key: `<cidr> dev <device>` for its blocks, its workloads' addresses
//   outside them (borrowed) and its tunnel addresses, AND
//   `unreachable <cidr> metric GUARD_METRIC` underneath. The device route wins while the device
//   exists; if the device disappears (wireguard-go killed, TUN deleted) the kernel drops the
//   device routes and the guard is all that is left, so the traffic is refused instead of falling
//   through to BIRD's or VXLAN's main-table routes in plaintext.
// - a remote node with no key (WireGuard off there, or not published yet): `throw`, i.e. plaintext
//   through the main table — Calico's opportunistic behaviour — counted and shown.
// - a remote node whose key we had before but whose Node is now unusable (a stored value that
//   does not validate, a duplicate key): never plaintext. The last good key stays in use while the
//   Node is merely unreadable; a duplicate key leaves only the guard. A deleted Node is forgotten.
// - local blocks and local workload addresses outside them: `throw` (back to the main table).
// The rule `not fwmark M/M lookup T` at `wireguardRoutingRulePriority` sends everything not
// already encrypted (wireguard-go marks its UDP with M) through the table.

import type { HostMetadataUpdate } from '../calc/index.ts';
import { isWireGuardKey } from '../dataplane/index.ts';
import { cidrContainsCIDR, formatCIDR, tryParseCIDR, tryParseIP } from '../net/index.ts';
import type { CIDR } from '../net/index.ts';
import { parseDurationMs } from './agent-config.ts';
import type { FelixSpec } from './agent-config.ts';

/** Felix's defaults (felix/config/config_params.go). */
export const DEFAULT_WIREGUARD_INTERFACE = 'wireguard.cali';
export const DEFAULT_WIREGUARD_PORT = 51820;
export const DEFAULT_WIREGUARD_RULE_PRIORITY = 99;
/** IPv4 WireGuard overhead: outer IP 20 + UDP 8 + WireGuard header 16 + auth tag 16. */
export const WIREGUARD_OVERHEAD_BYTES = 60;
/** The WireGuard fwmark bit (node contract §4.9); the nft renderer uses 0x10000/0x20000. */
export const WIREGUARD_FWMARK = 0x200000;
/** Metric of the guard routes: far below any route the device gets (metric 0). */
export const GUARD_METRIC = 10_000;
const DEFAULT_ROUTE_TABLE = 1;
/** Tables the kernel owns (local 255, main 254, default 253) and the unspecified 0. */
const RESERVED_TABLES = new Set([0, 253, 254, 255]);

export interface RememberedPeer {
  readonly publicKey: string;
  readonly endpoint: string;
  readonly allowedIPs: readonly string[];
}

export interface WireGuardInputs {
  readonly nodeName: string;
  /** The calc graph's latest HostMetadataUpdate per node, this node's included (`local`). */
  readonly hosts: ReadonlyMap<string, HostMetadataUpdate>;
  /** Nodes stored with a value that does not validate (absent from `hosts`, but not deleted). */
  readonly invalidNodes: ReadonlySet<string>;
  readonly felix: FelixSpec;
  /** This node's public key (undefined until the key file is read). */
  readonly publicKey: string | undefined;
  /** Addresses of local workloads (for `throw` routes when outside local blocks). */
  readonly localWorkloadIPs: readonly string[];
  /** The interface holding this node's IPv4 address (its MTU sizes the device). */
  readonly parentMtu: number | undefined;
  /** Peers this agent used before, by node name: their traffic must never go out in plaintext. */
  readonly remembered: ReadonlyMap<string, RememberedPeer>;
}

export interface WireGuardDeviceSpec {
  readonly name: string;
  readonly listenPort: number;
  readonly fwmark: number;
  readonly mtu: number;
  /** The node's WireGuard tunnel address (/32), when it has one. */
  readonly address: string | undefined;
}

export interface WireGuardPeerSpec {
  readonly node: string;
  readonly publicKey: string;
  readonly endpoint: string;
  readonly allowedIPs: readonly string[];
  readonly keepaliveSeconds: number;
  /** Configured from memory: the Node is absent or unusable right now. */
  readonly remembered: boolean;
}

export type TableRoute =
  | { readonly type: 'dev'; readonly dst: string }
  | { readonly type: 'throw'; readonly dst: string }
  | { readonly type: 'unreachable'; readonly dst: string };

export interface NodeProblem {
  readonly node: string;
  readonly reason: string;
}

export interface WireGuardPlan {
  readonly enabled: boolean;
  /** Why not, when not enabled. */
  readonly reason: string;
  readonly device: WireGuardDeviceSpec | undefined;
  readonly table: number;
  readonly rulePriority: number;
  readonly peers: readonly WireGuardPeerSpec[];
  /** The whole WireGuard table: device routes, guards (metric GUARD_METRIC) and throws. */
  readonly routes: readonly (TableRoute & { readonly metric: number })[];
  /** Remote nodes whose traffic goes in plaintext (Calico's behaviour for a node with no key). */
  readonly plaintext: readonly NodeProblem[];
  /** Remote nodes whose traffic is dropped rather than sent in plaintext. */
  readonly blocked: readonly NodeProblem[];
  /** Remote nodes still encrypted with a remembered key although their Node is unusable. */
  readonly degraded: readonly NodeProblem[];
  readonly keepaliveSeconds: number;
}

function num(spec: FelixSpec, field: string): number | undefined {
  const v = spec[field];
  return typeof v === 'number' && v > 0 ? v : undefined;
}

/** The WireGuard table: the first index of routeTableRanges / routeTableRange the kernel does not own. */
export function wireguardTableIndex(felix: FelixSpec): number {
  const ranges = Array.isArray(felix['routeTableRanges'])
    ? (felix['routeTableRanges'] as { min: number; max: number }[])
    : typeof felix['routeTableRange'] === 'object' && felix['routeTableRange'] !== null
      ? [felix['routeTableRange'] as { min: number; max: number }]
      : [];
  for (const r of ranges) for (let t = r.min; t <= r.max; t++) if (!RESERVED_TABLES.has(t)) return t;
  return DEFAULT_ROUTE_TABLE;
}

export function wireguardEnabled(felix: FelixSpec): boolean {
  return felix['wireguardEnabled'] === true;
}

export function wireguardMtu(felix: FelixSpec, parentMtu: number | undefined, defaultHostMtu: number): number {
  return num(felix, 'wireguardMTU') ?? (parentMtu ?? defaultHostMtu) - WIREGUARD_OVERHEAD_BYTES;
}

function hostCIDR(text: string | undefined): CIDR | undefined {
  if (text === undefined || text === '') return undefined;
  const ip = tryParseIP(text.split('/')[0] ?? '');
  if (ip?.family !== 4) return undefined;
  return tryParseCIDR(`${text.split('/')[0]}/32`);
}

/** Sorted, de-duplicated, with CIDRs inside another of the list dropped. */
function coverSet(cidrs: readonly CIDR[]): CIDR[] {
  const uniq = new Map(cidrs.map((c) => [formatCIDR(c), c]));
  const all = [...uniq.values()];
  return all
    .filter((c) => !all.some((o) => o !== c && o.prefixLength < c.prefixLength && cidrContainsCIDR(o, c)))
    .sort((a, b) => (formatCIDR(a) < formatCIDR(b) ? -1 : 1));
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** What this node's WireGuard should look like. */
export function desiredWireGuard(i: WireGuardInputs, defaultHostMtu = 1460): WireGuardPlan {
  const table = wireguardTableIndex(i.felix);
  const rulePriority = num(i.felix, 'wireguardRoutingRulePriority') ?? DEFAULT_WIREGUARD_RULE_PRIORITY;
  const keepaliveText = i.felix['wireguardKeepAlive'];
  const keepaliveSeconds = typeof keepaliveText === 'string' ? Math.round(parseDurationMs(keepaliveText, 'wireguardKeepAlive') / 1000) : 0;
  const off = (reason: string): WireGuardPlan => ({
    enabled: false,
    reason,
    device: undefined,
    table,
    rulePriority,
    peers: [],
    routes: [],
    plaintext: [],
    blocked: [],
    degraded: [],
    keepaliveSeconds,
  });
  if (!wireguardEnabled(i.felix)) return off('wireguardEnabled is not true in FelixConfiguration');
  const me = i.hosts.get(i.nodeName);
  if (me === undefined) return off(`Node ${JSON.stringify(i.nodeName)} is not in the datastore`);
  const port = num(i.felix, 'wireguardListeningPort') ?? DEFAULT_WIREGUARD_PORT;
  const device: WireGuardDeviceSpec = {
    name: typeof i.felix['wireguardInterfaceName'] === 'string' && i.felix['wireguardInterfaceName'] !== '' ? i.felix['wireguardInterfaceName'] : DEFAULT_WIREGUARD_INTERFACE,
    listenPort: port,
    fwmark: WIREGUARD_FWMARK,
    mtu: wireguardMtu(i.felix, i.parentMtu, defaultHostMtu),
    address: me.wireguardTunnelAddr,
  };

  // Each remote node's CIDRs: its confirmed IPv4 blocks, borrowed addresses and tunnel addresses.
  const local: CIDR[] = me.blocks.map((b) => tryParseCIDR(b)).filter((c): c is CIDR => c?.family === 4);
  const cidrsOf = new Map<string, CIDR[]>();
  for (const h of i.hosts.values()) {
    if (h.name === i.nodeName) continue;
    const cidrs = [...h.blocks.map((b) => tryParseCIDR(b)), ...h.borrowed.map((b) => tryParseCIDR(b)), hostCIDR(h.wireguardTunnelAddr), hostCIDR(h.vxlanTunnelAddr), hostCIDR(h.ipipTunnelAddr)].filter(
      (c): c is CIDR => c?.family === 4,
    );
    if (cidrs.length > 0) cidrsOf.set(h.name, cidrs);
  }
  // A remembered peer whose Node is stored but unreadable keeps its last allowed IPs.
  for (const [name, r] of i.remembered) {
    if (name === i.nodeName || i.hosts.has(name) || !i.invalidNodes.has(name)) continue;
    const cidrs = r.allowedIPs.map((t) => tryParseCIDR(t)).filter((c): c is CIDR => c?.family === 4);
    if (cidrs.length > 0) cidrsOf.set(name, cidrs);
  }

  // Who claims which key: a key claimed by two nodes programs neither (Calico).
  const keyOwners = new Map<string, string[]>();
  for (const h of i.hosts.values()) {
    const k = h.wireguardPublicKey;
    if (k !== undefined && k !== '') keyOwners.set(k, [...(keyOwners.get(k) ?? []), h.name]);
  }

  const peers: WireGuardPeerSpec[] = [];
  const routes: (TableRoute & { metric: number })[] = [];
  const plaintext: NodeProblem[] = [];
  const blocked: NodeProblem[] = [];
  const degraded: NodeProblem[] = [];
  const claimed: CIDR[] = [];
  for (const [name, raw] of [...cidrsOf].sort((a, b) => byText(a[0], b[0]))) {
    const cidrs = coverSet(raw);
    const texts = cidrs.map(formatCIDR);
    const host = i.hosts.get(name);
    const memory = i.remembered.get(name);
    const nodeIP = host?.ipv4;
    const key = host?.wireguardPublicKey;
    const guardAll = (): void => {
      for (const t of texts) routes.push({ type: 'unreachable', dst: t, metric: GUARD_METRIC });
    };
    const peerWith = (publicKey: string, endpoint: string, fromMemory: boolean): void => {
      peers.push({ node: name, publicKey, endpoint, allowedIPs: texts, keepaliveSeconds, remembered: fromMemory });
      for (const t of texts) routes.push({ type: 'dev', dst: t, metric: 0 }, { type: 'unreachable', dst: t, metric: GUARD_METRIC });
    };
    claimed.push(...cidrs);
    if (host === undefined || nodeIP === undefined) {
      if (memory !== undefined) {
        peerWith(memory.publicKey, memory.endpoint, true);
        degraded.push({ node: name, reason: host === undefined ? 'Node is absent or does not validate; using its last known key' : 'Node has no IPv4 address; using its last known endpoint' });
      } else {
        for (const t of texts) routes.push({ type: 'throw', dst: t, metric: 0 });
        plaintext.push({ node: name, reason: 'Node has no IPv4 address' });
      }
      continue;
    }
    if (key === undefined || key === '') {
      // WireGuard off there, or its key not published yet: plaintext, as Calico does
      for (const t of texts) routes.push({ type: 'throw', dst: t, metric: 0 });
      plaintext.push({ node: name, reason: 'no WireGuard public key published' });
      continue;
    }
    if (!isWireGuardKey(key)) {
      if (memory !== undefined) {
        peerWith(memory.publicKey, memory.endpoint, true);
        degraded.push({ node: name, reason: `status.wireguardPublicKey ${JSON.stringify(key)} is not a valid key; using its last known key` });
      } else {
        guardAll();
        blocked.push({ node: name, reason: `status.wireguardPublicKey ${JSON.stringify(key)} is not a valid key` });
      }
      continue;
    }
    const owners = keyOwners.get(key) ?? [];
    if (owners.length > 1 || key === i.publicKey) {
      const who = key === i.publicKey ? ['this node', ...owners] : owners;
      const reason = `public key is claimed by ${who.length} nodes (${who.join(', ')})`;
      if (memory !== undefined) {
        guardAll();
        blocked.push({ node: name, reason });
      } else {
        for (const t of texts) routes.push({ type: 'throw', dst: t, metric: 0 });
        plaintext.push({ node: name, reason });
      }
      continue;
    }
    peerWith(key, `${nodeIP}:${port}`, false);
  }

  // Local blocks, and local workload addresses outside them (borrowed), go back to the main table.
  const localWorkloads = i.localWorkloadIPs.map((ip) => hostCIDR(ip)).filter((c): c is CIDR => c !== undefined && !local.some((b) => cidrContainsCIDR(b, c)));
  for (const c of coverSet([...local, ...localWorkloads])) {
    if (claimed.some((o) => formatCIDR(o) === formatCIDR(c))) continue;
    routes.push({ type: 'throw', dst: formatCIDR(c), metric: 0 });
  }
  routes.sort((a, b) => byText(a.dst, b.dst) || a.metric - b.metric);
  return {
    enabled: true,
    reason: 'wireguardEnabled',
    device,
    table,
    rulePriority,
    peers,
    routes,
    plaintext,
    blocked,
    degraded,
    keepaliveSeconds,
  };
}

/**
 * What to remember after a plan: every peer's current key and endpoint, and the memory of nodes
 * now blocked. A node that no longer has blocks, or whose key was removed (WireGuard turned off
 * there), is forgotten. While WireGuard is off here, nothing is kept.
 */
export function rememberPeers(before: ReadonlyMap<string, RememberedPeer>, plan: WireGuardPlan): Map<string, RememberedPeer> {
  const out = new Map<string, RememberedPeer>();
  if (!plan.enabled) return out;
  for (const p of plan.peers) out.set(p.node, p.remembered ? (before.get(p.node) ?? p) : { publicKey: p.publicKey, endpoint: p.endpoint, allowedIPs: p.allowedIPs });
  for (const b of plan.blocked) {
    const r = before.get(b.node);
    if (r !== undefined) out.set(b.node, r);
  }
  return out;
}
