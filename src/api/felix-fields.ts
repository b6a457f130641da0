// The FelixConfiguration fields of current Calico (3.30/3.31 CRD, see calico-fields.ts) that the
// first Tricolor schema did not list: BPF tuning, Go runtime knobs, debug switches, flow-log,
// Istio and L2-reachability settings (the newer WireGuard fields are in config-specs.ts). Each is validated the way
// Calico's CRD schema and validator do (enums exact, `(?i)` patterns case-insensitive, durations
// non-negative, regular expressions compiled), so a user's manifest applies unchanged. Whether the
// agent acts on a field is decided in agent/felix-fields-in-effect.ts; a field set here but not
// acted on is reported by the agent, never refused.

import { cidrSchema, durationSchema, numericPortSchema } from './scalars.ts';
import { type Schema, arr, bool, fail, int, keepEmpty, mapOf, obj, oneOf, str } from './schema.ts';

const enabledDisabled = keepEmpty(oneOf(['Enabled', 'Disabled'] as const));

/** A regular expression field (Calico's `regexp` validator): it must compile. */
export const regexSchema: Schema<string> = str((s) => {
  try {
    new RegExp(s, 'u');
    return undefined;
  } catch (e) {
    return `is not a valid regular expression: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`;
  }
});

/** A conntrack timer: a duration or `Auto` (bpfConntrackTimeouts' CRD pattern). */
const timerSchema: Schema<string> = str((s) =>
  s === 'Auto' || /^([0-9]*(\.[0-9]*)?(ms|s|h|m|us)+)+$/.test(s) ? undefined : 'is not a valid timer: a duration such as "60s" or "Auto"',
);

/** Calico's `ifaceFilterSlice` entries: an interface name or prefix with `+` as the wildcard. */
const ifaceFilter: Schema<string> = str((s) => (/^[a-zA-Z0-9:._+-]{1,15}$/.test(s) ? undefined : 'is not a valid interface filter ([a-zA-Z0-9:._+-]{1,15})'));

/** numorstring.DSCP: 0–63 or one of the standard class names. */
const dscpSchema: Schema<number | string> = (v, path, ctx) => {
  if (typeof v === 'number') return int(0, 63)(v, path, ctx);
  if (typeof v === 'string' && /^(AF[1-4][1-3]|CS[0-7]|EF|DF)$/.test(v)) return v;
  return fail(ctx, path, v, 'is not a valid DSCP value (0-63, or AF11..AF43, CS0..CS7, EF, DF)');
};

