// The projectcalico.org/v3 resource model (and the few Kubernetes kinds stored alongside it) as
// TypeScript types. Field names are the JSON names Calico and Kubernetes use on the wire, so a
// document read from YAML has exactly this shape once validateResource() has accepted it.
// Optional fields stay optional here even where validation fills a default: stored objects read
// back from an older writer may lack them, and consumers must cope.

// ---------------------------------------------------------------------------------------------
// Envelope

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resourceVersion?: string;
  uid?: string;
  creationTimestamp?: string;
  generation?: number;
  // Standard Kubernetes ObjectMeta fields that exported documents may carry; kept as given.
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  finalizers?: string[];
  ownerReferences?: unknown[];
}

/**
 * Every kind Tricolor stores, as a union: a kind is never a free string inside the program
 * (user input is checked against this list by the kind registry). Calico's and Kubernetes'
 * NetworkPolicy share the name `NetworkPolicy`; their apiVersion tells them apart.
 */
export const RESOURCE_KINDS = [
  'IPPool',
  'IPReservation',
  'Tier',
  'NetworkPolicy',
  'GlobalNetworkPolicy',
  'StagedNetworkPolicy',
  'StagedGlobalNetworkPolicy',
  'StagedKubernetesNetworkPolicy',
  'NetworkSet',
  'GlobalNetworkSet',
  'HostEndpoint',
  'Profile',
  'Node',
  'WorkloadEndpoint',
  'BGPConfiguration',
  'BGPPeer',
  'BGPFilter',
  'FelixConfiguration',
  'KubeControllersConfiguration',
  'ClusterInformation',
  'IPAMConfiguration',
  'CalicoNodeStatus',
  'Namespace',
  'Pod',
  'ServiceAccount',
  'Service',
] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];

export const CALICO_API_VERSION = 'projectcalico.org/v3';
export const K8S_CORE_API_VERSION = 'v1';
export const K8S_NETWORKING_API_VERSION = 'networking.k8s.io/v1';
export const API_VERSIONS = [CALICO_API_VERSION, K8S_CORE_API_VERSION, K8S_NETWORKING_API_VERSION] as const;
export type ApiVersion = (typeof API_VERSIONS)[number];

/** A kind named exactly: apiVersion and kind (the pair the kind registry is keyed by). */
export interface KindRef {
  readonly apiVersion: ApiVersion;
  readonly kind: ResourceKind;
}

export interface Resource<K extends ResourceKind = ResourceKind, S = unknown> {
  apiVersion: string;
  kind: K;
  metadata: ObjectMeta;
  spec?: S;
  status?: unknown;
}

// ---------------------------------------------------------------------------------------------
// Scalars

/** A protocol name (`TCP`, `UDP`, `ICMP`, `ICMPv6`, `SCTP`, `UDPLite`) or number 1–255. */
export type ProtocolValue = string | number;
/** A single port (number), a range `"80:90"`, or a named port (`"http"`). */
export type Port = number | string;
/** An AS number as stored (number); input also accepts `"64512"` and asdot `"1.10"`. */
export type ASNumber = number;

export const RULE_ACTIONS = ['Allow', 'Deny', 'Log', 'Pass'] as const;
export type RuleAction = (typeof RULE_ACTIONS)[number];
export const POLICY_TYPES = ['Ingress', 'Egress'] as const;
export type PolicyType = (typeof POLICY_TYPES)[number];
export const ENCAP_MODES = ['Never', 'Always', 'CrossSubnet'] as const;
export type EncapMode = (typeof ENCAP_MODES)[number];
export const IPPOOL_USES = ['Workload', 'Tunnel', 'LoadBalancer'] as const;
export type IPPoolAllowedUse = (typeof IPPOOL_USES)[number];
export const STAGED_ACTIONS = ['Set', 'Delete', 'Learn', 'Ignore'] as const;
export type StagedAction = (typeof STAGED_ACTIONS)[number];

// ---------------------------------------------------------------------------------------------
// Policy rules (contract §3)

export interface ICMPFields {
  type?: number;
  code?: number;
}

export interface HTTPPath {
  exact?: string;
  prefix?: string;
}

export interface HTTPMatch {
  methods?: string[];
  paths?: HTTPPath[];
}

export interface ServiceAccountMatch {
  names?: string[];
  selector?: string;
}

