// Address-bearing kinds: IPPool (§2.1), IPReservation (§2.2), NetworkSet / GlobalNetworkSet
// (§2.7), HostEndpoint (§2.8), Node (§2.10) and WorkloadEndpoint (§2.11, with its derived name).

import { type CIDR, cidrHasHostBits, cidrsOverlap, formatCIDR, tryParseCIDR, tryParseIP } from '../net/index.ts';
import type { KindSpec } from './kind-spec.ts';
import {
  asNumberSchema,
  cidrSchema,
  ianaServiceNameProblem,
  interfaceSchema,
  ipSchema,
  ipWithPrefixSchema,
  labelValueProblem,
  macSchema,
  netSchema,
  portNumberSchema,
  protocolSchema,
  protocolSupportsPorts,
  selectorSchema,
  subdomain,
} from './scalars.ts';
import { type Obj, type Schema, anyJSON, arr, at, bool, fail, failField, int, join, keepEmpty, obj, oneOf, str } from './schema.ts';
import { ENCAP_MODES, IPPOOL_USES } from './types.ts';

// ---------------------------------------------------------------------------------------------
// IPPool

const LINK_LOCAL: readonly CIDR[] = [tryParseCIDR('169.254.0.0/16'), tryParseCIDR('fe80::/10')].filter(
  (c): c is CIDR => c !== undefined,
);

export const DEFAULT_BLOCK_SIZE = { 4: 26, 6: 122 } as const;
const BLOCK_SIZE_RANGE = { 4: [20, 32], 6: [116, 128] } as const;

const encapMode: Schema<string> = (v, path, ctx) => (v === '' ? 'Never' : oneOf(ENCAP_MODES)(v, path, ctx));

export const ipPoolSpec: KindSpec = {
  specDefaultsWhenAbsent: true,
  spec: obj(
    {
      cidr: (v, path, ctx) => (typeof v === 'string' && v.length > 48 ? fail(ctx, path, v, 'is longer than 48 characters') : netSchema()(v, path, ctx)),
      vxlanMode: encapMode,
      ipipMode: encapMode,
      natOutgoing: bool,
      disabled: bool,
      disableBGPExport: bool,
      blockSize: int(),
      nodeSelector: selectorSchema({ noGlobal: true }),
      namespaceSelector: selectorSchema({ noGlobal: true }),
      allowedUses: (v, path, ctx) => {
        if (!Array.isArray(v)) return arr(str())(v, path, ctx);
        return arr((x, p, c) => (typeof x === 'string' && (IPPOOL_USES as readonly string[]).includes(x) ? x : fail(c, p, x, `is not valid: unknown use: ${String(x)}`)), { unique: true, max: 10 })(v, path, ctx);
      },
      assignmentMode: keepEmpty(oneOf(['Automatic', 'Manual'] as const)),
    },
    { required: ['cidr'], check: checkIPPool },
  ),
  status: anyJSON,
};

