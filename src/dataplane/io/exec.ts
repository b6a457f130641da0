// Runs iproute2 (and friends) as child processes, optionally inside another network namespace
// given as a path (CNI passes namespaces as paths, e.g. /var/run/netns/X or /proc/PID/ns/net).
// `ip -n` only accepts names under /var/run/netns, so paths go through `nsenter --net=PATH`.
// Every failure becomes a TricolorError ERR_IO carrying the command's stderr.

import { spawn } from 'node:child_process';
import { TricolorError } from '../../base/index.ts';

export interface RunOptions {
  /** Network namespace path to run the command in; omitted: the current namespace. */
  readonly netnsPath?: string;
  /** Text written to the child's stdin (e.g. an `ip -batch -` script). */
  readonly input?: string;
}

export interface RunResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run a command and return its status and output; never throws for a non-zero exit. */
export function runCommandRaw(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const full = options.netnsPath === undefined ? [...argv] : ['nsenter', `--net=${options.netnsPath}`, ...argv];
  const [file, ...args] = full;
  if (file === undefined) throw new TricolorError('ERR_INTERNAL', 'runCommandRaw: empty argv');
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) =>
      reject(new TricolorError('ERR_IO', `cannot run ${JSON.stringify(file)}: ${e.message}`, { cause: e })),
    );
    child.on('close', (code, signal) => {
      resolve({
        status: code ?? (signal === null ? 1 : 128),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    // A child that exits before reading its stdin raises EPIPE here; the exit status tells the story.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** Run a command; a non-zero exit throws ERR_IO naming the command and quoting its stderr. */
export async function runCommand(argv: readonly string[], options: RunOptions = {}): Promise<string> {
  const r = await runCommandRaw(argv, options);
  if (r.status !== 0) throw commandError(argv, r, options);
  return r.stdout;
}

export function commandError(argv: readonly string[], r: RunResult, options: RunOptions = {}): TricolorError {
  const where = options.netnsPath === undefined ? '' : ` in netns ${JSON.stringify(options.netnsPath)}`;
  const msg = r.stderr.trim().replace(/\s+/g, ' ');
  return new TricolorError('ERR_IO', `${argv.join(' ')}${where} failed (exit ${r.status}): ${msg}`, {
    detail: { argv, status: r.status, stderr: r.stderr },
  });
}

/** Parse `ip -j` output; `ip -j -batch` prints one JSON array per command, so all are flattened. */
export function parseIpJson(text: string): unknown[] {
  const items: unknown[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '') continue;
    const v: unknown = JSON.parse(t);
    if (Array.isArray(v)) items.push(...(v as unknown[]));
    else items.push(v);
  }
  return items;
}
