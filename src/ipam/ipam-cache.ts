// A watch-fed cache of what an IPAM allocation reads (IPAMConfig, IP pools, IP reservations,
// nodes, block affinities and blocks), so that a long-lived allocator (the node agent's CNI
// server, the controllers) makes a normal allocation with no read at all and one
// compare-and-swap: on etcd, eight reads per allocation were the cost, not the CAS.
//
// Why it stays correct: every IPAM write is a CAS on the mod revision of each key it touches
// (ipam-client.ts). A stale cached value can only make a CAS fail, never succeed wrongly, and a
// failed transaction returns the current value of every compared key, which goes straight back
// into the cache. So duplicates and lost addresses are still impossible; a stale cache costs a
// retry, nothing more. The one thing a cache can get wrong that a CAS does not catch is a
// decision made on a resource IPAM does not write (a pool or reservation created a moment ago):
// such a change is seen within one watch delivery, the same window Calico has between reading
// pools and writing the block.
//
// Ordering: each key keeps the highest revision seen for it (a value, or a tombstone for a
// delete), and an update older than that is ignored. Watch events, read-through results and
// transaction outcomes can therefore arrive in any order and the cache converges on the newest.
// Handles are not cached: the allocator never reads one before its CAS (a new handle is created
// with "must not exist"), and release paths read the datastore directly so that a stale negative
// never turns into a leaked address.

import type { DatastoreBackend, KeyValue, TxnCompare, TxnOp, TxnResult, Watch } from '../datastore/index.ts';
import type { CIDR } from '../net/index.ts';
import { MutableDisposable, timeout } from '../base/index.ts';
import { IPAM_CONFIG_KEY, HOST_PREFIX } from './keys.ts';
import { type IPAMResourceSource, backendResourceSource, nodeFromKV, poolsFromKVs, reservationsFromKVs } from './sources.ts';
import type { IPAMPool } from './pools.ts';

const V3 = '/calico/resources/v3/projectcalico.org/';
const POOLS = `${V3}ippools/`;
const RESERVATIONS = `${V3}ipreservations/`;
const NODES = `${V3}nodes/`;
const BLOCKS = '/calico/ipam/v2/assignment/';

/** The prefixes the cache mirrors. */
export const IPAM_CACHE_PREFIXES: readonly string[] = [IPAM_CONFIG_KEY, BLOCKS, HOST_PREFIX, POOLS, RESERVATIONS, NODES];

const RELIST_BACKOFF_MS = 200;

interface Entry {
  /** Undefined: a tombstone (the key was deleted at `revision`). */
  readonly kv: KeyValue | undefined;
  readonly revision: number;
}

export class IPAMCache {
  readonly #backend: DatastoreBackend;
  readonly #entries = new Map<string, Entry>();
  readonly #watches = new Map<string, Watch>();
  #closed = false;
  /** A pending re-list retry per prefix, dropped on close. */
  readonly #retries = new Map<string, MutableDisposable<ReturnType<typeof timeout>>>();
  /** Parsed pools and reservations, rebuilt only when their keys change. */
  #pools: IPAMPool[] | undefined;
  #reservations: CIDR[] | undefined;
  /** Times the cache served a read the allocator would otherwise have sent to the datastore. */
  hits = 0;
  /** Events applied from the watches. */
  watchEvents = 0;

  private constructor(backend: DatastoreBackend) {
    this.#backend = backend;
  }

