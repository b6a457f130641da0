// Node cleanup (calico-kube-controllers' node controller, node contract §7 and §2.12): when a
// Node is deleted, its workload endpoints are deleted and affinities that point at no block are
// removed. Its addresses (pods' and tunnel addresses) and its blocks are then released by the
// leak detector, which classifies them "node gone" and releases them through its usual guards
// (grace period, re-validation, sequence numbers).
//
// Nothing is removed on one sighting: an object is removed only when it was seen orphaned, at
// the same revision, in two consecutive passes, and the removal is a compare-and-swap on that
// revision. A node that is (re)created between passes, or an endpoint rewritten meanwhile, is
// left alone.

import type { DatastoreBackend } from '../datastore/index.ts';
import { type IPAMClient, blockKey, parseAffinityKey, HOST_PREFIX } from '../ipam/index.ts';

const WEP_PREFIX = '/calico/resources/v3/projectcalico.org/workloadendpoints/';

export interface NodeCleanupResult {
  readonly deletedEndpoints: readonly string[];
  readonly deletedAffinities: readonly string[];
}

function nodeOfEndpoint(value: string): string | undefined {
  try {
    const o = JSON.parse(value) as { spec?: { node?: unknown } };
    return typeof o.spec?.node === 'string' && o.spec.node !== '' ? o.spec.node : undefined;
  } catch {
    return undefined;
  }
}

export class NodeCleanup {
  readonly #backend: DatastoreBackend;
  readonly #client: IPAMClient;
  /** key → revision at which it was last seen orphaned. */
  #seen = new Map<string, number>();

  constructor(backend: DatastoreBackend, client: IPAMClient) {
    this.#backend = backend;
    this.#client = client;
  }

  async pass(): Promise<NodeCleanupResult> {
    const nodes = new Set((await this.#client.resources.listNodes()).map((n) => n.name));
    const [weps, affs] = await Promise.all([this.#backend.list(WEP_PREFIX), this.#backend.list(HOST_PREFIX)]);
    const orphans: { key: string; revision: number; kind: 'wep' | 'affinity' }[] = [];
    for (const kv of weps.items) {
      const node = nodeOfEndpoint(kv.value);
      if (node !== undefined && !nodes.has(node)) orphans.push({ key: kv.key, revision: kv.modRevision, kind: 'wep' });
    }
    const affinityHosts = affs.items.flatMap((kv) => {
      const a = parseAffinityKey(kv.key);
      return a === undefined || nodes.has(a.host) ? [] : [{ kv, cidr: a.cidr }];
    });
    for (const { kv, cidr } of affinityHosts) {
      // an affinity of a gone node whose block is also gone; one with a block is the leak
      // detector's (it releases the block, which removes the affinity in the same CAS)
      if ((await this.#backend.get(blockKey(cidr))) === undefined) orphans.push({ key: kv.key, revision: kv.modRevision, kind: 'affinity' });
    }
    const next = new Map<string, number>();
    const deletedEndpoints: string[] = [];
    const deletedAffinities: string[] = [];
    for (const o of orphans) {
      if (this.#seen.get(o.key) !== o.revision) {
        next.set(o.key, o.revision);
        continue;
      }
      const r = await this.#backend.txn([{ key: o.key, modRevision: o.revision }], [{ op: 'delete', key: o.key }]);
      if (!r.succeeded) continue;
      (o.kind === 'wep' ? deletedEndpoints : deletedAffinities).push(o.key);
    }
    this.#seen = next;
    return { deletedEndpoints, deletedAffinities };
  }
}
