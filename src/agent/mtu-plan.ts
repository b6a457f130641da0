// Pod MTU (node contract §4.19), pure: the host MTU is the smallest MTU among the up links whose
// names match `mtuIfacePattern` (1460 when none does); every encapsulation in use takes its
// overhead off (or its configured MTU wins): IPIP −20, VXLAN −50, WireGuard −60; the pod MTU is
// the smallest of those, or the host MTU when no encapsulation is in use. Felix writes it to
// /var/lib/calico/mtu for the CNI plugin (which uses it when its netconf says `mtu: 0`).

import type { IPPool } from '../api/index.ts';
import type { FelixSpec } from './agent-config.ts';
import { VXLAN_OVERHEAD_BYTES } from '../dataplane/index.ts';
import { WIREGUARD_OVERHEAD_BYTES, wireguardEnabled } from './wireguard-plan.ts';

/** Felix's MTUIfacePattern default. */
export const DEFAULT_MTU_IFACE_PATTERN = '^((en|wl|ww|sl|ib)[Pcopsvx].*|(eth|wlan|wwan).*)';
import { DEFAULT_MTU_FILE } from '../cni/index.ts';
/** Calico's MTU file: the one path the agent writes and the CNI plugin's default `mtu_file`. */
export { DEFAULT_MTU_FILE };

/**
 * Where the agent writes the pod MTU: `--mtu-file` (resolved; `none` = nowhere), else Calico's
 * path. Never the run dir: the file is the contract with the CNI plugin, whose default `mtu_file`
 * is this path (as Felix writes it and Calico's plugin reads it), like the nodename file.
 */
export function agentMtuFile(flag: string | undefined, resolve: (path: string) => string): string | null {
  if (flag === 'none') return null;
  return flag === undefined ? DEFAULT_MTU_FILE : resolve(flag);
}
export const IPIP_OVERHEAD_BYTES = 20;
/** The host MTU when no link matches `mtuIfacePattern`. */
export const DEFAULT_HOST_MTU = 1460;

export interface HostLink {
  readonly name: string;
  readonly mtu: number;
  readonly up: boolean;
}

export interface MtuInputs {
  readonly felix: FelixSpec;
  readonly pools: readonly IPPool[];
  readonly links: readonly HostLink[];
  /** IPIP pools are served on this node (the kernel has the ipip device). */
  readonly ipipServed: boolean;
}

export interface MtuPlan {
  readonly hostMtu: number;
  readonly podMtu: number;
  /** The encapsulations that sized it, e.g. `["vxlan 1450", "wireguard 1440"]`. */
  readonly encaps: readonly string[];
}

function configured(spec: FelixSpec, field: string): number | undefined {
  const v = spec[field];
  return typeof v === 'number' && v > 0 ? v : undefined;
}

function ipv4Pool(p: IPPool): boolean {
  return p.spec !== undefined && p.spec.disabled !== true && !p.spec.cidr.includes(':');
}

/** The host MTU: smallest up link matching the pattern; DEFAULT_HOST_MTU when none matches. */
export function hostMtu(links: readonly HostLink[], pattern: string): number {
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch {
    re = new RegExp(DEFAULT_MTU_IFACE_PATTERN);
  }
  const mtus = links.filter((l) => l.up && re.test(l.name)).map((l) => l.mtu);
  return mtus.length === 0 ? DEFAULT_HOST_MTU : Math.min(...mtus);
}

export function podMtuPlan(i: MtuInputs): MtuPlan {
  const pattern = typeof i.felix['mtuIfacePattern'] === 'string' && i.felix['mtuIfacePattern'] !== '' ? i.felix['mtuIfacePattern'] : DEFAULT_MTU_IFACE_PATTERN;
  const host = hostMtu(i.links, pattern);
  const encaps: [string, number][] = [];
  const pools = i.pools.filter(ipv4Pool);
  if (i.felix['vxlanEnabled'] !== false && pools.some((p) => (p.spec?.vxlanMode ?? 'Never') !== 'Never')) {
    encaps.push(['vxlan', configured(i.felix, 'vxlanMTU') ?? host - VXLAN_OVERHEAD_BYTES]);
  }
  if (i.ipipServed && i.felix['ipipEnabled'] !== false && pools.some((p) => (p.spec?.ipipMode ?? 'Never') !== 'Never')) {
    encaps.push(['ipip', configured(i.felix, 'ipipMTU') ?? host - IPIP_OVERHEAD_BYTES]);
  }
  if (wireguardEnabled(i.felix)) encaps.push(['wireguard', configured(i.felix, 'wireguardMTU') ?? host - WIREGUARD_OVERHEAD_BYTES]);
  return {
    hostMtu: host,
    podMtu: encaps.length === 0 ? host : Math.min(...encaps.map((e) => e[1])),
    encaps: encaps.map(([n, m]) => `${n} ${m}`),
  };
}

export interface PodMtuState extends MtuPlan {
  readonly file: string | null;
  /** IPIP pools in use but not served on this node, and why (empty when none). */
  readonly ipipNotServed: readonly string[];
  readonly ipipReason: string | undefined;
}
