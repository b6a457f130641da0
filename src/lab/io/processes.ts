// The lab's processes: run a command to completion, start a long-lived one detached (own process
// group, output to a log file) and return its pid so `lab down` can stop it by id, stop pids, and
// find every process living in a set of network namespaces.

import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TricolorError } from '../../base/index.ts';

export interface ShResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function sh(argv: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ShResult> {
  const [file, ...args] = argv;
  if (file === undefined) throw new TricolorError('ERR_INTERNAL', 'sh: empty argv');
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => resolve({ status: 127, stdout: '', stderr: e.message }));
    child.on('close', (code) => resolve({ status: code ?? 1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

export async function shOk(argv: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const r = await sh(argv, options);
  if (r.status !== 0) {
    throw new TricolorError('ERR_IO', `${argv.join(' ')} failed (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`);
  }
  return r.stdout;
}

/** Start argv detached with stdout+stderr appended to logPath; resolves to its pid once spawned. */
export function startDetached(argv: readonly string[], logPath: string, env: NodeJS.ProcessEnv = process.env, cwd?: string): Promise<number> {
  const [file, ...args] = argv;
  if (file === undefined) throw new TricolorError('ERR_INTERNAL', 'startDetached: empty argv');
  const fd = openSync(logPath, 'a');
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', fd, fd], detached: true, env, ...(cwd === undefined ? {} : { cwd }) });
    child.once('error', (e) => {
      closeSync(fd);
      reject(new TricolorError('ERR_IO', `cannot start ${file}: ${e.message}`, { cause: e }));
    });
    child.once('spawn', () => {
      closeSync(fd);
      child.unref();
      if (child.pid === undefined) reject(new TricolorError('ERR_IO', `cannot start ${file}`));
      else resolve(child.pid);
    });
  });
}

/** True while pid runs. A zombie (exited, not yet reaped by whoever inherited it) counts as gone. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** SIGTERM each pid, wait up to graceMs for them to go, then SIGKILL what is left. */
export async function stopPids(pids: readonly number[], graceMs = 3000): Promise<void> {
  const live = pids.filter((p) => p > 1 && pidAlive(p));
  for (const p of live) signal(p, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && live.some(pidAlive)) await sleep(50);
  for (const p of live) if (pidAlive(p)) signal(p, 'SIGKILL');
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Poll `check` until it returns a value other than undefined, or the deadline passes. */
export async function waitFor<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs: number, intervalMs = 100): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() >= deadline) return undefined;
    await sleep(intervalMs);
  }
}

/** Map over items with at most `limit` in flight, preserving order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
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
