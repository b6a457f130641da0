// Shared by the restart-gap e2e test and `bench restart`: a lab in one routing mode (BGP full
// mesh, BGP with a route reflector, VXLAN) with one serving pod per node, continuous TCP probes
// between the restarted node's pod and every other node's pod (both directions, one attempt every
// INTERVAL_MS, each with its own timeout), and one agent restart under a given signal. The figures
// are the probes lost and the longest gap: from the first failed attempt to the next successful
// one, per direction.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readLabState, restartNodeAgent, listPods, type LabPod } from '../../src/lab/index.ts';
import { REPO, LAB_ROOT, eventually, sleep, triOk } from './lab-harness.ts';

export type RoutingMode = 'mesh' | 'rr' | 'vxlan';
export const ROUTING_MODES: readonly RoutingMode[] = ['mesh', 'rr', 'vxlan'];
/** SIGINT is the reference: the agent stops BIRD as well, so a new BIRD starts (and prunes). */
export type RestartSignal = 'SIGTERM' | 'SIGKILL' | 'SIGINT';

const PROBER = join(REPO, 'bench', 'flip-prober.lib.ts');
/** One connection attempt every 20 ms; an attempt with no handshake within 900 ms is lost (a dropped SYN is retried only after 1 s). */
export const INTERVAL_MS = 20;
export const ATTEMPT_TIMEOUT_MS = 900;
const PORT = 80;

/** `lab up` arguments of a mode; the restarted node is node-2 (a reflector client in `rr`), and in `rr` also node-1, the reflector. */
export function labUpArgs(mode: RoutingMode, lab: string): string[] {
  const base = ['lab', 'up', '--name', lab, '--no-controllers'];
  switch (mode) {
    case 'mesh':
      return [...base, '--nodes', '2'];
    case 'rr':
      return [...base, '--nodes', '3', '--route-reflector', 'node-1'];
    case 'vxlan':
      return [...base, '--nodes', '2', '--encap', 'vxlan'];
  }
}

export interface GapLab {
  readonly lab: string;
  readonly mode: RoutingMode;
  readonly nodes: readonly string[];
}

/** Bring the lab up, put one pod serving TCP 80 on every node, wait until every pair connects (and BGP sessions are up). */
export async function upGapLab(mode: RoutingMode, lab: string): Promise<GapLab> {
  await triOk(labUpArgs(mode, lab));
  const nodes = mode === 'rr' ? ['node-1', 'node-2', 'node-3'] : ['node-1', 'node-2'];
  for (const n of nodes) await triOk(['lab', 'pod', 'add', `gap/p-${n}`, '--node', n, '--serve', 'tcp:80'], lab);
  const g = { lab, mode, nodes };
  await waitSettled(g, 90_000);
  return g;
}

interface StatusJson {
  nodes: { name: string; bgp: { peerAddress: string; state: string; info: string }[] | null }[];
}

/** BGP sessions all Established (BGP modes) and every pod pair connects. */
async function settled(g: GapLab): Promise<boolean> {
  if (g.mode !== 'vxlan') {
    const s = JSON.parse(await triOk(['lab', 'status', '-o', 'json'], g.lab)) as StatusJson;
    for (const n of s.nodes) if (n.bgp === null || n.bgp.length === 0 || !n.bgp.every((b) => b.info.startsWith('Established'))) return false;
  }
  const r = JSON.parse(await triOk(['lab', 'probe', '--all', '--port', String(PORT), '--timeout-ms', '1000', '-o', 'json'], g.lab)) as { results: { connected: boolean }[] };
  return r.results.length > 0 && r.results.every((x) => x.connected);
}

async function waitSettled(g: GapLab, timeoutMs: number): Promise<void> {
  assert.ok(await eventually(() => settled(g), timeoutMs, 500), `lab ${g.lab} (${g.mode}) did not settle: sessions Established and every pod pair connected`);
}

export interface DirectionFigures {
  readonly from: string;
  readonly to: string;
  readonly attempts: number;
  readonly lost: number;
  /** Longest stretch from a failed attempt's start to the next successful attempt's start (0: none failed). */
  readonly gapMs: number;
  /** The stretches of failed attempts (the first 20): start relative to the signal, length, attempts lost. */
  readonly windows: readonly { readonly atMs: number; readonly ms: number; readonly lost: number }[];
}

export interface RestartFigures {
  readonly mode: RoutingMode;
  readonly node: string;
  readonly signal: RestartSignal;
  readonly attempts: number;
  readonly lost: number;
  readonly gapMs: number;
  /** From the signal to the restarted agent reporting ready. */
  readonly restartMs: number;
  /** BIRD's pid before and after (BGP modes): the same pid means the new agent adopted it. */
  readonly birdBefore: number | undefined;
  readonly birdAfter: number | undefined;
  readonly directions: readonly DirectionFigures[];
  /** The restarted node's agent log from the signal on (for a failure's message). */
  readonly agentLog: string;
}

interface Attempt {
  readonly start: number;
  readonly ok: boolean;
}

class Prober {
  readonly attempts: Attempt[] = [];
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  #buf = '';

  readonly from: LabPod;
  readonly to: LabPod;

