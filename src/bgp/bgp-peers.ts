// Which BGP sessions this node runs: Calico's confd peer expansion (node contract §5.3) as a
// pure function of the datastore contents. The node-to-node mesh, global and node-specific
// BGPPeers (fixed peerIP or peerSelector over Calico nodes, with automatic reverse peering),
// route-reflector clients, and the per-family node facts (address, AS, listen port, cluster
// ID) that the renderer also needs.

import type { BGPConfiguration, BGPPeer, Node } from '../api/index.ts';
import { TricolorError, quote } from '../base/index.ts';
import { type IPFamily, formatIP, tryParseCIDR, tryParseIP } from '../net/index.ts';
import { labelsOf, parseSelector } from '../selector/index.ts';

/** Calico's default AS when neither the Node nor BGPConfiguration `default` sets one. */
export const DEFAULT_AS_NUMBER = 64512;
/** BGP's well-known port; BIRD listens here unless `listenPort` says otherwise. */
export const DEFAULT_BGP_PORT = 179;

export const PEER_KINDS = ['Mesh', 'Global', 'Node'] as const;
export type PeerKind = (typeof PEER_KINDS)[number];

/** One BGP session to configure in BIRD. */
export interface BirdPeer {
  /** BIRD protocol name: `Mesh_10_0_0_2`, `Global_10_0_0_9_port_1790`, `Node_fd00__2`. */
  readonly name: string;
  readonly kind: PeerKind;
  readonly family: IPFamily;
  readonly ip: string;
  /** Remote port when not the default. */
  readonly port: number | undefined;
  readonly asNumber: number;
  /** Overrides the node's AS for this session (BGPPeer `localASNumber`). */
  readonly localASNumber: number | undefined;
  /** Our address for the TCP session (`source address`), or undefined for `sourceAddress: None`. */
  readonly sourceAddress: string | undefined;
  readonly passive: boolean;
  /** Set when this node is a route reflector and the peer is one of its clients. */
  readonly rrClusterId: string | undefined;
  readonly nextHop: 'keep' | 'self' | undefined;
  readonly gracefulRestartSeconds: number | undefined;
  readonly keepaliveSeconds: number | undefined;
  readonly ttlSecurityHops: number | undefined;
  readonly allowLocalAS: number | undefined;
  /** BGPFilter names, in order. */
  readonly filters: readonly string[];
  /** Static route needed to reach the peer (BGPPeer `reachableBy`). */
  readonly reachableBy: string | undefined;
  /** The BGPPeer this came from (undefined for mesh peers). */
  readonly source: string | undefined;
}

/** What the renderer knows about a Calico node. */
export interface NodeFacts {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ipv4: string | undefined;
  /** The node's IPv4 subnet (`10.0.0.5/24` → `10.0.0.0/24`). */
  readonly ipv4Network: string | undefined;
  readonly ipv6: string | undefined;
  readonly asNumber: number;
  readonly listenPort: number | undefined;
  readonly rrClusterId: string | undefined;
}

export interface PeerInputs {
  readonly nodeName: string;
  readonly nodes: readonly Node[];
  readonly bgpConfigurations: readonly BGPConfiguration[];
  readonly bgpPeers: readonly BGPPeer[];
}

/** BGPConfiguration `default` and `node.<name>` (either may be missing). */
export interface EffectiveBGPConfig {
  readonly global: BGPConfiguration['spec'];
  readonly node: BGPConfiguration['spec'];
}

export function effectiveBGPConfig(configs: readonly BGPConfiguration[], nodeName: string): EffectiveBGPConfig {
  let global: BGPConfiguration['spec'];
  let node: BGPConfiguration['spec'];
  for (const c of configs) {
    if (c.metadata.name === 'default') global = c.spec ?? {};
    else if (c.metadata.name === `node.${nodeName}`) node = c.spec ?? {};
  }
  return { global, node };
}

/** Parse `10.0.0.5/24` (or a bare address) into the address text, normalised. */
function nodeAddress(text: string | undefined, family: IPFamily): string | undefined {
  if (text === undefined || text === '') return undefined;
  const slash = text.indexOf('/');
  const ip = tryParseIP(slash === -1 ? text : text.slice(0, slash));
  if (ip === undefined || ip.family !== family) return undefined;
  return formatIP(ip);
}

function nodeNetwork(text: string | undefined): string | undefined {
  if (text === undefined || !text.includes('/')) return undefined;
  const c = tryParseCIDR(text);
  return c === undefined || c.family !== 4 ? undefined : `${formatIP({ family: 4, value: c.network })}/${c.prefixLength}`;
}

