// Test helpers for real network namespaces: uniquely named (`tri-t-<random>`), commands run
// inside them, and always deleted again — through the test's `after` hook and, as a last
// resort, a synchronous process 'exit' hook — so a failing test leaks nothing into the host.

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { exec, type ExecResult } from '../../src/base/io/index.ts';

const live = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const name of live) deleteNetnsSync(name);
  });
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Why namespace tests cannot run here, or undefined when they can (for `{ skip }`). */
export function netnsSkipReason(): string | undefined {
  if (!isRoot()) return 'needs root to create network namespaces';
  if (spawnSync('ip', ['-V']).status !== 0) return 'iproute2 (`ip`) is not installed';
  return undefined;
}

export type { ExecResult } from '../../src/base/io/index.ts';

/** Run argv to completion (base's exec); never throws for a non-zero exit. */
export function run(argv: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ExecResult> {
  return exec(argv, { ...(options.input === undefined ? {} : { input: options.input }), ...(options.env === undefined ? {} : { env: options.env }) });
}

/** Run argv and throw (with its stderr) on a non-zero exit. */
export async function runOk(argv: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const r = await run(argv, options);
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr.trim()}`);
  return r.stdout;
}

export interface TestNetns {
  readonly name: string;
  /** Bind-mount path, as a container runtime passes it in CNI_NETNS. */
  readonly path: string;
  /** Run argv inside the namespace; never throws for a non-zero exit. */
  exec(argv: readonly string[], options?: { input?: string; env?: NodeJS.ProcessEnv }): Promise<ExecResult>;
  /** Run argv inside the namespace; throws on a non-zero exit. */
  execOk(argv: readonly string[], options?: { input?: string; env?: NodeJS.ProcessEnv }): Promise<string>;
  /** `ip -j ARGS` inside the namespace, parsed. */
  ipJson(args: readonly string[]): Promise<Record<string, unknown>[]>;
  delete(): Promise<void>;
}

/** Something that takes a cleanup callback: node:test's `after`, or a TestContext (`t`). */
export type CleanupRegistrar = ((fn: () => Promise<void>) => void) | { after(fn: () => Promise<void>): void };

export function uniqueName(prefix = 'tri-t-'): string {
  return `${prefix}${randomBytes(5).toString('hex')}`;
}

/** Create a uniquely named namespace with `lo` up; deleted by `cleanup` and at process exit. */
export async function createNetns(cleanup?: CleanupRegistrar, prefix = 'tri-t-'): Promise<TestNetns> {
  installExitHook();
  const name = uniqueName(prefix);
  await runOk(['ip', 'netns', 'add', name]);
  live.add(name);
  const ns: TestNetns = {
    name,
    path: `/var/run/netns/${name}`,
    exec: (argv, options = {}) => run(['ip', 'netns', 'exec', name, ...argv], options),
    execOk: (argv, options = {}) => runOk(['ip', 'netns', 'exec', name, ...argv], options),
    ipJson: async (args) => {
      const out = await runOk(['ip', '-n', name, '-j', ...args]);
      return out.trim() === '' ? [] : (JSON.parse(out) as Record<string, unknown>[]);
    },
    delete: () => deleteNetns(name),
  };
  await ns.execOk(['ip', 'link', 'set', 'lo', 'up']);
  if (cleanup !== undefined) {
    const fn = () => deleteNetns(name);
    if (typeof cleanup === 'function') cleanup(fn);
    else cleanup.after(fn);
  }
  return ns;
}

/** Stop processes the test left inside the namespace, then delete it; idempotent. */
export async function deleteNetns(name: string): Promise<void> {
  if (!live.has(name)) return;
  live.delete(name);
  const pids = await run(['ip', 'netns', 'pids', name]);
  for (const pid of pids.stdout.split('\n').map((s) => Number(s.trim())).filter((n) => n > 0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await run(['ip', 'netns', 'del', name]);
}

function deleteNetnsSync(name: string): void {
  live.delete(name);
  spawnSync('ip', ['netns', 'del', name]);
}

/** Namespaces created by this process and not yet deleted (for leak assertions). */
export function liveNetnsNames(): string[] {
  return [...live];
}

/** Names of links in a namespace. */
export async function linkNames(ns: TestNetns): Promise<string[]> {
  return (await ns.ipJson(['link', 'show'])).map((l) => String(l.ifname));
}
