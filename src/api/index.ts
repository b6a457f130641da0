// Public surface of the resource model: types, the kind registry, validation and defaults.
export * from './types.ts';
export * from './kinds.ts';
export {
  type ValidateOptions,
  validateResource,
  collectValidationErrors,
  validateAgainstExisting,
  BUILTIN_TIERS,
  isDeletionForbidden,
} from './validate.ts';
export { ianaServiceNameProblem } from './scalars.ts';
export { SESSION_AFFINITIES, DEFAULT_AFFINITY_TIMEOUT_SECONDS, MAX_AFFINITY_TIMEOUT_SECONDS } from './k8s-specs.ts';
export { TIER_LABEL, KNP_PREFIX, DEFAULT_TIER_ORDER, defaultPolicyTypes } from './policy-specs.ts';
export {
  type WorkloadEndpointIdentifiers,
  workloadEndpointName,
  DEFAULT_BLOCK_SIZE,
  NAMESPACE_LABEL,
} from './network-specs.ts';
