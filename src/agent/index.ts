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
export { renderStatusText, renderBGPStatusText, STATUS_FILE_NAME, type AgentStatus, type StatusView } from './agent-status.ts';
export { MetricsRegistry, parseMetricsText, APPLY_BUCKETS_S } from './metrics.ts';
export { desiredRoutes, planRoutes, type WorkloadRoute, type ObservedRoute, type RoutePlan } from './route-plan.ts';
export { ThrottledRunner } from './throttled-runner.ts';
export { AGENT_SELECTION, CONFIG_KINDS, calcUpdateOf, isCalcUpdate } from './update-selection.ts';
export { NodeAgent, type NodeAgentOptions } from './io/node-agent.ts';
export { readStatusFile, writeStatusFile, statusFilePath, processRunning } from './io/status-file.ts';
export { UNITS, DEFAULT_UNIT_DIR, DEFAULT_ENV_FILE, renderUnit, renderEnvFile, parseEnvFile, execStartWords, type UnitSpec } from './systemd-units.ts';
export { installUnits, type InstallUnitsOptions } from './io/install-units.ts';
export { writeNodenameFile, DEFAULT_NODENAME_FILE, NODENAME_FILE_ENV } from './io/nodename-file.ts';
export { CniServer, CNI_SOCKET_NAME, type CniServerOptions, type CniServerStats } from './io/cni-server.ts';
export { HttpEndpoint } from './io/http-endpoint.ts';
export { RouteManager, type RouteReconcileResult } from './io/route-manager.ts';
export { BGP_MODES, bgpDecision, birdRenderInput, ownBlocks, agentBlackholes, type BGPMode, type BGPDecision, type BlockAffinityEntry, type RoutingInputs } from './routing-plan.ts';
export { desiredVXLAN, vtepMAC, VXLAN_DEVICE, DEFAULT_VXLAN_PORT, DEFAULT_VXLAN_VNI, VXLAN_OVERHEAD_BYTES, type VXLANPlan, type VXLANInputs, type VXLANDeviceSpec } from './vxlan-plan.ts';
export { BGPManager, type BGPState } from './io/bgp-manager.ts';
export { NodeRoutingManager, type NodeRoutingState } from './io/node-routing-manager.ts';
