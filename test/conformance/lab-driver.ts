// Drives one lab through the exact `tricolor` commands a user (or other tooling) types: `lab up`,
// `lab ns/pod add|label|del`, `apply`/`delete -f -`, `lab probe --all -o json` and `policy
// explain --all -o json` (both with lists of ports and protocols: one call for every matrix). Every command is a child process of the CLI entry point; the datastore
// is named explicitly (TRICOLOR_DATASTORE_PATH) so a lab brought up by someone else meanwhile
// (which moves the "current lab" pointer) never receives our writes.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { readStatusFile } from '../../src/agent/index.ts';
import type { Combo, Doc, DocRef, LabelEdit, Protocol } from './model.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'bin', 'tricolor.ts');

export interface CliResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface LabView {
  readonly name: string;
  readonly runDir: string;
  readonly datastorePath: string;
  readonly externalIP: string;
  readonly nodes: readonly string[];
  readonly pods: ReadonlyArray<{ readonly namespace: string; readonly name: string; readonly node: string; readonly ip: string }>;
}


export class LabDriver {
  readonly name: string;
  private datastorePath: string | undefined;
  private readonly children = new Set<ChildProcess>();
  private stopping = false;
  /** CLI invocations so far, by first word(s) (for the benchmark's figures). */
  readonly calls = new Map<string, number>();

  /**
   * `compileCacheDir`: V8's on-disk compile cache (NODE_COMPILE_CACHE) for every CLI call and the
   * probers they start — most of a call's CPU is compiling the same modules again otherwise.
   */
  private readonly compileCacheDir: string | undefined;

  constructor(name: string, compileCacheDir?: string) {
    this.name = name;
    this.compileCacheDir = compileCacheDir;
  }

  /** Run `tricolor ARGS` to completion. */
  cli(args: readonly string[], input = ''): Promise<CliResult> {
    if (this.stopping && !(args[0] === 'lab' && args[1] === 'down')) return Promise.resolve({ status: 130, stdout: '', stderr: 'stopped' });
    const key = args[0] === 'lab' ? `lab ${args[1] ?? ''}` : (args[0] ?? '');
    this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
    const env: NodeJS.ProcessEnv = { ...process.env, TRICOLOR_LAB: this.name };
    if (this.compileCacheDir !== undefined) env['NODE_COMPILE_CACHE'] = this.compileCacheDir;
    if (this.datastorePath !== undefined) env['TRICOLOR_DATASTORE_PATH'] = this.datastorePath;
    return new Promise((resolvePromise) => {
      const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env, cwd: ROOT });
      this.children.add(child);
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.on('error', (e) => {
        this.children.delete(child);
        resolvePromise({ status: 127, stdout: '', stderr: e.message });
      });
      child.on('close', (code, signal) => {
        this.children.delete(child);
        resolvePromise({ status: code ?? (signal === null ? 1 : 128), stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
      });
      child.stdin.on('error', () => undefined);
      child.stdin.end(input);
    });
  }

  async cliOk(args: readonly string[], input = ''): Promise<string> {
    const r = await this.cli(args, input);
    if (r.status !== 0) throw new Error(`tricolor ${args.join(' ')}: exit ${r.status}: ${(r.stderr.trim() || r.stdout.trim()).split('\n').slice(-4).join(' / ')}`);
    return r.stdout;
  }

  /**
   * Does POD's own server answer on the pod's loopback (not through the dataplane)? Used to tell a
   * dead or hung pod server from a dataplane that drops: `lab exec POD -- sh -c 'echo | socat …'`.
   */
  async serverAnswers(pod: string, protocol: 'tcp' | 'udp', port: number): Promise<boolean> {
    const r = await this.cli(['lab', 'exec', pod, '--name', this.name, '--', 'sh', '-c', `echo tricolor-diagnosis | socat -T2 - ${protocol === 'tcp' ? 'TCP4' : 'UDP4'}:127.0.0.1:${port}`]);
    return r.status === 0 && r.stdout.includes('tricolor-diagnosis');
  }

