// The one way Tricolor runs other programs: run to completion collecting output (optionally with
// stdin, an environment, inside a network namespace given by path), run and require success,
// supervise a long-lived child of ours (its output line by line, stopped with TERM then KILL, and
// killed as a last resort when this process exits), or start a long-lived program detached with
// its output appended to a log file; plus the pid helpers that go with detached programs
// (alive?, stop with TERM then KILL).
// `ip -n` only accepts names under /var/run/netns, so a namespace given as a path (CNI passes
// /var/run/netns/X or /proc/PID/ns/net) goes through `nsenter --net=PATH`.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { BugError, TricolorError } from '../errors.ts';
import { sleep, timeout } from '../async.ts';
import type { IAsyncDisposable } from '../lifecycle.ts';

export interface ExecOptions {
  /** Text written to the child's stdin (e.g. an `ip -batch -` script or a JSON request). */
  readonly input?: string | Buffer;
  /** The child's whole environment (default: ours). */
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Network namespace path to run the command in; omitted: the current namespace. */
  readonly netnsPath?: string;
  /** Kill the child (SIGKILL) after this long; its status is then 128 + 9. */
  readonly timeoutMs?: number;
}

export interface ExecResult {
  /** Exit status; 128 + n for a child killed by signal n (as a shell reports it). */
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

function fullArgv(argv: readonly string[], netnsPath: string | undefined): [string, string[]] {
  const full = netnsPath === undefined ? [...argv] : ['nsenter', `--net=${netnsPath}`, ...argv];
  const [file, ...args] = full;
  if (file === undefined) throw new BugError('exec: empty argv');
  return [file, args];
}

const SIGNALS: Readonly<Record<string, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };

