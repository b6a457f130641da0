// Links through iproute2: veth pairs created with the peer directly inside a pod namespace,
// link state, addresses, deletion and JSON read-back (`ip -j`). Idempotent where CNI needs it:
// deleting a link that is already gone succeeds.

import { readFile } from 'node:fs/promises';
import { TricolorError } from '../../base/index.ts';
import { commandError, parseIpJson, runCommand, runCommandRaw, type RunOptions } from './exec.ts';

export interface LinkInfo {
  readonly name: string;
  readonly index: number;
  readonly mtuBytes: number;
  readonly mac: string;
  /** Administratively up (the UP flag). */
  readonly up: boolean;
  readonly flags: readonly string[];
}

export interface AddressInfo {
  readonly family: 4 | 6;
  readonly address: string;
  readonly prefixLen: number;
  readonly scope: string;
}

export interface NetnsOption {
  readonly netnsPath?: string;
}

function runOpts(o: NetnsOption): RunOptions {
  return o.netnsPath === undefined ? {} : { netnsPath: o.netnsPath };
}

/**
 * Names of the links in the namespace this process runs in, from /proc/net/dev: no child
 * process, and unlike /sys/class/net it follows the process's namespace, not sysfs's mount.
 */
export async function listLocalLinkNames(): Promise<Set<string>> {
  const text = await readFile('/proc/net/dev', 'utf8');
  const names = new Set<string>();
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon > 0) names.add(line.slice(0, colon).trim());
  }
  return names;
}

export async function localLinkExists(name: string): Promise<boolean> {
  return (await listLocalLinkNames()).has(name);
}

function toLinkInfo(raw: Record<string, unknown>): LinkInfo {
  const flags = Array.isArray(raw.flags) ? (raw.flags as string[]) : [];
  return {
    name: String(raw.ifname),
    index: Number(raw.ifindex),
    mtuBytes: Number(raw.mtu),
    mac: typeof raw.address === 'string' ? raw.address : '',
    up: flags.includes('UP'),
    flags,
  };
}

export async function showLinks(o: NetnsOption = {}): Promise<LinkInfo[]> {
  const out = await runCommand(['ip', '-j', 'link', 'show'], runOpts(o));
  return parseIpJson(out).map((r) => toLinkInfo(r as Record<string, unknown>));
}

/** One link, or undefined when it does not exist. */
export async function showLink(name: string, o: NetnsOption = {}): Promise<LinkInfo | undefined> {
  const argv = ['ip', '-j', 'link', 'show', 'dev', name];
  const r = await runCommandRaw(argv, runOpts(o));
  if (r.status !== 0) {
    if (/does not exist|Cannot find device/i.test(r.stderr)) return undefined;
    throw commandError(argv, r, runOpts(o));
  }
  const first = parseIpJson(r.stdout)[0];
  return first === undefined ? undefined : toLinkInfo(first as Record<string, unknown>);
}

/** Delete a link; true if it existed. Deleting one end of a veth removes both ends. */
export async function deleteLink(name: string, o: NetnsOption = {}): Promise<boolean> {
  const argv = ['ip', 'link', 'del', 'dev', name];
  const r = await runCommandRaw(argv, runOpts(o));
  if (r.status === 0) return true;
  if (/does not exist|Cannot find device/i.test(r.stderr)) return false;
  throw commandError(argv, r, runOpts(o));
}

export interface VethSpec {
  /** Host end, created in the namespace this process runs in. */
  readonly hostName: string;
  readonly hostMac?: string;
  /** Peer end, created directly inside `peerNetnsPath` (one netlink request, no move). */
  readonly peerName: string;
  readonly peerMac?: string;
  readonly peerNetnsPath: string;
  readonly mtuBytes?: number;
  readonly numQueues?: number;
}

/** `ip link add` argv for a veth pair whose peer is born inside the pod namespace. */
export function vethAddArgv(spec: VethSpec): string[] {
  const common = (mac: string | undefined): string[] => [
    ...(spec.mtuBytes === undefined ? [] : ['mtu', String(spec.mtuBytes)]),
    ...(mac === undefined ? [] : ['address', mac]),
    ...(spec.numQueues === undefined || spec.numQueues === 1
      ? []
      : ['numtxqueues', String(spec.numQueues), 'numrxqueues', String(spec.numQueues)]),
  ];
  return [
    'ip', 'link', 'add', spec.hostName, ...common(spec.hostMac),
    'type', 'veth', 'peer', 'name', spec.peerName, ...common(spec.peerMac), 'netns', spec.peerNetnsPath,
  ];
}

export async function createVeth(spec: VethSpec): Promise<void> {
  const argv = vethAddArgv(spec);
  const r = await runCommandRaw(argv);
  if (r.status === 0) return;
  if (/File exists/i.test(r.stderr)) {
    throw new TricolorError('ERR_IO', `veth ${JSON.stringify(spec.hostName)}/${JSON.stringify(spec.peerName)}: an interface with that name already exists`, {
      detail: { argv, stderr: r.stderr },
    });
  }
  throw commandError(argv, r);
}

export async function setLinkUp(name: string, o: NetnsOption = {}): Promise<void> {
  await runCommand(['ip', 'link', 'set', 'dev', name, 'up'], runOpts(o));
}

export async function showAddresses(ifName: string, o: NetnsOption = {}): Promise<AddressInfo[]> {
  const out = await runCommand(['ip', '-j', 'addr', 'show', 'dev', ifName], runOpts(o));
  const result: AddressInfo[] = [];
  for (const link of parseIpJson(out) as { addr_info?: Record<string, unknown>[] }[]) {
    for (const a of link.addr_info ?? []) {
      result.push({
        family: a.family === 'inet6' ? 6 : 4,
        address: String(a.local),
        prefixLen: Number(a.prefixlen),
        scope: typeof a.scope === 'string' ? a.scope : '',
      });
    }
  }
  return result;
}

/** Run an `ip -batch -` script (one command per line); the whole run fails on the first error. */
export async function runIpBatch(lines: readonly string[], o: NetnsOption = {}): Promise<string> {
  if (lines.length === 0) return '';
  return runCommand(['ip', '-batch', '-'], { ...runOpts(o), input: lines.join('\n') + '\n' });
}
