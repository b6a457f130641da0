// `lab down`: remove everything of a lab from whatever is left of it (a crashed or half-built lab
// included): recorded processes, then every process still inside the lab's namespaces, the
// namespaces, their /etc/netns entries, the run directory and the pointer file.

import { existsSync, readFileSync, readdirSync, realpathSync, rmdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { runCommandRaw } from '../../dataplane/io/index.ts';
import { LAB_POINTER_FILE, LAB_ROOT, NETNS_ETC, labPrefix, labRunDir, type LabDownResult } from '../lab-model.ts';
import { netnsInodes, pidsInNetns, stopPids } from './processes.ts';
import { currentLabName, listPods, readLabState } from './state.ts';
import { labNetnsNames, netnsDelAll } from './topology.ts';

/** Remove everything of a lab: processes, namespaces, /etc/netns entries, run dir, pointer. Works from a half-built or crashed lab. */
export async function labDown(lab: string, root = LAB_ROOT): Promise<LabDownResult> {
  const prefix = labPrefix(lab);
  const runDir = labRunDir(lab, root);
  const pids: number[] = [];
  const state = (() => {
    try {
      return readLabState(lab, root);
    } catch {
      return undefined;
    }
  })();
  if (state !== undefined) {
    pids.push(...state.pids);
    for (const n of state.nodes) for (const p of [n.agentPid, n.proxyPid]) if (p !== undefined) pids.push(p);
    for (const p of [state.etcd?.pid, ...(state.etcd?.memberPids ?? []), state.tor?.pid]) if (p !== undefined) pids.push(p);
    try {
      for (const p of listPods(state)) pids.push(...p.serverPids);
    } catch {
      // damaged pod records: the namespace sweep below still finds their processes
    }
  }
  await stopPids(pids);
  // Whatever still runs inside the lab's namespaces (BIRD, forked servers, probes) goes too.
  // Processes are found by namespace identity (one /proc scan for a 1000-namespace lab), and
  // looked for again after the namespaces are deleted: a `pod add` still in flight can start a
  // server in between, and it would keep running in the deleted namespace.
  const names = await labNetnsNames(prefix);
  const inodes = netnsInodes(names);
  const inside = pidsInNetns(inodes);
  await stopPids(inside, 1000);
  await netnsDelAll(names);
  const late = pidsInNetns(inodes);
  await stopPids(late, 500);
  inside.push(...late);
  if (existsSync(NETNS_ETC)) {
    for (const d of readdirSync(NETNS_ETC)) if (d.startsWith(prefix)) rmSync(join(NETNS_ETC, d), { recursive: true, force: true });
  }
  await unmountUnder(runDir); // the nodes' bpffs mounts (eBPF labs): their pins go with them
  rmSync(runDir, { recursive: true, force: true });
  if (currentLabName() === lab) rmSync(LAB_POINTER_FILE, { force: true });
  // The last lab down also removes the directories `lab up` created, so the host keeps nothing.
  for (const dir of root === LAB_ROOT ? [root, dirname(root)] : [root]) {
    try {
      if (existsSync(dir) && readdirSync(dir).length === 0) rmdirSync(dir);
    } catch {
      // another lab or agent is using it: leave it
    }
  }
  return { namespaces: names.length, processes: new Set([...pids, ...inside]).size };
}

/** Unmount every mount point under `dir` (deepest first), lazily if busy. */
async function unmountUnder(path: string): Promise<void> {
  if (!existsSync(path)) return;
  const dir = realpathSync(path); // mountinfo has real paths (/var/run → /run)
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => m !== undefined && m.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length);
  for (const m of points) {
    const r = await runCommandRaw(['umount', m]);
    if (r.status !== 0) await runCommandRaw(['umount', '-l', m]);
  }
}
