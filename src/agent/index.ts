// Public surface of the node agent: the agent itself (`tricolor node run`), its settings, the
// status document `tricolor node status` reads, and the pure pieces (decoding, route planning,
// metrics) that tests and benchmarks use.
export {
  resolveAgentSettings,
  mergeFelixSpecs,
  parseDurationMs,
  poolInfos,
  DEFAULT_HEALTH_HOST,
  DEFAULT_HEALTH_PORT,
  DEFAULT_METRICS_PORT,
  DEFAULT_RUN_DIR,
  type AgentFlags,
  type AgentSettings,
  type FelixSpec,
} from './agent-config.ts';
export { renderStatusText, STATUS_FILE_NAME, type AgentStatus, type StatusView } from './agent-status.ts';
export { MetricsRegistry, parseMetricsText, APPLY_BUCKETS_S } from './metrics.ts';
export { desiredRoutes, planRoutes, type WorkloadRoute, type ObservedRoute, type RoutePlan } from './route-plan.ts';
export { ThrottledRunner } from './throttled-runner.ts';
export { agentPrefixes, decodeSyncUpdate, calcUpdateOf, CONFIG_KINDS, type DecodedUpdate } from './update-decoder.ts';
export { NodeAgent, type NodeAgentOptions } from './io/node-agent.ts';
export { readStatusFile, writeStatusFile, statusFilePath, processRunning } from './io/status-file.ts';
export { RouteManager, type RouteReconcileResult } from './io/route-manager.ts';