  constructor(from: LabPod, to: LabPod) {
    this.from = from;
    this.to = to;
    this.#child = spawn('ip', ['netns', 'exec', from.netns, process.execPath, PROBER, to.ip, String(PORT), String(INTERVAL_MS), String(ATTEMPT_TIMEOUT_MS)], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.#exited = new Promise((r) => this.#child.once('exit', () => r()));
    this.#child.stdout?.on('data', (c: Buffer) => {
      this.#buf += c.toString();
      const lines = this.#buf.split('\n');
      this.#buf = lines.pop() ?? '';
      for (const l of lines) if (l.trim() !== '') this.attempts.push(JSON.parse(l) as Attempt);
    });
  }

  async stop(): Promise<void> {
    this.#child.stdin?.end();
    await this.#exited;
  }

  figures(t0: number): DirectionFigures {
    const a = [...this.attempts].sort((x, y) => x.start - y.start);
    let lost = 0;
    let gapMs = 0;
    let failedSince: number | undefined;
    let inWindow = 0;
    const windows: { atMs: number; ms: number; lost: number }[] = [];
    const close = (end: number): void => {
      if (failedSince === undefined) return;
      gapMs = Math.max(gapMs, end - failedSince);
      if (windows.length < 20) windows.push({ atMs: failedSince - t0, ms: end - failedSince, lost: inWindow });
      failedSince = undefined;
      inWindow = 0;
    };
    for (const x of a) {
      if (!x.ok) {
        lost++;
        inWindow++;
        failedSince ??= x.start;
      } else {
        close(x.start);
      }
    }
    // still failing at the end: the gap lasts at least until the last attempt's timeout
    const last = a.at(-1);
    if (last !== undefined) close(last.start + ATTEMPT_TIMEOUT_MS);
    return { from: `${this.from.namespace}/${this.from.name}`, to: `${this.to.namespace}/${this.to.name}`, attempts: a.length, lost, gapMs, windows };
  }
}

/** Agent log lines (ISO-timestamped) of `node` from `t0` on, BIRD's own lines left out, with times relative to t0. */
function agentLogSince(g: GapLab, node: string, t0: number): string {
  let text: string;
  try {
    text = readFileSync(join(LAB_ROOT, g.lab, 'logs', `${node}-agent.log`), 'utf8');
  } catch {
    return '(no log)';
  }
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const at = Date.parse(line.slice(0, 24));
    if (Number.isNaN(at) || at < t0 || line.includes(' bird: ')) continue;
    out.push(`+${at - t0}ms ${line.slice(25)}`);
  }
  return out.slice(0, 80).join('\n');
}

function birdPid(g: GapLab, node: string): number | undefined {
  try {
    const st = JSON.parse(readFileSync(join(LAB_ROOT, g.lab, 'nodes', node, 'status.json'), 'utf8')) as { bird?: { pid?: number } };
    return st.bird?.pid;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    const st = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return st !== undefined && st !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Restart `node`'s agent with `signal` while every pair involving its pod is probed: probes run
 * for a second before the signal and until the lab has settled again (plus `tailMs`).
 */
export async function measureRestart(g: GapLab, node: string, signal: RestartSignal, tailMs = 2000): Promise<RestartFigures> {
  const s = readLabState(g.lab);
  assert.ok(s !== undefined, `lab ${g.lab} is up`);
  const pods = listPods(s).filter((p) => p.namespace === 'gap');
  const mine = pods.find((p) => p.node === node);
  assert.ok(mine !== undefined, `a probe pod on ${node}`);
  const probers = pods.filter((p) => p !== mine).flatMap((p) => [new Prober(mine, p), new Prober(p, mine)]);
  try {
    await sleep(1000);
    const n = s.nodes.find((x) => x.name === node);
    assert.ok(n?.agentPid !== undefined && alive(n.agentPid), `the agent of ${node} runs`);
    const birdBefore = g.mode === 'vxlan' ? undefined : birdPid(g, node);
    const t0 = Date.now();
    process.kill(n.agentPid, signal);
    assert.ok(await eventually(async () => !alive(n.agentPid ?? 0), 15_000, 20), `the agent of ${node} exited after ${signal}`);
    await restartNodeAgent(s, node);
    const restartMs = Date.now() - t0;
    await waitSettled(g, 90_000);
    await sleep(tailMs);
    const birdAfter = g.mode === 'vxlan' ? undefined : birdPid(g, node);
    await Promise.all(probers.map((p) => p.stop()));
    const directions = probers.map((p) => p.figures(t0));
    return {
      mode: g.mode,
      node,
      signal,
      attempts: directions.reduce((k, d) => k + d.attempts, 0),
      lost: directions.reduce((k, d) => k + d.lost, 0),
      gapMs: Math.max(0, ...directions.map((d) => d.gapMs)),
      restartMs,
      birdBefore,
      birdAfter,
      directions,
      agentLog: agentLogSince(g, node, t0),
    };
  } finally {
    await Promise.all(probers.map((p) => p.stop()));
  }
}

/** One line for a test's output. */
export function describeFigures(f: RestartFigures): string {
  const bird = f.birdBefore === undefined ? '' : ` BIRD ${f.birdBefore}→${f.birdAfter ?? '-'}${f.birdBefore === f.birdAfter ? ' (adopted)' : ''}`;
  return `${f.mode} ${f.node} ${f.signal}: ${f.lost}/${f.attempts} probes lost, longest gap ${f.gapMs} ms, agent ready ${f.restartMs} ms after the signal${bird}`;
}
