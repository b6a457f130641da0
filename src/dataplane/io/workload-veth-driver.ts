// Plugs a workload into the node the way Calico's CNI plugin does (node contract §3.5): a veth
// whose host end (`cali…`, MAC ee:ee:ee:ee:ee:ee, proxy ARP) stays in the namespace this
// process runs in and whose pod end is born inside the pod namespace; /32 (/128) addresses on
// the pod end, a link-scope route to 169.254.1.1 plus default routes via it, and a /32 host
// route back through the host end. Also the matching teardown and read-back (for CNI CHECK).
//
// Cost matters (one CNI ADD = this whole file, and every child forked from a large Node
// process costs milliseconds), so the whole plumbing is ONE child: a sh script that creates
// the veth (`ip link add`), then, in parallel, configures the host end (sysctls written by the
// shell, then one `ip -batch` for link up + host routes) and the pod end (one `nsenter` into
// the pod namespace writing the pod sysctls and running one `ip -batch`).

import { randomBytes } from 'node:crypto';
import { runCommandRaw, commandError, parseIpJson } from './exec.ts';
import {
  deleteLink,
  localLinkExists,
  vethAddArgv,
  type AddressInfo,
  type LinkInfo,
} from './link-driver.ts';
import { netnsExists, requireNetns } from './netns.ts';
import { WORKLOAD_ROUTE_METRIC } from '../dataplane.ts';
import { addHostRoute, type RouteInfo } from './route-driver.ts';
import { hostVethSysctls, type SysctlSetting } from './sysctl-driver.ts';
import { TricolorError } from '../../base/index.ts';

/** Calico's fixed host-side MAC; the pod's ARP for 169.254.1.1 is answered with it. */
export const HOST_VETH_MAC = 'ee:ee:ee:ee:ee:ee';
/** The pod's IPv4 gateway: never configured anywhere, answered by proxy ARP on the host end. */
export const POD_GATEWAY_IPV4 = '169.254.1.1';
/** EUI-64 link-local address of ee:ee:ee:ee:ee:ee: the pod's IPv6 gateway. */
export const POD_GATEWAY_IPV6 = 'fe80::ecee:eeff:feee:eeee';

export interface WorkloadVethSpec {
  readonly hostIfName: string;
  readonly podIfName: string;
  readonly netnsPath: string;
  readonly mtuBytes?: number;
  readonly numQueues?: number;
  /** Pod-side MAC; default: a random locally administered unicast address. */
  readonly podMac?: string;
  /** Pod addresses as /32 or /128 CIDRs. */
  readonly addresses: readonly string[];
  /** Destinations routed via the gateway inside the pod, e.g. `0.0.0.0/0`, `::/0`. */
  readonly routes: readonly string[];
  readonly allowIPForwarding?: boolean;
  /** Skip the /32 host routes (Calico does when IPAM returned no routes). */
  readonly skipHostRoutes?: boolean;
}

export interface WorkloadVethResult {
  readonly hostIfName: string;
  readonly hostMac: string;
  readonly podIfName: string;
  readonly podMac: string;
}

