// The resources IPAM reads but does not own (pools, reservations, nodes, workload endpoints,
// cluster information), behind a small port so the allocator does not depend on the typed
// resource client. The default adapter reads Calico's v3 JSON straight from the backend
// (node contract §1.2.1), filling the defaults Calico fills on read.

import type { DatastoreBackend, KeyValue } from '../datastore/index.ts';
import { type CIDR, tryParseCIDR } from '../net/index.ts';
import { INTENDED_USES, type IPAMPool, type IntendedUse, type Labels } from './pools.ts';

export interface IPAMNode {
  readonly name: string;
  readonly labels: Labels;
  /** Tunnel addresses recorded in the Node spec (IPIP, VXLAN v4/v6, WireGuard v4/v6). */
  readonly tunnelAddresses: readonly string[];
}

export interface IPAMWorkloadEndpoint {
  readonly namespace: string;
  readonly name: string;
  readonly node: string;
  readonly pod: string;
  readonly containerID: string;
  /** Addresses without prefix, from spec.ipNetworks. */
  readonly ips: readonly string[];
}

export interface ClusterInfo {
  readonly clusterGUID: string;
  /** Revision of ClusterInformation/default (its resourceVersion). */
  readonly revision: string;
  readonly datastoreReady: boolean;
}

export interface IPAMResourceSource {
  listPools(): Promise<IPAMPool[]>;
  /** Reserved CIDRs from every IPReservation (bare IPs become /32 or /128). */
  listReservations(): Promise<CIDR[]>;
  getNode(name: string): Promise<IPAMNode | undefined>;
  listNodes(): Promise<IPAMNode[]>;
  listWorkloadEndpoints(): Promise<IPAMWorkloadEndpoint[]>;
  getClusterInfo(): Promise<ClusterInfo | undefined>;
}

const V3 = '/calico/resources/v3/projectcalico.org/';

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {};
}
function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
function strs(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}
function labelsOf(meta: Obj): Labels {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj(meta['labels']))) if (typeof v === 'string') out[k] = v;
  return out;
}
function parse(text: string): Obj {
  try {
    return obj(JSON.parse(text));
  } catch {
    return {};
  }
}

/** An IPPool's v3 JSON → the IPAM view, with read-time defaults; undefined if unusable. */
export function poolFromJSON(v: unknown): IPAMPool | undefined {
  const o = obj(v);
  const spec = obj(o['spec']);
  const cidr = tryParseCIDR(str(spec['cidr']));
  if (cidr === undefined) return undefined;
  const bs = typeof spec['blockSize'] === 'number' && spec['blockSize'] > 0 ? spec['blockSize'] : cidr.family === 4 ? 26 : 122;
  const uses = strs(spec['allowedUses']).filter((u): u is IntendedUse => (INTENDED_USES as readonly string[]).includes(u));
  return {
    name: str(obj(o['metadata'])['name']),
    cidr,
    blockSize: bs,
    nodeSelector: str(spec['nodeSelector']) || 'all()',
    namespaceSelector: str(spec['namespaceSelector']),
    disabled: spec['disabled'] === true,
    allowedUses: uses.length > 0 ? uses : ['Workload', 'Tunnel'],
    assignmentMode: spec['assignmentMode'] === 'Manual' ? 'Manual' : 'Automatic',
  };
}

function nodeFromJSON(name: string, o: Obj): IPAMNode {
  const spec = obj(o['spec']);
  const bgp = obj(spec['bgp']);
  const wg = obj(spec['wireguard']);
  const tunnels = [
    str(bgp['ipv4IPIPTunnelAddr']),
    str(spec['ipv4VXLANTunnelAddr']),
    str(spec['ipv6VXLANTunnelAddr']),
    str(wg['interfaceIPv4Address']),
    str(wg['interfaceIPv6Address']),
  ].filter((s) => s !== '');
  return { name, labels: labelsOf(obj(o['metadata'])), tunnelAddresses: tunnels };
}

function stripPrefix(ipnet: string): string {
  const i = ipnet.indexOf('/');
  return i < 0 ? ipnet : ipnet.slice(0, i);
}

/** Stored IPPool values → the IPAM view (unusable ones skipped). */
export function poolsFromKVs(kvs: readonly KeyValue[]): IPAMPool[] {
  const out: IPAMPool[] = [];
  for (const kv of kvs) {
    const p = poolFromJSON(parse(kv.value));
    if (p !== undefined) out.push(p);
  }
  return out;
}

/** Stored IPReservation values → every reserved CIDR. */
export function reservationsFromKVs(kvs: readonly KeyValue[]): CIDR[] {
  const out: CIDR[] = [];
  for (const kv of kvs) {
    for (const c of strs(obj(parse(kv.value)['spec'])['reservedCIDRs'])) {
      const cidr = tryParseCIDR(c, { allowBareIP: true });
      if (cidr !== undefined) out.push(cidr);
    }
  }
  return out;
}

/** A stored Node value (key `/calico/resources/v3/projectcalico.org/nodes/<name>`) → the IPAM view. */
export function nodeFromKV(kv: KeyValue): IPAMNode {
  return nodeFromJSON(kv.key.slice(`${V3}nodes/`.length), parse(kv.value));
}

export function backendResourceSource(backend: DatastoreBackend): IPAMResourceSource {
  return {
    async listPools() {
      return poolsFromKVs((await backend.list(`${V3}ippools/`)).items);
    },
    async listReservations() {
      return reservationsFromKVs((await backend.list(`${V3}ipreservations/`)).items);
    },
    async getNode(name) {
      const kv = await backend.get(`${V3}nodes/${name}`);
      return kv === undefined ? undefined : nodeFromKV(kv);
    },
    async listNodes() {
      const r = await backend.list(`${V3}nodes/`);
      return r.items.map(nodeFromKV);
    },
    async listWorkloadEndpoints() {
      const r = await backend.list(`${V3}workloadendpoints/`);
      return r.items.map((kv) => {
        const o = parse(kv.value);
        const meta = obj(o['metadata']);
        const spec = obj(o['spec']);
        return {
          namespace: str(meta['namespace']),
          name: str(meta['name']),
          node: str(spec['node']),
          pod: str(spec['pod']),
          containerID: str(spec['containerID']),
          ips: strs(spec['ipNetworks']).map(stripPrefix),
        };
      });
    },
    async getClusterInfo() {
      const kv = await backend.get(`${V3}clusterinformations/default`);
      if (kv === undefined) return undefined;
      const spec = obj(parse(kv.value)['spec']);
      return { clusterGUID: str(spec['clusterGUID']), revision: String(kv.modRevision), datastoreReady: spec['datastoreReady'] !== false };
    },
  };
}
