// Kernel plumbing for the node's routing beyond workloads (node contract §4.15, §4.16): the
// `vxlan.calico` device, its permanent neighbour and FDB entries per remote VTEP, and the routes
// the agent owns in the main table — all with protocol 80 (Felix's), so a read-back of `proto 80`
// is exactly our set: blackholes for affine blocks and routes to remote blocks. Each reconcile
// reads the kernel back and changes only what differs; entries we did not ask for are removed.

import { quote } from '../../base/index.ts';
import { commandError, parseIpJson, runCommand, runCommandRaw, type RunOptions } from './exec.ts';
import type { NetnsOption } from './link-driver.ts';
import type { AgentRoute, VXLANDeviceSpec } from '../routing-state.ts';

/** Felix's route protocol number (`proto 80`). */
export const AGENT_ROUTE_PROTOCOL = 80;

export type VXLANDevice = VXLANDeviceSpec;
/** A route the agent owns: a blackhole, or `via` a gateway on a device (always `onlink`). */
export type { AgentRoute };

export interface ReconcileCounts {
  readonly added: number;
  readonly removed: number;
}

function runOpts(o: NetnsOption): RunOptions {
  return o.netnsPath === undefined ? {} : { netnsPath: o.netnsPath };
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

async function ipJson(argv: readonly string[], o: NetnsOption): Promise<Record<string, unknown>[]> {
  return parseIpJson(await runCommand(argv, runOpts(o))) as Record<string, unknown>[];
}

/** The interface holding `ip` (the VXLAN parent), with its MTU; undefined when none does. */
export async function findInterfaceWithAddress(ip: string, o: NetnsOption = {}): Promise<{ name: string; mtu: number } | undefined> {
  for (const link of await ipJson(['ip', '-j', '-4', 'addr', 'show'], o)) {
    const infos = Array.isArray(link['addr_info']) ? (link['addr_info'] as Record<string, unknown>[]) : [];
    if (infos.some((a) => a['local'] === ip)) return { name: String(link['ifname']), mtu: Number(link['mtu']) };
  }
  return undefined;
}

interface ObservedDevice {
  readonly kind: string;
  readonly vni: number | undefined;
  readonly port: number | undefined;
  readonly local: string | undefined;
  readonly parent: string | undefined;
  readonly learning: boolean;
  readonly mtu: number;
  readonly mac: string;
  readonly up: boolean;
}

async function readDevice(name: string, o: NetnsOption): Promise<ObservedDevice | undefined> {
  const argv = ['ip', '-j', '-d', 'link', 'show', 'dev', name];
  const r = await runCommandRaw(argv, runOpts(o));
  if (r.status !== 0) {
    if (/does not exist|Cannot find device/i.test(r.stderr)) return undefined;
    throw commandError(argv, r, runOpts(o));
  }
  const l = parseIpJson(r.stdout)[0] as Record<string, unknown> | undefined;
  if (l === undefined) return undefined;
  const info = (l['linkinfo'] ?? {}) as Record<string, unknown>;
  const data = (info['info_data'] ?? {}) as Record<string, unknown>;
  return {
    kind: str(info['info_kind']),
    vni: typeof data['id'] === 'number' ? data['id'] : undefined,
    port: typeof data['port'] === 'number' ? data['port'] : undefined,
    local: typeof data['local'] === 'string' ? data['local'] : undefined,
    // iproute2 puts the parent under info_data.link (older versions at the top level)
    parent: typeof data['link'] === 'string' ? data['link'] : typeof l['link'] === 'string' ? l['link'] : undefined,
    learning: data['learning'] === true,
    mtu: Number(l['mtu']),
    mac: str(l['address']).toLowerCase(),
    up: Array.isArray(l['flags']) && (l['flags'] as unknown[]).includes('UP'),
  };
}

/**
 * Make the VXLAN device match `d`: created when missing, re-created when its VNI, port, local
 * address or parent differ (those cannot change in place), MTU/MAC/address fixed in place.
 */
export async function ensureVXLANDevice(d: VXLANDevice, o: NetnsOption = {}): Promise<'created' | 'updated' | 'unchanged'> {
  let cur = await readDevice(d.name, o);
  let outcome: 'created' | 'updated' | 'unchanged' = 'unchanged';
  if (cur !== undefined && (cur.kind !== 'vxlan' || cur.vni !== d.vni || cur.port !== d.port || cur.local !== d.localIP || cur.parent !== d.parent || cur.learning)) {
    await deleteVXLANDevice(d.name, o);
    cur = undefined;
  }
  if (cur === undefined) {
    await runCommand(
      ['ip', 'link', 'add', d.name, 'type', 'vxlan', 'id', String(d.vni), 'dstport', String(d.port), 'local', d.localIP, 'dev', d.parent, 'nolearning'],
      runOpts(o),
    );
    outcome = 'created';
  }
  const batch: string[] = [];
  if (cur?.mtu !== d.mtu) batch.push(`link set dev ${d.name} mtu ${d.mtu}`);
  if (cur?.mac !== d.mac.toLowerCase()) batch.push(`link set dev ${d.name} address ${d.mac}`);
  const addrs = (await ipJson(['ip', '-j', '-4', 'addr', 'show', 'dev', d.name], o)).flatMap((l) =>
    Array.isArray(l['addr_info']) ? (l['addr_info'] as Record<string, unknown>[]) : [],
  );
  let have = false;
  for (const a of addrs) {
    if (a['local'] === d.address && a['prefixlen'] === 32) have = true;
    else batch.push(`addr del ${String(a['local'])}/${String(a['prefixlen'])} dev ${d.name}`);
  }
  if (!have) batch.push(`addr add ${d.address}/32 dev ${d.name}`);
  if (cur?.up !== true) batch.push(`link set dev ${d.name} up`);
  if (batch.length > 0) {
    await runCommand(['ip', '-batch', '-'], { ...runOpts(o), input: batch.join('\n') + '\n' });
    if (outcome === 'unchanged') outcome = 'updated';
  }
  return outcome;
}

/** Remove the device (its routes, neighbours and FDB entries go with it); true if it existed. */
export async function deleteVXLANDevice(name: string, o: NetnsOption = {}): Promise<boolean> {
  const argv = ['ip', 'link', 'del', 'dev', name];
  const r = await runCommandRaw(argv, runOpts(o));
  if (r.status === 0) return true;
  if (/does not exist|Cannot find device/i.test(r.stderr)) return false;
  throw commandError(argv, r, runOpts(o));
}

/** Permanent neighbour entries on `dev`: exactly `desired` (tunnel address → VTEP MAC). */
export async function reconcileVXLANNeighbours(dev: string, desired: readonly { ip: string; mac: string }[], o: NetnsOption = {}): Promise<ReconcileCounts> {
  const want = new Map(desired.map((n) => [n.ip, n.mac.toLowerCase()]));
  const seen = await ipJson(['ip', '-j', '-4', 'neigh', 'show', 'dev', dev, 'nud', 'permanent'], o);
  const batch: string[] = [];
  let removed = 0;
  const ok = new Set<string>();
  for (const n of seen) {
    const ip = String(n['dst']);
    const mac = str(n['lladdr']).toLowerCase();
    if (want.get(ip) === mac) ok.add(ip);
    else if (!want.has(ip)) {
      batch.push(`neigh del ${ip} dev ${dev}`);
      removed++;
    }
  }
  let added = 0;
  for (const [ip, mac] of want) {
    if (ok.has(ip)) continue;
    batch.push(`neigh replace ${ip} lladdr ${mac} dev ${dev} nud permanent`);
    added++;
  }
  if (batch.length > 0) await runCommand(['ip', '-batch', '-'], { ...runOpts(o), input: batch.join('\n') + '\n' });
  return { added, removed };
}

/** Bridge FDB entries with a destination on `dev`: exactly `desired` (VTEP MAC → node address). */
export async function reconcileVXLANFDB(dev: string, desired: readonly { mac: string; dst: string }[], o: NetnsOption = {}): Promise<ReconcileCounts> {
  const want = new Map(desired.map((f) => [f.mac.toLowerCase(), f.dst]));
  const seen = parseIpJson(await runCommand(['bridge', '-j', 'fdb', 'show', 'dev', dev], runOpts(o))) as Record<string, unknown>[];
  const batch: string[] = [];
  const ok = new Set<string>();
  let removed = 0;
  for (const f of seen) {
    if (typeof f['dst'] !== 'string') continue; // the device's own entries
    const mac = String(f['mac']).toLowerCase();
    if (want.get(mac) === f['dst']) ok.add(mac);
    else {
      batch.push(`fdb del ${mac} dev ${dev} dst ${f['dst']} self`);
      removed++;
    }
  }
  let added = 0;
  for (const [mac, dst] of want) {
    if (ok.has(mac)) continue;
    batch.push(`fdb replace ${mac} dev ${dev} dst ${dst} self permanent`);
    added++;
  }
  if (batch.length > 0) await runCommand(['bridge', '-batch', '-'], { ...runOpts(o), input: batch.join('\n') + '\n' });
  return { added, removed };
}

function routeKey(r: AgentRoute): string {
  return 'blackhole' in r ? `blackhole ${r.dst}` : `${r.dst} via ${r.via} dev ${r.dev}`;
}

function normalisedDst(dst: string): string {
  if (dst.includes('/')) return dst;
  return dst.includes(':') ? `${dst}/128` : `${dst}/32`;
}

/**
 * Main-table routes with protocol 80: exactly `desired`. A route on a device that does not
 * exist yet fails that route only; the others are still applied and the error names it.
 */
export async function reconcileAgentRoutes(desired: readonly AgentRoute[], o: NetnsOption = {}): Promise<ReconcileCounts & { errors: string[] }> {
  const want = new Map(desired.map((r) => [routeKey(r), r]));
  const wantDst = new Set(desired.map((r) => r.dst));
  const have = new Set<string>();
  const dels: string[] = [];
  for (const family of [4, 6] as const) {
    for (const r of await ipJson(['ip', '-j', `-${family}`, 'route', 'show', 'proto', String(AGENT_ROUTE_PROTOCOL)], o)) {
      const dst = normalisedDst(String(r['dst']));
      const key =
        r['type'] === 'blackhole' ? `blackhole ${dst}` : `${dst} via ${String(r['gateway'])} dev ${String(r['dev'])}`;
      if (want.has(key)) have.add(key);
      else if (!wantDst.has(dst)) dels.push(dst);
    }
  }
  const errors: string[] = [];
  let added = 0;
  for (const [key, r] of want) {
    if (have.has(key)) continue;
    const argv =
      'blackhole' in r
        ? ['ip', 'route', 'replace', 'blackhole', r.dst, 'proto', String(AGENT_ROUTE_PROTOCOL)]
        : ['ip', 'route', 'replace', r.dst, 'via', r.via, 'dev', r.dev, 'onlink', 'proto', String(AGENT_ROUTE_PROTOCOL)];
    const res = await runCommandRaw(argv, runOpts(o));
    if (res.status === 0) added++;
    else errors.push(`route ${quote(key)}: ${res.stderr.trim()}`);
  }
  let removed = 0;
  for (const dst of dels) {
    const argv = ['ip', 'route', 'del', dst, 'proto', String(AGENT_ROUTE_PROTOCOL)];
    const res = await runCommandRaw(argv, runOpts(o));
    if (res.status === 0) removed++;
    else if (!/No such process/i.test(res.stderr)) errors.push(`delete route ${quote(dst)}: ${res.stderr.trim()}`);
  }
  return { added, removed, errors };
}
