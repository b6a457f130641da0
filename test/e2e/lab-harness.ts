// Shared by the lab's end-to-end files: run `tricolor …` exactly as a user types it (with an
// environment free of any other datastore), unique lab names, and a last-resort `lab down` of
// every lab a file started when its process exits.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDatastoreEnvKey } from '../../src/base/index.ts';
import { labDatastoreEnv, readLabState } from '../../src/lab/index.ts';
import { netnsSkipReason, run, type ExecResult } from '../support/netns.ts';

export const REPO = join(import.meta.dirname, '..', '..');
export const BIN = join(REPO, 'bin', 'tricolor.ts');
export const LAB_ROOT = '/var/run/tricolor/lab';

/** Why the lab tests cannot run here (not root, no netns, no socat), or undefined. */
export function labSkipReason(extra: readonly string[] = []): string | undefined {
  const base = netnsSkipReason();
  if (base !== undefined) return base;
  for (const tool of ['socat', ...extra]) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed (bash scripts/setup.sh)`;
  }
  return undefined;
}

const labsUp = new Set<string>();
let hooked = false;

/** A fresh lab name, taken down at process exit if the test did not. */
export function uniqueLab(): string {
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const name of labsUp) spawnSync(process.execPath, [BIN, 'lab', 'down', '--name', name]);
    });
  }
  const name = `t${randomBytes(4).toString('hex')}`;
  labsUp.add(name);
  return name;
}

export function forgetLab(name: string): void {
  labsUp.delete(name);
}

export function labEnv(lab?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (isDatastoreEnvKey(k) || k === 'TRICOLOR_LAB') delete env[k];
  if (lab !== undefined) env['TRICOLOR_LAB'] = lab;
  return env;
}

export function tri(args: readonly string[], lab?: string): Promise<ExecResult> {
  return run([process.execPath, BIN, ...args], { env: labEnv(lab) });
}

export async function triOk(args: readonly string[], lab?: string): Promise<string> {
  const r = await tri(args, lab);
  assert.equal(r.status, 0, `tricolor ${args.join(' ')} → ${r.status}\n${r.stderr}`);
  return r.stdout;
}

/**
 * A plain (non-lab) `tricolor …` command on this lab's datastore, named explicitly in the
 * environment: the pointer file names only the most recent lab, and the other lab test file may
 * have brought one up meanwhile.
 */
export async function triOnLab(args: readonly string[], lab: string): Promise<string> {
  const s = readLabState(lab);
  assert.ok(s !== undefined, `lab ${lab} is up`);
  const r = await run([process.execPath, BIN, ...args], { env: { ...labEnv(lab), ...labDatastoreEnv(s) } });
  assert.equal(r.status, 0, `tricolor ${args.join(' ')} → ${r.status}\n${r.stderr}`);
  return r.stdout;
}

/**
 * `tricolor apply -f -` on a lab's datastore, named explicitly: the pointer file names only the
 * most recent lab, and the other lab test file may have brought one up meanwhile.
 */
export async function applyToLab(lab: string, doc: string): Promise<void> {
  const s = readLabState(lab);
  assert.ok(s !== undefined, `lab ${lab} is up`);
  const r = await run([process.execPath, BIN, 'apply', '-f', '-'], { input: doc, env: { ...labEnv(lab), ...labDatastoreEnv(s) } });
  assert.equal(r.status, 0, `apply → ${r.status}: ${r.stderr}`);
}

export async function netnsWithPrefix(prefix: string): Promise<string[]> {
  const r = await run(['ip', 'netns', 'list']);
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(prefix));
}

/** Pids of processes named `comm` inside a namespace. */
export async function pidsNamed(netns: string, comm: string): Promise<number[]> {
  const r = await run(['ip', 'netns', 'pids', netns]);
  const out: number[] = [];
  for (const pid of r.stdout.split('\n').map((x) => Number(x.trim())).filter((x) => x > 1)) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm) out.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Retry `check` until it returns true or `timeoutMs` passes; returns the last outcome. */
export async function eventually(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 250): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}

export interface ProbeAll {
  readonly port: number;
  readonly protocol: string;
  readonly results: { from: string; to: string; connected: boolean }[];
}

export async function probeAll(lab: string, port: number, protocol: 'tcp' | 'udp' = 'tcp', timeoutMs = 1000): Promise<ProbeAll> {
  return JSON.parse(await triOk(['lab', 'probe', '--all', '--port', String(port), '--protocol', protocol, '--timeout-ms', String(timeoutMs), '-o', 'json'], lab)) as ProbeAll;
}

export async function probe(lab: string, from: string, to: string, port: number, extra: readonly string[] = []): Promise<boolean> {
  const r = await tri(['lab', 'probe', from, to, '--port', String(port), ...extra], lab);
  assert.ok(r.status === 0 || r.status === 1, `lab probe ${from} ${to} → ${r.status}: ${r.stderr}`);
  return r.status === 0;
}

/** After `lab down`: no namespace, run dir, /etc/netns entry or recorded process of the lab remains. */
export async function assertLabGone(lab: string, pids: readonly number[]): Promise<void> {
  assert.deepEqual(await netnsWithPrefix(`tri-${lab}-`), []);
  assert.equal(existsSync(join(LAB_ROOT, lab)), false, 'run directory removed');
  assert.deepEqual(existsSync('/etc/netns') ? readdirSync('/etc/netns').filter((d) => d.startsWith(`tri-${lab}-`)) : [], []);
  for (const pid of pids) {
    let state: string;
    try {
      state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '';
    } catch {
      state = '';
    }
    // a zombie is dead; only its parent has not collected it yet
    assert.ok(state === '' || state === 'Z', `pid ${pid} still runs`);
  }
}

/** Every pid the lab's state.json records (external servers, etcd, tor, agents, proxies). */
export function recordedPids(lab: string): number[] {
  const s = JSON.parse(readFileSync(join(LAB_ROOT, lab, 'state.json'), 'utf8')) as {
    pids: number[];
    nodes: { agentPid?: number; proxyPid?: number }[];
    etcd?: { pid?: number };
    tor?: { pid?: number };
  };
  return [...s.pids, ...s.nodes.flatMap((n) => [n.agentPid ?? 0, n.proxyPid ?? 0]), s.etcd?.pid ?? 0, s.tor?.pid ?? 0].filter((p) => p > 1);
}
