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
export { datastoreConfigFromEnv, datastoreEnvOf, openBackend, DATASTORE_TYPES, type DatastoreConfig } from './open.ts';
export { prefixEnd } from './kv-errors.ts';
export * from './resource-client.ts';
export { Syncer, SYNC_STATUSES, type SyncStatus, type SyncerCallbacks, type SyncerOptions } from './syncer.ts';
export { KVSnapshot, type SyncUpdate } from './kv-snapshot.ts';
export {
  POLICY_METADATA_ANNOTATION,
  decodeResource,
  parseStoredResource,
  encodeResource,
  storedForm,
  decodeBlockAffinity,
  isBlockAffinityKey,
  storedResourceKey,
  type StoredKV,
  type StoredResourceKey,
  type DecodedResource,
  type StoredBlockAffinity,
} from './resource-codec.ts';
export {
  DecodingUpdateSource,
  localUpdateSource,
  selectionPrefixes,
  type UpdateSource,
  type UpdateSink,
  type UpdateSelection,
  type UpdateSourceStatus,
  type ConnectionState,
  type StoredUpdate,
  type ResourceUpdate,
  type BlockAffinityUpdate,
  type RawUpdateStream,
  type LocalUpdateSourceOptions,
} from './update-source.ts';
export * from './ipam-keys.ts';
