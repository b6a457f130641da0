// Pool and address choice from Kubernetes annotations (node contract §2.10): pod annotation over
// namespace annotation over CNI config; `ipAddrs` (pod only) asks for specific addresses.
// Pure: callers pass the annotation maps they already read.

import { TricolorError, quote } from '../base/index.ts';
import { tryParseIP } from '../net/index.ts';

export const ANN_IPV4_POOLS = 'cni.projectcalico.org/ipv4pools';
export const ANN_IPV6_POOLS = 'cni.projectcalico.org/ipv6pools';
export const ANN_IP_ADDRS = 'cni.projectcalico.org/ipAddrs';
export const ANN_IP_ADDRS_NO_IPAM = 'cni.projectcalico.org/ipAddrsNoIpam';
export const ANN_IP_FAMILIES = 'cni.projectcalico.org/ipFamilies';

export type Annotations = Readonly<Record<string, string>>;

export interface AnnotationChoice {
  readonly ipv4Pools?: readonly string[];
  readonly ipv6Pools?: readonly string[];
  /** Specific addresses to AssignIP (≤1 IPv4 and ≤1 IPv6). */
  readonly ipAddrs?: readonly string[];
  readonly ipFamilies?: readonly ('IPv4' | 'IPv6')[];
}

function jsonList(where: string, key: string, text: string): string[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new TricolorError('ERR_IPAM_INVALID_REQUEST', `${where} annotation ${key}: ${quote(text)} is not a JSON list`, { field: key, value: text });
  }
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
    throw new TricolorError('ERR_IPAM_INVALID_REQUEST', `${where} annotation ${key}: ${quote(text)} must be a JSON list of strings`, { field: key, value: text });
  }
  return v;
}

/** Resolve the annotations of a pod and its namespace; the CNI config lists are the fallback. */
export function choiceFromAnnotations(
  pod: Annotations,
  namespace: Annotations,
  cniConfig: { readonly ipv4Pools?: readonly string[]; readonly ipv6Pools?: readonly string[] } = {},
): AnnotationChoice {
  const pick = (key: string): readonly string[] | undefined => {
    const p = pod[key];
    if (p !== undefined) return jsonList('pod', key, p);
    const n = namespace[key];
    if (n !== undefined) return jsonList('namespace', key, n);
    return undefined;
  };
  const v4 = pick(ANN_IPV4_POOLS) ?? cniConfig.ipv4Pools;
  const v6 = pick(ANN_IPV6_POOLS) ?? cniConfig.ipv6Pools;
  if (pod[ANN_IP_ADDRS] !== undefined && pod[ANN_IP_ADDRS_NO_IPAM] !== undefined) {
    throw new TricolorError('ERR_IPAM_INVALID_REQUEST', `pod annotations ${ANN_IP_ADDRS} and ${ANN_IP_ADDRS_NO_IPAM} cannot be used together`, { field: ANN_IP_ADDRS });
  }
  let ipAddrs: string[] | undefined;
  const ipText = pod[ANN_IP_ADDRS];
  if (ipText !== undefined) {
    ipAddrs = jsonList('pod', ANN_IP_ADDRS, ipText);
    const fams = { 4: 0, 6: 0 };
    for (const a of ipAddrs) {
      const ip = tryParseIP(a);
      if (ip === undefined) throw new TricolorError('ERR_IPAM_INVALID_REQUEST', `pod annotation ${ANN_IP_ADDRS}: ${quote(a)} is not a valid IP address`, { field: ANN_IP_ADDRS, value: a });
      fams[ip.family]++;
    }
    if (fams[4] > 1 || fams[6] > 1) {
      throw new TricolorError('ERR_IPAM_INVALID_REQUEST', `pod annotation ${ANN_IP_ADDRS}: ${quote(ipText)} may hold at most one IPv4 and one IPv6 address`, { field: ANN_IP_ADDRS, value: ipText });
    }
  }
  let ipFamilies: ('IPv4' | 'IPv6')[] | undefined;
  const famText = pick(ANN_IP_FAMILIES);
  if (famText !== undefined) {
    for (const f of famText) if (f !== 'IPv4' && f !== 'IPv6') throw new TricolorError('ERR_IPAM_INVALID_REQUEST', `annotation ${ANN_IP_FAMILIES}: ${quote(f)} is not "IPv4" or "IPv6"`, { field: ANN_IP_FAMILIES, value: f });
    ipFamilies = famText as ('IPv4' | 'IPv6')[];
  }
  return {
    ...(v4 !== undefined ? { ipv4Pools: v4 } : {}),
    ...(v6 !== undefined ? { ipv6Pools: v6 } : {}),
    ...(ipAddrs !== undefined ? { ipAddrs } : {}),
    ...(ipFamilies !== undefined ? { ipFamilies } : {}),
  };
}

/** Handle IDs (node contract §2.8). */
export function podHandleId(containerID: string, network = 'k8s-pod-network'): string {
  return `${network}.${containerID}`;
}

export const TUNNEL_HANDLE_PREFIXES = {
  ipipTunnelAddress: 'ipip-tunnel-addr-',
  vxlanTunnelAddress: 'vxlan-tunnel-addr-',
  vxlanV6TunnelAddress: 'vxlan-v6-tunnel-addr-',
  wireguardTunnelAddress: 'wireguard-tunnel-addr-',
  wireguardV6TunnelAddress: 'wireguard-v6-tunnel-addr-',
} as const;
export type TunnelType = keyof typeof TUNNEL_HANDLE_PREFIXES;

export function tunnelHandleId(type: TunnelType, node: string): string {
  return `${TUNNEL_HANDLE_PREFIXES[type]}${node}`;
}