function checkIPPool(s: Obj, _path: string, ctx: Parameters<Schema>[2]): void {
  const text = s['cidr'] as string;
  const c = tryParseCIDR(text, { allowBareIP: true });
  if (c === undefined) {
    fail(ctx, 'spec.cidr', text, 'is not a valid CIDR');
    return;
  }
  const canonical = formatCIDR(c);
  if (cidrHasHostBits(text)) {
    fail(ctx, 'spec.cidr', text, `is not a valid network: host bits are set (did you mean "${canonical}"?)`);
    return;
  }
  s['cidr'] = canonical;
  for (const ll of LINK_LOCAL) {
    if (cidrsOverlap(ll, c)) fail(ctx, 'spec.cidr', text, `is not allowed: it overlaps the link-local range ${formatCIDR(ll)}`);
  }
  const family = c.family;
  let blockSize = (s['blockSize'] as number | undefined) ?? 0;
  if (blockSize === 0) blockSize = DEFAULT_BLOCK_SIZE[family];
  else {
    const [lo, hi] = BLOCK_SIZE_RANGE[family];
    if (blockSize < lo || blockSize > hi) {
      fail(ctx, 'spec.blockSize', blockSize, `is out of range: IPv${family} block size must be between ${lo} and ${hi}`);
    }
  }
  s['blockSize'] = blockSize;
  if (c.prefixLength > blockSize && s['disabled'] !== true) {
    fail(ctx, 'spec.cidr', text, `is not allowed: IP pool size is too small for use with Calico IPAM. It must be equal to or greater than the block size (/${blockSize}).`);
  }
  const ipip = (s['ipipMode'] as string | undefined) ?? 'Never';
  const vxlan = (s['vxlanMode'] as string | undefined) ?? 'Never';
  s['ipipMode'] = ipip;
  s['vxlanMode'] = vxlan;
  if (ipip !== 'Never' && vxlan !== 'Never') failField(ctx, 'spec.ipipMode', 'ipipMode and vxlanMode cannot both be enabled');
  if (family === 6 && ipip !== 'Never') fail(ctx, 'spec.ipipMode', ipip, 'is not allowed: IPIP is not supported on an IPv6 pool');
  s['nodeSelector'] ??= 'all()';
  const uses = (s['allowedUses'] as string[] | undefined) ?? [];
  if (uses.length === 0) s['allowedUses'] = ['Workload', 'Tunnel'];
  const effective = s['allowedUses'] as string[];
  if (effective.includes('LoadBalancer')) {
    if (effective.length > 1) failField(ctx, 'spec.allowedUses', 'LoadBalancer cannot be combined with Workload or Tunnel');
    if (ipip !== 'Never' || vxlan !== 'Never') failField(ctx, 'spec.allowedUses', 'a LoadBalancer pool cannot have IPIP or VXLAN enabled');
    if (s['disableBGPExport'] === true) fail(ctx, 'spec.disableBGPExport', true, 'is not allowed on a LoadBalancer pool');
    if (s['nodeSelector'] !== 'all()') fail(ctx, 'spec.nodeSelector', s['nodeSelector'], 'is not allowed: a LoadBalancer pool must use nodeSelector "all()"');
  }
  if (effective.includes('Tunnel') && typeof s['namespaceSelector'] === 'string' && s['namespaceSelector'] !== '') {
    fail(ctx, 'spec.namespaceSelector', s['namespaceSelector'], 'is not allowed on a pool whose allowedUses include Tunnel');
  }
  s['assignmentMode'] ??= 'Automatic';
}


// ---------------------------------------------------------------------------------------------
// IPReservation, network sets

export const ipReservationSpec: KindSpec = {
  specDefaultsWhenAbsent: true,
  spec: obj({ reservedCIDRs: arr(cidrSchema(), { unique: true }) }),
};

export const NAMESPACE_LABEL = 'projectcalico.org/namespace';

export const networkSetSpec: KindSpec = {
  specDefaultsWhenAbsent: true,
  spec: obj({ nets: arr(cidrSchema(), { unique: true }) }),
  finish: (res, ctx) => {
    if (res.metadata.labels?.[NAMESPACE_LABEL] !== undefined) {
      fail(ctx, `metadata.labels[${JSON.stringify(NAMESPACE_LABEL)}]`, NAMESPACE_LABEL, 'is not allowed: projectcalico.org/namespace is not a valid label name');
    }
  },
};

// ---------------------------------------------------------------------------------------------
// HostEndpoint

const portProtocolSchema: Schema<string | number> = (v, path, ctx) => {
  const p = protocolSchema(v, path, ctx);
  if (p === undefined) return undefined;
  return protocolSupportsPorts(p) ? p : fail(ctx, path, v, 'is not allowed: an endpoint port protocol must be TCP, UDP or SCTP');
};

const endpointPortSchema = obj(
  {
    name: str(ianaServiceNameProblem),
    protocol: portProtocolSchema,
    port: portNumberSchema,
  },
  { required: ['name', 'protocol', 'port'] },
);

export const hostEndpointSpec: KindSpec = {
  specDefaultsWhenAbsent: true,
  spec: obj(
    {
      node: subdomain,
      interfaceName: interfaceSchema,
      expectedIPs: arr(ipSchema(), { unique: true }),
      profiles: arr(subdomain, { unique: true }),
      ports: arr(endpointPortSchema),
    },
    {
      check: (s, _p, ctx) => {
        if (s['node'] === undefined || s['node'] === '') failField(ctx, 'spec.node', 'node must be specified');
        const ips = s['expectedIPs'] as string[] | undefined;
        if ((s['interfaceName'] === undefined || s['interfaceName'] === '') && (ips === undefined || ips.length === 0)) {
          failField(ctx, 'spec', 'at least one of interfaceName or expectedIPs must be specified');
        }
      },
    },
  ),
};

// ---------------------------------------------------------------------------------------------
// Node

