// calico-ipam semantics (node contract §3.8) shared by the `tricolor-ipam` executable and the
// main plugin, which calls it in-process instead of exec'ing itself (saves a Node start-up per
// ADD). Other IPAM types (host-local, ...) are exec'd from CNI_PATH as the spec says.

import { exec } from '../base/io/index.ts';
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { TricolorError, quote } from '../base/index.ts';
import type { K8sIdentity } from './identity.ts';
import type { NetConf } from './netconf.ts';
import { containerHandleId, workloadHandleId } from './naming.ts';
import type { CniIpamPort } from './ports.ts';
import { parseResult, type CniResult } from './spec.ts';

export const BUILTIN_IPAM_TYPES: readonly string[] = ['tricolor-ipam', 'calico-ipam'];

export function isBuiltinIpam(type: string): boolean {
  return BUILTIN_IPAM_TYPES.includes(type);
}

export interface IpamCall {
  readonly conf: NetConf;
  readonly containerId: string;
  readonly nodeName: string;
  readonly k8s: K8sIdentity | undefined;
  /** CNI_ARGS IP=<addr>: assign exactly these. */
  readonly requestedIPs: readonly string[];
  readonly ipv4PoolsOverride?: readonly string[];
  readonly ipv6PoolsOverride?: readonly string[];
  readonly now?: Date;
}

/** Assign addresses; the result carries block prefix lengths and one default route per family. */
export async function ipamAdd(ipam: CniIpamPort, call: IpamCall): Promise<CniResult> {
  const handleId = containerHandleId(call.conf.name, call.containerId);
  const attrs: Record<string, string> = {
    node: call.nodeName,
    timestamp: (call.now ?? new Date()).toISOString(),
    ...(call.k8s === undefined ? {} : { namespace: call.k8s.namespace, pod: call.k8s.pod }),
  };
  const addresses: string[] = [];
  if (call.requestedIPs.length > 0) {
    try {
      for (const ip of call.requestedIPs) {
        addresses.push(await ipam.assignIP({ ip, handleId, attrs, hostname: call.nodeName }));
      }
    } catch (e) {
      await ipam.releaseByHandle(handleId).catch(() => undefined);
      throw e;
    }
  } else {
    const num4 = call.conf.ipam.assignIPv4 ? 1 : 0;
    const num6 = call.conf.ipam.assignIPv6 ? 1 : 0;
    const got = await ipam.autoAssign({
      num4,
      num6,
      handleId,
      attrs,
      hostname: call.nodeName,
      ipv4Pools: call.ipv4PoolsOverride ?? call.conf.ipam.ipv4Pools,
      ipv6Pools: call.ipv6PoolsOverride ?? call.conf.ipam.ipv6Pools,
    });
    // Dual stack is all or nothing (§3.8): a family that came back short releases the other.
    const short = (n: number, have: number, fam: string): string | undefined =>
      have < n ? `assigned ${have} out of ${n} requested ${fam} addresses` : undefined;
    const problem = short(num4, got.ipv4.length, 'IPv4') ?? short(num6, got.ipv6.length, 'IPv6');
    if (problem !== undefined) {
      await ipam.releaseByHandle(handleId).catch(() => undefined);
      throw new TricolorError('ERR_IPAM_EXHAUSTED', `IPAM for ${quote(handleId)}: ${problem}: no free address in the pools`, {
        value: handleId,
      });
    }
    addresses.push(...got.ipv4, ...got.ipv6);
  }
  const families = new Set(addresses.map((a) => (a.includes(':') ? 6 : 4)));
  return {
    ips: addresses.map((address) => ({ address })),
    routes: [...(families.has(4) ? [{ dst: '0.0.0.0/0' }] : []), ...(families.has(6) ? [{ dst: '::/0' }] : [])],
  };
}

/** Release by the container handle, then by Calico's legacy workload handle; both idempotent. */
export async function ipamDel(ipam: CniIpamPort, conf: NetConf, containerId: string, k8s: K8sIdentity | undefined): Promise<void> {
  await ipam.releaseByHandle(containerHandleId(conf.name, containerId));
  await ipam.releaseByHandle(workloadHandleId(k8s === undefined ? undefined : { namespace: k8s.namespace, pod: k8s.pod }, containerId));
}

/** GC: release every `<network>.<id>` handle whose container is not a valid attachment. */
export async function ipamGc(ipam: CniIpamPort, conf: NetConf): Promise<string[]> {
  const valid = new Set((conf.validAttachments ?? []).map((a) => containerHandleId(conf.name, a.containerId)));
  const prefix = `${conf.name}.`;
  const released: string[] = [];
  for (const h of await ipam.listHandleIds()) {
    if (!h.startsWith(prefix) || valid.has(h)) continue;
    await ipam.releaseByHandle(h);
    released.push(h);
  }
  return released;
}

// ---------------------------------------------------------------------------------------------
// Delegated IPAM plugins (CNI SPEC "Delegated plugins"): same env, same stdin, found in CNI_PATH.

export async function findPlugin(type: string, cniPath: readonly string[]): Promise<string> {
  if (type.includes('/')) throw new TricolorError('ERR_VALIDATION', `ipam.type: ${quote(type)} must be a plugin name, not a path`, { field: 'ipam.type' });
  for (const dir of cniPath) {
    const p = join(dir, type);
    try {
      await access(p, constants.X_OK);
      return p;
    } catch {
      // try the next directory
    }
  }
  throw new TricolorError('ERR_NOT_FOUND', `ipam.type: plugin ${quote(type)} not found in CNI_PATH ${quote(cniPath.join(':'))}`, {
    field: 'ipam.type',
    value: type,
  });
}

export async function execDelegate(
  pluginPath: string,
  command: 'ADD' | 'DEL' | 'CHECK',
  env: NodeJS.ProcessEnv,
  stdinText: string,
): Promise<CniResult | undefined> {
  const r = await exec([pluginPath], { env: { ...env, CNI_COMMAND: command }, input: stdinText }).catch((e: unknown) => {
    throw new TricolorError('ERR_IO', `cannot run IPAM plugin ${quote(pluginPath)}: ${(e as Error).message}`, { cause: e });
  });
  if (r.status !== 0) {
    let msg = r.stdout.trim() || r.stderr.trim();
    try {
      const o = JSON.parse(r.stdout) as { msg?: string; code?: number };
      if (typeof o.msg === 'string') msg = `${o.msg} (code ${o.code ?? '?'})`;
    } catch {
      // not JSON
    }
    throw new TricolorError('ERR_IO', `IPAM plugin ${quote(pluginPath)} ${command} failed: ${msg}`, { detail: { stderr: r.stderr } });
  }
  if (command !== 'ADD') return undefined;
  return parseResult(JSON.parse(r.stdout), 'IPAM result');
}
