// `ipam check` (node contract §2.14) and the ownership rules shared with leak detection
// (§2.12): who owns each allocation, which allocations are leaks, and every structural or
// cross-object inconsistency between blocks, affinities and handles. Read-only.

import { type CIDR, cidrContainsCIDR, cidrContainsIP, formatCIDR, formatIP, tryParseIP } from '../net/index.ts';
import type { IPAMClient, StoredAffinity, StoredBlock, StoredHandle } from './ipam-client.ts';
import { type BlockProblem, affinityHost, affinityOwns, blockProblems, ipAt } from './model.ts';
import type { IPAMPool } from './pools.ts';
import type { IPAMNode, IPAMWorkloadEndpoint } from './sources.ts';

/** Attribute `type` values of tunnel addresses (node contract §1.2.2). */
export const TUNNEL_TYPES = new Set(['ipipTunnelAddress', 'vxlanTunnelAddress', 'vxlanV6TunnelAddress', 'wireguardTunnelAddress', 'wireguardV6TunnelAddress']);
export const WINDOWS_RESERVED_HANDLE = 'windows-reserved-ipam-handle';

export interface Allocation {
  readonly ip: string;
  readonly block: string;
  readonly handleId: string | undefined;
  readonly attrs: Readonly<Record<string, string>>;
  readonly sequenceNumber: string;
  /** The block's affinity host, if any. */
  readonly blockHost: string | undefined;
  readonly inCooldown: boolean;
}

export interface OwnerIndex {
  readonly nodes: ReadonlySet<string>;
  /** Address → owners (`WorkloadEndpoint <ns>/<name>` or `Node <name> tunnel`). */
  readonly ipOwners: ReadonlyMap<string, readonly string[]>;
  /** Container IDs of live workload endpoints (handles are `<network>.<containerID>`). */
  readonly containerIDs: ReadonlySet<string>;
}

export type Verdict =
  | { readonly kind: 'owned'; readonly owners: readonly string[] }
  | { readonly kind: 'leak'; readonly reason: 'no-workload-endpoint' | 'node-gone' }
  | { readonly kind: 'unknown' }
  | { readonly kind: 'skip' };

export function buildOwnerIndex(nodes: readonly IPAMNode[], weps: readonly IPAMWorkloadEndpoint[]): OwnerIndex {
  const ipOwners = new Map<string, string[]>();
  const add = (ipText: string, owner: string): void => {
    const ip = tryParseIP(ipText.split('/')[0] ?? '');
    if (ip === undefined) return;
    const k = formatIP(ip);
    const l = ipOwners.get(k) ?? [];
    if (!l.includes(owner)) l.push(owner);
    ipOwners.set(k, l);
  };
  for (const n of nodes) for (const t of n.tunnelAddresses) add(t, `Node ${n.name} tunnel`);
  const containerIDs = new Set<string>();
  for (const w of weps) {
    for (const ip of w.ips) add(ip, `WorkloadEndpoint ${w.namespace}/${w.name}`);
    if (w.containerID !== '') containerIDs.add(w.containerID);
  }
  return { nodes: new Set(nodes.map((n) => n.name)), ipOwners, containerIDs };
}

/**
 * Who owns an allocation. We only call something a leak when we can name the owner it should
 * have had and show it is gone; anything we cannot classify is left alone (Calico #5044: GC
 * freeing addresses of healthy pods).
 */
export function classify(a: Allocation, idx: OwnerIndex): Verdict {
  if (a.inCooldown || a.handleId === WINDOWS_RESERVED_HANDLE) return { kind: 'skip' };
  const owners = idx.ipOwners.get(a.ip);
  const node = a.attrs['node'];
  const type = a.attrs['type'];
  if (type !== undefined && TUNNEL_TYPES.has(type)) {
    if (node !== undefined && !idx.nodes.has(node)) return { kind: 'leak', reason: 'node-gone' };
    return { kind: 'owned', owners: owners ?? [`Node ${node ?? '?'} tunnel`] };
  }
  if (owners !== undefined && owners.length > 0) return { kind: 'owned', owners };
  const dot = a.handleId?.indexOf('.') ?? -1;
  const cid = a.handleId !== undefined && dot > 0 ? a.handleId.slice(dot + 1) : undefined;
  if (cid !== undefined && idx.containerIDs.has(cid)) return { kind: 'owned', owners: [`container ${cid}`] };
  const isPod = a.attrs['pod'] !== undefined || a.attrs['namespace'] !== undefined || (a.handleId?.startsWith('k8s-pod-network.') ?? false);
  if (node !== undefined && !idx.nodes.has(node)) return { kind: 'leak', reason: 'node-gone' };
  if (isPod) return { kind: 'leak', reason: 'no-workload-endpoint' };
  return { kind: 'unknown' };
}

