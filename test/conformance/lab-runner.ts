// Runs conformance scenarios in one lab: builds the x/y/z model (one lab for every scenario),
// replays each scenario's steps, waits for the agents, probes the four matrices (TCP and UDP on
// 80 and 81) with one `lab probe --all --port 80,81 --protocol tcp,udp`, asks one `policy explain
// --all` for the same pairs, and checks three things agree per pair: the step's expected table,
// the dataplane, the oracle.
// Between scenarios everything a scenario created is deleted and every label restored.
//
// Waiting (docs/design/conformance.md): after a step's writes the runner polls each pod-hosting
// node's agent status until its nft transaction count moved (or, once one node applied, the others
// stayed quiet for a moment, or a bound passed), then probes; a matrix that disagrees with the
// expectation is probed again until it agrees or the convergence window ends, so a slow agent on
// a loaded machine costs time, never a false failure, and a wrong dataplane still fails.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LabDriver } from './lab-driver.ts';
import type { LabView, Matrices } from './lab-driver.ts';
import {
  COMBOS,
  NAMESPACES,
  PODS,
  POD_NAMES,
  PORTS,
  PROTOCOLS,
  World,
  baseNamespaceLabels,
  basePodLabels,
  comboKey,
  docsOf,
  labelDiff,
  reachFor,
  refOf,
  serviceAccountDoc,
  serviceAccountOf,
  truthTable,
} from './model.ts';
import type { Action, Combo, Doc, ExtraProbe, ModelEnv, Scenario, Step } from './model.ts';

export type Placement = 'auto' | 'one' | 'spread';

export interface RunOptions {
  readonly nodes: number;
  /** The lab's dataplane (`lab up --dataplane`): nft (default) or bpf. */
  readonly dataplane?: 'nft' | 'bpf';
  /** More `lab up` flags of a variant (`--wireguard`). */
  readonly labUpArgs?: readonly string[];
  readonly placement: Placement;
  /** Probe timeout for the first pass of a matrix (a denied pair costs this much). */
  readonly probeTimeoutMs: number;
  /** How long a disagreeing matrix is re-probed before the step fails. */
  readonly convergeMs: number;
  /** Upper bound of the wait for the agents after a write. */
  readonly settleMs: number;
  /** Print per-step and per-matrix timings. */
  readonly verbose: boolean;
  readonly out: (line: string) => void;
}

export interface ScenarioResult {
  readonly scenario: Scenario;
  readonly passed: boolean;
  readonly ms: number;
  readonly lines: readonly string[];
}

export interface RunFigures {
  setupMs: number;
  scenariosMs: number;
  steps: number;
  matrixProbes: number;
  reprobes: number;
  placement: string;
}

const SERVE = PROTOCOLS.flatMap((p) => PORTS.map((port) => `${p}:${port}`)).join(',');

/** Policy-ish kinds are deleted before the sets and tiers they may refer to. */
const DELETE_ORDER = ['NetworkPolicy', 'GlobalNetworkPolicy', 'StagedGlobalNetworkPolicy', 'StagedNetworkPolicy', 'StagedKubernetesNetworkPolicy', 'NetworkSet', 'GlobalNetworkSet', 'Tier'];

export class LabRunner {
  readonly driver: LabDriver;
  private readonly o: RunOptions;
  private view: LabView | undefined;
  private world = new World();
  readonly figures: RunFigures = { setupMs: 0, scenariosMs: 0, steps: 0, matrixProbes: 0, reprobes: 0, placement: '' };

  constructor(labName: string, o: RunOptions, compileCacheDir?: string) {
    this.driver = new LabDriver(labName, compileCacheDir);
    this.o = o;
  }

  private get lab(): LabView {
    if (this.view === undefined) throw new Error('the lab is not up');
    return this.view;
  }

