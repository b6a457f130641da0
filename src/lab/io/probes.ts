// Probes: connect from a pod (or the external host) to pods, services, the external host or an
// address, with one prober process per source namespace doing all its destinations at once.

import { TricolorError, quote } from '../../base/index.ts';
import { findExternal, labExternals, type LabState, type ProbeAllResult, type ProbeMatrixResult } from '../lab-model.ts';
import { getOrUndefined, kind, withLabClient } from './datastore.ts';
import { PROBER } from './paths.ts';
import { mapLimit, sh } from './processes.ts';
import { findPod, listPods } from './state.ts';

/** FROM: `NS/POD`, `external` or `external-N` → the namespace to probe from. */
export function resolveSource(s: LabState, from: string): string {
  const ext = findExternal(s, from);
  if (ext !== undefined) return ext.netns;
  const [ns, name] = from.split('/');
  const p = ns !== undefined && name !== undefined ? findPod(s, ns, name) : undefined;
  if (p === undefined) throw new TricolorError('ERR_NOT_FOUND', `probe: FROM ${quote(from)} is not a pod or external host of lab ${quote(s.name)} (NS/POD, external, ${externalNames(s)})`, { value: from });
  return p.netns;
}

function externalNames(s: LabState): string {
  return labExternals(s).map((e) => e.name).join(', ');
}

/** TO: `NS/POD`, `NS/SERVICE`, `external`, `external-N` or an IP → the address to probe. */
export async function resolveTarget(s: LabState, to: string): Promise<string> {
  const ext = findExternal(s, to);
  if (ext !== undefined) return ext.ip;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(to)) return to;
  const [ns, name] = to.split('/');
  if (ns !== undefined && name !== undefined) {
    const p = findPod(s, ns, name);
    if (p !== undefined && p.ip !== '') return p.ip;
    const svc = await withLabClient(s, async (c) => getOrUndefined(c.get(await kind('v1', 'Service'), name, ns)));
    const ip = (svc?.spec as { clusterIP?: string } | undefined)?.clusterIP;
    if (ip !== undefined && ip !== '') return ip;
  }
  throw new TricolorError('ERR_NOT_FOUND', `probe: TO ${quote(to)} is not a pod or service of lab ${quote(s.name)}, an external host (external, ${externalNames(s)}), or an IPv4 address`, { value: to });
}

/** One destination of a prober: an address, a port and a protocol. */
export interface ProbeTarget {
  readonly ip: string;
  readonly port: number;
  readonly protocol: 'tcp' | 'udp';
}

/** Probe from one namespace to many targets with one prober process (all of them at once, up to 64). */
export async function probeTargets(netns: string, targets: readonly ProbeTarget[], timeoutMs: number): Promise<boolean[]> {
  if (targets.length === 0) return [];
  const input = JSON.stringify({ timeoutMs, parallel: 64, targets });
  const r = await sh(['ip', 'netns', 'exec', netns, process.execPath, PROBER], { input });
  if (r.status !== 0) throw new TricolorError('ERR_IO', `prober in ${netns} failed: ${r.stderr.trim().split('\n').slice(-2).join(' / ')}`);
  return JSON.parse(r.stdout) as boolean[];
}

/** Probe from one namespace to many addresses on one port with one prober process. */
export function probeFrom(netns: string, ips: readonly string[], port: number, protocol: 'tcp' | 'udp', timeoutMs: number): Promise<boolean[]> {
  return probeTargets(netns, ips.map((ip) => ({ ip, port, protocol })), timeoutMs);
}

/** How many probers `probe --all` runs at once: every source, up to this many. */
export const PROBE_ALL_PARALLEL = 16;

/**
 * Every pod to every other pod on every protocol × port given: one prober per source pod doing
 * all its destinations on all of them at once, every source at the same time (up to
 * PROBE_ALL_PARALLEL), so a matrix with denied pairs costs about one timeout, not one per wave or
 * per port. Results are ordered by protocol, port, source, destination.
 */
export async function probeMatrix(s: LabState, ports: readonly number[], protocols: readonly ('tcp' | 'udp')[], timeoutMs: number): Promise<ProbeMatrixResult> {
  const pods = listPods(s).filter((p) => p.ip !== '');
  const rows = await mapLimit(pods, PROBE_ALL_PARALLEL, async (src) => {
    const dsts = pods.filter((d) => d !== src);
    const targets = protocols.flatMap((protocol) => ports.flatMap((port) => dsts.map((d) => ({ ip: d.ip, port, protocol, to: `${d.namespace}/${d.name}` }))));
    const res = await probeTargets(src.netns, targets.map(({ ip, port, protocol }) => ({ ip, port, protocol })), timeoutMs);
    return targets.map((t, i) => ({ from: `${src.namespace}/${src.name}`, to: t.to, protocol: t.protocol, port: t.port, connected: res[i] === true }));
  });
  const order = (r: { protocol: 'tcp' | 'udp'; port: number }): number => protocols.indexOf(r.protocol) * ports.length + ports.indexOf(r.port);
  // a stable sort: within one protocol and port the pods keep their order
  const results = rows.flat().sort((a, b) => order(a) - order(b));
  return { ports: [...ports], protocols: [...protocols], results };
}

/** Every pod to every other pod on one port (the single-value form of `probe --all`). */
export async function probeAll(s: LabState, port: number, protocol: 'tcp' | 'udp', timeoutMs: number): Promise<ProbeAllResult> {
  const r = await probeMatrix(s, [port], [protocol], timeoutMs);
  return { port, protocol, results: r.results.map(({ from, to, connected }) => ({ from, to, connected })) };
}

/** `lab exec`: argv run inside a pod's (or the external host's) namespace. */
export function podExecArgv(s: LabState, target: string, argv: readonly string[]): string[] {
  return ['ip', 'netns', 'exec', resolveSource(s, target), ...argv];
}