export function allocationsOf(sb: StoredBlock): Allocation[] {
  const b = sb.block;
  const out: Allocation[] = [];
  b.allocations.forEach((ai, o) => {
    if (ai === null) return;
    const attr = b.attributes[ai];
    out.push({
      ip: formatIP(ipAt(b, o)),
      block: formatCIDR(b.cidr),
      handleId: attr?.handle_id,
      attrs: attr?.secondary ?? {},
      sequenceNumber: String(b.sequenceNumberForAllocation[String(o)] ?? 0n),
      blockHost: affinityHost(b.affinity),
      inCooldown: attr?.releasedAt !== undefined,
    });
  });
  return out;
}

export interface LeakedIP {
  readonly ip: string;
  readonly handle: string | undefined;
  readonly sequenceNumber: string;
  readonly block: string;
  readonly node: string | undefined;
  readonly reason: string;
}

export interface IPAMCheckReport {
  readonly version: string;
  readonly clusterGUID: string;
  readonly clusterInformationRevision: string;
  readonly summary: {
    readonly blocks: number;
    readonly pools: number;
    readonly allocations: number;
    readonly nodeTunnelIPs: number;
    readonly workloadIPs: number;
    readonly handles: number;
  };
  readonly topNodes: readonly { readonly node: string; readonly allocations: number }[];
  readonly leakedIPs: readonly LeakedIP[];
  readonly multipleOwners: readonly { readonly ip: string; readonly owners: readonly string[] }[];
  /** Informational, not a problem. */
  readonly outsidePools: readonly string[];
  readonly inUseWithoutAllocation: readonly { readonly ip: string; readonly owners: readonly string[] }[];
  readonly leakedHandles: readonly { readonly id: string; readonly revision: number }[];
  readonly missingHandles: readonly { readonly id: string; readonly blocks: readonly string[] }[];
  readonly handleMismatches: readonly { readonly id: string; readonly block: string; readonly handleCount: number; readonly blockCount: number }[];
  readonly duplicateAllocations: readonly { readonly ip: string; readonly blocks: readonly string[] }[];
  readonly affinityMismatches: readonly { readonly host: string; readonly block: string; readonly problem: string; readonly revision: number | undefined }[];
  readonly invalidBlocks: readonly BlockProblem[];
  readonly problems: number;
}

export interface CheckInputs {
  readonly blocks: readonly StoredBlock[];
  readonly affinities: readonly StoredAffinity[];
  readonly handles: readonly StoredHandle[];
  readonly pools: readonly IPAMPool[];
  readonly nodes: readonly IPAMNode[];
  readonly weps: readonly IPAMWorkloadEndpoint[];
  readonly version: string;
  readonly clusterGUID: string;
  readonly clusterInformationRevision: string;
  readonly nowMs: number;
}

export async function loadCheckInputs(client: IPAMClient, version: string, nowMs = Date.now()): Promise<CheckInputs> {
  const r = client.resources;
  const [blocks, affinities, handles, pools, nodes, weps, ci] = await Promise.all([
    client.listBlocks(),
    client.listAffinities(),
    client.listHandles(),
    r.listPools(),
    r.listNodes(),
    r.listWorkloadEndpoints(),
    r.getClusterInfo(),
  ]);
  return { blocks, affinities, handles, pools, nodes, weps, version, clusterGUID: ci?.clusterGUID ?? '', clusterInformationRevision: ci?.revision ?? '', nowMs };
}

