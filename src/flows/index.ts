// Public surface of flow logs: the flow record every dataplane produces, the rule-identity codec
// of the verdict logs, the filter grammar shared by API, CLI and UI, the policy traces computed
// with the explain oracle, and the suggested allow policy for a denied flow.
export * from './flow.ts';
export * from './rule-id.ts';
export * from './filter.ts';
export * from './batch.ts';
export * from './policy-trace.ts';
export * from './suggest-policy.ts';
export * from './enrich.ts';
export * from './collector.ts';
export * from './rule-lookup.ts';
export * from './service-index.ts';
