// Public surface of the dataplane: the desired-state model fed by calc messages, the pure
// nftables renderer and delta, and the nft driver / apply loop (io) that programs the kernel.
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
} from './nft-renderer.ts';
export { renderRule, ruleFamilies, type RuleRenderContext } from './rule-renderer.ts';
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
} from './nft-delta.ts';
export { TABLE_FAMILY, TABLE_NAME, type NftCommand, type NftBatch, type NftExpr } from './nft-json.ts';
export { NftDriver, type NftDriverOptions, type ApplyResult, type ResyncResult, type NftDriverStats } from './io/nft-driver.ts';
export { NftDataplane, type NftDataplaneOptions } from './io/nft-dataplane.ts';