/** Run a command and return its status and output; a non-zero exit is a result, a command that cannot start is ERR_IO. */
export function exec(argv: readonly string[], o: ExecOptions = {}): Promise<ExecResult> {
  const [file, args] = fullArgv(argv, o.netnsPath);
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], env: o.env ?? process.env, ...(o.cwd === undefined ? {} : { cwd: o.cwd }) });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const killer = o.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), o.timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      if (killer !== undefined) clearTimeout(killer);
      reject(new TricolorError('ERR_IO', `cannot run ${JSON.stringify(file)}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      if (killer !== undefined) clearTimeout(killer);
      resolve({
        status: code ?? (signal === null ? 1 : 128 + (SIGNALS[signal] ?? 0)),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    // A child that exits before reading its stdin raises EPIPE here; the exit status tells the story.
    child.stdin.on('error', () => undefined);
    child.stdin.end(o.input ?? '');
  });
}

/**
 * Run a command with its output streamed as it comes (and our stdin passed through when
 * `inheritStdin`), for interactive use (`lab exec`). Resolves to its status; 127 when it cannot start.
 */
export function execStreaming(
  argv: readonly string[],
  o: { readonly stdout: (b: Buffer) => void; readonly stderr: (b: Buffer) => void; readonly inheritStdin?: boolean; readonly env?: NodeJS.ProcessEnv },
): Promise<number> {
  const [file, args] = fullArgv(argv, undefined);
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: [o.inheritStdin === true ? 'inherit' : 'ignore', 'pipe', 'pipe'], env: o.env ?? process.env });
    child.stdout?.on('data', o.stdout);
    child.stderr?.on('data', o.stderr);
    child.on('error', (e) => {
      o.stderr(Buffer.from(`${e.message}\n`));
      resolve(127);
    });
    child.on('close', (code, signal) => resolve(code ?? (signal === null ? 1 : 128 + (SIGNALS[signal] ?? 0))));
  });
}

/** Run a command; a non-zero exit throws ERR_IO naming the command and quoting its stderr. */
export async function execOk(argv: readonly string[], o: ExecOptions = {}): Promise<string> {
  const r = await exec(argv, o);
  if (r.status !== 0) throw execError(argv, r, o);
  return r.stdout;
}

/** The ERR_IO of a failed command: argv, where, exit status and stderr (also in `detail`). */
export function execError(argv: readonly string[], r: ExecResult, o: Pick<ExecOptions, 'netnsPath'> = {}): TricolorError {
  const where = o.netnsPath === undefined ? '' : ` in netns ${JSON.stringify(o.netnsPath)}`;
  const msg = r.stderr.trim().replace(/\s+/g, ' ');
  return new TricolorError('ERR_IO', `${argv.join(' ')}${where} failed (exit ${r.status}): ${msg}`, {
    detail: { argv, status: r.status, stderr: r.stderr },
  });
}

export interface ChildOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Each non-empty line the child writes (stdout and stderr), as it comes; output is discarded when omitted. */
  readonly onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A long-lived child of ours. dispose() = stop(). */
export interface ChildHandle extends IAsyncDisposable {
  readonly pid: number;
  /** Not exited yet. */
  readonly running: boolean;
  /** Resolves when it has exited (and its exit was read: no zombie, no handle left). */
  readonly exited: Promise<ChildExit>;
  /** Send it a signal (nothing if it has exited). */
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM, SIGKILL after graceMs (default 3 s); resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
  /**
   * Stop owning it: it keeps running after we exit (the exit hook leaves it alone) and neither it
   * nor its output pipes hold our event loop open. Used to hand a daemon over to our successor.
   */
  detach(): void;
  dispose(): Promise<void>;
}

const children = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Synchronous last resort: a process that dies without stopping its children must not leave them behind. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const c of children) {
      try {
        c.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

/**
 * Start a long-lived program as our child (no stdin; its output to onLine, split into lines).
 * Resolves once it has been spawned; a program that cannot start is ERR_IO. A child that
 * execs in place (`ip netns exec`, `nsenter`) keeps the pid, so `pid` is the program's own.
 */
export function startChild(argv: readonly string[], o: ChildOptions = {}): Promise<ChildHandle> {
  const [file, args] = fullArgv(argv, undefined);
  installExitHook();
  const piped = o.onLine !== undefined;
  const child = spawn(file, args, { stdio: ['ignore', piped ? 'pipe' : 'ignore', piped ? 'pipe' : 'ignore'], env: o.env ?? process.env, ...(o.cwd === undefined ? {} : { cwd: o.cwd }) });
  children.add(child);
  const exited = new Promise<ChildExit>((resolve) => {
    // 'close' (not 'exit'): the output pipes are drained and closed too, so nothing is left open
    child.once('close', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
  });
  if (o.onLine !== undefined) {
    const onLine = o.onLine;
    for (const stream of ['stdout', 'stderr'] as const) {
      let partial = '';
      const s = child[stream];
      s?.on('data', (b: Buffer) => {
        const lines = (partial + b.toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) if (line.trim() !== '') onLine(line, stream);
      });
      s?.on('end', () => {
        if (partial.trim() !== '') onLine(partial, stream);
        partial = '';
      });
    }
  }
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const stop = async (graceMs = 3000): Promise<void> => {
    if (running()) {
      child.kill('SIGTERM');
      const killer = timeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      killer.dispose();
    } else {
      await exited;
    }
  };
  return new Promise((resolve, reject) => {
    child.once('error', (e) => {
      children.delete(child);
      reject(new TricolorError('ERR_IO', `cannot start ${JSON.stringify(file)}: ${e.message}`, { cause: e }));
    });
    child.once('spawn', () => {
      if (child.pid === undefined) {
        reject(new TricolorError('ERR_IO', `cannot start ${JSON.stringify(file)}`));
        return;
      }
      const pid = child.pid;
      resolve({
        pid,
        get running() {
          return running();
        },
        exited,
        kill: (sig) => {
          if (running()) child.kill(sig);
        },
        stop,
        detach: () => {
          children.delete(child);
          child.unref();
          for (const stream of [child.stdout, child.stderr]) (stream as { unref?: () => void } | null)?.unref?.();
        },
        dispose: () => stop(),
      });
    });
  });
}

export interface DetachedOptions {
  /** stdout and stderr are appended here. */
  readonly logPath: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/**
 * Start argv detached (its own process group, no stdin, output appended to logPath), not waited
 * for: it outlives us unless stopped by pid. Resolves to the pid once spawned.
 */
export function spawnDetached(argv: readonly string[], o: DetachedOptions): Promise<number> {
  const [file, args] = fullArgv(argv, undefined);
  const fd = openSync(o.logPath, 'a');
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', fd, fd], detached: true, env: o.env ?? process.env, ...(o.cwd === undefined ? {} : { cwd: o.cwd }) });
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

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
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