  /** Stop the CLI processes still running (ours, by pid) and refuse new ones but `lab down`, e.g. on SIGINT. */
  stop(): void {
    this.stopping = true;
    for (const c of this.children) if (c.pid !== undefined) c.kill('SIGTERM');
  }

  /** `extra`: more `lab up` flags of a variant (e.g. `--wireguard`). */
  async up(nodes: number, dataplane: 'nft' | 'bpf' = 'nft', extra: readonly string[] = []): Promise<LabView> {
    await this.cliOk(['lab', 'up', '--name', this.name, '--nodes', String(nodes), '--dataplane', dataplane, ...extra]);
    const v = await this.status();
    this.datastorePath = v.datastorePath;
    return v;
  }

  async down(): Promise<void> {
    await this.cliOk(['lab', 'down', '--name', this.name]);
  }

  async status(): Promise<LabView> {
    const raw = JSON.parse(await this.cliOk(['lab', 'status', '--name', this.name, '-o', 'json'])) as {
      name: string;
      runDir: string;
      datastorePath: string;
      external: { ip: string };
      nodes: { name: string }[];
      pods: { namespace: string; name: string; node: string; ip: string }[];
    };
    return {
      name: raw.name,
      runDir: raw.runDir,
      datastorePath: raw.datastorePath,
      externalIP: raw.external.ip,
      nodes: raw.nodes.map((n) => n.name),
      pods: raw.pods.map((p) => ({ namespace: p.namespace, name: p.name, node: p.node, ip: p.ip })),
    };
  }

  async nsAdd(ns: string, labels: Readonly<Record<string, string>>): Promise<void> {
    await this.cliOk(['lab', 'ns', 'add', ns, '--name', this.name, '--labels', labelList(labels)]);
  }

  async podAdd(pod: string, o: { node: string; labels: Readonly<Record<string, string>>; serviceAccount: string; serve: string }): Promise<string> {
    const out = await this.cliOk(['lab', 'pod', 'add', pod, '--name', this.name, '--node', o.node, '--labels', labelList(o.labels), '--service-account', o.serviceAccount, '--serve', o.serve]);
    return out.trim();
  }

  async podDel(pod: string): Promise<void> {
    await this.cliOk(['lab', 'pod', 'del', pod, '--name', this.name]);
  }

  async labelNamespace(ns: string, edit: LabelEdit): Promise<void> {
    await this.cliOk(['lab', 'ns', 'label', ns, ...editArgs(edit), '--name', this.name]);
  }

  async labelPod(pod: string, edit: LabelEdit): Promise<void> {
    await this.cliOk(['lab', 'pod', 'label', pod, ...editArgs(edit), '--name', this.name]);
  }

  async apply(docs: readonly Doc[]): Promise<void> {
    if (docs.length === 0) return;
    await this.cliOk(['apply', '-f', '-'], docs.map((d) => JSON.stringify(d)).join('\n---\n') + '\n');
  }

  async remove(refs: readonly DocRef[]): Promise<void> {
    if (refs.length === 0) return;
    const docs = refs.map((r) => ({ apiVersion: r.apiVersion, kind: r.kind, metadata: { name: r.name, ...(r.namespace === undefined ? {} : { namespace: r.namespace }) } }));
    await this.cliOk(['delete', '-f', '-', '--skip-not-exists'], docs.map((d) => JSON.stringify(d)).join('\n---\n') + '\n');
  }

