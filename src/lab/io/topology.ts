// The lab's topology: network namespaces and the links between them. The underlay is a bridge in
// a namespace of its own; nodes and the tor router hang off it by veths, the external hosts off a
// second bridge there (their gateway),
// created with `ip -n <underlay>` and moved by name, so the host's own namespace is never touched.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXTERNAL_GATEWAY, UNDERLAY_GATEWAY, labExternals, type LabNode, type LabState } from '../lab-model.ts';
import { sh, shOk } from './processes.ts';

export async function netnsAdd(name: string): Promise<void> {
  await shOk(['ip', 'netns', 'add', name]);
  await shOk(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
}

/** Run an iproute2 batch inside a namespace (one process for many commands). */
export async function ipBatch(ns: string, lines: readonly string[]): Promise<void> {
  await shOk(['ip', '-n', ns, '-batch', '-'], { input: lines.join('\n') + '\n' });
}

export async function nsSysctl(ns: string, key: string, value: string): Promise<void> {
  await shOk(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', `${key}=${value}`]);
}

/** The existing network namespaces whose name starts with `prefix`. */
export async function labNetnsNames(prefix: string): Promise<string[]> {
  const r = await sh(['ip', 'netns', 'list']);
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.startsWith(prefix));
}

/** Delete many namespaces with one iproute2 process (carrying on past any already gone). */
export async function netnsDelAll(names: readonly string[]): Promise<void> {
  if (names.length > 0) await sh(['ip', '-force', '-batch', '-'], { input: names.map((ns) => `netns del ${ns}\n`).join('') });
}

/**
 * The underlay bridge (forwarding, no pod routes) and the external network: a second bridge
 * (`ext0`, the external hosts' gateway) with one namespace per external host on it.
 */
export async function addUnderlay(s: LabState): Promise<void> {
  await netnsAdd(s.underlayNetns);
  await ipBatch(s.underlayNetns, ['link add br0 type bridge', `addr add ${UNDERLAY_GATEWAY}/24 dev br0`, 'link set br0 up']);
  await nsSysctl(s.underlayNetns, 'net.ipv4.ip_forward', '1');
  await ipBatch(s.underlayNetns, ['link add ext0 type bridge', `addr add ${EXTERNAL_GATEWAY}/24 dev ext0`, 'link set ext0 up']);
  for (const e of labExternals(s)) {
    await netnsAdd(e.netns);
    await shOk(['ip', '-n', s.underlayNetns, 'link', 'add', e.uplink, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', e.netns]);
    await ipBatch(s.underlayNetns, [`link set ${e.uplink} master ext0`, `link set ${e.uplink} up`]);
    await ipBatch(e.netns, [`addr add ${e.ip}/24 dev eth0`, 'link set eth0 up', `route add default via ${EXTERNAL_GATEWAY}`]);
  }
}

/** A namespace on the underlay bridge: `uplink` in the underlay, eth0 with `address` inside, default via the underlay router. */
export async function addUnderlayHost(s: LabState, h: { netns: string; uplink: string; address: string }): Promise<void> {
  await netnsAdd(h.netns);
  await shOk(['ip', '-n', s.underlayNetns, 'link', 'add', h.uplink, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.netns]);
  await ipBatch(s.underlayNetns, [`link set ${h.uplink} master br0`, `link set ${h.uplink} up`]);
  await ipBatch(h.netns, [`addr add ${h.address}/24 dev eth0`, 'link set eth0 up', `route add default via ${UNDERLAY_GATEWAY}`]);
}

/** A node's namespace on the underlay, forwarding, with its run directory and nodename file. */
export async function addNodeNamespace(s: LabState, n: LabNode): Promise<void> {
  await addUnderlayHost(s, n);
  await nsSysctl(n.netns, 'net.ipv4.ip_forward', '1');
  mkdirSync(n.runDir, { recursive: true });
  // what calico-node writes to /var/lib/calico/nodename, here per node; the CNI netconf points at it
  writeFileSync(join(n.runDir, 'nodename'), n.name);
}
