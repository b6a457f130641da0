// Public surface of the datastore layer: the backend interface, the two backends, opening one
// from configuration, and the conformance suite every backend runs.
export type {
  DatastoreBackend,
  KeyValue,
  ListResult,
  TxnCompare,
  TxnOp,
  TxnResult,
  Watch,
  WatchEvent,
  WatchHandlers,
} from './backend.ts';
export { SQLiteBackend, DEFAULT_DATASTORE_PATH, DEFAULT_RETAIN_REVISIONS, type SQLiteBackendOptions } from './sqlite-backend.ts';
export { EtcdBackend, type EtcdBackendOptions } from './etcd-backend.ts';
export { datastoreConfigFromEnv, openBackend, DATASTORE_TYPES, type DatastoreConfig } from './open.ts';
export { prefixEnd } from './kv-errors.ts';
export * from './resource-client.ts';
export { Syncer, SYNC_STATUSES, type SyncStatus, type SyncUpdate, type SyncerCallbacks, type SyncerOptions } from './syncer.ts';
