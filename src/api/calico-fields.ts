// Calico's own field names, per projectcalico.org/v3 kind, as data: the parity test
// (calico-parity.test.ts) checks that Tricolor's schema for each kind accepts every one of them.
//
// Source: the CRD schemas Calico publishes in projectcalico/calico `api/config/crd/
// projectcalico.org_<plural>.yaml` (FelixConfiguration read at commit 02b2dd4c, the 3.31
// development line, which is a superset of 3.30's), and for the kinds without a CRD (Node,
// WorkloadEndpoint: internal API types served by calicoctl) the Go types in
// `api/pkg/apis/projectcalico/v3/` and `libcalico-go/lib/apis/internalapi/`. Only the top-level
// `spec` fields are listed; nested structures are covered by the validator case table.
//
// Not listed (not user-managed through calicoctl, stored by IPAM in its own layout):
// BlockAffinity, IPAMBlock, IPAMHandle, DataStoreMigration. QoSPolicy (3.31, enterprise-only
// semantics) is not a Tricolor kind.

export const CALICO_SOURCE = 'projectcalico/calico api/config/crd @ 02b2dd4c (v3.31 line)';

export const CALICO_SPEC_FIELDS: Readonly<Record<string, readonly string[]>> = {
  IPPool: ['allowedUses', 'assignmentMode', 'blockSize', 'cidr', 'disableBGPExport', 'disabled', 'ipipMode', 'namespaceSelector', 'natOutgoing', 'nodeSelector', 'vxlanMode'],
  IPReservation: ['reservedCIDRs'],
  Tier: ['defaultAction', 'order'],
  NetworkPolicy: ['egress', 'ingress', 'order', 'performanceHints', 'selector', 'serviceAccountSelector', 'tier', 'types'],
  GlobalNetworkPolicy: [
    'applyOnForward', 'doNotTrack', 'egress', 'ingress', 'namespaceSelector', 'order', 'performanceHints', 'preDNAT', 'selector',
    'serviceAccountSelector', 'tier', 'types',
  ],
  StagedNetworkPolicy: ['egress', 'ingress', 'order', 'performanceHints', 'selector', 'serviceAccountSelector', 'stagedAction', 'tier', 'types'],
  StagedGlobalNetworkPolicy: [
    'applyOnForward', 'doNotTrack', 'egress', 'ingress', 'namespaceSelector', 'order', 'performanceHints', 'preDNAT', 'selector',
    'serviceAccountSelector', 'stagedAction', 'tier', 'types',
  ],
  StagedKubernetesNetworkPolicy: ['egress', 'ingress', 'podSelector', 'policyTypes', 'stagedAction'],
  NetworkSet: ['nets'],
  GlobalNetworkSet: ['nets'],
  HostEndpoint: ['expectedIPs', 'interfaceName', 'node', 'ports', 'profiles'],
  Profile: ['egress', 'ingress', 'labelsToApply'],
  Node: ['addresses', 'bgp', 'ipv4VXLANTunnelAddr', 'ipv6VXLANTunnelAddr', 'orchRefs', 'vxlanTunnelMACAddr', 'vxlanTunnelMACAddrV6', 'wireguard'],
  WorkloadEndpoint: [
    'allowSpoofedSourcePrefixes', 'containerID', 'endpoint', 'interfaceName', 'ipNATs', 'ipNetworks', 'ipv4Gateway', 'ipv6Gateway', 'mac',
    'node', 'orchestrator', 'pod', 'ports', 'profiles', 'qosControls', 'serviceAccountName', 'workload',
  ],
  BGPConfiguration: [
    'asNumber', 'bindMode', 'communities', 'ignoredInterfaces', 'listenPort', 'localWorkloadPeeringIPV4', 'localWorkloadPeeringIPV6',
    'logSeverityScreen', 'nodeMeshMaxRestartTime', 'nodeMeshPassword', 'nodeToNodeMeshEnabled', 'prefixAdvertisements',
    'programClusterRoutes', 'serviceClusterIPs', 'serviceExternalIPs', 'serviceLoadBalancerAggregation', 'serviceLoadBalancerIPs',
  ],
  BGPPeer: [
    'asNumber', 'filters', 'keepOriginalNextHop', 'keepaliveTime', 'localASNumber', 'localWorkloadSelector', 'maxRestartTime', 'nextHopMode',
    'node', 'nodeSelector', 'numAllowedLocalASNumbers', 'password', 'peerIP', 'peerSelector', 'reachableBy', 'reversePeering',
    'sourceAddress', 'ttlSecurity',
  ],
  BGPFilter: ['exportV4', 'exportV6', 'importV4', 'importV6'],
  FelixConfiguration: [
    'allowIPIPPacketsFromWorkloads', 'allowVXLANPacketsFromWorkloads', 'awsSrcDstCheck', 'bpfAttachType', 'bpfCTLBLogFilter',
    'bpfConnectTimeLoadBalancing', 'bpfConnectTimeLoadBalancingEnabled', 'bpfConntrackLogLevel', 'bpfConntrackMode', 'bpfConntrackTimeouts',
    'bpfDSROptoutCIDRs', 'bpfDataIfacePattern', 'bpfDisableGROForIfaces', 'bpfDisableUnprivileged', 'bpfEnabled', 'bpfEnforceRPF',
    'bpfExcludeCIDRsFromNAT', 'bpfExportBufferSizeMB', 'bpfExtToServiceConnmark', 'bpfExternalServiceMode', 'bpfForceTrackPacketsFromIfaces',
    'bpfHostConntrackBypass', 'bpfHostNetworkedNATWithoutCTLB', 'bpfIPFragTimeout', 'bpfIPFragmentReassemblyEnabled', 'bpfJITHardening',
    'bpfKubeProxyHealthzPort', 'bpfKubeProxyIptablesCleanupEnabled', 'bpfKubeProxyMinSyncPeriod', 'bpfL3IfacePattern', 'bpfLogFilters',
    'bpfLogLevel', 'bpfMaglevMaxEndpointsPerService', 'bpfMaglevMaxServices', 'bpfMapSizeConntrack', 'bpfMapSizeConntrackCleanupQueue',
    'bpfMapSizeConntrackScaling', 'bpfMapSizeIPSets', 'bpfMapSizeIfState', 'bpfMapSizeNATAffinity', 'bpfMapSizeNATBackend',
    'bpfMapSizeNATFrontend', 'bpfMapSizePerCpuConntrack', 'bpfMapSizeRoute', 'bpfOverlayHostSourceIP', 'bpfPSNATPorts',
    'bpfPolicyDebugEnabled', 'bpfProfiling', 'bpfRedirectToPeer', 'cgroupV2Path', 'chainInsertMode', 'dataplaneDriver',
    'dataplaneWatchdogTimeout', 'debugDisableLogDropping', 'debugHost', 'debugMemoryProfilePath', 'debugPort',
    'debugSimulateCalcGraphHangAfter', 'debugSimulateDataplaneApplyDelay', 'debugSimulateDataplaneHangAfter', 'defaultEndpointToHostAction',
    'deviceRouteProtocol', 'deviceRouteSourceAddress', 'deviceRouteSourceAddressIPv6', 'disableConntrackInvalidCheck',
    'endpointReportingDelay', 'endpointReportingEnabled', 'endpointStatusPathPrefix', 'externalNodesList', 'failsafeInboundHostPorts',
    'failsafeOutboundHostPorts', 'featureDetectOverride', 'featureGates', 'floatingIPs', 'flowLogsCollectorDebugTrace',
    'flowLogsFlushInterval', 'flowLogsGoldmaneServer', 'flowLogsLocalReporter', 'flowLogsPolicyEvaluationMode', 'genericXDPEnabled',
    'goGCThreshold', 'goMaxProcs', 'goMemoryLimitMB', 'healthEnabled', 'healthHost', 'healthPort', 'healthTimeoutOverrides',
    'interfaceExclude', 'interfacePrefix', 'interfaceRefreshInterval', 'ipForwarding', 'ipipEnabled', 'ipipMTU', 'ipsetsRefreshInterval',
    'iptablesBackend', 'iptablesFilterAllowAction', 'iptablesFilterDenyAction', 'iptablesLockProbeInterval', 'iptablesMangleAllowAction',
    'iptablesMarkMask', 'iptablesNATOutgoingInterfaceFilter', 'iptablesPostWriteCheckInterval', 'iptablesRefreshInterval',
    'ipv4ElevatedRoutePriority', 'ipv4NormalRoutePriority', 'ipv6ElevatedRoutePriority', 'ipv6NormalRoutePriority', 'ipv6Support',
    'istioAmbientMode', 'istioDSCPMark', 'kubeNodePortRanges', 'liveMigrationRouteConvergenceTime', 'localSubnetL2Reachability',
    'localSubnetL2ReachabilityRefreshInterval', 'logActionRateLimit', 'logActionRateLimitBurst', 'logDebugFilenameRegex', 'logFilePath',
    'logPrefix', 'logSeverityFile', 'logSeverityScreen', 'logSeveritySys', 'maxIpsetSize', 'metadataAddr', 'metadataPort',
    'mtuIfacePattern', 'natOutgoingAddress', 'natOutgoingExclusions', 'natPortRange', 'netlinkTimeout', 'nftablesFilterAllowAction',
    'nftablesFilterDenyAction', 'nftablesMangleAllowAction', 'nftablesMarkMask', 'nftablesMode', 'nftablesRefreshInterval', 'nodeSelector',
    'openstackRegion', 'policySyncPathPrefix', 'programClusterRoutes', 'prometheusGoMetricsEnabled', 'prometheusMetricsCAFile',
    'prometheusMetricsCertFile', 'prometheusMetricsClientAuth', 'prometheusMetricsEnabled', 'prometheusMetricsHost',
    'prometheusMetricsKeyFile', 'prometheusMetricsPort', 'prometheusProcessMetricsEnabled', 'prometheusWireGuardMetricsEnabled',
    'removeExternalRoutes', 'reportingInterval', 'reportingTTL', 'requireMTUFile', 'routeRefreshInterval', 'routeSource',
    'routeSyncDisabled', 'routeTableRange', 'routeTableRanges', 'serviceLoopPrevention', 'sidecarAccelerationEnabled',
    'usageReportingEnabled', 'usageReportingInitialDelay', 'usageReportingInterval', 'useInternalDataplaneDriver', 'vxlanEnabled',
    'vxlanMTU', 'vxlanMTUV6', 'vxlanPort', 'vxlanVNI', 'windowsManageFirewallRules', 'wireguardEnabled', 'wireguardEnabledV6',
    'wireguardHostEncryptionEnabled', 'wireguardInterfaceName', 'wireguardInterfaceNameV6', 'wireguardKeepAlive', 'wireguardListeningPort',
    'wireguardListeningPortV6', 'wireguardMTU', 'wireguardMTUV6', 'wireguardRoutingRulePriority', 'wireguardThreadingEnabled',
    'workloadSourceSpoofing', 'xdpEnabled', 'xdpRefreshInterval',
  ],
  KubeControllersConfiguration: ['controllers', 'debugProfilePort', 'etcdV3CompactionPeriod', 'healthChecks', 'logSeverityScreen', 'prometheusMetricsPort'],
  ClusterInformation: ['calicoVersion', 'clusterGUID', 'clusterType', 'datastoreReady', 'variant'],
  IPAMConfiguration: ['autoAllocateBlocks', 'kubeVirtVMAddressPersistence', 'maxBlocksPerHost', 'strictAffinity'],
  CalicoNodeStatus: ['classes', 'node', 'updatePeriodSeconds'],
};

/**
 * Fields Tricolor accepts beyond the list above, each from another Calico release still in use
 * (3.26–3.30 manifests carry them) or a Tricolor addition; anything else accepted is a test failure.
 */
export const EXTRA_ACCEPTED_FIELDS: Readonly<Record<string, readonly string[]>> = {
  BGPConfiguration: ['ipv4NormalRoutePriority', 'ipv6NormalRoutePriority'],
  FelixConfiguration: ['iptablesLockFilePath', 'iptablesLockTimeout'],
  IPAMConfiguration: ['ipCooldownSeconds'],
  Node: ['interfaces'],
};
