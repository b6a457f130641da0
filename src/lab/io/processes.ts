// The lab's processes: run a command to completion, start a long-lived one detached (own process
// group, output to a log file) and return its pid so `lab down` can stop it by id, stop pids, and
// find every process living in a set of network namespaces. Running and stopping are the base
// exec helper's; what is the lab's own is the namespace sweep.

import { readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { exec, execOk, pidAlive, spawnDetached, stopPids, type ExecResult } from '../../base/io/index.ts';

export { pidAlive, stopPids };
export { mapLimit, sleep, waitFor } from '../../base/index.ts';

export type ShResult = ExecResult;

/** Run argv to completion; a program that cannot start reads as status 127, as in a shell. */
export async function sh(argv: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ShResult> {
  try {
    return await exec(argv, options);
  } catch (e) {
    return { status: 127, stdout: '', stderr: (e as Error).message };
  }
}

/** Run argv; a non-zero exit is ERR_IO naming the command and quoting its stderr. */
export function shOk(argv: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return execOk(argv, options);
}

/** Start argv detached with stdout+stderr appended to logPath; resolves to its pid once spawned. */
export function startDetached(argv: readonly string[], logPath: string, env: NodeJS.ProcessEnv = process.env, cwd?: string): Promise<number> {
  return spawnDetached(argv, { logPath, env, ...(cwd === undefined ? {} : { cwd }) });
}

/** Inode of each named network namespace (what `/proc/PID/ns/net` links to as `net:[INODE]`). */
export function netnsInodes(names: readonly string[]): Set<number> {
  const out = new Set<number>();
  for (const ns of names) {
    try {
      out.add(statSync(join('/var/run/netns', ns)).ino);
    } catch {
      // deleted meanwhile
    }
  }
  return out;
}

/** Every process whose network namespace is one of `inodes` (even a namespace already deleted). */
export function pidsInNetns(inodes: ReadonlySet<number>): number[] {
  if (inodes.size === 0) return [];
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    const pid = Number(d);
    if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) continue;
    try {
      const m = /^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/ns/net`));
      if (m !== null && inodes.has(Number(m[1]))) out.push(pid);
    } catch {
      // exited, or a kernel thread
    }
  }
  return out;
}