export interface ServiceMatch {
  name: string;
  namespace?: string;
}

export interface EntityRule {
  nets?: string[];
  notNets?: string[];
  selector?: string;
  notSelector?: string;
  namespaceSelector?: string;
  ports?: Port[];
  notPorts?: Port[];
  serviceAccounts?: ServiceAccountMatch;
  services?: ServiceMatch;
}

export interface RuleMetadata {
  annotations?: Record<string, string>;
}

export interface Rule {
  action: RuleAction;
  ipVersion?: 4 | 6;
  protocol?: ProtocolValue;
  notProtocol?: ProtocolValue;
  icmp?: ICMPFields;
  notICMP?: ICMPFields;
  source?: EntityRule;
  destination?: EntityRule;
  http?: HTTPMatch;
  metadata?: RuleMetadata;
}

// ---------------------------------------------------------------------------------------------
// Calico specs

export interface IPPoolSpec {
  cidr: string;
  vxlanMode?: EncapMode;
  ipipMode?: EncapMode;
  natOutgoing?: boolean;
  disabled?: boolean;
  disableBGPExport?: boolean;
  blockSize?: number;
  nodeSelector?: string;
  namespaceSelector?: string;
  allowedUses?: IPPoolAllowedUse[];
  assignmentMode?: 'Automatic' | 'Manual';
}

export interface IPReservationSpec {
  reservedCIDRs?: string[];
}

export interface TierSpec {
  order?: number;
  defaultAction?: 'Deny' | 'Pass';
}

export interface NetworkPolicySpec {
  tier?: string;
  order?: number;
  selector?: string;
  serviceAccountSelector?: string;
  types?: PolicyType[];
  ingress?: Rule[];
  egress?: Rule[];
  performanceHints?: 'AssumeNeededOnEveryNode'[];
}

export interface GlobalNetworkPolicySpec extends NetworkPolicySpec {
  namespaceSelector?: string;
  doNotTrack?: boolean;
  preDNAT?: boolean;
  applyOnForward?: boolean;
}

export interface StagedNetworkPolicySpec extends NetworkPolicySpec {
  stagedAction?: StagedAction;
}

export interface StagedGlobalNetworkPolicySpec extends GlobalNetworkPolicySpec {
  stagedAction?: StagedAction;
}

export interface StagedKubernetesNetworkPolicySpec extends K8sNetworkPolicySpec {
  stagedAction?: StagedAction;
}

export interface NetworkSetSpec {
  nets?: string[];
}

export interface EndpointPort {
  name: string;
  protocol: ProtocolValue;
  port: number;
}

export interface HostEndpointSpec {
  node?: string;
  interfaceName?: string;
  expectedIPs?: string[];
  profiles?: string[];
  ports?: EndpointPort[];
}

export interface ProfileSpec {
  ingress?: Rule[];
  egress?: Rule[];
  labelsToApply?: Record<string, string>;
}

export interface NodeBGPSpec {
  asNumber?: ASNumber;
  ipv4Address?: string;
  ipv6Address?: string;
  ipv4IPIPTunnelAddr?: string;
  routeReflectorClusterID?: string;
}

export interface NodeAddress {
  address: string;
  type?: 'CalicoNodeIP' | 'InternalIP' | 'ExternalIP';
}

export interface NodeSpec {
  bgp?: NodeBGPSpec;
  ipv4VXLANTunnelAddr?: string;
  ipv6VXLANTunnelAddr?: string;
  vxlanTunnelMACAddr?: string;
  vxlanTunnelMACAddrV6?: string;
  orchRefs?: { nodeName?: string; orchestrator: string }[];
  wireguard?: { interfaceIPv4Address?: string; interfaceIPv6Address?: string };
  addresses?: NodeAddress[];
  interfaces?: { name: string; addresses?: string[] }[];
}

export interface NodeStatus {
  wireguardPublicKey?: string;
  wireguardPublicKeyV6?: string;
  podCIDRs?: string[];
}

export interface WorkloadEndpointPort {
  name?: string;
  protocol: ProtocolValue;
  port: number;
  hostPort?: number;
  hostIP?: string;
}

export interface IPNAT {
  internalIP: string;
  externalIP: string;
}