  private env(): ModelEnv {
    const v = this.lab;
    return {
      ip(pod: string): string {
        const [ns, name] = pod.split('/');
        const p = v.pods.find((x) => x.namespace === ns && x.name === name);
        if (p === undefined || p.ip === '') throw new Error(`no address for pod ${pod} in the lab`);
        return p.ip;
      },
      externalIP: v.externalIP,
    };
  }

  // ---- the model ---------------------------------------------------------------------------------

  async setUp(): Promise<void> {
    const t0 = performance.now();
    const out = this.o.out;
    out(`lab ${this.driver.name}: ${this.o.nodes} node(s)${(this.o.labUpArgs ?? []).length > 0 ? ` (lab up ${(this.o.labUpArgs ?? []).join(' ')})` : ''}`);
    this.view = await this.driver.up(this.o.nodes, this.o.dataplane ?? 'nft', this.o.labUpArgs ?? []);
    for (const ns of NAMESPACES) await this.driver.nsAdd(ns, baseNamespaceLabels(ns));
    await this.driver.apply(NAMESPACES.flatMap((ns) => PODS.map((p) => serviceAccountDoc(ns, serviceAccountOf(p), {}))));
    const spread = this.o.placement !== 'one' && this.lab.nodes.length > 1;
    await this.addPods(POD_NAMES, (i) => (spread ? this.lab.nodes[i % this.lab.nodes.length] : this.lab.nodes[0]) ?? 'node-1');
    this.view = await this.driver.status();
    if (spread) await this.checkPlacement();
    else this.figures.placement = `all pods on ${this.lab.nodes[0] ?? 'node-1'}`;
    out(`placement: ${this.figures.placement}`);
    this.figures.setupMs = performance.now() - t0;
  }

