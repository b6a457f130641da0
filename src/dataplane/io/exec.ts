// Runs iproute2 (and friends) as child processes, optionally inside another network namespace
// given as a path (CNI passes namespaces as paths, e.g. /var/run/netns/X or /proc/PID/ns/net).
// `ip -n` only accepts names under /var/run/netns, so paths go through `nsenter --net=PATH`.
// Every failure becomes a TricolorError ERR_IO carrying the command's stderr. The running is
// base/io's exec helper; these names stay for the drivers' call sites.

import type { TricolorError } from '../../base/index.ts';
import { exec, execError, execOk } from '../../base/io/index.ts';

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
  return exec(argv, options);
}

/** Run a command; a non-zero exit throws ERR_IO naming the command and quoting its stderr. */
export function runCommand(argv: readonly string[], options: RunOptions = {}): Promise<string> {
  return execOk(argv, options);
}

export function commandError(argv: readonly string[], r: RunResult, options: RunOptions = {}): TricolorError {
  return execError(argv, r, options);
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