export interface QoSControls {
  ingressBandwidth?: number;
  egressBandwidth?: number;
  ingressBurst?: number;
  egressBurst?: number;
  ingressPeakrate?: number;
  egressPeakrate?: number;
  ingressMinburst?: number;
  egressMinburst?: number;
  ingressPacketRate?: number;
  egressPacketRate?: number;
  ingressPacketBurst?: number;
  egressPacketBurst?: number;
  ingressMaxConnections?: number;
  egressMaxConnections?: number;
  dscp?: number | string;
}

export interface WorkloadEndpointSpec {
  orchestrator?: string;
  workload?: string;
  node?: string;
  containerID?: string;
  pod?: string;
  endpoint?: string;
  serviceAccountName?: string;
  ipNetworks?: string[];
  ipNATs?: IPNAT[];
  ipv4Gateway?: string;
  ipv6Gateway?: string;
  profiles?: string[];
  interfaceName?: string;
  mac?: string;
  ports?: WorkloadEndpointPort[];
  allowSpoofedSourcePrefixes?: string[];
  qosControls?: QoSControls;
}

export interface SecretKeyRef {
  secretKeyRef?: { name: string; key: string; optional?: boolean };
}

export interface ServiceIPBlock {
  cidr: string;
}

export interface Community {
  name: string;
  value: string;
}

export interface PrefixAdvertisement {
  cidr: string;
  communities?: string[];
}

export interface BGPConfigurationSpec {
  logSeverityScreen?: string;
  nodeToNodeMeshEnabled?: boolean;
  asNumber?: ASNumber;
  serviceLoadBalancerIPs?: ServiceIPBlock[];
  serviceExternalIPs?: ServiceIPBlock[];
  serviceClusterIPs?: ServiceIPBlock[];
  serviceLoadBalancerAggregation?: 'Enabled' | 'Disabled';
  communities?: Community[];
  prefixAdvertisements?: PrefixAdvertisement[];
  listenPort?: number;
  nodeMeshPassword?: SecretKeyRef;
  nodeMeshMaxRestartTime?: string;
  bindMode?: 'None' | 'NodeIP';
  ignoredInterfaces?: string[];
  localWorkloadPeeringIPV4?: string;
  localWorkloadPeeringIPV6?: string;
  programClusterRoutes?: 'Enabled' | 'Disabled' | 'EnabledIPIPOnly' | 'EnabledNoEncapOnly';
  ipv4NormalRoutePriority?: number;
  ipv6NormalRoutePriority?: number;
}

export interface BGPPeerSpec {
  node?: string;
  nodeSelector?: string;
  peerIP?: string;
  asNumber?: ASNumber;
  localASNumber?: ASNumber;
  peerSelector?: string;
  keepOriginalNextHop?: boolean;
  nextHopMode?: 'Auto' | 'Self' | 'Keep';
  password?: SecretKeyRef;
  sourceAddress?: 'UseNodeIP' | 'None';
  maxRestartTime?: string;
  keepaliveTime?: string;
  numAllowedLocalASNumbers?: number;
  ttlSecurity?: number;
  reachableBy?: string;
  filters?: string[];
  localWorkloadSelector?: string;
  reversePeering?: 'Auto' | 'Manual';
}

export interface BGPFilterRule {
  cidr?: string;
  matchOperator?: 'Equal' | 'NotEqual' | 'In' | 'NotIn';
  prefixLength?: { min?: number; max?: number };
  source?: 'RemotePeers';
  interface?: string;
  peerType?: 'eBGP' | 'iBGP';
  communities?: { values: string[] };
  asPathPrefix?: ASNumber[];
  priority?: number;
  action: 'Accept' | 'Reject';
  operations?: BGPFilterOperation[];
}

export interface BGPFilterOperation {
  addCommunity?: { value: string };
  prependASPath?: { prefix: ASNumber[] };
  setPriority?: { value: number };
}

export interface BGPFilterSpec {
  exportV4?: BGPFilterRule[];
  importV4?: BGPFilterRule[];
  exportV6?: BGPFilterRule[];
  importV6?: BGPFilterRule[];
}

export interface ProtoPort {
  protocol: string;
  port: number;
  net?: string;
}

export interface RouteTableRange {
  min: number;
  max: number;
}