export const nodeSpec: KindSpec = {
  specDefaultsWhenAbsent: true,
  spec: obj({
    bgp: obj<Obj>(
      {
        asNumber: asNumberSchema,
        ipv4Address: ipWithPrefixSchema(4),
        ipv6Address: ipWithPrefixSchema(6),
        ipv4IPIPTunnelAddr: ipSchema(4),
        routeReflectorClusterID: ipSchema(4),
      },
      { check: (b, path, ctx) => (Object.keys(b).length === 0 ? failField(ctx, path, 'Spec.BGP should not be empty') : undefined) },
    ),
    ipv4VXLANTunnelAddr: ipSchema(4),
    ipv6VXLANTunnelAddr: ipSchema(6),
    vxlanTunnelMACAddr: macSchema,
    vxlanTunnelMACAddrV6: macSchema,
    orchRefs: arr(obj({ nodeName: str(), orchestrator: str() }, { required: ['orchestrator'] })),
    wireguard: obj({ interfaceIPv4Address: ipSchema(4), interfaceIPv6Address: ipSchema(6) }),
    addresses: arr(
      obj({ address: netSchema(), type: oneOf(['CalicoNodeIP', 'InternalIP', 'ExternalIP'] as const) }, { required: ['address'] }),
    ),
    interfaces: arr(obj({ name: str(), addresses: arr(str()) }, { required: ['name'] })),
  }),
  status: obj({
    wireguardPublicKey: str(wireguardKeyProblem),
    wireguardPublicKeyV6: str(wireguardKeyProblem),
    podCIDRs: arr(cidrSchema()),
  }),
};

function wireguardKeyProblem(s: string): string | undefined {
  if (s === '') return undefined;
  return /^[A-Za-z0-9+/]{43}=$/.test(s) ? undefined : 'is not a valid WireGuard public key (32 bytes, base64)';
}

// ---------------------------------------------------------------------------------------------
// WorkloadEndpoint

export interface WorkloadEndpointIdentifiers {
  readonly node: string;
  readonly orchestrator: string;
  readonly workload?: string;
  readonly pod?: string;
  readonly containerID?: string;
  readonly endpoint: string;
}

function escapeSegment(s: string): string {
  return s.replaceAll('-', '--');
}

/** The name Calico derives for a WorkloadEndpoint from its identifiers (§2.11). */
export function workloadEndpointName(ids: WorkloadEndpointIdentifiers): string {
  let middle: string;
  switch (ids.orchestrator) {
    case 'k8s':
      middle = ids.pod ?? '';
      break;
    case 'cni':
      middle = ids.containerID ?? '';
      break;
    case 'libnetwork':
      middle = 'libnetwork';
      break;
    default:
      middle = ids.workload ?? '';
  }
  return [ids.node, ids.orchestrator, middle, ids.endpoint].map(escapeSegment).join('-');
}

const CONTAINER_ID_RE = /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;

const wepPortSchema = obj(
  {
    name: str(ianaServiceNameProblem),
    protocol: portProtocolSchema,
    port: portNumberSchema,
    hostPort: int(0, 65535),
    hostIP: ipSchema(),
  },
  {
    required: ['protocol', 'port'],
    check: (p, path, ctx) => {
      if ((p['name'] === undefined || p['name'] === '') && (p['hostPort'] === undefined || p['hostPort'] === 0)) {
        failField(ctx, join(path, 'name'), 'is required unless hostPort is set');
      }
    },
  },
);

const qosControlsFields = Object.fromEntries(
  [
    'ingressBandwidth',
    'egressBandwidth',
    'ingressBurst',
    'egressBurst',
    'ingressPeakrate',
    'egressPeakrate',
    'ingressMinburst',
    'egressMinburst',
    'ingressPacketRate',
    'egressPacketRate',
    'ingressPacketBurst',
    'egressPacketBurst',
    'ingressMaxConnections',
    'egressMaxConnections',
  ].map((k) => [k, int(0)]),
);

const DSCP_NAMES = ['DF', 'EF', 'AF11', 'AF12', 'AF13', 'AF21', 'AF22', 'AF23', 'AF31', 'AF32', 'AF33', 'AF41', 'AF42', 'AF43', 'CS0', 'CS1', 'CS2', 'CS3', 'CS4', 'CS5', 'CS6'];

const dscpSchema: Schema<number | string> = (v, path, ctx) => {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 && v <= 63 ? v : fail(ctx, path, v, 'is not a valid DSCP value (0-63)');
  if (typeof v === 'string' && DSCP_NAMES.includes(v.toUpperCase())) return v;
  return fail(ctx, path, v, 'is not a valid DSCP value');
};