/** The consistency report, pure over loaded inputs. */
export function checkIPAM(inp: CheckInputs): IPAMCheckReport {
  const idx = buildOwnerIndex(inp.nodes, inp.weps);
  const activePools = inp.pools.filter((p) => !p.disabled);
  const allocs = inp.blocks.flatMap(allocationsOf);
  const perNode = new Map<string, number>();
  const leakedIPs: LeakedIP[] = [];
  const byIP = new Map<string, string[]>();
  for (const a of allocs) {
    const l = byIP.get(a.ip) ?? [];
    l.push(a.block);
    byIP.set(a.ip, l);
    const n = a.attrs['node'] ?? a.blockHost ?? '<none>';
    perNode.set(n, (perNode.get(n) ?? 0) + 1);
    const v = classify(a, idx);
    if (v.kind === 'leak') leakedIPs.push({ ip: a.ip, handle: a.handleId, sequenceNumber: a.sequenceNumber, block: a.block, node: a.attrs['node'], reason: v.reason });
  }
  const duplicateAllocations = [...byIP].filter(([, bs]) => bs.length > 1).map(([ip, blocks]) => ({ ip, blocks }));
  const multipleOwners = [...idx.ipOwners].filter(([, o]) => o.length > 1).map(([ip, owners]) => ({ ip, owners }));
  const outsidePools: string[] = [];
  const inUseWithoutAllocation: { ip: string; owners: readonly string[] }[] = [];
  for (const [ipText, owners] of idx.ipOwners) {
    const ip = tryParseIP(ipText);
    if (ip === undefined) continue;
    if (!activePools.some((p) => cidrContainsIP(p.cidr, ip))) outsidePools.push(ipText);
    else if (!byIP.has(ipText)) inUseWithoutAllocation.push({ ip: ipText, owners });
  }

  // handles vs. block attributes: counts must agree exactly (we write them in one transaction)
  const counted = new Map<string, Map<string, number>>();
  for (const a of allocs) {
    if (a.handleId === undefined || a.inCooldown) continue;
    const m = counted.get(a.handleId) ?? new Map<string, number>();
    m.set(a.block, (m.get(a.block) ?? 0) + 1);
    counted.set(a.handleId, m);
  }
  const handleIds = new Set(inp.handles.map((h) => h.id));
  const leakedHandles = inp.handles.filter((h) => !counted.has(h.id)).map((h) => ({ id: h.id, revision: h.kv.modRevision }));
  const missingHandles = [...counted].filter(([id]) => !handleIds.has(id)).map(([id, m]) => ({ id, blocks: [...m.keys()] }));
  const handleMismatches: { id: string; block: string; handleCount: number; blockCount: number }[] = [];
  for (const h of inp.handles) {
    const m = counted.get(h.id);
    if (m === undefined) continue;
    const blocks = new Set([...Object.keys(h.handle.block), ...m.keys()]);
    for (const b of blocks) {
      const hc = h.handle.block[b] ?? 0;
      const bc = m.get(b) ?? 0;
      if (hc !== bc) handleMismatches.push({ id: h.id, block: b, handleCount: hc, blockCount: bc });
    }
  }

  // affinities vs. blocks
  const blockByCIDR = new Map(inp.blocks.map((b) => [formatCIDR(b.block.cidr), b]));
  const affinityMismatches: { host: string; block: string; problem: string; revision: number | undefined }[] = [];
  const affSeen = new Set<string>();
  for (const a of inp.affinities) {
    const c = formatCIDR(a.cidr);
    affSeen.add(`${a.host}|${c}`);
    const b = blockByCIDR.get(c);
    if (b === undefined) affinityMismatches.push({ host: a.host, block: c, problem: `affinity (${a.affinity.state || 'confirmed'}) without a block`, revision: a.kv.modRevision });
    else if (b.block.affinity !== `host:${a.host}`) affinityMismatches.push({ host: a.host, block: c, problem: `block is affine to ${JSON.stringify(b.block.affinity)}`, revision: a.kv.modRevision });
    else if (!affinityOwns(a.affinity)) affinityMismatches.push({ host: a.host, block: c, problem: `affinity is ${JSON.stringify(a.affinity.state)}, not confirmed`, revision: a.kv.modRevision });
  }
  for (const b of inp.blocks) {
    const host = affinityHost(b.block.affinity);
    const c = formatCIDR(b.block.cidr);
    if (host !== undefined && !affSeen.has(`${host}|${c}`)) affinityMismatches.push({ host, block: c, problem: 'block names a host affinity that has no affinity object', revision: undefined });
  }
  const invalidBlocks = inp.blocks.flatMap((b) => blockProblems(b.block, inp.nowMs));
  const sizeMismatch = inp.blocks.filter((b) => {
    const pool = activePools.find((p) => cidrContainsCIDR(p.cidr, b.block.cidr) || cidrContainsCIDR(b.block.cidr, p.cidr));
    return pool !== undefined && pool.blockSize !== b.block.cidr.prefixLength;
  });
  for (const b of sizeMismatch) invalidBlocks.push({ block: formatCIDR(b.block.cidr), problem: 'block size differs from its pool\'s blockSize' });

  const problems =
    leakedIPs.length + multipleOwners.length + inUseWithoutAllocation.length + leakedHandles.length + missingHandles.length +
    handleMismatches.length + duplicateAllocations.length + affinityMismatches.length + invalidBlocks.length;
  const topNodes = [...perNode].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 10).map(([node, n]) => ({ node, allocations: n }));
  let tunnelIPs = 0;
  for (const n of inp.nodes) tunnelIPs += n.tunnelAddresses.length;
  return {
    version: inp.version,
    clusterGUID: inp.clusterGUID,
    clusterInformationRevision: inp.clusterInformationRevision,
    summary: {
      blocks: inp.blocks.length,
      pools: activePools.length,
      allocations: allocs.length,
      nodeTunnelIPs: tunnelIPs,
      workloadIPs: inp.weps.reduce((s, w) => s + w.ips.length, 0),
      handles: inp.handles.length,
    },
    topNodes,
    leakedIPs,
    multipleOwners,
    outsidePools,
    inUseWithoutAllocation,
    leakedHandles,
    missingHandles,
    handleMismatches,
    duplicateAllocations,
    affinityMismatches,
    invalidBlocks,
    problems,
  };
}

export function poolOf(pools: readonly IPAMPool[], c: CIDR): IPAMPool | undefined {
  return pools.find((p) => cidrContainsCIDR(p.cidr, c));
}