export const FELIX_CALICO_FIELDS: Readonly<Record<string, Schema>> = {
  awsSrcDstCheck: keepEmpty(oneOf(['DoNothing', 'Enable', 'Disable'] as const)),
  bpfAttachType: keepEmpty(oneOf(['TC', 'TCX'] as const)),
  bpfCTLBLogFilter: str(),
  bpfConnectTimeLoadBalancingEnabled: bool,
  bpfConntrackLogLevel: keepEmpty(oneOf(['Off', 'Debug'] as const)),
  bpfConntrackMode: keepEmpty(oneOf(['Auto', 'Userspace', 'BPFProgram'] as const)),
  bpfConntrackTimeouts: obj({
    creationGracePeriod: timerSchema,
    tcpSynSent: timerSchema,
    tcpEstablished: timerSchema,
    tcpFinsSeen: timerSchema,
    tcpResetSeen: timerSchema,
    udpTimeout: timerSchema,
    genericTimeout: timerSchema,
    icmpTimeout: timerSchema,
  }),
  bpfDSROptoutCIDRs: arr(cidrSchema()),
  bpfDataIfacePattern: regexSchema,
  bpfDisableGROForIfaces: regexSchema,
  bpfDisableUnprivileged: bool,
  bpfEnforceRPF: oneOf(['Disabled', 'Strict', 'Loose'] as const, true),
  bpfExcludeCIDRsFromNAT: arr(cidrSchema()),
  bpfExportBufferSizeMB: int(1),
  bpfExtToServiceConnmark: int(0, 4294967295),
  bpfForceTrackPacketsFromIfaces: arr(ifaceFilter),
  bpfHostConntrackBypass: bool,
  bpfIPFragTimeout: durationSchema,
  bpfIPFragmentReassemblyEnabled: bool,
  bpfJITHardening: keepEmpty(oneOf(['Auto', 'Strict'] as const)),
  bpfKubeProxyHealthzPort: int(0, 65535),
  bpfKubeProxyIptablesCleanupEnabled: bool,
  bpfKubeProxyMinSyncPeriod: durationSchema,
  bpfL3IfacePattern: regexSchema,
  bpfLogFilters: mapOf(str(), str()),
  bpfMaglevMaxEndpointsPerService: int(0),
  bpfMaglevMaxServices: int(0),
  bpfMapSizeConntrack: int(0),
  bpfMapSizeConntrackCleanupQueue: int(1),
  bpfMapSizeConntrackScaling: oneOf(['Disabled', 'DoubleIfFull'] as const, true),
  bpfMapSizeIPSets: int(0),
  bpfMapSizeIfState: int(0),
  bpfMapSizeNATAffinity: int(0),
  bpfMapSizeNATBackend: int(0),
  bpfMapSizeNATFrontend: int(0),
  bpfMapSizePerCpuConntrack: int(0),
  bpfMapSizeRoute: int(0),
  bpfOverlayHostSourceIP: keepEmpty(oneOf(['TunnelAddress', 'HostAddress'] as const)),
  bpfPSNATPorts: numericPortSchema,
  bpfPolicyDebugEnabled: bool,
  bpfProfiling: enabledDisabled,
  bpfRedirectToPeer: keepEmpty(oneOf(['Enabled', 'Disabled', 'L2Only'] as const)),
  cgroupV2Path: str(),
  dataplaneWatchdogTimeout: durationSchema,
  debugDisableLogDropping: bool,
  debugHost: str(),
  debugPort: int(0, 65535),
  debugSimulateCalcGraphHangAfter: durationSchema,
  debugSimulateDataplaneApplyDelay: durationSchema,
  debugSimulateDataplaneHangAfter: durationSchema,
  disableConntrackInvalidCheck: bool,
  endpointReportingDelay: durationSchema,
  endpointStatusPathPrefix: str(),
  flowLogsCollectorDebugTrace: bool,
  flowLogsFlushInterval: durationSchema,
  flowLogsGoldmaneServer: str(),
  flowLogsLocalReporter: enabledDisabled,
  flowLogsPolicyEvaluationMode: keepEmpty(oneOf(['None', 'Continuous'] as const)),
  goGCThreshold: int(-1),
  goMaxProcs: int(-1),
  goMemoryLimitMB: int(-1),
  interfaceRefreshInterval: durationSchema,
  iptablesLockFilePath: str(),
  iptablesLockProbeInterval: durationSchema,
  istioAmbientMode: enabledDisabled,
  istioDSCPMark: dscpSchema,
  liveMigrationRouteConvergenceTime: durationSchema,
  localSubnetL2Reachability: keepEmpty(oneOf(['Disabled', 'PodsAndLoadBalancers'] as const)),
  localSubnetL2ReachabilityRefreshInterval: durationSchema,
  logDebugFilenameRegex: regexSchema,
  metadataAddr: str(),
  metadataPort: int(0, 65535),
  prometheusGoMetricsEnabled: bool,
  prometheusMetricsCAFile: str(),
  prometheusMetricsCertFile: str(),
  prometheusMetricsClientAuth: keepEmpty(oneOf(['NoClientCert', 'RequestClientCert', 'RequireAnyClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert'] as const)),
  prometheusMetricsHost: str(),
  prometheusMetricsKeyFile: str(),
  prometheusProcessMetricsEnabled: bool,
  prometheusWireGuardMetricsEnabled: bool,
  requireMTUFile: bool,
  routeSyncDisabled: bool,
  usageReportingInitialDelay: durationSchema,
  usageReportingInterval: durationSchema,
  windowsManageFirewallRules: enabledDisabled,
  xdpRefreshInterval: durationSchema,
};
