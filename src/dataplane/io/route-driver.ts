// Routes through iproute2, read back as JSON. Host routes to workloads are /32 (/128) link-scope
// routes via the workload's host-side interface (node contract §3.5 step 13, §4.15).

import { TricolorError, quote } from '../../base/index.ts';
import { commandError, parseIpJson, runCommand, runCommandRaw, type RunOptions } from './exec.ts';
import type { NetnsOption } from './link-driver.ts';

export interface RouteInfo {
  /** `default` or a prefix; host routes come back from iproute2 without "/32". */
  readonly dst: string;
  readonly gateway?: string;
  readonly dev?: string;
  readonly scope?: string;
  readonly protocol?: string;
  /** Route priority; iproute2 omits it for 0 (IPv4's default). */
  readonly metric?: number;
  readonly family: 4 | 6;
}

function runOpts(o: NetnsOption): RunOptions {
  return o.netnsPath === undefined ? {} : { netnsPath: o.netnsPath };
}

function toRoute(raw: Record<string, unknown>, family: 4 | 6): RouteInfo {
  return {
    dst: String(raw.dst),
    ...(typeof raw.gateway === 'string' ? { gateway: raw.gateway } : {}),
    ...(typeof raw.dev === 'string' ? { dev: raw.dev } : {}),
    ...(typeof raw.scope === 'string' ? { scope: raw.scope } : {}),
    ...(typeof raw.protocol === 'string' ? { protocol: raw.protocol } : {}),
    ...(typeof raw.metric === 'number' ? { metric: raw.metric } : {}),
    family,
  };
}

/** Main-table routes of one family, optionally only those matching `dst` exactly. */
export async function showRoutes(family: 4 | 6, o: NetnsOption & { dst?: string } = {}): Promise<RouteInfo[]> {
  const argv = ['ip', '-j', `-${family}`, 'route', 'show', ...(o.dst === undefined ? [] : ['exact', o.dst])];
  const out = await runCommand(argv, runOpts(o));
  return parseIpJson(out).map((r) => toRoute(r as Record<string, unknown>, family));
}

/** Normalise a route destination for comparison: "10.0.0.1/32" and "10.0.0.1" are the same. */
export function normaliseDst(dst: string): string {
  if (dst === 'default' || dst === '0.0.0.0/0' || dst === '::/0') return 'default';
  if (dst.endsWith('/32') && !dst.includes(':')) return dst.slice(0, -3);
  if (dst.endsWith('/128') && dst.includes(':')) return dst.slice(0, -4);
  return dst;
}

/**
 * Add `<ip>/32 dev <ifName> scope link`. Already present on the same interface is success (the
 * node agent may have programmed it first); present on another interface is an error that
 * names that interface, as Calico does.
 */
export async function addHostRoute(cidr: string, ifName: string, o: NetnsOption & { metric?: number } = {}): Promise<void> {
  const family: 4 | 6 = cidr.includes(':') ? 6 : 4;
  const argv = ['ip', `-${family}`, 'route', 'add', cidr, 'dev', ifName, 'scope', 'link', ...(o.metric === undefined ? [] : ['metric', String(o.metric)])];
  const r = await runCommandRaw(argv, runOpts(o));
  if (r.status === 0) return;
  if (!/File exists/i.test(r.stderr)) throw commandError(argv, r, runOpts(o));
  const existing = await showRoutes(family, { ...o, dst: cidr });
  const other = existing.find((e) => e.dev !== ifName);
  if (other === undefined) return;
  throw new TricolorError(
    'ERR_IO',
    `route to ${quote(cidr)} already exists via interface ${quote(other.dev ?? other.gateway ?? '?')}; cannot route it to ${quote(ifName)}`,
    { value: cidr },
  );
}

/** Delete a route; a route that is already gone is success. */
export async function deleteRoute(cidr: string, o: NetnsOption & { dev?: string; metric?: number } = {}): Promise<boolean> {
  const family: 4 | 6 = cidr.includes(':') ? 6 : 4;
  const argv = ['ip', `-${family}`, 'route', 'del', cidr, ...(o.dev === undefined ? [] : ['dev', o.dev]), ...(o.metric === undefined ? [] : ['metric', String(o.metric)])];
  const r = await runCommandRaw(argv, runOpts(o));
  if (r.status === 0) return true;
  if (/No such process|Cannot find device/i.test(r.stderr)) return false;
  throw commandError(argv, r, runOpts(o));
}
