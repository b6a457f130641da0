// Probes: connect from a pod (or the external host) to pods, services, the external host or an
// address, with one prober process per source namespace doing all its destinations at once.

import { TricolorError, quote } from '../../base/index.ts';
import { findExternal, labExternals, type LabState, type ProbeAllResult } from '../lab-model.ts';
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

/** Probe from one namespace to many addresses with one prober process. */
export async function probeFrom(netns: string, ips: readonly string[], port: number, protocol: 'tcp' | 'udp', timeoutMs: number): Promise<boolean[]> {
  if (ips.length === 0) return [];
  const input = JSON.stringify({ timeoutMs, parallel: 64, targets: ips.map((ip) => ({ ip, port, protocol })) });
  const r = await sh(['ip', 'netns', 'exec', netns, process.execPath, PROBER], { input });
  if (r.status !== 0) throw new TricolorError('ERR_IO', `prober in ${netns} failed: ${r.stderr.trim().split('\n').slice(-2).join(' / ')}`);
  return JSON.parse(r.stdout) as boolean[];
}

/** Every pod to every other pod on one port. */
export async function probeAll(s: LabState, port: number, protocol: 'tcp' | 'udp', timeoutMs: number, parallel = 4): Promise<ProbeAllResult> {
  const pods = listPods(s).filter((p) => p.ip !== '');
  const rows = await mapLimit(pods, parallel, async (src) => {
    const dsts = pods.filter((d) => d !== src);
    const res = await probeFrom(src.netns, dsts.map((d) => d.ip), port, protocol, timeoutMs);
    return dsts.map((d, i) => ({ from: `${src.namespace}/${src.name}`, to: `${d.namespace}/${d.name}`, connected: res[i] === true }));
  });
  return { port, protocol, results: rows.flat() };
}

/** `lab exec`: argv run inside a pod's (or the external host's) namespace. */
export function podExecArgv(s: LabState, target: string, argv: readonly string[]): string[] {
  return ['ip', 'netns', 'exec', resolveSource(s, target), ...argv];
}
