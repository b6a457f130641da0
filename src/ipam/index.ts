// Public surface of src/ipam: Calico-compatible block IPAM (node contract §2) for the CNI
// plugin, the node agent (tunnel addresses), the controllers (leak GC) and `tricolor ipam`.

export {
  IPAMClient,
  MAX_RETRIES,
  DEFAULT_BLOCK_CAP,
  EMPTY_BLOCK_MIN_RECLAIM_AGE_MS,
  type IPAMClientOptions,
  type AutoAssignRequest,
  type AutoAssignResult,
  type AssignIPRequest,
  type ReleaseItem,
  type ReleaseItemResult,
  type AssignmentAttributes,
  type StoredBlock,
  type StoredAffinity,
  type StoredHandle,
  type AffinityReleaseOutcome,
} from './ipam-client.ts';
export { IPAMCache, IPAM_CACHE_PREFIXES } from './ipam-cache.ts';
export {
  type AllocationBlock,
  type AllocationAttribute,
  type BlockAffinity,
  type IPAMHandle,
  type IPAMConfig,
  type BlockProblem,
  DEFAULT_IPAM_CONFIG,
  blockSizeOf,
  allocatedCount,
  affinityHost,
  ipAt,
  parseBlock,
  serializeBlock,
} from './model.ts';
export { INTENDED_USES, type IntendedUse, type IPAMPool, type Labels } from './pools.ts';
export {
  type IPAMResourceSource,
  type IPAMNode,
  type IPAMWorkloadEndpoint,
  type ClusterInfo,
  backendResourceSource,
  poolFromJSON,
} from './sources.ts';
export * from './keys.ts';
export {
  TUNNEL_TYPES,
  WINDOWS_RESERVED_HANDLE,
  type Allocation,
  type OwnerIndex,
  type Verdict,
  type LeakedIP,
  type IPAMCheckReport,
  type CheckInputs,
  buildOwnerIndex,
  classify,
  allocationsOf,
  loadCheckInputs,
  checkIPAM,
} from './check.ts';
export { LeakDetector, type LeakDetectorOptions, type LeakPassResult } from './leak-detector.ts';
export {
  ANN_IPV4_POOLS,
  ANN_IPV6_POOLS,
  ANN_IP_ADDRS,
  ANN_IP_ADDRS_NO_IPAM,
  ANN_IP_FAMILIES,
  TUNNEL_HANDLE_PREFIXES,
  type Annotations,
  type AnnotationChoice,
  type TunnelType,
  choiceFromAnnotations,
  podHandleId,
  tunnelHandleId,
} from './annotations.ts';
export { ensureTunnelAddress, releaseTunnelAddress, type TunnelAddressRequest } from './tunnel.ts';
export { IpamMetricsExporter, ipamSnapshot, type IpamSnapshot } from './ipam-metrics.ts';