/** The FelixConfiguration fields Tricolor knows (contract §2.15); others are rejected. */
export interface FelixConfigurationSpec {
  nodeSelector?: string;
  logSeverityScreen?: string;
  logSeverityFile?: string;
  logSeveritySys?: string;
  logFilePath?: string;
  ipv6Support?: boolean;
  bpfEnabled?: boolean;
  nftablesMode?: 'Disabled' | 'Enabled' | 'Auto';
  iptablesBackend?: 'Legacy' | 'NFT' | 'Auto';
  chainInsertMode?: string;
  defaultEndpointToHostAction?: 'Drop' | 'Accept' | 'Return';
  iptablesFilterAllowAction?: 'Accept' | 'Return';
  iptablesMangleAllowAction?: 'Accept' | 'Return';
  iptablesFilterDenyAction?: 'Drop' | 'Reject';
  logPrefix?: string;
  logActionRateLimit?: string;
  logActionRateLimitBurst?: number;
  interfacePrefix?: string;
  interfaceExclude?: string;
  ipipEnabled?: boolean;
  vxlanEnabled?: boolean;
  ipipMTU?: number;
  vxlanMTU?: number;
  vxlanMTUV6?: number;
  vxlanPort?: number;
  vxlanVNI?: number;
  allowVXLANPacketsFromWorkloads?: boolean;
  allowIPIPPacketsFromWorkloads?: boolean;
  failsafeInboundHostPorts?: ProtoPort[];
  failsafeOutboundHostPorts?: ProtoPort[];
  kubeNodePortRanges?: Port[];
  natOutgoingAddress?: string;
  natOutgoingExclusions?: 'IPPoolsOnly' | 'IPPoolsAndHostIPs';
  natPortRange?: Port;
  healthEnabled?: boolean;
  healthHost?: string;
  healthPort?: number;
  prometheusMetricsEnabled?: boolean;
  prometheusMetricsPort?: number;
  reportingInterval?: string;
  reportingTTL?: string;
  routeRefreshInterval?: string;
  iptablesRefreshInterval?: string;
  ipsetsRefreshInterval?: string;
  routeTableRange?: RouteTableRange;
  routeTableRanges?: RouteTableRange[];
  routeSource?: 'WorkloadIPs' | 'CalicoIPAM';
  programClusterRoutes?: 'Enabled' | 'Disabled' | 'EnabledIPIPOnly' | 'EnabledNoEncapOnly';
  ipForwarding?: 'Enabled' | 'Disabled';
  wireguardEnabled?: boolean;
  wireguardEnabledV6?: boolean;
  wireguardListeningPort?: number;
  wireguardListeningPortV6?: number;
  wireguardInterfaceName?: string;
  wireguardInterfaceNameV6?: string;
  wireguardMTU?: number;
  wireguardMTUV6?: number;
  wireguardRoutingRulePriority?: number;
  wireguardKeepAlive?: string;
  wireguardHostEncryptionEnabled?: boolean;
  wireguardThreadingEnabled?: boolean;
  serviceLoopPrevention?: 'Drop' | 'Reject' | 'Disabled';
  workloadSourceSpoofing?: 'Disabled' | 'Any';
  bpfExternalServiceMode?: 'Tunnel' | 'DSR';
  bpfConnectTimeLoadBalancing?: 'TCP' | 'Enabled' | 'Disabled';
  bpfHostNetworkedNATWithoutCTLB?: 'Enabled' | 'Disabled';
  bpfLogLevel?: 'Off' | 'Info' | 'Debug';
  xdpEnabled?: boolean;
  floatingIPs?: 'Enabled' | 'Disabled';
  ipv4NormalRoutePriority?: number;
  ipv4ElevatedRoutePriority?: number;
  ipv6NormalRoutePriority?: number;
  ipv6ElevatedRoutePriority?: number;
  externalNodesList?: string[];
  openstackRegion?: string;
  featureGates?: string;
  featureDetectOverride?: string;
  healthTimeoutOverrides?: { name: string; timeout: string }[];
  deviceRouteSourceAddress?: string;
  deviceRouteSourceAddressIPv6?: string;
  deviceRouteProtocol?: number;
  removeExternalRoutes?: boolean;
  mtuIfacePattern?: string;
  netlinkTimeout?: string;
  sidecarAccelerationEnabled?: boolean;
  useInternalDataplaneDriver?: boolean;
  dataplaneDriver?: string;
  endpointReportingEnabled?: boolean;
  policySyncPathPrefix?: string;
  maxIpsetSize?: number;
  iptablesMarkMask?: number;
  nftablesMarkMask?: number;
  iptablesLockTimeout?: string;
  iptablesPostWriteCheckInterval?: string;
  iptablesNATOutgoingInterfaceFilter?: string;
  nftablesRefreshInterval?: string;
  nftablesFilterAllowAction?: 'Accept' | 'Return';
  nftablesMangleAllowAction?: 'Accept' | 'Return';
  nftablesFilterDenyAction?: 'Drop' | 'Reject';
  genericXDPEnabled?: boolean;
  debugMemoryProfilePath?: string;
  usageReportingEnabled?: boolean;
}

