// The CNI protocol itself (CNI SPEC 1.1, with results down to 0.3.0): spec versions, the
// CNI_* environment, CNI_ARGS, name rules for container IDs / interface / network names,
// result shapes per version and the error object. Pure: no OS access.

import { TricolorError, cniCodeOf, isBug, quote } from '../base/index.ts';

export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];
export const LATEST_VERSION: CniVersion = '1.1.0';

export const CNI_COMMANDS = ['ADD', 'DEL', 'CHECK', 'VERSION', 'GC', 'STATUS'] as const;
export type CniCommand = (typeof CNI_COMMANDS)[number];

/** Spec error codes beyond our error table: STATUS answers (CNI SPEC "Error" section). */
export const CNI_CODE_PLUGIN_NOT_AVAILABLE = 50;
export const CNI_CODE_LIMITED_CONNECTIVITY = 51;

export function isSupportedVersion(v: string): v is CniVersion {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

/** Compare dotted versions numerically: -1, 0, 1. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export interface CniEnv {
  readonly command: CniCommand;
  readonly containerId: string;
  readonly netns: string;
  readonly ifName: string;
  readonly args: ReadonlyMap<string, string>;
  readonly path: readonly string[];
}

// CNI SPEC "Parameters": container ID is alphanumeric plus _ . - and starts alphanumeric.
const CONTAINER_ID_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
// Network names as Calico validates them (node contract §3.2).
const NETWORK_NAME_RE = /^[a-zA-Z0-9_.-]+$/;

/** Interface name rules of CNI SPEC "Parameters" (Linux IFNAMSIZ: at most 15 bytes). */
export function validateIfName(name: string, field = 'CNI_IFNAME'): void {
  const bad = (problem: string): never => {
    throw new TricolorError('ERR_CNI_ENV', `${field}: ${quote(name)} ${problem}`, { field, value: name });
  };
  if (name === '') bad('must not be empty');
  if (Buffer.byteLength(name) > 15) bad('is longer than 15 bytes');
  if (name === '.' || name === '..') bad('is not a valid interface name');
  if (/[/:\s]/.test(name)) bad('must not contain "/", ":" or whitespace');
}

export function validateContainerId(id: string, field = 'CNI_CONTAINERID'): void {
  if (!CONTAINER_ID_RE.test(id)) {
    throw new TricolorError(
      'ERR_CNI_ENV',
      `${field}: ${quote(id)} must be non-empty, start with a letter or digit and contain only letters, digits, "_", "." and "-"`,
      { field, value: id },
    );
  }
}

export function isValidNetworkName(name: string): boolean {
  return NETWORK_NAME_RE.test(name);
}

/**
 * CNI_ARGS: `K1=V1;K2=V2`. Calico appends IgnoreUnknown=1, i.e. unknown keys are fine; a pair
 * without '=' is an error naming it.
 */
export function parseCniArgs(text: string): Map<string, string> {
  const out = new Map<string, string>();
  if (text.trim() === '') return out;
  for (const pair of text.split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new TricolorError('ERR_CNI_ENV', `CNI_ARGS: ${quote(pair)} is not a KEY=VALUE pair`, {
        field: 'CNI_ARGS',
        value: text,
      });
    }
    out.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return out;
}

function isCommand(s: string): s is CniCommand {
  return (CNI_COMMANDS as readonly string[]).includes(s);
}

/** Read and validate the CNI_* variables the command requires (CNI SPEC "Parameters"). */
export function parseCniEnv(env: NodeJS.ProcessEnv): CniEnv {
  const command = env.CNI_COMMAND ?? '';
  if (!isCommand(command)) {
    throw new TricolorError(
      'ERR_CNI_ENV',
      `CNI_COMMAND: ${quote(env.CNI_COMMAND)} is not one of ${CNI_COMMANDS.join(', ')}`,
      { field: 'CNI_COMMAND', value: env.CNI_COMMAND },
    );
  }
  const needsAttachment = command === 'ADD' || command === 'DEL' || command === 'CHECK';
  const required = (name: string): string => {
    const v = env[name];
    if (v === undefined || v === '') {
      throw new TricolorError('ERR_CNI_ENV', `${name}: required for ${command} but not set`, { field: name });
    }
    return v;
  };
  const containerId = needsAttachment ? required('CNI_CONTAINERID') : (env.CNI_CONTAINERID ?? '');
  if (needsAttachment) validateContainerId(containerId);
  // DEL may come with no namespace (it is already gone); ADD and CHECK need one.
  const netns = command === 'ADD' || command === 'CHECK' ? required('CNI_NETNS') : (env.CNI_NETNS ?? '');
  const ifName = needsAttachment ? required('CNI_IFNAME') : (env.CNI_IFNAME ?? '');
  if (needsAttachment) validateIfName(ifName);
  const args = parseCniArgs(env.CNI_ARGS ?? '');
  const path = (env.CNI_PATH ?? '').split(':').filter((p) => p !== '');
  return { command, containerId, netns, ifName, args, path };
}

// ---------------------------------------------------------------------------------------------
// Results

export interface CniInterface {
  readonly name: string;
  readonly mac?: string;
  readonly mtu?: number;
  readonly sandbox?: string;
}

export interface CniIPConfig {
  /** CIDR notation. */
  readonly address: string;
  readonly gateway?: string;
  readonly interface?: number;
}

export interface CniRoute {
  readonly dst: string;
  readonly gw?: string;
}

export interface CniDNS {
  readonly nameservers?: readonly string[];
  readonly domain?: string;
  readonly search?: readonly string[];
  readonly options?: readonly string[];
}

/** A result in the current (1.x) shape; `formatResult` converts it for older requesters. */
export interface CniResult {
  readonly interfaces?: readonly CniInterface[];
  readonly ips: readonly CniIPConfig[];
  readonly routes?: readonly CniRoute[];
  readonly dns?: CniDNS;
}

/** Serialise a result in the version the caller asked for (0.3.x/0.4.0 carry `ips[].version`). */
export function formatResult(result: CniResult, version: CniVersion): Record<string, unknown> {
  const pre1 = compareVersions(version, '1.0.0') < 0;
  const ips = result.ips.map((ip) =>
    pre1 ? { version: ip.address.includes(':') ? '6' : '4', ...ip } : { ...ip },
  );
  const out: Record<string, unknown> = { cniVersion: version };
  if (result.interfaces !== undefined) out.interfaces = result.interfaces;
  out.ips = ips;
  if (result.routes !== undefined) out.routes = result.routes;
  out.dns = result.dns ?? {};
  return out;
}

/** Parse a (prev)result of any supported version back into the 1.x shape. */
export function parseResult(raw: unknown, field = 'prevResult'): CniResult {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new TricolorError('ERR_VALIDATION', `${field}: ${quote(raw)} is not an object`, { field, value: raw });
  }
  const r = raw as Record<string, unknown>;
  const ipsRaw = r.ips ?? [];
  if (!Array.isArray(ipsRaw)) {
    throw new TricolorError('ERR_VALIDATION', `${field}.ips: ${quote(ipsRaw)} is not a list`, { field: `${field}.ips` });
  }
  const ips: CniIPConfig[] = ipsRaw.map((ip: unknown, i) => {
    const o = ip as Record<string, unknown> | null;
    if (o === null || typeof o !== 'object' || typeof o.address !== 'string') {
      throw new TricolorError('ERR_VALIDATION', `${field}.ips[${i}].address: ${quote(o?.address)} is not a CIDR string`, {
        field: `${field}.ips[${i}].address`,
      });
    }
    return {
      address: o.address,
      ...(typeof o.gateway === 'string' ? { gateway: o.gateway } : {}),
      ...(typeof o.interface === 'number' ? { interface: o.interface } : {}),
    };
  });
  const interfaces = Array.isArray(r.interfaces)
    ? (r.interfaces as Record<string, unknown>[]).map((i) => ({
        name: String(i.name),
        ...(typeof i.mac === 'string' ? { mac: i.mac } : {}),
        ...(typeof i.mtu === 'number' ? { mtu: i.mtu } : {}),
        ...(typeof i.sandbox === 'string' ? { sandbox: i.sandbox } : {}),
      }))
    : undefined;
  const routes = Array.isArray(r.routes)
    ? (r.routes as Record<string, unknown>[]).map((x) => ({
        dst: String(x.dst),
        ...(typeof x.gw === 'string' ? { gw: x.gw } : {}),
      }))
    : undefined;
  return {
    ips,
    ...(interfaces === undefined ? {} : { interfaces }),
    ...(routes === undefined ? {} : { routes }),
    ...(typeof r.dns === 'object' && r.dns !== null ? { dns: r.dns } : {}),
  };
}

export interface CniErrorObject {
  readonly cniVersion: string;
  readonly code: number;
  readonly msg: string;
  readonly details?: string;
}

/** The error object of CNI SPEC "Error": stable spec codes from our error table; a bug gets the table's ERR_INTERNAL code and its stack as details. */
export function errorObject(e: unknown, version: string): CniErrorObject {
  if (e instanceof TricolorError && !isBug(e)) {
    const detail = e.detail as { stderr?: string } | undefined;
    return {
      cniVersion: version,
      code: e.cniCode,
      msg: e.message,
      ...(typeof detail?.stderr === 'string' && detail.stderr.trim() !== '' ? { details: detail.stderr.trim() } : {}),
    };
  }
  const err = e instanceof Error ? e : new Error(String(e));
  return { cniVersion: version, code: cniCodeOf(err), msg: `internal error: ${err.message}`, details: err.stack ?? '' };
}
