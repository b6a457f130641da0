// Configuration kinds: BGPConfiguration (§2.12), BGPPeer (§2.13), BGPFilter (§2.14),
// FelixConfiguration (§2.15), KubeControllersConfiguration (§2.16), ClusterInformation
// (§2.17), IPAMConfiguration (§2.18) and CalicoNodeStatus (§2.19).

import { tryParseCIDR, tryParseIP } from '../net/index.ts';
import { FELIX_CALICO_FIELDS, regexSchema } from './felix-fields.ts';
import type { KindSpec } from './kind-spec.ts';
import {
  annotationMap,
  asNumberSchema,
  cidrSchema,
  communityValueProblem,
  durationSchema,
  interfaceSchema,
  ipSchema,
  labelMap,
  labelNameProblem,
  netSchema,
  numericPortSchema,
  portNumberSchema,
  protocolSchema,
  protocolSupportsPorts,
  selectorSchema,
  subdomain,
} from './scalars.ts';
import { type Ctx, type Obj, type Schema, anyJSON, arr, at, bool, fail, failField, int, join, keepEmpty, obj, oneOf, str } from './schema.ts';

const LOG_SEVERITIES = ['Trace', 'Debug', 'Info', 'Warning', 'Error', 'Fatal'] as const;
const logSeverity: Schema<string> = (v, path, ctx) => (v === '' ? v : oneOf(LOG_SEVERITIES, true)(v, path, ctx));
const enabledDisabled = oneOf(['Enabled', 'Disabled'] as const);
const PROGRAM_CLUSTER_ROUTES = ['Enabled', 'Disabled', 'EnabledIPIPOnly', 'EnabledNoEncapOnly'] as const;
const routePriority = int(1, 2147483646);

const secretKeyRefSchema = obj({
  secretKeyRef: obj({ name: str(), key: str(), optional: bool }, { required: ['name', 'key'] }),
});

function singletonName(kindText: string): (n: string) => string | undefined {
  return (n) => (n === 'default' ? undefined : `is not allowed: Cannot create ${kindText} resource with a name other than "default"`);
}

// ---------------------------------------------------------------------------------------------
// BGPConfiguration

const DEFAULT_ONLY_BGP_FIELDS = [
  'nodeToNodeMeshEnabled',
  'asNumber',
  'serviceLoadBalancerIPs',
  'serviceExternalIPs',
  'serviceClusterIPs',
  'nodeMeshPassword',
  'nodeMeshMaxRestartTime',
] as const;

const ignoredInterface: Schema<string> = str((s) =>
  s !== '*' && /^[a-zA-Z0-9_.*-]{1,15}$/.test(s) ? undefined : 'is not a valid interface pattern ([a-zA-Z0-9_.*-]{1,15}, not "*" alone)',
);

export const bgpConfigurationSpec: KindSpec = {
  specDefaultsWhenAbsent: true,
  spec: obj(
    {
      logSeverityScreen: logSeverity,
      nodeToNodeMeshEnabled: bool,
      asNumber: asNumberSchema,
      serviceLoadBalancerIPs: arr(obj({ cidr: netSchema() }, { required: ['cidr'] })),
      serviceExternalIPs: arr(obj({ cidr: netSchema() }, { required: ['cidr'] })),
      serviceClusterIPs: arr(obj({ cidr: netSchema() }, { required: ['cidr'] })),
      serviceLoadBalancerAggregation: enabledDisabled,
      communities: arr(obj({ name: str(), value: str(communityValueProblem) }, { required: ['name', 'value'] }), { max: 500 }),
      prefixAdvertisements: arr(obj({ cidr: netSchema(), communities: arr(str(), { max: 50 }) }, { required: ['cidr'] }), { max: 500 }),
      listenPort: portNumberSchema,
      nodeMeshPassword: secretKeyRefSchema,
      nodeMeshMaxRestartTime: durationSchema,
      bindMode: oneOf(['None', 'NodeIP'] as const),
      ignoredInterfaces: arr(ignoredInterface, { unique: true }),
      localWorkloadPeeringIPV4: ipSchema(4),
      localWorkloadPeeringIPV6: ipSchema(6),
      programClusterRoutes: oneOf(PROGRAM_CLUSTER_ROUTES),
      ipv4NormalRoutePriority: routePriority,
      ipv6NormalRoutePriority: routePriority,
    },
    { check: checkBGPConfiguration },
  ),
  finish: (res, ctx) => {
    if (res.metadata.name === 'default') return;
    for (const f of DEFAULT_ONLY_BGP_FIELDS) {
      if (res.spec?.[f] !== undefined) failField(ctx, `spec.${f}`, `Cannot set ${f} on a non default BGP Configuration.`);
    }
  },
};

