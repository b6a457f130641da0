// The one key/value interface every datastore backend implements, with etcd v3 semantics
// (node contract §1.1, §1.3): revisions are etcd-style global counters, every write returns
// the new mod revision, and compare-and-swap is on the key's mod revision. IPAM's correctness
// and the syncer's resume both rest on these guarantees, so both backends run one shared
// conformance suite (backend-conformance.ts).
//
// Values are opaque strings (JSON text for everything Calico stores); the typed resource
// client above this layer parses and validates them.

export interface KeyValue {
  readonly key: string;
  readonly value: string;
  /** Revision of the last write to this key (etcd mod_revision). */
  readonly modRevision: number;
  /** Revision at which the key was created (etcd create_revision). */
  readonly createRevision: number;
  /** Number of writes since creation, 1 on create (etcd version). */
  readonly version: number;
}

export interface ListResult {
  readonly items: readonly KeyValue[];
  /** The store revision the list was taken at; watch from `revision + 1` to continue. */
  readonly revision: number;
}

/** One operation inside a transaction. */
export type TxnOp =
  | { readonly op: 'put'; readonly key: string; readonly value: string }
  | { readonly op: 'delete'; readonly key: string };

/**
 * A guard inside a transaction. `modRevision: 0` means "the key must not exist"
 * (etcd's `version(key) == 0`).
 */
export interface TxnCompare {
  readonly key: string;
  readonly modRevision: number;
}

export interface TxnResult {
  /** True when every compare held and every op was applied; false: nothing was applied. */
  readonly succeeded: boolean;
  /** Store revision after the transaction (unchanged if it failed). */
  readonly revision: number;
  /** On failure: the current value of each compared key (undefined when absent). */
  readonly current: ReadonlyMap<string, KeyValue | undefined>;
}

export type WatchEvent =
  | { readonly type: 'put'; readonly kv: KeyValue; readonly prev: KeyValue | undefined }
  | { readonly type: 'delete'; readonly key: string; readonly revision: number; readonly prev: KeyValue | undefined };

export interface WatchHandlers {
  /** Events in revision order; events of one transaction arrive in one batch. */
  onEvents(events: readonly WatchEvent[]): void;
  /**
   * The watch can no longer continue from where it was (the start revision was compacted
   * away). The watch has ended; the consumer must re-list and resync (node contract §1.4).
   */
  onCompacted(compactRevision: number): void;
  /**
   * Optional: connection state, for status reporting, on change only: 'connected' once the
   * watch is established (again), 'disconnected' when it drops or an attempt to establish it
   * fails — the first attempt included, so a datastore lost between a list and its watch is
   * still reported. A backend reconnects by itself and resumes from the last delivered
   * revision + 1, without missing or duplicating events.
   */
  onConnectionState?(state: 'connected' | 'disconnected'): void;
}

export interface Watch {
  /** Stop watching; no handler is called after the returned promise settles. */
  close(): Promise<void>;
}

export interface DatastoreBackend {
  readonly type: 'embedded' | 'etcdv3';

  get(key: string): Promise<KeyValue | undefined>;
  /** Every key starting with `prefix`, in key order. */
  list(prefix: string): Promise<ListResult>;
  /** Write only if absent. Throws ERR_ALREADY_EXISTS (detail: current KeyValue). */
  create(key: string, value: string): Promise<KeyValue>;
  /**
   * Write only if the key's mod revision equals `expectedRevision`.
   * Throws ERR_NOT_FOUND if absent, ERR_UPDATE_CONFLICT (detail: current KeyValue) if it differs.
   */
  update(key: string, value: string, expectedRevision: number): Promise<KeyValue>;
  /** Unconditional upsert (Calico's Apply). */
  put(key: string, value: string): Promise<KeyValue>;
  /**
   * Delete, only when the mod revision matches if one is given. Returns the deleted KeyValue.
   * Throws ERR_NOT_FOUND if absent, ERR_UPDATE_CONFLICT (detail: current KeyValue) on mismatch.
   */
  delete(key: string, expectedRevision?: number): Promise<KeyValue>;
  /** All compares hold → all ops applied atomically at one new revision; otherwise nothing. */
  txn(compares: readonly TxnCompare[], ops: readonly TxnOp[]): Promise<TxnResult>;
  /** The store's current revision. */
  revision(): Promise<number>;
  /**
   * Watch keys under `prefix` from `fromRevision` (inclusive). Events already in the store
   * at or after that revision are delivered first. Survives backend restarts.
   */
  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Watch;
  close(): Promise<void>;
}