const subdomainOrEmpty: Schema<string> = (v, path, ctx) => (v === '' ? v : subdomain(v, path, ctx));

export const workloadEndpointSpec: KindSpec = {
  specDefaultsWhenAbsent: true,
  spec: obj(
    {
      orchestrator: subdomainOrEmpty,
      workload: subdomainOrEmpty,
      node: subdomainOrEmpty,
      containerID: str((s) => (s === '' || CONTAINER_ID_RE.test(s) ? undefined : 'is not a valid container ID')),
      pod: subdomainOrEmpty,
      endpoint: subdomainOrEmpty,
      serviceAccountName: subdomainOrEmpty,
      ipNetworks: arr(netSchema()),
      ipNATs: arr(obj({ internalIP: ipSchema(), externalIP: ipSchema() }, { required: ['internalIP', 'externalIP'] })),
      ipv4Gateway: ipSchema(4),
      ipv6Gateway: ipSchema(6),
      profiles: arr(subdomain),
      interfaceName: interfaceSchema,
      mac: macSchema,
      ports: arr(wepPortSchema),
      allowSpoofedSourcePrefixes: arr(cidrSchema()),
      qosControls: obj({ ...qosControlsFields, dscp: dscpSchema }),
    },
    // Calico's validator refuses a WorkloadEndpoint without interfaceName (the dataplane keys on it).
    { required: ['interfaceName'], check: checkWEPSpec },
  ),
  finish: (res, ctx) => {
    const s = res.spec ?? {};
    const ids = {
      node: (s['node'] as string | undefined) ?? '',
      orchestrator: (s['orchestrator'] as string | undefined) ?? '',
      workload: (s['workload'] as string | undefined) ?? '',
      pod: (s['pod'] as string | undefined) ?? '',
      containerID: (s['containerID'] as string | undefined) ?? '',
      endpoint: (s['endpoint'] as string | undefined) ?? '',
    };
    for (const k of ['node', 'orchestrator', 'endpoint'] as const) {
      if (ids[k] === '') failField(ctx, `spec.${k}`, 'is required to identify the WorkloadEndpoint');
    }
    if (ids.node !== '' && ids.orchestrator !== '' && ids.endpoint !== '') {
      const expected = workloadEndpointName(ids);
      if (res.metadata.name !== expected) {
        fail(ctx, 'metadata.name', res.metadata.name, `does not match: the WorkloadEndpoint name does not match the primary identifiers assigned in the Spec: expected name ${expected}`);
      }
    }
    // §2.11: labels Calico forces on every endpoint so selectors can scope by namespace.
    const labels: Record<string, string> = { ...res.metadata.labels };
    if (res.metadata.namespace !== undefined && res.metadata.namespace !== '') labels['projectcalico.org/namespace'] = res.metadata.namespace;
    if (ids.orchestrator !== '') labels['projectcalico.org/orchestrator'] = ids.orchestrator;
    const sa = s['serviceAccountName'];
    if (typeof sa === 'string' && sa !== '' && sa.length < 63 && labelValueProblem(sa) === undefined) {
      labels['projectcalico.org/serviceaccount'] = sa;
    }
    res.metadata.labels = labels;
  },
};

function checkWEPSpec(s: Obj, path: string, ctx: Parameters<Schema>[2]): void {
  const nets = ((s['ipNetworks'] as string[] | undefined) ?? []).map((t) => tryParseCIDR(t, { allowBareIP: true }));
  nets.forEach((c, i) => {
    if (c !== undefined && c.prefixLength !== (c.family === 4 ? 32 : 128)) {
      fail(ctx, at(join(path, 'ipNetworks'), i), (s['ipNetworks'] as string[])[i], 'is not allowed: each ipNetwork must be a single address (/32 or /128)');
    }
  });
  const nats = (s['ipNATs'] as { internalIP: string; externalIP: string }[] | undefined) ?? [];
  nats.forEach((n, i) => {
    const p = at(join(path, 'ipNATs'), i);
    const a = tryParseIP(n.internalIP);
    const b = tryParseIP(n.externalIP);
    if (a !== undefined && b !== undefined && a.family !== b.family) {
      fail(ctx, join(p, 'externalIP'), n.externalIP, `is not allowed: it is not the same IP family as internalIP ${JSON.stringify(n.internalIP)}`);
    }
    if (a !== undefined && !nets.some((c) => c !== undefined && c.family === a.family && c.network === a.value)) {
      fail(ctx, join(p, 'internalIP'), n.internalIP, 'is not allowed: it is not one of the ipNetworks');
    }
  });
}
