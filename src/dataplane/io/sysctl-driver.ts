// Per-interface sysctls through /proc/sys. /proc/sys/net shows the network namespace of the
// process that opens it, so these writes always land in the namespace this process runs in
// (the node namespace); pod-namespace sysctls go through the pod-side script instead.
// Path segments are kept separate so an interface name containing '.' needs no escaping.

import { readFile, writeFile } from 'node:fs/promises';
import { TricolorError } from '../../base/index.ts';

export interface SysctlSetting {
  /** Path segments under /proc/sys, e.g. ['net', 'ipv4', 'conf', 'cali1234', 'proxy_arp']. */
  readonly path: readonly string[];
  readonly value: string;
  /** Failure is tolerated (Calico only warns for these, e.g. proxy_delay, accept_ra). */
  readonly bestEffort?: boolean;
}

export function sysctlFile(path: readonly string[]): string {
  return `/proc/sys/${path.join('/')}`;
}

export async function readSysctl(path: readonly string[]): Promise<string> {
  return (await readFile(sysctlFile(path), 'utf8')).trim();
}

/** Write the settings in order; a non-best-effort failure throws ERR_IO naming the sysctl. */
export async function writeSysctls(settings: readonly SysctlSetting[]): Promise<void> {
  for (const s of settings) {
    try {
      await writeFile(sysctlFile(s.path), s.value);
    } catch (e) {
      if (s.bestEffort === true) continue;
      throw new TricolorError('ERR_IO', `sysctl ${s.path.join('.')}=${s.value}: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }
}

/**
 * The sysctls Calico sets on the host end of a workload veth (node contract §3.5 step 6 and
 * §4.14): proxy ARP so the pod's gateway 169.254.1.1 resolves without being configured
 * anywhere, no proxy delay, forwarding on, route_localnet for node-local services.
 */
export function hostVethSysctls(ifName: string, families: { ipv4: boolean; ipv6: boolean }): SysctlSetting[] {
  const out: SysctlSetting[] = [];
  if (families.ipv4) {
    out.push(
      { path: ['net', 'ipv4', 'conf', ifName, 'route_localnet'], value: '1' },
      { path: ['net', 'ipv4', 'neigh', ifName, 'proxy_delay'], value: '0', bestEffort: true },
      { path: ['net', 'ipv4', 'conf', ifName, 'proxy_arp'], value: '1' },
      { path: ['net', 'ipv4', 'conf', ifName, 'forwarding'], value: '1' },
    );
  }
  if (families.ipv6) {
    out.push(
      { path: ['net', 'ipv6', 'conf', ifName, 'accept_dad'], value: '0' },
      { path: ['net', 'ipv6', 'conf', ifName, 'disable_ipv6'], value: '0' },
      { path: ['net', 'ipv6', 'conf', ifName, 'proxy_ndp'], value: '1' },
      { path: ['net', 'ipv6', 'conf', ifName, 'forwarding'], value: '1' },
    );
  }
  out.push({ path: ['net', 'ipv6', 'conf', ifName, 'accept_ra'], value: '0', bestEffort: true });
  return out;
}
