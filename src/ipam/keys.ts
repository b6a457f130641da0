// Calico's IPAM key layout lives in the datastore layer (src/datastore/ipam-keys.ts), where the one
// codec of stored data decodes block affinities for every reader; IPAM re-exports it unchanged.
// Named one by one (not `export *`): another folder is reached only through its index.ts
// (test/arch), and `export * from '../datastore/index.ts'` would re-export the whole datastore.
export {
  IPAM_PREFIX,
  IPAM_CONFIG_KEY,
  HANDLE_PREFIX,
  HOST_PREFIX,
  cidrKeyPart,
  blockPrefix,
  blockKey,
  hostAffinityPrefix,
  affinityKey,
  handleKey,
  cidrFromKey,
  parseAffinityKey,
  type ParsedAffinityKey,
} from '../datastore/index.ts';