function checkBGPConfiguration(s: Obj, path: string, ctx: Ctx): void {
  const communities = (s['communities'] as { name: string }[] | undefined) ?? [];
  const names = new Set(communities.map((c) => c.name));
  const ads = (s['prefixAdvertisements'] as { cidr: string; communities?: string[] }[] | undefined) ?? [];
  if (communities.length > 0 && ads.length === 0) {
    failField(ctx, join(path, 'communities'), 'communities are defined but not used in prefixAdvertisements');
  }
  ads.forEach((a, i) => {
    (a.communities ?? []).forEach((c, j) => {
      if (!names.has(c) && communityValueProblem(c) !== undefined) {
        fail(ctx, at(join(at(join(path, 'prefixAdvertisements'), i), 'communities'), j), c, 'is neither a community value nor a name defined in communities');
      }
    });
  });
  if (s['nodeToNodeMeshEnabled'] === false) {
    for (const f of ['nodeMeshPassword', 'nodeMeshMaxRestartTime']) {
      if (s[f] !== undefined) failField(ctx, join(path, f), 'requires the node-to-node mesh to be enabled');
    }
  }
}

// ---------------------------------------------------------------------------------------------
// BGPPeer

const peerIPSchema: Schema<string> = str((s) => {
  if (s.length > 64) return 'is not a valid peer IP: longer than 64 characters';
  if (tryParseIP(s) !== undefined) return undefined;
  const v6 = /^\[([^\]]+)\]:([0-9]+)$/.exec(s);
  const v4 = /^([0-9.]+):([0-9]+)$/.exec(s);
  const m = v6 ?? v4;
  if (m !== null) {
    const ip = tryParseIP(m[1] ?? '');
    const port = Number(m[2]);
    if (ip !== undefined && ip.family === (v6 !== null ? 6 : 4) && port >= 1 && port <= 65535) return undefined;
  }
  return 'is not a valid peer IP (expected IP, IPv4:port or [IPv6]:port)';
});

function peerIPFamily(s: string): 4 | 6 | undefined {
  const bare = tryParseIP(s);
  if (bare !== undefined) return bare.family;
  return s.startsWith('[') ? 6 : 4;
}

export const bgpPeerSpec: KindSpec = {
  specDefaultsWhenAbsent: true,
  spec: obj(
    {
      node: subdomain,
      nodeSelector: selectorSchema(),
      peerIP: peerIPSchema,
      asNumber: asNumberSchema,
      localASNumber: asNumberSchema,
      peerSelector: selectorSchema(),
      keepOriginalNextHop: bool,
      nextHopMode: oneOf(['Auto', 'Self', 'Keep'] as const),
      password: secretKeyRefSchema,
      sourceAddress: oneOf(['UseNodeIP', 'None'] as const),
      maxRestartTime: durationSchema,
      keepaliveTime: durationSchema,
      numAllowedLocalASNumbers: int(0, 2147483647),
      ttlSecurity: int(0, 255),
      reachableBy: ipSchema(),
      filters: arr(subdomain),
      localWorkloadSelector: selectorSchema(),
      reversePeering: oneOf(['Auto', 'Manual'] as const),
    },
    { check: checkBGPPeer },
  ),
};