  /**
   * One `lab probe --all` for every combo given (`--port 80,81 --protocol tcp,udp`: the ports and
   * protocols of the combos, so a set that is not a full product gets a few extra pairs, ignored):
   * one prober per source pod doing every target at once. By combo key (`tcp/80`), then
   * `from -> to`, whether it connected.
   */
  async probeAll(combos: readonly Combo[], timeoutMs: number): Promise<Matrices> {
    const { ports, protocols } = productOf(combos);
    const out = await this.cliOk(['lab', 'probe', '--all', '--name', this.name, '--port', ports.join(','), '--protocol', protocols.join(','), '--timeout-ms', String(timeoutMs), '-o', 'json']);
    const r = JSON.parse(out) as { port?: number; protocol?: string; results: { from: string; to: string; protocol?: string; port?: number; connected: boolean }[] };
    return matrices(combos, r, (x) => x.connected);
  }

  /** One `policy explain --all` for every combo given: the oracle's verdict per combo and pair. */
  async explainAll(combos: readonly Combo[]): Promise<Matrices> {
    const { ports, protocols } = productOf(combos);
    const out = await this.cliOk(['policy', 'explain', '--all', '--port', ports.join(','), '--protocol', protocols.join(','), '-o', 'json']);
    const r = JSON.parse(out) as { port?: number; protocol?: string; results: { from: string; to: string; protocol?: string; port?: number; verdict: string }[] };
    return matrices(combos, r, (x) => x.verdict === 'Allow');
  }

  /** One probe (FROM to `external`, a pod or an IP): connected or not, by the command's exit status. */
  async probeOne(from: string, to: string, protocol: Protocol, port: number, timeoutMs: number): Promise<boolean> {
    const r = await this.cli(['lab', 'probe', from, to, '--name', this.name, '--port', String(port), '--protocol', protocol, '--timeout-ms', String(timeoutMs)]);
    if (r.status !== 0 && r.status !== 1) throw new Error(`tricolor lab probe ${from} ${to}: exit ${r.status}: ${r.stderr.trim()}`);
    return r.status === 0;
  }

  async explainOne(from: string, toIP: string, protocol: Protocol, port: number): Promise<boolean> {
    const out = await this.cliOk(['policy', 'explain', '--from', from, '--to', toIP, '--port', String(port), '--protocol', protocol, '-o', 'json']);
    return (JSON.parse(out) as { verdict: string }).verdict === 'Allow';
  }

  /** nft transactions each node's agent has run so far (from its status file); -1 when unknown. */
  appliesByNode(v: LabView): Map<string, number> {
    const out = new Map<string, number>();
    for (const n of v.nodes) {
      let applies = -1;
      try {
        applies = readStatusFile(join(v.runDir, 'nodes', n))?.applies ?? -1;
      } catch {
        // a status file being replaced is read again on the next poll
      }
      out.set(n, applies);
    }
    return out;
  }
}

/** By combo key (`tcp/80`): `from -> to` → connected (or allowed). */
export type Matrices = Map<string, Map<string, boolean>>;

function productOf(combos: readonly Combo[]): { ports: number[]; protocols: string[] } {
  if (combos.length === 0) throw new Error('no combo to probe');
  return { ports: [...new Set(combos.map((c) => c.port))], protocols: [...new Set(combos.map((c) => c.protocol))] };
}

/**
 * Sorts a `--all` answer (the single-value shape, or the list shape whose results name their
 * protocol and port) into one matrix per combo asked for; pairs of other combos are dropped.
 */
function matrices<R extends { from: string; to: string; protocol?: string; port?: number }>(
  combos: readonly Combo[],
  answer: { port?: number; protocol?: string; results: R[] },
  value: (r: R) => boolean,
): Matrices {
  const out: Matrices = new Map(combos.map((c) => [`${c.protocol}/${c.port}`, new Map<string, boolean>()]));
  for (const r of answer.results) {
    const key = `${(r.protocol ?? answer.protocol ?? '').toLowerCase()}/${r.port ?? answer.port ?? ''}`;
    out.get(key)?.set(`${r.from} -> ${r.to}`, value(r));
  }
  return out;
}

function labelList(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

function editArgs(edit: LabelEdit): string[] {
  return Object.entries(edit).map(([k, v]) => (v === null ? `${k}-` : `${k}=${v}`));
}