export interface KubeControllersConfigurationSpec {
  logSeverityScreen?: string;
  healthChecks?: 'Enabled' | 'Disabled';
  etcdV3CompactionPeriod?: string;
  prometheusMetricsPort?: number;
  debugProfilePort?: number;
  controllers?: {
    node?: {
      reconcilerPeriod?: string;
      syncLabels?: 'Enabled' | 'Disabled';
      hostEndpoint?: {
        autoCreate?: 'Enabled' | 'Disabled';
        createDefaultHostEndpoint?: 'Enabled' | 'Disabled';
        templates?: {
          generateName: string;
          interfaceCIDRs?: string[];
          interfacePattern?: string;
          labels?: Record<string, string>;
          annotations?: Record<string, string>;
          nodeSelector?: string;
        }[];
      };
      leakGracePeriod?: string;
    };
    policy?: { reconcilerPeriod?: string };
    workloadEndpoint?: { reconcilerPeriod?: string };
    serviceAccount?: { reconcilerPeriod?: string };
    namespace?: { reconcilerPeriod?: string };
    loadBalancer?: { assignIPs?: 'AllServices' | 'RequestedServicesOnly' };
    migration?: { policyNameMigrator?: 'Enabled' | 'Disabled' };
  };
}

export interface ClusterInformationSpec {
  clusterGUID?: string;
  clusterType?: string;
  calicoVersion?: string;
  datastoreReady?: boolean;
  variant?: string;
}

export interface IPAMConfigurationSpec {
  strictAffinity?: boolean;
  autoAllocateBlocks?: boolean;
  maxBlocksPerHost?: number;
  kubeVirtVMAddressPersistence?: 'Enabled' | 'Disabled';
  ipCooldownSeconds?: number;
}

export interface CalicoNodeStatusSpec {
  node: string;
  classes: ('Agent' | 'BGP' | 'Routes')[];
  updatePeriodSeconds?: number;
}

// ---------------------------------------------------------------------------------------------
// Kubernetes kinds (only what Tricolor needs)

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface K8sNetworkPolicyPort {
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  port?: number | string;
  endPort?: number;
}

export interface K8sIPBlock {
  cidr: string;
  except?: string[];
}

export interface K8sNetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: K8sIPBlock;
}

export interface K8sNetworkPolicyIngressRule {
  ports?: K8sNetworkPolicyPort[];
  from?: K8sNetworkPolicyPeer[];
}

export interface K8sNetworkPolicyEgressRule {
  ports?: K8sNetworkPolicyPort[];
  to?: K8sNetworkPolicyPeer[];
}

export interface K8sNetworkPolicySpec {
  podSelector?: LabelSelector;
  ingress?: K8sNetworkPolicyIngressRule[];
  egress?: K8sNetworkPolicyEgressRule[];
  policyTypes?: PolicyType[];
}

export interface NamespaceSpec {
  finalizers?: string[];
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
}

export interface Container {
  name: string;
  image?: string;
  ports?: ContainerPort[];
}

export interface PodSpec {
  nodeName?: string;
  serviceAccountName?: string;
  containers: Container[];
  hostNetwork?: boolean;
}

export interface PodStatus {
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  podIP?: string;
  podIPs?: { ip: string }[];
}

export interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
}

export interface ServiceSpec {
  selector?: Record<string, string>;
  ports?: ServicePort[];
  clusterIP?: string;
  clusterIPs?: string[];
  type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  /** ClientIP pins a client to one backend for `sessionAffinityConfig.clientIP.timeoutSeconds` (default 10800, 1..86400). */
  sessionAffinity?: 'None' | 'ClientIP';
  sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
}

