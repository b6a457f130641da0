// Which FelixConfiguration fields the agent acts on. Every field of Calico's FelixConfiguration
// is accepted (api/calico-fields.ts); a field set in the datastore but not in this list changes
// nothing on this node, and the agent says so once (log line and `tricolor node status`) rather
// than refusing the object or dropping it whole. Whoever makes the agent act on a field adds it here.

export const FELIX_FIELDS_IN_EFFECT: ReadonlySet<string> = new Set([
  // agent process (agent-config.ts)
  'healthEnabled',
  'healthHost',
  'healthPort',
  'prometheusMetricsEnabled',
  'prometheusMetricsHost',
  'prometheusMetricsPort',
  'nftablesRefreshInterval',
  'routeRefreshInterval',
  'nodeSelector',
  // nft dataplane (dataplane-state.ts)
  'defaultEndpointToHostAction',
  'interfacePrefix',
  'failsafeInboundHostPorts',
  'failsafeOutboundHostPorts',
  'nftablesFilterDenyAction',
  'logPrefix',
  // flow logs (flow-log-manager.ts; the nft renderer's verdict logs)
  'flowLogsGoldmaneServer',
  'flowLogsFlushInterval',
  // dataplane selection (dataplane/dataplane.ts: dataplaneKindOf)
  'bpfEnabled',
  // VXLAN (calc/vxlan-resolver.ts)
  'vxlanEnabled',
  'vxlanVNI',
  'vxlanPort',
  'vxlanMTU',
  // WireGuard (wireguard-plan.ts); wireguardHostEncryptionEnabled, wireguardThreadingEnabled and the V6 fields are not acted on
  'wireguardEnabled',
  'wireguardListeningPort',
  'wireguardInterfaceName',
  'wireguardMTU',
  'wireguardRoutingRulePriority',
  'wireguardKeepAlive',
  'routeTableRange',
  'routeTableRanges',
  // pod MTU (mtu-plan.ts)
  'mtuIfacePattern',
  'ipipMTU',
  'ipipEnabled',
]);

/** Values validation fills in on every stored FelixConfiguration (api/config-specs.ts): not the user's. */
const FILLED_DEFAULTS: Readonly<Record<string, unknown>> = {
  floatingIPs: 'Disabled',
  bpfConnectTimeLoadBalancing: 'TCP',
  bpfHostNetworkedNATWithoutCTLB: 'Enabled',
};

/** The fields of a merged spec that are set but not acted on, sorted. */
export function fieldsNotInEffect(spec: Readonly<Record<string, unknown>>): string[] {
  return Object.keys(spec)
    .filter((k) => spec[k] !== undefined && !FELIX_FIELDS_IN_EFFECT.has(k) && FILLED_DEFAULTS[k] !== spec[k])
    .sort();
}
