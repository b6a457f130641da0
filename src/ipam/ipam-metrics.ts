// The `ipam_*` metrics of calico-kube-controllers (observability contract §3.3), under Calico's
// names and labels, computed from the pools and the stored blocks: pool sizes, addresses in use
// and borrowed, and blocks, per pool and node, plus the per-node totals. A cluster-scope exporter:
// whoever holds an IPAM client (the flow aggregator, `tricolor controllers run`) registers it on
// its registry and refreshes it on a timer; rendering reads the last snapshot, so a scrape never
// waits on the datastore.

import { cidrContainsCIDR, cidrSize, formatCIDR } from '../net/index.ts';
import type { Labels, MetricsRegistry } from '../base/index.ts';
import type { IPAMClient } from './ipam-client.ts';
import type { AllocationBlock } from './model.ts';
import { affinityHost } from './model.ts';
import type { IPAMPool } from './pools.ts';

type Sample = readonly [Labels, number];

export interface IpamSnapshot {
  readonly poolSize: Sample[];
  readonly inUse: Sample[];
  readonly borrowed: Sample[];
  readonly blocks: Sample[];
  readonly inUsePerNode: Sample[];
  readonly borrowedPerNode: Sample[];
  readonly blocksPerNode: Sample[];
}

const EMPTY: IpamSnapshot = { poolSize: [], inUse: [], borrowed: [], blocks: [], inUsePerNode: [], borrowedPerNode: [], blocksPerNode: [] };

function bump(m: Map<string, number>, k: string, by: number): void {
  m.set(k, (m.get(k) ?? 0) + by);
}

/** Pure: the samples for a set of pools and blocks. */
export function ipamSnapshot(pools: readonly IPAMPool[], blocks: readonly AllocationBlock[]): IpamSnapshot {
  const inUse = new Map<string, number>();
  const borrowed = new Map<string, number>();
  const blockCount = new Map<string, number>();
  const perNode = { inUse: new Map<string, number>(), borrowed: new Map<string, number>(), blocks: new Map<string, number>() };
  for (const b of blocks) {
    const pool = pools.find((p) => p.cidr.family === b.cidr.family && cidrContainsCIDR(p.cidr, b.cidr));
    const poolName = pool?.name ?? '';
    const owner = affinityHost(b.affinity) ?? '';
    bump(blockCount, `${poolName}\u0000${owner}`, 1);
    bump(perNode.blocks, owner, 1);
    b.allocations.forEach((a) => {
      if (a === null) return;
      const attr = b.attributes[a];
      if (attr?.releasedAt !== undefined) return;
      // Calico counts an address for the node that allocated it; borrowed = from another node's block.
      const node = attr?.secondary?.['node'] ?? owner;
      bump(inUse, `${poolName}\u0000${node}`, 1);
      bump(perNode.inUse, node, 1);
      if (node !== owner) {
        bump(borrowed, `${poolName}\u0000${node}`, 1);
        bump(perNode.borrowed, node, 1);
      }
    });
  }
  const split = (m: Map<string, number>): Sample[] =>
    [...m].map(([k, v]) => {
      const [ippool = '', node = ''] = k.split('\u0000');
      return [{ ippool, node }, v] as const;
    });
  const byNode = (m: Map<string, number>): Sample[] => [...m].map(([node, v]) => [{ node }, v] as const);
  return {
    poolSize: pools.map((p) => [{ ippool: p.name, cidr: formatCIDR(p.cidr) }, Number(cidrSize(p.cidr))] as const),
    inUse: split(inUse),
    borrowed: split(borrowed),
    blocks: split(blockCount),
    inUsePerNode: byNode(perNode.inUse),
    borrowedPerNode: byNode(perNode.borrowed),
    blocksPerNode: byNode(perNode.blocks),
  };
}

/** Registers the ipam_* series on a registry; `refresh` re-reads pools and blocks. */
export class IpamMetricsExporter {
  private snap: IpamSnapshot = EMPTY;
  private readonly client: IPAMClient;

  constructor(client: IPAMClient, registry: MetricsRegistry) {
    this.client = client;
    const g = (name: string, help: string, pick: (s: IpamSnapshot) => Sample[]): void => {
      registry.gauge(name, help, { collect: () => pick(this.snap) });
    };
    g('ipam_ippool_size', 'Total number of addresses in the IP pool.', (s) => s.poolSize);
    g('ipam_allocations_in_use', 'IPs currently allocated in the pool, by node.', (s) => s.inUse);
    g('ipam_allocations_borrowed', 'IPs allocated from a block affine to another node, by node.', (s) => s.borrowed);
    g('ipam_blocks', 'IPAM blocks in the pool, by affine node.', (s) => s.blocks);
    g('ipam_allocations_per_node', 'IPs allocated per node (all pools).', (s) => s.inUsePerNode);
    g('ipam_allocations_borrowed_per_node', 'Borrowed IPs per node (all pools).', (s) => s.borrowedPerNode);
    g('ipam_blocks_per_node', 'IPAM blocks per node (all pools).', (s) => s.blocksPerNode);
  }

  async refresh(): Promise<void> {
    const [pools, blocks] = await Promise.all([this.client.resources.listPools(), this.client.listBlocks()]);
    this.snap = ipamSnapshot(pools, blocks.map((b) => b.block));
  }
}