// ---------------------------------------------------------------------------------------------
// Resource kinds

export type IPPool = Resource<'IPPool', IPPoolSpec>;
export type IPReservation = Resource<'IPReservation', IPReservationSpec>;
export type Tier = Resource<'Tier', TierSpec>;
export type NetworkPolicy = Resource<'NetworkPolicy', NetworkPolicySpec>;
export type GlobalNetworkPolicy = Resource<'GlobalNetworkPolicy', GlobalNetworkPolicySpec>;
export type StagedNetworkPolicy = Resource<'StagedNetworkPolicy', StagedNetworkPolicySpec>;
export type StagedGlobalNetworkPolicy = Resource<'StagedGlobalNetworkPolicy', StagedGlobalNetworkPolicySpec>;
export type StagedKubernetesNetworkPolicy = Resource<
  'StagedKubernetesNetworkPolicy',
  StagedKubernetesNetworkPolicySpec
>;
export type NetworkSet = Resource<'NetworkSet', NetworkSetSpec>;
export type GlobalNetworkSet = Resource<'GlobalNetworkSet', NetworkSetSpec>;
export type HostEndpoint = Resource<'HostEndpoint', HostEndpointSpec>;
export type Profile = Resource<'Profile', ProfileSpec>;
export type Node = Resource<'Node', NodeSpec> & { status?: NodeStatus };
export type WorkloadEndpoint = Resource<'WorkloadEndpoint', WorkloadEndpointSpec>;
export type BGPConfiguration = Resource<'BGPConfiguration', BGPConfigurationSpec>;
export type BGPPeer = Resource<'BGPPeer', BGPPeerSpec>;
export type BGPFilter = Resource<'BGPFilter', BGPFilterSpec>;
export type FelixConfiguration = Resource<'FelixConfiguration', FelixConfigurationSpec>;
export type KubeControllersConfiguration = Resource<
  'KubeControllersConfiguration',
  KubeControllersConfigurationSpec
>;
export type ClusterInformation = Resource<'ClusterInformation', ClusterInformationSpec>;
export type IPAMConfiguration = Resource<'IPAMConfiguration', IPAMConfigurationSpec>;
export type CalicoNodeStatus = Resource<'CalicoNodeStatus', CalicoNodeStatusSpec>;

// Kubernetes kinds. `apiVersion` tells K8sNetworkPolicy apart from Calico's NetworkPolicy: both
// have kind "NetworkPolicy", so narrow on apiVersion (or use isK8sNetworkPolicy) before `kind`.
export type Namespace = Resource<'Namespace', NamespaceSpec>;
export type Pod = Resource<'Pod', PodSpec> & { status?: PodStatus };
export type ServiceAccount = Resource<'ServiceAccount', never>;
export type Service = Resource<'Service', ServiceSpec>;
export type K8sNetworkPolicy = Resource<'NetworkPolicy', K8sNetworkPolicySpec> & {
  apiVersion: typeof K8S_NETWORKING_API_VERSION;
};

export type CalicoResource =
  | IPPool
  | IPReservation
  | Tier
  | NetworkPolicy
  | GlobalNetworkPolicy
  | StagedNetworkPolicy
  | StagedGlobalNetworkPolicy
  | StagedKubernetesNetworkPolicy
  | NetworkSet
  | GlobalNetworkSet
  | HostEndpoint
  | Profile
  | Node
  | WorkloadEndpoint
  | BGPConfiguration
  | BGPPeer
  | BGPFilter
  | FelixConfiguration
  | KubeControllersConfiguration
  | ClusterInformation
  | IPAMConfiguration
  | CalicoNodeStatus;

export type KubernetesResource = Namespace | Pod | ServiceAccount | Service | K8sNetworkPolicy;

export type AnyResource = CalicoResource | KubernetesResource;

export function isK8sNetworkPolicy(r: AnyResource): r is K8sNetworkPolicy {
  return r.kind === 'NetworkPolicy' && r.apiVersion === K8S_NETWORKING_API_VERSION;
}

export function isCalicoNetworkPolicy(r: AnyResource): r is NetworkPolicy {
  return r.kind === 'NetworkPolicy' && r.apiVersion === CALICO_API_VERSION;
}
