// Public surface of the policy engine: the calculation graph (datastore updates → dataplane
// messages for one node), the rule IR it emits, and the verdict oracle behind `policy explain`.

export { CalcGraph, type CalcGraphOptions } from './calc-graph.ts';
export { ClusterState, type Change } from './cluster-state.ts';
export {
  type CalcUpdate,
  type PolicyID,
  type NormPolicy,
  type NormProfile,
  type NormEntity,
  type NormCIDR,
  type NormTier,
  type NormRule,
  type EntityKind,
  updateOf,
  deletionOf,
  policyKey,
  policyDisplayName,
  entityKey,
} from './model.ts';
export type * from './messages.ts';
export {
  type RuleAction,
  type PortRange,
  type ICMPMatch,
  type EntityMatch,
  type RuleIR,
  type RuleSetIR,
  type IRNode,
  type IRVisitor,
  visitIR,
  protocolName,
  PROTOCOL_NUMBERS,
} from './ir.ts';
export { convertK8sNetworkPolicy } from './knp-convert.ts';
export { compareTiers, comparePolicies, resolveTiers, type TierPolicies } from './policy-sorter.ts';
export {
  PolicyModel,
  explain,
  explainAll,
  endpointDisplayName,
  type ExplainRequest,
  type ExplainResult,
  type DirectionTrace,
  type TraceStep,
  type PeerSpec,
  type PairResult,
  type Verdict,
} from './explain.ts';
export { CALC_KINDS } from './calc-kinds.ts';
export { SEQUENCER_CATEGORIES, type SequencerCategory } from './event-sequencer.ts';
export { RoutingResolver, type RoutingUpdate } from './routing-resolver.ts';
export {
  BGP_MODES,
  DEFAULT_VXLAN_PORT,
  DEFAULT_VXLAN_VNI,
  vtepMAC,
  isVXLANPool,
  isIPIPPool,
  nodeAddresses,
  type BGPMode,
  type BlockAffinityEntry,
  type FelixFields,
  type RoutingInputs,
  type WorkloadAddresses,
} from './routing-model.ts';
export { bgpDecision, agentBlackholes, remoteBlockRoutes, resolveRoutes, type BGPDecision } from './route-resolver.ts';
export { resolveEncapsulation, resolveVTEPs } from './vxlan-resolver.ts';
export { resolveHosts } from './host-resolver.ts';