  /** List every mirrored prefix, then watch each from its list revision; resolves when in sync. */
  static async start(backend: DatastoreBackend): Promise<IPAMCache> {
    const c = new IPAMCache(backend);
    await Promise.all(IPAM_CACHE_PREFIXES.map((p) => c.#sync(p)));
    return c;
  }

  async #sync(prefix: string): Promise<void> {
    const r = await this.#backend.list(prefix);
    if (this.#closed) return;
    const listed = new Set<string>();
    for (const kv of r.items) {
      listed.add(kv.key);
      this.observe(kv);
    }
    // a key we hold under this prefix that the list no longer has was deleted meanwhile
    for (const [key, e] of this.#entries) if (key.startsWith(prefix) && e.kv !== undefined && !listed.has(key)) this.#set(key, { kv: undefined, revision: r.revision });
    const w = this.#backend.watch(prefix, r.revision + 1, {
      onEvents: (events) => {
        for (const ev of events) {
          this.watchEvents++;
          if (ev.type === 'put') this.observe(ev.kv);
          else this.observeAbsent(ev.key, ev.revision);
        }
      },
      onCompacted: () => {
        // the watch ended: re-list (deletions missed meanwhile become tombstones) and watch again
        this.#watches.delete(prefix);
        const retry = (): void => {
          if (this.#closed) return;
          this.#sync(prefix).catch(() => {
            if (this.#closed) return;
            const slot = this.#retries.get(prefix) ?? new MutableDisposable();
            this.#retries.set(prefix, slot);
            slot.value = timeout(retry, RELIST_BACKOFF_MS, { unref: true });
          });
        };
        retry();
      },
    });
    if (this.#closed) await w.close();
    else this.#watches.set(prefix, w);
  }

  covers(key: string): boolean {
    return IPAM_CACHE_PREFIXES.some((p) => key.startsWith(p));
  }

  #set(key: string, e: Entry): void {
    const cur = this.#entries.get(key);
    if (cur !== undefined && cur.revision >= e.revision) return;
    this.#entries.set(key, e);
    if (key.startsWith(POOLS)) this.#pools = undefined;
    else if (key.startsWith(RESERVATIONS)) this.#reservations = undefined;
  }

  /** A value read or written at `kv.modRevision`. */
  observe(kv: KeyValue): void {
    if (this.covers(kv.key)) this.#set(kv.key, { kv, revision: kv.modRevision });
  }

  /** The key was absent at store revision `revision`. */
  observeAbsent(key: string, revision: number): void {
    if (this.covers(key)) this.#set(key, { kv: undefined, revision });
  }

  /** Fold a transaction's outcome in: the new values on success, the current ones on failure. */
  noteTxn(compares: readonly TxnCompare[], ops: readonly TxnOp[], r: TxnResult): void {
    if (r.succeeded) {
      for (const op of ops) {
        if (op.op === 'put') {
          const prev = this.#entries.get(op.key)?.kv;
          this.observe({ key: op.key, value: op.value, modRevision: r.revision, createRevision: prev?.createRevision ?? r.revision, version: (prev?.version ?? 0) + 1 });
        } else this.observeAbsent(op.key, r.revision);
      }
      return;
    }
    for (const c of compares) {
      const cur = r.current.get(c.key);
      if (cur !== undefined) this.observe(cur);
      else if (r.current.has(c.key)) this.observeAbsent(c.key, r.revision);
    }
  }

  get(key: string): KeyValue | undefined {
    this.hits++;
    return this.#entries.get(key)?.kv;
  }

  /** Live keys under `prefix`, in key order (as the datastore lists them). */
  list(prefix: string): KeyValue[] {
    this.hits++;
    const out: KeyValue[] = [];
    for (const [key, e] of this.#entries) if (e.kv !== undefined && key.startsWith(prefix)) out.push(e.kv);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Pools, reservations and nodes from the cache; everything else from the datastore. */
  resources(): IPAMResourceSource {
    const direct = backendResourceSource(this.#backend);
    return {
      ...direct,
      listPools: () => {
        this.hits++;
        this.#pools ??= poolsFromKVs(this.list(POOLS));
        return Promise.resolve([...this.#pools]);
      },
      listReservations: () => {
        this.hits++;
        this.#reservations ??= reservationsFromKVs(this.list(RESERVATIONS));
        return Promise.resolve([...this.#reservations]);
      },
      getNode: (name) => {
        const kv = this.get(`${NODES}${name}`);
        return Promise.resolve(kv === undefined ? undefined : nodeFromKV(kv));
      },
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const r of this.#retries.values()) r.dispose();
    this.#retries.clear();
    const ws = [...this.#watches.values()];
    this.#watches.clear();
    await Promise.all(ws.map((w) => w.close()));
  }
}