function checkBGPPeer(s: Obj, path: string, ctx: Ctx): void {
  const has = (k: string): boolean => s[k] !== undefined && s[k] !== '';
  if (has('node') && has('nodeSelector')) failField(ctx, join(path, 'nodeSelector'), 'cannot be set together with node');
  if (has('peerIP') && has('peerSelector')) failField(ctx, join(path, 'peerSelector'), 'cannot be set together with peerIP');
  if (has('peerSelector') && s['asNumber'] !== undefined && s['asNumber'] !== 0) {
    fail(ctx, join(path, 'asNumber'), s['asNumber'], 'is not allowed: asNumber must be empty when peerSelector is set');
  }
  if (has('localWorkloadSelector')) {
    if (has('peerIP') || has('peerSelector')) failField(ctx, join(path, 'localWorkloadSelector'), 'cannot be set together with peerIP or peerSelector');
    if (s['asNumber'] === undefined || s['asNumber'] === 0) failField(ctx, join(path, 'asNumber'), 'is required when localWorkloadSelector is set');
  }
  if (s['keepOriginalNextHop'] === true && has('nextHopMode')) failField(ctx, join(path, 'keepOriginalNextHop'), 'cannot be set together with nextHopMode');
  if (has('reachableBy')) {
    if (!has('peerIP')) failField(ctx, join(path, 'reachableBy'), 'requires peerIP');
    else {
      const a = tryParseIP(s['reachableBy'] as string);
      if (a !== undefined && a.family !== peerIPFamily(s['peerIP'] as string)) {
        fail(ctx, join(path, 'reachableBy'), s['reachableBy'], 'is not allowed: it must be the same IP family as peerIP');
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// BGPFilter

function bgpFilterRule(family: 4 | 6): Schema {
  const bits = family === 4 ? 32 : 128;
  return obj<Obj>(
    {
      cidr: refineLen(netSchema(family), family === 4 ? 18 : 43),
      matchOperator: oneOf(['Equal', 'NotEqual', 'In', 'NotIn'] as const),
      prefixLength: obj({ min: int(0, bits), max: int(0, bits) }),
      source: oneOf(['RemotePeers'] as const),
      interface: str((x) => (x === '*' || /^[a-zA-Z0-9_.*-]{1,15}$/.test(x) ? undefined : 'is not a valid interface pattern')),
      peerType: oneOf(['eBGP', 'iBGP'] as const),
      communities: obj({ values: arr(str(communityValueProblem), { min: 1, max: 1 }) }),
      asPathPrefix: arr(asNumberSchema),
      priority: int(1, 2147483646),
      action: oneOf(['Accept', 'Reject'] as const),
      operations: arr(
        obj<Obj>(
          {
            addCommunity: obj({ value: str(communityValueProblem) }, { required: ['value'] }),
            prependASPath: obj({ prefix: arr(asNumberSchema, { min: 1, max: 10 }) }, { required: ['prefix'] }),
            setPriority: obj({ value: int(1, 2147483646) }, { required: ['value'] }),
          },
          { check: (o, p, ctx) => (Object.keys(o).length !== 1 ? failField(ctx, p, 'must set exactly one of addCommunity, prependASPath or setPriority') : undefined) },
        ),
        { min: 1, max: 10 },
      ),
    },
    {
      required: ['action'],
      check: (r, path, ctx) => {
        if ((r['cidr'] === undefined) !== (r['matchOperator'] === undefined)) {
          failField(ctx, join(path, 'matchOperator'), 'cidr and matchOperator must be set together');
        }
        if (r['prefixLength'] !== undefined && r['cidr'] === undefined) failField(ctx, join(path, 'prefixLength'), 'requires cidr');
        if (r['operations'] !== undefined && r['action'] !== 'Accept') failField(ctx, join(path, 'operations'), 'are only allowed when action is Accept');
        const pl = r['prefixLength'] as { min?: number; max?: number } | undefined;
        const c = typeof r['cidr'] === 'string' ? tryParseCIDR(r['cidr']) : undefined;
        if (pl !== undefined && c !== undefined) {
          const min = pl.min ?? c.prefixLength;
          const max = pl.max ?? bits;
          if (min < c.prefixLength) fail(ctx, join(join(path, 'prefixLength'), 'min'), min, `is not allowed: less than the cidr prefix length (${c.prefixLength})`);
          if (max < min) fail(ctx, join(join(path, 'prefixLength'), 'max'), max, `is not allowed: less than min (${min})`);
        }
      },
    },
  );
}

function refineLen(s: Schema<string>, maxLen: number): Schema<string> {
  return (v, path, ctx) => (typeof v === 'string' && v.length > maxLen ? fail(ctx, path, v, `is longer than ${maxLen} characters`) : s(v, path, ctx));
}

export const bgpFilterSpec: KindSpec = {
  specDefaultsWhenAbsent: true,
  spec: obj({
    exportV4: arr(bgpFilterRule(4)),
    importV4: arr(bgpFilterRule(4)),
    exportV6: arr(bgpFilterRule(6)),
    importV6: arr(bgpFilterRule(6)),
  }),
};

// ---------------------------------------------------------------------------------------------
// FelixConfiguration

const protoPortSchema = obj<Obj>(
  {
    protocol: (v, path, ctx) => {
      const p = protocolSchema(v, path, ctx);
      if (p === undefined) return undefined;
      return protocolSupportsPorts(p) ? p : fail(ctx, path, v, 'is not allowed: failsafe port protocol must be TCP, UDP or SCTP');
    },
    port: int(0, 65535),
    net: cidrSchema(),
  },
  { required: ['protocol', 'port'] },
);

const LOG_PREFIX_RE = /^[a-zA-Z0-9%: /_-]*$/;
const OPENSTACK_REGION_MAX = 63 - 'openstack-region-'.length;

const felixFields: Record<string, Schema> = {
  nodeSelector: selectorSchema(),
  logSeverityScreen: logSeverity,
  logSeverityFile: logSeverity,
  logSeveritySys: logSeverity,
  logFilePath: str(),
  ipv6Support: bool,
  bpfEnabled: bool,
  nftablesMode: keepEmpty(oneOf(['Disabled', 'Enabled', 'Auto'] as const)),
  iptablesBackend: keepEmpty(oneOf(['Legacy', 'NFT', 'Auto'] as const)),
  chainInsertMode: oneOf(['Insert', 'Append'] as const, true),
  defaultEndpointToHostAction: oneOf(['Drop', 'Accept', 'Return'] as const, true),
  iptablesFilterAllowAction: oneOf(['Accept', 'Return'] as const, true),
  iptablesMangleAllowAction: oneOf(['Accept', 'Return'] as const, true),
  iptablesFilterDenyAction: oneOf(['Drop', 'Reject'] as const, true),
  nftablesFilterAllowAction: oneOf(['Accept', 'Return'] as const, true),
  nftablesMangleAllowAction: oneOf(['Accept', 'Return'] as const, true),
  nftablesFilterDenyAction: oneOf(['Drop', 'Reject'] as const, true),
  logPrefix: str((s) => (LOG_PREFIX_RE.test(s) ? undefined : 'is not a valid log prefix (allowed characters: a-z A-Z 0-9 % : / _ - and space)')),
  logActionRateLimit: str((s) => (/^[1-9][0-9]{0,3}\/(second|minute|hour|day)$/.test(s) ? undefined : 'is not a valid rate limit (e.g. "10/second")')),
  logActionRateLimitBurst: int(0, 9999),
  interfacePrefix: str((s) => (/^[a-zA-Z0-9_-]+(,[a-zA-Z0-9_-]+)*$/.test(s) ? undefined : 'is not a valid interface prefix list')),
  interfaceExclude: str(),
  ipipEnabled: bool,
  vxlanEnabled: bool,
  ipipMTU: int(0, 65535),
  vxlanMTU: int(0, 65535),
  vxlanMTUV6: int(0, 65535),
  vxlanPort: int(1, 65535),
  vxlanVNI: int(0, 16777215),
  allowVXLANPacketsFromWorkloads: bool,
  allowIPIPPacketsFromWorkloads: bool,
  failsafeInboundHostPorts: arr(protoPortSchema),
  failsafeOutboundHostPorts: arr(protoPortSchema),
  kubeNodePortRanges: arr(numericPortSchema, { max: 7 }),
  natOutgoingAddress: ipSchema(4),
  natOutgoingExclusions: keepEmpty(oneOf(['IPPoolsOnly', 'IPPoolsAndHostIPs'] as const)),
  natPortRange: numericPortSchema,
  healthEnabled: bool,
  healthHost: str(),
  healthPort: int(0, 65535),
  prometheusMetricsEnabled: bool,
  prometheusMetricsPort: int(0, 65535),
  reportingInterval: durationSchema,
  reportingTTL: durationSchema,
  routeRefreshInterval: durationSchema,
  iptablesRefreshInterval: durationSchema,
  ipsetsRefreshInterval: durationSchema,
  nftablesRefreshInterval: durationSchema,
  iptablesLockTimeout: durationSchema,
  iptablesPostWriteCheckInterval: durationSchema,
  netlinkTimeout: durationSchema,
  routeTableRange: obj({ min: int(1, 250), max: int(1, 250) }, { required: ['min', 'max'], check: rangeOrder }),
  routeTableRanges: arr(obj({ min: int(1, 4294967295), max: int(1, 4294967295) }, { required: ['min', 'max'], check: rangeOrder })),
  routeSource: oneOf(['WorkloadIPs', 'CalicoIPAM'] as const, true),
  programClusterRoutes: oneOf(PROGRAM_CLUSTER_ROUTES),
  ipForwarding: enabledDisabled,
  wireguardEnabled: bool,
  wireguardEnabledV6: bool,
  wireguardListeningPort: portNumberSchema,
  wireguardListeningPortV6: portNumberSchema,
  wireguardInterfaceName: interfaceSchema,
  wireguardInterfaceNameV6: interfaceSchema,
  wireguardMTU: int(0, 65535),
  wireguardMTUV6: int(0, 65535),
  // Felix: RoutingRulePriority gt=0,lt=32766 (32766 is the kernel's main-table rule)
  wireguardRoutingRulePriority: int(1, 32765),
  wireguardKeepAlive: durationSchema,
  wireguardHostEncryptionEnabled: bool,
  wireguardThreadingEnabled: bool,
  serviceLoopPrevention: oneOf(['Drop', 'Reject', 'Disabled'] as const, true),
  workloadSourceSpoofing: oneOf(['Disabled', 'Any'] as const, true),
  bpfExternalServiceMode: oneOf(['Tunnel', 'DSR'] as const, true),
  bpfConnectTimeLoadBalancing: keepEmpty(oneOf(['TCP', 'Enabled', 'Disabled'] as const)),
  bpfHostNetworkedNATWithoutCTLB: enabledDisabled,
  bpfLogLevel: oneOf(['Off', 'Info', 'Debug'] as const, true),
  xdpEnabled: bool,
  genericXDPEnabled: bool,
  floatingIPs: enabledDisabled,
  ipv4NormalRoutePriority: routePriority,
  ipv4ElevatedRoutePriority: routePriority,
  ipv6NormalRoutePriority: routePriority,
  ipv6ElevatedRoutePriority: routePriority,
  externalNodesList: arr(cidrSchema(4)),
  openstackRegion: str((s) => labelNameProblem(s, OPENSTACK_REGION_MAX)),
  featureGates: str(keyValueListProblem),
  featureDetectOverride: str(keyValueListProblem),
  healthTimeoutOverrides: arr(
    obj({ name: str((s) => (/^[a-zA-Z0-9_ -]+$/.test(s) ? undefined : 'is not a valid health timeout name')), timeout: durationSchema }, { required: ['name', 'timeout'] }),
  ),
  deviceRouteSourceAddress: ipSchema(4),
  deviceRouteSourceAddressIPv6: ipSchema(6),
  deviceRouteProtocol: int(0, 255),
  removeExternalRoutes: bool,
  mtuIfacePattern: regexSchema,
  sidecarAccelerationEnabled: bool,
  useInternalDataplaneDriver: bool,
  dataplaneDriver: str(),
  endpointReportingEnabled: bool,
  policySyncPathPrefix: str(),
  maxIpsetSize: int(0),
  iptablesMarkMask: int(0, 4294967295),
  nftablesMarkMask: int(0, 4294967295),
  iptablesNATOutgoingInterfaceFilter: str(),
  debugMemoryProfilePath: str(),
  usageReportingEnabled: bool,
  ...FELIX_CALICO_FIELDS,
};

function rangeOrder(r: Obj, path: string, ctx: Ctx): void {
  if ((r['min'] as number) > (r['max'] as number)) fail(ctx, join(path, 'max'), r['max'], `is not allowed: less than min (${String(r['min'])})`);
}

function keyValueListProblem(s: string): string | undefined {
  if (s === '') return undefined;
  return s.split(',').every((kv) => /^[a-zA-Z0-9_.-]+=[^,=]*$/.test(kv.trim())) ? undefined : 'is not a valid key=value list';
}

export const felixConfigurationSpec: KindSpec = {
  specDefaultsWhenAbsent: true,
  spec: obj(felixFields, {
    check: (s, path, ctx) => {
      if (s['routeTableRange'] !== undefined && s['routeTableRanges'] !== undefined) {
        failField(ctx, join(path, 'routeTableRanges'), 'cannot be set together with routeTableRange');
      }
      const ranges = (s['routeTableRanges'] as { min: number; max: number }[] | undefined) ?? [];
      const total = ranges.reduce((n, r) => n + (r.max - r.min + 1), 0);
      if (total > 65535) failField(ctx, join(path, 'routeTableRanges'), `cover ${total} tables, at most 65535 are allowed`);
    },
  }),
  finish: (res, ctx) => {
    const spec = (res.spec ??= {});
    const name = res.metadata.name;
    const scoped = name !== 'default' && !name.startsWith('node.');
    if (!scoped && spec['nodeSelector'] !== undefined) {
      failField(ctx, 'spec.nodeSelector', `is only allowed on a FelixConfiguration named other than "default" or "node.<nodename>"`);
    }
    if (scoped && (spec['nodeSelector'] === undefined || spec['nodeSelector'] === '')) {
      failField(ctx, 'spec.nodeSelector', `is required on a FelixConfiguration not named "default" or "node.<nodename>"`);
    }
    // etcd-mode client defaults (§2.15).
    spec['floatingIPs'] ??= 'Disabled';
    spec['bpfConnectTimeLoadBalancing'] ??= 'TCP';
    spec['bpfHostNetworkedNATWithoutCTLB'] ??= 'Enabled';
  },
};

// ---------------------------------------------------------------------------------------------
// KubeControllersConfiguration

const reconcilerOnly = obj({ reconcilerPeriod: durationSchema });

const hepTemplate = obj<Obj>(
  {
    generateName: str(undefined, 253),
    interfaceCIDRs: arr(cidrSchema()),
    interfacePattern: str(),
    labels: labelMap,
    annotations: annotationMap,
    nodeSelector: selectorSchema(),
  },
  {
    required: ['generateName'],
    check: (t, path, ctx) => {
      const cidrs = t['interfaceCIDRs'] as string[] | undefined;
      if ((cidrs === undefined || cidrs.length === 0) && (t['interfacePattern'] === undefined || t['interfacePattern'] === '')) {
        failField(ctx, path, 'at least one of interfaceCIDRs or interfacePattern must be specified');
      }
      t['nodeSelector'] ??= 'all()';
    },
  },
);

export const kubeControllersConfigurationSpec: KindSpec = {
  specDefaultsWhenAbsent: true,
  name: singletonName('a Kube Controllers Configuration'),
  spec: obj({
    logSeverityScreen: oneOf(['None', 'Debug', 'Info', 'Warning', 'Error', 'Fatal', 'Panic'] as const, true),
    healthChecks: enabledDisabled,
    etcdV3CompactionPeriod: durationSchema,
    prometheusMetricsPort: int(0, 65535),
    debugProfilePort: int(0, 65535),
    controllers: obj({
      node: obj<Obj>(
        {
          reconcilerPeriod: durationSchema,
          syncLabels: enabledDisabled,
          hostEndpoint: obj<Obj>({
            autoCreate: enabledDisabled,
            createDefaultHostEndpoint: enabledDisabled,
            templates: arr(hepTemplate, { unique: false }),
          }, {
            check: (h, path, ctx) => {
              const names = ((h['templates'] as Obj[] | undefined) ?? []).map((t) => t['generateName']);
              names.forEach((n, i) => {
                if (names.indexOf(n) !== i) fail(ctx, join(at(join(path, 'templates'), i), 'generateName'), n, 'is specified more than once');
              });
            },
          }),
          leakGracePeriod: durationSchema,
        },
        { check: (n) => void (n['leakGracePeriod'] ??= '15m') },
      ),
      policy: reconcilerOnly,
      workloadEndpoint: reconcilerOnly,
      serviceAccount: reconcilerOnly,
      namespace: reconcilerOnly,
      loadBalancer: obj<Obj>(
        { assignIPs: oneOf(['AllServices', 'RequestedServicesOnly'] as const) },
        { check: (l) => void (l['assignIPs'] ??= 'AllServices') },
      ),
      migration: obj({ policyNameMigrator: enabledDisabled }),
    }),
  }),
  status: anyJSON,
  finish: (res) => {
    const spec = (res.spec ??= {});
    spec['prometheusMetricsPort'] ??= 9094;
  },
};

// ---------------------------------------------------------------------------------------------
// ClusterInformation, IPAMConfiguration, CalicoNodeStatus

export const clusterInformationSpec: KindSpec = {
  specDefaultsWhenAbsent: true,
  name: singletonName('a ClusterInformation'),
  spec: obj({ clusterGUID: str(), clusterType: str(), calicoVersion: str(), datastoreReady: bool, variant: str() }),
};

export const ipamConfigurationSpec: KindSpec = {
  specDefaultsWhenAbsent: true,
  name: singletonName('an IPAMConfiguration'),
  spec: obj({
    strictAffinity: bool,
    autoAllocateBlocks: bool,
    maxBlocksPerHost: int(0, 1_000_000),
    kubeVirtVMAddressPersistence: enabledDisabled,
    ipCooldownSeconds: int(0, 1200),
  }),
  finish: (res) => {
    const spec = (res.spec ??= {});
    spec['strictAffinity'] ??= false;
    spec['autoAllocateBlocks'] ??= true;
  },
};

export const calicoNodeStatusSpec: KindSpec = {
  spec: obj(
    {
      node: subdomain,
      classes: arr(oneOf(['Agent', 'BGP', 'Routes'] as const), { unique: true }),
      updatePeriodSeconds: int(0, 86400),
    },
    { required: ['node', 'classes'] },
  ),
  status: anyJSON,
};