export function nodeFacts(node: Node, configs: readonly BGPConfiguration[]): NodeFacts {
  const { global, node: own } = effectiveBGPConfig(configs, node.metadata.name);
  const bgp = node.spec?.bgp;
  const cluster = bgp?.routeReflectorClusterID;
  return {
    name: node.metadata.name,
    labels: node.metadata.labels ?? {},
    ipv4: nodeAddress(bgp?.ipv4Address, 4),
    ipv4Network: nodeNetwork(bgp?.ipv4Address),
    ipv6: nodeAddress(bgp?.ipv6Address, 6),
    asNumber: bgp?.asNumber ?? global?.asNumber ?? DEFAULT_AS_NUMBER,
    listenPort: own?.listenPort ?? global?.listenPort,
    rrClusterId: cluster === undefined || cluster === '' ? undefined : cluster,
  };
}

export function nodeIP(n: NodeFacts, family: IPFamily): string | undefined {
  return family === 4 ? n.ipv4 : n.ipv6;
}

/** Go-style duration (`120s`, `2m`, `1h30m`, `500ms`) → whole seconds (rounded, as confd does). */
export function durationSeconds(text: string, field: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/gy;
  let total = 0;
  let matched = 0;
  for (const m of text.matchAll(re)) {
    matched += m[0].length;
    const v = Number(m[1]);
    const unit = m[2];
    total += unit === 'h' ? v * 3600 : unit === 'm' ? v * 60 : unit === 's' ? v : v / 1000;
  }
  if (text === '' || matched !== text.length) {
    throw new TricolorError('ERR_VALIDATION', `${field}: ${quote(text)} is not a valid duration`, { field, value: text });
  }
  return Math.round(total);
}

/** BGPPeer `peerIP`: `IP`, `IPv4:port` or `[IPv6]:port`. */
export function parsePeerIP(text: string, field = 'spec.peerIP'): { ip: string; family: IPFamily; port: number | undefined } {
  const bad = () => new TricolorError('ERR_VALIDATION', `${field}: ${quote(text)} is not an IP or IP:port`, { field, value: text });
  let host = text;
  let port: number | undefined;
  const bracket = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  if (bracket !== null) {
    host = bracket[1] ?? '';
    port = Number(bracket[2]);
  } else if (text.includes('.') && text.includes(':')) {
    const i = text.lastIndexOf(':');
    host = text.slice(0, i);
    port = Number(text.slice(i + 1));
  }
  const ip = tryParseIP(host);
  if (ip === undefined) throw bad();
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) throw bad();
  return { ip: formatIP(ip), family: ip.family, port };
}

/** The BIRD protocol name Calico uses: kind + address with `.`/`:` as `_`, + `_port_<p>`. */
export function peerProtocolName(kind: PeerKind, ip: string, port: number | undefined): string {
  const id = ip.replace(/[.:]/g, '_');
  return port === undefined || kind === 'Mesh' ? `${kind}_${id}` : `${kind}_${id}_port_${port}`;
}

interface Target {
  readonly ip: string;
  readonly port: number | undefined;
  readonly asNumber: number;
  readonly node: NodeFacts | undefined;
}

function selectorMatches(text: string, labels: Readonly<Record<string, string>>, field: string, peer: string): boolean {
  try {
    return parseSelector(text).evaluate(labelsOf(labels));
  } catch (e) {
    throw new TricolorError('ERR_VALIDATION', `BGPPeer ${quote(peer)}: ${field}: ${quote(text)} is not a valid selector`, {
      field,
      value: text,
      cause: e,
    });
  }
}

/**
 * All BGP sessions for `nodeName` in one family, sorted by protocol name (confd sorts too, so
 * the rendered file is stable). Throws ERR_NOT_FOUND when the node is unknown.
 */