export function randomMac(): string {
  const b = randomBytes(6);
  // Locally administered (bit 1) unicast (bit 0 clear), as the kernel's random MACs are.
  b[0] = ((b[0] ?? 0) & 0xfe) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** The pod-side `ip -batch` lines and sysctls for a spec (pure, exported for tests). */
export function podSidePlan(spec: WorkloadVethSpec): { sysctls: SysctlSetting[]; batch: string[] } {
  const has4 = spec.addresses.some((a) => !a.includes(':'));
  const has6 = spec.addresses.some((a) => a.includes(':'));
  const ifn = spec.podIfName;
  const sysctls: SysctlSetting[] = [];
  const batch: string[] = [];
  if (has6) {
    for (const scope of ['all', 'default', 'lo']) {
      sysctls.push({ path: ['net', 'ipv6', 'conf', scope, 'disable_ipv6'], value: '0' });
    }
    // DAD would hold the /128 tentative for a second or more; Calico disables it before link up.
    sysctls.push({ path: ['net', 'ipv6', 'conf', ifn, 'accept_dad'], value: '0' });
  }
  const forwarding = spec.allowIPForwarding === true ? '1' : '0';
  if (has4) sysctls.push({ path: ['net', 'ipv4', 'ip_forward'], value: forwarding });
  if (has6) sysctls.push({ path: ['net', 'ipv6', 'conf', 'all', 'forwarding'], value: forwarding });

  batch.push(`link set dev ${ifn} up`);
  if (has4) batch.push(`route add ${POD_GATEWAY_IPV4} dev ${ifn} scope link`);
  for (const dst of spec.routes) {
    const is6 = dst.includes(':');
    if (is6 && !has6) continue;
    if (!is6 && !has4) continue;
    batch.push(`route add ${dst} via ${is6 ? POD_GATEWAY_IPV6 : POD_GATEWAY_IPV4} dev ${ifn}${is6 ? ' onlink' : ''}`);
  }
  for (const a of spec.addresses) batch.push(`addr add ${a} dev ${ifn}`);
  return { sysctls, batch };
}

// The pod side: writes "$1=$2" pairs under /proc/sys, then hands stdin to `ip -batch`.
const POD_SIDE_SCRIPT =
  'while [ $# -gt 1 ]; do printf %s "$2" > "/proc/sys/$1" || exit 97; shift 2; done; exec ip -batch -';

// The whole plug in one child. $1 netns path, $2 `ip link add` words (names, MACs, numbers:
// never blank-containing; the namespace path goes separately, quoted), $3 host batch (link up,
// routes), $4 pod batch, then host sysctl pairs (a path starting with "?" is best effort), "--",
// pod sysctl pairs. Values travel as arguments, never spliced into the script, so no name can
// inject shell syntax (here-documents expand them once and never re-read them as script; dash
// feeds short ones through a pipe without forking a writer). Exit 90: the veth was not
// created; 91: a host sysctl failed; 92: the host batch failed (pod side succeeded); 97 or the
// pod `ip` status: the pod side failed.
const PLUG_SCRIPT = `set -f; ns=$1; add=$2; host=$3; pod=$4; shift 4
ip $add netns "$ns" || exit 90
(
  while [ "$1" != -- ]; do shift 2; done; shift
  exec nsenter --net="$ns" sh -c '${POD_SIDE_SCRIPT}' sh "$@" <<EOF
$pod
EOF
) &
podpid=$!
st=0
while [ "$1" != -- ]; do
  case $1 in
    '?'*) printf %s "$2" 2>/dev/null > "/proc/sys/\${1#?}" ;;
    *) printf %s "$2" > "/proc/sys/$1" || { st=91; break; } ;;
  esac
  shift 2
done
if [ $st = 0 ]; then
  ip -batch - <<EOF || st=92
$host
EOF
fi
wait $podpid; ps=$?
[ $ps = 0 ] || exit $ps
exit $st`;

/** The single child's argv for a spec (pure, exported for tests). */
export function plugArgv(spec: WorkloadVethSpec, podMac: string): string[] {
  const plan = podSidePlan(spec);
  const ipv4 = spec.addresses.some((a) => !a.includes(':'));
  const ipv6 = spec.addresses.some((a) => a.includes(':'));
  const add = vethAddArgv({
    hostName: spec.hostIfName,
    hostMac: HOST_VETH_MAC,
    peerName: spec.podIfName,
    peerMac: podMac,
    peerNetnsPath: spec.netnsPath,
    ...(spec.mtuBytes === undefined || spec.mtuBytes === 0 ? {} : { mtuBytes: spec.mtuBytes }),
    ...(spec.numQueues === undefined ? {} : { numQueues: spec.numQueues }),
  });
  // drop the leading `ip` and the trailing `netns PATH` (the script passes the path quoted)
  const addWords = add.slice(1, -2);
  const host = [`link set dev ${spec.hostIfName} up`];
  if (spec.skipHostRoutes !== true) {
    // at the agent's metric from the start: a metric-0 /32 would be exported by BIRD until the agent replaced it
    for (const a of spec.addresses) host.push(`route add ${a} dev ${spec.hostIfName} scope link metric ${WORKLOAD_ROUTE_METRIC}`);
  }
  const hostSysctls = hostVethSysctls(spec.hostIfName, { ipv4, ipv6 }).flatMap((x) => [(x.bestEffort === true ? '?' : '') + x.path.join('/'), x.value]);
  const podSysctls = plan.sysctls.flatMap((x) => [x.path.join('/'), x.value]);
  // `$add` is split on blanks (globbing is off) and the batches on newlines
  const bad = addWords.find((w) => /\s/.test(w)) ?? [...host, ...plan.batch].find((l) => l.includes('\n'));
  if (bad !== undefined) {
    throw new TricolorError('ERR_VALIDATION', `interface plumbing: ${JSON.stringify(bad)} must not contain blanks or newlines`, { value: bad });
  }
  return ['sh', '-c', PLUG_SCRIPT, 'sh', spec.netnsPath, addWords.join(' '), host.join('\n'), plan.batch.join('\n'), ...hostSysctls, '--', ...podSysctls];
}

/**
 * Create and configure the workload's veth. On any failure the veth is deleted again (which
 * also removes its host routes) before the error propagates: no half-plugged workload.
 */
export async function plugWorkloadVeth(spec: WorkloadVethSpec): Promise<WorkloadVethResult> {
  requireNetns(spec.netnsPath);
  const podMac = spec.podMac ?? randomMac();
  const argv = plugArgv(spec, podMac);
  let r = await runCommandRaw(argv);
  // A stale host end (an earlier sandbox of the same pod) blocks the name (§3.5 step 1): delete
  // it and go again. Checked only on failure, so the common path reads nothing first.
  if (r.status === 90 && /File exists/i.test(r.stderr) && (await localLinkExists(spec.hostIfName))) {
    await deleteLink(spec.hostIfName);
    r = await runCommandRaw(argv);
  }
  if (r.status === 0) return { hostIfName: spec.hostIfName, hostMac: HOST_VETH_MAC, podIfName: spec.podIfName, podMac };
  try {
    if (r.status === 92 && /File exists/i.test(r.stderr) && spec.skipHostRoutes !== true) {
      // A host route is already there: fine when it points at this interface (the node agent
      // may have programmed it first), an error naming the other interface otherwise.
      for (const a of spec.addresses) await addHostRoute(a, spec.hostIfName, { metric: WORKLOAD_ROUTE_METRIC });
      return { hostIfName: spec.hostIfName, hostMac: HOST_VETH_MAC, podIfName: spec.podIfName, podMac };
    }
    if (r.status === 90 && /File exists/i.test(r.stderr)) {
      throw new TricolorError('ERR_IO', `veth ${JSON.stringify(spec.hostIfName)}/${JSON.stringify(spec.podIfName)}: an interface with that name already exists`, {
        detail: { argv: vethAddArgv({ hostName: spec.hostIfName, peerName: spec.podIfName, peerNetnsPath: spec.netnsPath }), stderr: r.stderr },
      });
    }
    const stage =
      r.status === 90 ? 'ip link add (veth)' : r.status === 91 ? 'host sysctls' : r.status === 92 ? 'ip -batch (host side)' : 'ip -batch (pod side)';
    throw commandError([stage, ...(r.status >= 90 && r.status <= 92 ? [] : plan(spec).map((l) => `[${l}]`))], r, r.status >= 90 && r.status <= 92 ? {} : { netnsPath: spec.netnsPath });
  } catch (e) {
    // the veth may or may not exist (status 90): deleting its host end removes both ends and
    // the host routes
    await deleteLink(spec.hostIfName).catch(() => undefined);
    throw e;
  }
}

function plan(spec: WorkloadVethSpec): string[] {
  return podSidePlan(spec).batch;
}

/**
 * Remove the pod end of a workload veth (the host end goes with it). A missing namespace or
 * interface is success: CNI DEL must be idempotent. Returns true if something was deleted.
 */
export async function unplugWorkloadPodSide(netnsPath: string, podIfName: string): Promise<boolean> {
  if (netnsPath === '' || !netnsExists(netnsPath)) return false;
  const argv = ['ip', 'link', 'del', 'dev', podIfName];
  const r = await runCommandRaw(argv, { netnsPath });
  if (r.status === 0) return true;
  // The namespace can vanish between the check and nsenter; that too is "already gone".
  if (/does not exist|Cannot find device/i.test(r.stderr) || !netnsExists(netnsPath)) return false;
  throw commandError(argv, r, { netnsPath });
}

export interface PodSideState {
  readonly link: LinkInfo | undefined;
  readonly addresses: readonly AddressInfo[];
  readonly routes: readonly RouteInfo[];
}

/** Read the pod interface, its addresses and the pod's routes (both families) for CHECK. */
export async function readPodSide(netnsPath: string, podIfName: string): Promise<PodSideState> {
  requireNetns(netnsPath);
  const script = 'ip -j link show dev "$1" || exit 96; ip -j addr show dev "$1" && ip -j -4 route show && ip -j -6 route show';
  const r = await runCommandRaw(['sh', '-c', script, 'sh', podIfName], { netnsPath });
  if (r.status === 96 || /does not exist|Cannot find device/i.test(r.stderr)) return { link: undefined, addresses: [], routes: [] };
  if (r.status !== 0) throw commandError(['ip', '-j', 'link/addr/route', 'show'], r, { netnsPath });
  const [linkLine = '[]', addrLine = '[]', v4 = '[]', v6 = '[]'] = r.stdout.split('\n').filter((l) => l.trim() !== '');
  const linkRaw = parseIpJson(linkLine)[0] as Record<string, unknown> | undefined;
  const addresses: AddressInfo[] = [];
  for (const l of parseIpJson(addrLine) as { addr_info?: Record<string, unknown>[] }[]) {
    for (const a of l.addr_info ?? []) {
      addresses.push({
        family: a.family === 'inet6' ? 6 : 4,
        address: String(a.local),
        prefixLen: Number(a.prefixlen),
        scope: typeof a.scope === 'string' ? a.scope : '',
      });
    }
  }
  const routes: RouteInfo[] = [];
  for (const [text, family] of [[v4, 4], [v6, 6]] as const) {
    for (const raw of parseIpJson(text) as Record<string, unknown>[]) {
      routes.push({
        dst: String(raw.dst),
        ...(typeof raw.gateway === 'string' ? { gateway: raw.gateway } : {}),
        ...(typeof raw.dev === 'string' ? { dev: raw.dev } : {}),
        ...(typeof raw.scope === 'string' ? { scope: raw.scope } : {}),
        family,
      });
    }
  }
  const flags = Array.isArray(linkRaw?.flags) ? (linkRaw.flags as string[]) : [];
  const link: LinkInfo | undefined =
    linkRaw === undefined
      ? undefined
      : {
          name: String(linkRaw.ifname),
          index: Number(linkRaw.ifindex),
          mtuBytes: Number(linkRaw.mtu),
          mac: typeof linkRaw.address === 'string' ? linkRaw.address : '',
          up: flags.includes('UP'),
          flags,
        };
  return { link, addresses, routes };
}

/** Delete the host end by name (failed-ADD cleanup); idempotent. */
export async function removeHostVeth(hostIfName: string): Promise<boolean> {
  if (!(await localLinkExists(hostIfName))) return false;
  return deleteLink(hostIfName);
}
