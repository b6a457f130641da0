// Public surface of the node agent: the agent itself (`tricolor node run`), its settings, the
// status document `tricolor node status` reads, and the pure pieces (decoding, metrics) that
// tests and benchmarks use. Routing is resolved in src/calc (routing-resolver.ts), programmed
// from src/dataplane (routing-state.ts, route-plan.ts); BIRD's input is src/bgp's.
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
export { renderStatusText, renderBGPStatusText, STATUS_FILE_NAME, type AgentStatus, type StatusView } from './agent-status.ts';
export { MetricsRegistry, parseMetricsText, APPLY_BUCKETS_S } from './metrics.ts';
export { AGENT_SELECTION, CONFIG_KINDS, calcUpdateOf, isCalcUpdate } from './update-selection.ts';
export { NodeAgent, type NodeAgentOptions } from './io/node-agent.ts';
export { readStatusFile, writeStatusFile, statusFilePath, processRunning } from './io/status-file.ts';
export { UNITS, DEFAULT_UNIT_DIR, DEFAULT_ENV_FILE, renderUnit, renderEnvFile, parseEnvFile, execStartWords, type UnitSpec } from './systemd-units.ts';
export { installUnits, type InstallUnitsOptions } from './io/install-units.ts';
export { writeNodenameFile, DEFAULT_NODENAME_FILE, NODENAME_FILE_ENV } from './io/nodename-file.ts';
export { agentMtuFile, DEFAULT_MTU_FILE } from './mtu-plan.ts';
export { CniServer, CNI_SOCKET_NAME, type CniServerOptions, type CniServerStats } from './io/cni-server.ts';
export { HttpEndpoint } from './io/http-endpoint.ts';
export { RouteManager, type RouteReconcileResult } from './io/route-manager.ts';
export { BGPManager, type BGPState } from './io/bgp-manager.ts';
export { NodeRoutingManager, type NodeRoutingState } from './io/node-routing-manager.ts';
export { NodeTunnelWriter, tunnelAddressAction } from './io/node-tunnel-writer.ts';