  private async addPods(pods: readonly string[], nodeOf: (i: number) => string): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < pods.length) {
        const i = next++;
        const pod = pods[i];
        if (pod === undefined) continue;
        const name = pod.split('/')[1] ?? '';
        await this.driver.podAdd(pod, { node: nodeOf(POD_NAMES.indexOf(pod)), labels: basePodLabels(name), serviceAccount: serviceAccountOf(name), serve: SERVE });
      }
    };
    await Promise.all([worker(), worker(), worker()]);
  }

  /**
   * With pods spread over nodes, check cross-node pod traffic connects before relying on it. If
   * only cross-node pairs fail (the agents do not route between nodes yet), move every pod to the
   * first node and say so; `--placement spread` skips this fallback.
   */
  private async checkPlacement(): Promise<void> {
    const nodeOf = new Map(this.lab.pods.map((p) => [`${p.namespace}/${p.name}`, p.node]));
    const deadline = performance.now() + Math.max(this.o.convergeMs, 5000);
    const tcp80: Combo = { protocol: 'tcp', port: 80 };
    let failed: { from: string; to: string }[];
    for (;;) {
      const m = (await this.driver.probeAll([tcp80], this.o.probeTimeoutMs)).get(comboKey(tcp80)) ?? new Map<string, boolean>();
      failed = [...m].filter(([, v]) => !v).map(([pair]) => {
        const [from = '', to = ''] = pair.split(' -> ');
        return { from, to };
      });
      if (failed.length === 0 || performance.now() > deadline) break;
      await sleep(500);
    }
    const nodes = [...new Set(nodeOf.values())].sort();
    if (failed.length === 0) {
      this.figures.placement = `spread over ${nodes.join(', ')}`;
      return;
    }
    const crossOnly = failed.every((r) => nodeOf.get(r.from) !== nodeOf.get(r.to));
    if (this.o.placement === 'spread' || !crossOnly) {
      this.figures.placement = `spread over ${nodes.join(', ')} (${failed.length} pairs do not connect without policy)`;
      return;
    }
    const first = this.lab.nodes[0] ?? 'node-1';
    const moving = POD_NAMES.filter((p) => nodeOf.get(p) !== first);
    for (const p of moving) await this.driver.podDel(p);
    await this.addPods(moving, () => first);
    this.view = await this.driver.status();
    this.figures.placement = `all pods on ${first}: cross-node pod traffic does not connect yet (${failed.length} cross-node pairs failed with no policy)`;
  }

  // ---- scenarios ---------------------------------------------------------------------------------

  async runScenario(s: Scenario): Promise<ScenarioResult> {
    const t0 = performance.now();
    const lines: string[] = [];
    let passed = true;
    try {
      for (const [i, step] of s.steps.entries()) {
        const problems = await this.runStep(step);
        this.figures.steps++;
        if (problems.length > 0) {
          passed = false;
          lines.push(`    step ${i + 1}/${s.steps.length} "${step.what}":`, ...problems.map((p) => `      ${p}`));
          lines.push(...(await this.diagnose(problems)));
          break;
        }
      }
    } catch (e) {
      passed = false;
      lines.push(`    error: ${(e as Error).message}`);
    } finally {
      try {
        await this.reset();
      } catch (e) {
        passed = false;
        lines.push(`    reset failed: ${(e as Error).message}`);
      }
    }
    return { scenario: s, passed, ms: performance.now() - t0, lines };
  }

  /**
   * After a failed step: for pairs the dataplane denied where the expectation and the oracle allow,
   * ask the destination's server over the pod's own loopback (a dead or hung server is not a
   * dataplane verdict), and show the pod servers' exits the lab logged.
   */
  private async diagnose(problems: readonly string[]): Promise<string[]> {
    const targets = new Map<string, { pod: string; protocol: 'tcp' | 'udp'; port: number }>();
    for (const p of problems) {
      const m = /^(tcp|udp)\/(\d+)\s+\S+ -> (\S+)\s+expected allow\s+dataplane deny\s+explain allow/.exec(p);
      if (m === null) continue;
      const [, protocol, port, pod] = m;
      if (pod === undefined || port === undefined) continue;
      targets.set(`${pod} ${protocol}:${port}`, { pod, protocol: protocol === 'udp' ? 'udp' : 'tcp', port: Number(port) });
    }
    const out: string[] = [];
    for (const [key, t] of [...targets].slice(0, 8)) {
      const ok = await this.driver.serverAnswers(t.pod, t.protocol, t.port).catch(() => false);
      out.push(`      diagnosis: ${key} ${ok ? 'answers on its own loopback (the pod server is up)' : 'does NOT answer on its own loopback: the pod server is down or hung, not a dataplane verdict'}`);
    }
    try {
      const exits = readFileSync(join(this.lab.runDir, 'logs', 'pods.log'), 'utf8').split('\n').filter((l) => l.includes('pod server') || / E /.test(l));
      if (exits.length > 0) out.push('      pods.log (pod server exits and socat errors, last 10):', ...exits.slice(-10).map((l) => `        ${l}`));
    } catch {
      // no pods.log
    }
    return out;
  }

  private nodesWithPods(): string[] {
    return [...new Set(this.lab.pods.map((p) => p.node))];
  }

  /** Do a step's actions, wait for the agents, then compare expectation, dataplane and oracle. */
  private async runStep(step: Step): Promise<string[]> {
    const before = this.driver.appliesByNode(this.lab);
    const t0 = performance.now();
    for (const a of step.actions) await this.act(a);
    const t1 = performance.now();
    // a step without writes (the first of "no policies") has nothing to wait for
    if (step.actions.length > 0) await this.settle(before);
    const t2 = performance.now();
    // the extra probes (to the external host …) run beside the matrices: their waits overlap
    const [matrixProblems, extraProblems] = await Promise.all([this.checkMatrices(step), Promise.all((step.extra ?? []).map((x) => this.checkExtra(x)))]);
    if (this.o.verbose) this.o.out(`      [act ${(t1 - t0).toFixed(0)} ms, settle ${(t2 - t1).toFixed(0)} ms, probe ${(performance.now() - t2).toFixed(0)} ms]`);
    return [...matrixProblems, ...extraProblems.flat()];
  }

  /** One probe outside the matrices: dataplane (re-probed until it agrees or the window ends) and oracle. */
  private async checkExtra(x: ExtraProbe): Promise<string[]> {
    const toIP = x.to === 'external' ? this.lab.externalIP : x.to.includes('/') ? this.env().ip(x.to) : x.to;
    const [oracle, first] = await Promise.all([this.driver.explainOne(x.from, toIP, x.protocol, x.port), this.driver.probeOne(x.from, x.to, x.protocol, x.port, this.o.probeTimeoutMs)]);
    let dp = first;
    const deadline = performance.now() + this.o.convergeMs;
    while (dp !== x.connected && performance.now() < deadline) {
      await sleep(250);
      dp = await this.driver.probeOne(x.from, x.to, x.protocol, x.port, this.o.probeTimeoutMs * 2);
    }
    if (dp !== x.connected || oracle !== x.connected) return [`${x.protocol}/${x.port} ${x.from} -> ${x.to}: expected ${word(x.connected)}, dataplane ${word(dp)}, explain ${word(oracle)}`];
    return [];
  }

  /**
   * All four matrices at once: one `policy explain --all` and one `lab probe --all` over every
   * protocol and port (one prober per source pod), side by side. Matrices that disagree with the
   * expectation are probed again together (twice the timeout) until each agrees once or the
   * convergence window ends; a matrix that agreed keeps that result. Then every pair of every
   * matrix is checked: expected = dataplane = oracle.
   */
  private async checkMatrices(step: Step): Promise<string[]> {
    const want = new Map(COMBOS.map((c) => [comboKey(c), truthTable(reachFor(step.expect, c))]));
    const tp = performance.now();
    const [oracle, first] = await Promise.all([this.driver.explainAll(COMBOS), this.driver.probeAll(COMBOS, this.o.probeTimeoutMs)]);
    const dp: Matrices = first;
    this.figures.matrixProbes += COMBOS.length;
    const disagreeing = (): Combo[] => COMBOS.filter((c) => !agrees(want.get(comboKey(c)) ?? new Map(), dp.get(comboKey(c)) ?? new Map()));
    let bad = disagreeing();
    if (this.o.verbose) this.o.out(`      [all matrices probe ${(performance.now() - tp).toFixed(0)} ms${bad.length === 0 ? '' : `, MISMATCH ${bad.map((c) => `${comboKey(c)} (${misses(want.get(comboKey(c)), dp.get(comboKey(c)))})`).join(' ')}`}]`);
    const deadline = performance.now() + this.o.convergeMs;
    while (bad.length > 0 && performance.now() < deadline) {
      await sleep(250);
      // a longer timeout on re-probes: a pair that is allowed but slow under load must not look denied
      const again = await this.driver.probeAll(bad, this.o.probeTimeoutMs * 2);
      for (const c of bad) dp.set(comboKey(c), again.get(comboKey(c)) ?? new Map());
      this.figures.matrixProbes += bad.length;
      this.figures.reprobes += bad.length;
      bad = disagreeing();
    }
    const rows: string[] = [];
    for (const c of COMBOS) {
      const w = want.get(comboKey(c)) ?? new Map<string, boolean>();
      const d = dp.get(comboKey(c)) ?? new Map<string, boolean>();
      const o = oracle.get(comboKey(c)) ?? new Map<string, boolean>();
      for (const [pair, v] of w) {
        const dv = d.get(pair);
        const ov = o.get(pair);
        if (dv !== v || ov !== v) rows.push(`${comboKey(c).padEnd(7)} ${pair.padEnd(12)}  expected ${word(v).padEnd(5)}  dataplane ${word(dv).padEnd(7)}  explain ${word(ov)}`);
      }
      const extra = [...d.keys(), ...o.keys()].filter((k) => !w.has(k));
      if (extra.length > 0) rows.push(`${comboKey(c)}: pairs outside the model: ${[...new Set(extra)].join(', ')}`);
    }
    return rows;
  }

  private async act(a: Action): Promise<void> {
    const env = this.env();
    if ('apply' in a) await this.driver.apply(docsOf(a.apply, env));
    else if ('remove' in a) await this.driver.remove(a.remove);
    else if ('labelNamespace' in a) await this.driver.labelNamespace(a.labelNamespace, a.set);
    else await this.driver.labelPod(a.labelPod, a.set);
    this.world.record(a, env);
  }

  /** Undo the scenario: delete what it created (policies first), restore base objects and labels. */
  private async reset(): Promise<void> {
    const before = this.driver.appliesByNode(this.lab);
    const t0 = performance.now();
    const created: Doc[] = [];
    const restore: Doc[] = [];
    for (const [k, d] of this.world.docs) {
      const base = this.world.base.get(k);
      if (base === undefined) created.push(d);
      else restore.push(base);
    }
    const rank = (d: Doc): number => {
      const i = DELETE_ORDER.indexOf(d.kind);
      return i < 0 ? DELETE_ORDER.length : i;
    };
    created.sort((a, b) => rank(a) - rank(b));
    // one `delete -f -`: it deletes in document order, so a tier goes only after its policies
    await this.driver.remove(created.map(refOf));
    await this.driver.apply(restore);
    let changed = created.length + restore.length > 0;
    for (const ns of NAMESPACES) {
      const edit = labelDiff(this.world.nsLabels.get(ns) ?? {}, baseNamespaceLabels(ns));
      if (Object.keys(edit).length > 0) {
        await this.driver.labelNamespace(ns, edit);
        changed = true;
      }
    }
    for (const pod of POD_NAMES) {
      const edit = labelDiff(this.world.podLabels.get(pod) ?? {}, basePodLabels(pod.split('/')[1] ?? ''));
      if (Object.keys(edit).length > 0) {
        await this.driver.labelPod(pod, edit);
        changed = true;
      }
    }
    this.world = new World();
    const t1 = performance.now();
    if (changed) await this.settle(before);
    if (this.o.verbose && changed) this.o.out(`      [reset: writes ${(t1 - t0).toFixed(0)} ms, settle ${(performance.now() - t1).toFixed(0)} ms]`);
  }

  /**
   * Wait until every node hosting pods has run an nft transaction since `before`; once one has,
   * stop when the rest stay quiet for QUIET_MS (a change may not touch every node); never wait
   * longer than settleMs. Mismatches after this are re-probed, so this only saves probing time.
   */
  private async settle(before: Map<string, number>): Promise<void> {
    const QUIET_MS = 400;
    const nodes = this.nodesWithPods();
    const t0 = performance.now();
    let lastChange = t0;
    let last = '';
    for (;;) {
      const now = this.driver.appliesByNode(this.lab);
      const moved = nodes.filter((n) => (now.get(n) ?? -1) > (before.get(n) ?? -1));
      if (moved.length === nodes.length) return;
      const sig = nodes.map((n) => now.get(n)).join(',');
      const t = performance.now();
      if (sig !== last) {
        last = sig;
        lastChange = t;
      }
      if (moved.length > 0 && t - lastChange >= QUIET_MS) return;
      if (t - t0 >= this.o.settleMs) return;
      await sleep(50);
    }
  }
}

function agrees(want: ReadonlyMap<string, boolean>, got: ReadonlyMap<string, boolean>): boolean {
  for (const [k, v] of want) if (got.get(k) !== v) return false;
  return true;
}

/** `N allowed pairs denied, N denied pairs connected` for a verbose mismatch line. */
function misses(want: ReadonlyMap<string, boolean> | undefined, got: ReadonlyMap<string, boolean> | undefined): string {
  let lost = 0;
  let leaked = 0;
  for (const [k, v] of want ?? []) {
    const g = got?.get(k);
    if (v && g !== true) lost++;
    if (!v && g !== false) leaked++;
  }
  return `${lost} allowed pairs denied, ${leaked} denied pairs connected`;
}

function word(v: boolean | undefined): string {
  return v === undefined ? 'missing' : v ? 'allow' : 'deny';
}