export function computeBirdPeers(input: PeerInputs, family: IPFamily): BirdPeer[] {
  const facts = input.nodes.map((n) => nodeFacts(n, input.bgpConfigurations)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const me = facts.find((n) => n.name === input.nodeName);
  if (me === undefined) {
    throw new TricolorError('ERR_NOT_FOUND', `Node ${quote(input.nodeName)} does not exist`, { value: input.nodeName });
  }
  const myIP = nodeIP(me, family);
  if (myIP === undefined) return [];
  const { global } = effectiveBGPConfig(input.bgpConfigurations, input.nodeName);
  const peers = new Map<string, BirdPeer>();

  const meshRestart = global?.nodeMeshMaxRestartTime === undefined
    ? undefined
    : durationSeconds(global.nodeMeshMaxRestartTime, 'BGPConfiguration "default": spec.nodeMeshMaxRestartTime');

  // Node-to-node mesh: a route reflector never joins it, and mesh members skip reflectors.
  if (global?.nodeToNodeMeshEnabled !== false && me.rrClusterId === undefined) {
    for (const other of facts) {
      const ip = nodeIP(other, family);
      if (other.name === me.name || ip === undefined || ip === myIP || other.rrClusterId !== undefined) continue;
      const name = peerProtocolName('Mesh', ip, undefined);
      peers.set(name, {
        name,
        kind: 'Mesh',
        family,
        ip,
        port: other.listenPort,
        asNumber: other.asNumber,
        localASNumber: undefined,
        sourceAddress: myIP,
        // Only one side initiates, so a graceful restart is not aborted by a crossing connect.
        passive: ip > myIP,
        rrClusterId: undefined,
        nextHop: undefined,
        gracefulRestartSeconds: meshRestart,
        keepaliveSeconds: undefined,
        ttlSecurityHops: undefined,
        allowLocalAS: undefined,
        filters: [],
        reachableBy: undefined,
        source: undefined,
      });
    }
  }

  const explicit: BirdPeer[] = [];
  const sortedPeers = [...input.bgpPeers].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
  for (const p of sortedPeers) {
    const spec = p.spec ?? {};
    const pname = p.metadata.name;
    if (spec.localWorkloadSelector !== undefined) continue; // BGP to pods is not supported (yet)
    const isGlobal = spec.node === undefined && spec.nodeSelector === undefined;
    const appliesTo = (n: NodeFacts): boolean =>
      spec.node !== undefined
        ? spec.node === n.name
        : spec.nodeSelector !== undefined
          ? selectorMatches(spec.nodeSelector, n.labels, 'spec.nodeSelector', pname)
          : true;
    const selectsPeer = (n: NodeFacts): boolean =>
      spec.peerSelector !== undefined && selectorMatches(spec.peerSelector, n.labels, 'spec.peerSelector', pname);
    const fromNode = (n: NodeFacts): Target | undefined => {
      const ip = nodeIP(n, family);
      return ip === undefined ? undefined : { ip, port: n.listenPort, asNumber: n.asNumber, node: n };
    };

    const targets: { target: Target; kind: PeerKind }[] = [];
    if (appliesTo(me)) {
      if (spec.peerIP !== undefined) {
        const parsed = parsePeerIP(spec.peerIP, `BGPPeer ${quote(pname)}: spec.peerIP`);
        if (parsed.family === family) {
          const asNumber = spec.asNumber ?? me.asNumber;
          const node = facts.find((n) => nodeIP(n, family) === parsed.ip);
          targets.push({ target: { ip: parsed.ip, port: parsed.port, asNumber, node }, kind: isGlobal ? 'Global' : 'Node' });
        }
      } else if (spec.peerSelector !== undefined) {
        for (const n of facts) {
          if (n.name === me.name || !selectsPeer(n)) continue;
          const t = fromNode(n);
          if (t !== undefined) targets.push({ target: t, kind: isGlobal ? 'Global' : 'Node' });
        }
      }
    }
    // Reverse peering: the nodes a peerSelector picks peer back with the nodes the peer applies to.
    if (spec.peerSelector !== undefined && spec.reversePeering !== 'Manual' && selectsPeer(me)) {
      for (const n of facts) {
        if (n.name === me.name || !appliesTo(n)) continue;
        const t = fromNode(n);
        if (t !== undefined) targets.push({ target: t, kind: 'Node' });
      }
    }

    for (const { target, kind } of targets) {
      if (target.ip === myIP) continue;
      const sameAS = target.asNumber === (spec.localASNumber ?? me.asNumber);
      const rrClient = sameAS && me.rrClusterId !== undefined && target.node?.rrClusterId !== me.rrClusterId;
      const nextHop =
        spec.nextHopMode === 'Keep' ? 'keep' : spec.nextHopMode === 'Self' ? 'self' : spec.keepOriginalNextHop === true && !sameAS ? 'keep' : undefined;
      explicit.push({
        name: peerProtocolName(kind, target.ip, target.port),
        kind,
        family,
        ip: target.ip,
        port: target.port,
        asNumber: target.asNumber,
        localASNumber: spec.localASNumber,
        sourceAddress: spec.sourceAddress === 'None' ? undefined : myIP,
        // Sessions between two Calico nodes are one-directional, as in the mesh.
        passive: target.node !== undefined && target.ip > myIP,
        rrClusterId: rrClient ? me.rrClusterId : undefined,
        nextHop,
        gracefulRestartSeconds:
          spec.maxRestartTime === undefined ? undefined : durationSeconds(spec.maxRestartTime, `BGPPeer ${quote(pname)}: spec.maxRestartTime`),
        keepaliveSeconds:
          spec.keepaliveTime === undefined ? undefined : durationSeconds(spec.keepaliveTime, `BGPPeer ${quote(pname)}: spec.keepaliveTime`),
        ttlSecurityHops: spec.ttlSecurity === undefined || spec.ttlSecurity === 0 ? undefined : spec.ttlSecurity,
        allowLocalAS: spec.numAllowedLocalASNumbers === undefined || spec.numAllowedLocalASNumbers === 0 ? undefined : spec.numAllowedLocalASNumbers,
        filters: spec.filters ?? [],
        reachableBy: spec.reachableBy,
        source: pname,
      });
    }
  }

  // Global peerings first; a node-specific peering identical (same address and port) to a
  // global one is dropped, and the first BGPPeer by name wins among equals.
  explicit.sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'Global' ? -1 : 1));
  const seen = new Set<string>();
  for (const p of explicit) {
    const key = `${p.ip}|${p.port ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    peers.set(p.name, p);
  }
  return [...peers.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
