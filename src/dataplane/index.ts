// Public surface of the dataplane: the Dataplane contract the agent drives and the apply loop
// every dataplane shares, the desired-state model fed by calc messages, and the pure nftables
// renderer and delta (nft/). The drivers and the dataplane registry are in io/index.ts.
export {
  DATAPLANE_KINDS,
  WORKLOAD_ROUTE_METRIC,
  dataplaneKindOf,
  type Dataplane,
  type DataplaneKind,
  type DataplaneOptions,
  type DataplaneEvents,
  type DataplaneStatus,
  type DataplaneCounters,
  type ApplyReport,
  type ResyncReport,
} from './dataplane.ts';
export {
  RoutingState,
  isRoutingMessage,
  vxlanProgram,
  VXLAN_DEVICE,
  VXLAN_OVERHEAD_BYTES,
  type VXLANDeviceSpec,
  type VXLANProgram,
  type AgentRoute,
  type ParentInterface,
} from './routing-state.ts';
export { desiredRoutes, planRoutes, routeKey, type WorkloadRoute, type ObservedRoute, type RoutePlan } from './route-plan.ts';
export { ApplyLoop, type ApplyLoopOptions, type ApplyStep } from './apply-loop.ts';
export { LoopDataplane, type DataplaneStatusDetail } from './loop-dataplane.ts';
export {
  DataplaneState,
  resolveDataplaneConfig,
  DEFAULT_DATAPLANE_CONFIG,
  DEFAULT_FAILSAFE_INBOUND,
  DEFAULT_FAILSAFE_OUTBOUND,
  type DataplaneConfig,
  type StateChanges,
  type IPSetDelta,
  type FailsafePort,
  type IPPoolInfo,
  type FelixDataplaneFields,
} from './dataplane-state.ts';
export {
  renderRuleset,
  RulesetRenderer,
  rulesetSize,
  policyChain,
  profileChain,
  workloadChain,
  hostChain,
  ipSetName,
  CHAIN,
  MAP,
  POOL_SETS,
  MARK_ACCEPT,
  MARK_PASS,
  type Ruleset,
  type RenderedChain,
  type RenderedRule,
  type RenderedSet,
  type RenderedMap,
  type BaseChainSpec,
  type RulesetChanges,
} from './nft/nft-renderer.ts';
export { renderRule, ruleFamilies, type RuleRenderContext } from './nft/rule-renderer.ts';
export {
  diffRuleset,
  fullRebuild,
  patchFingerprint,
  fingerprintOf,
  fingerprintFromListing,
  fingerprintsEqual,
  describeDrift,
  type Delta,
  type RulesetFingerprint,
} from './nft/nft-delta.ts';
export { TABLE_FAMILY, TABLE_NAME, type NftCommand, type NftBatch, type NftExpr } from './nft/nft-json.ts';
export {
  generatePrivateKey,
  publicKeyOf,
  isWireGuardKey,
  keyToHex,
  hexToKey,
  renderUAPISet,
  parseUAPIGet,
  uapiErrno,
  UAPI_GET,
  WIREGUARD_KEY_PATTERN,
  type UAPISet,
  type UAPIPeerSet,
  type UAPIPeerState,
  type UAPIDeviceState,
} from './wireguard-uapi.ts';
