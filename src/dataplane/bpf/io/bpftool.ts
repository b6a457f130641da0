// bpftool as a subprocess: the eBPF dataplane's only way into the kernel (no native addons).
// Each spawn costs ~8 ms from Node (ebpf contract §2.4), so everything goes through
// `bpftool -j batch file F`: one process for thousands of map writes (~50k/s). A batch is NOT
// transactional: it stops at the first failing command and keeps every earlier one applied, so
// callers order their commands such that every prefix is safe (docs/design/bpf.md).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TricolorError } from '../../../base/index.ts';
import { runCommandRaw } from '../../io/exec.ts';

export interface BatchResult {
  /** One entry per command that ran (bpftool's `output`, null for writes). */
  readonly outputs: readonly unknown[];
  /** Index of the command that failed (the batch stopped there), or undefined. */
  readonly failedAt: number | undefined;
  readonly error: string | undefined;
}

export interface BpftoolOptions {
  /** Run inside this network namespace (path); pins are in the shared mount namespace. */
  readonly netnsPath?: string;
}

let seq = 0;

/** Run commands (without the leading `bpftool`) in one process; never throws for a failed command. */
export async function bpftoolBatch(commands: readonly string[], o: BpftoolOptions = {}): Promise<BatchResult> {
  if (commands.length === 0) return { outputs: [], failedAt: undefined, error: undefined };
  const dir = mkdtempSync(join(tmpdir(), `tri-bpf-${process.pid}-${seq++}-`));
  const file = join(dir, 'batch');
  try {
    writeFileSync(file, commands.join('\n') + '\n');
    const r = await runCommandRaw(['bpftool', '-j', 'batch', 'file', file], o.netnsPath === undefined ? {} : { netnsPath: o.netnsPath });
    let parsed: { output?: unknown }[] = [];
    try {
      parsed = JSON.parse(r.stdout.trim() === '' ? '[]' : r.stdout) as { output?: unknown }[];
    } catch {
      throw new TricolorError('ERR_IO', `bpftool batch: unreadable output (exit ${r.status}): ${r.stderr.trim() || r.stdout.slice(0, 200)}`);
    }
    const outputs = parsed.map((p) => p.output ?? null);
    const lastOut = outputs[outputs.length - 1] as { error?: string } | null | undefined;
    if (r.status === 0) return { outputs, failedAt: undefined, error: undefined };
    const failedAt = lastOut !== null && typeof lastOut === 'object' && typeof lastOut.error === 'string' ? outputs.length - 1 : outputs.length;
    const why = (lastOut !== null && typeof lastOut === 'object' ? lastOut.error : undefined) ?? r.stderr.trim();
    return { outputs, failedAt, error: `${commands[failedAt]?.slice(0, 160) ?? '?'}: ${why}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Run a batch that must succeed completely; the error names the failing command and why. */
export async function bpftoolBatchOk(commands: readonly string[], o: BpftoolOptions = {}): Promise<readonly unknown[]> {
  const r = await bpftoolBatch(commands, o);
  if (r.failedAt !== undefined) {
    throw new TricolorError('ERR_IO', `bpftool batch failed at command ${r.failedAt + 1} of ${commands.length}: ${r.error ?? ''}`, {
      detail: { failedAt: r.failedAt },
    });
  }
  return r.outputs;
}

export interface MapEntry {
  readonly key: number[];
  readonly value: number[];
}

/** bpftool's JSON dump output → raw entries (per-CPU maps: `values` summed by the caller). */
export function dumpEntries(output: unknown): MapEntry[] {
  if (!Array.isArray(output)) return [];
  return (output as { key?: string[]; value?: string[] }[]).flatMap((e) =>
    e.key === undefined || e.value === undefined ? [] : [{ key: e.key.map((s) => parseInt(s, 16)), value: e.value.map((s) => parseInt(s, 16)) }],
  );
}

/** Per-CPU array dump → per-key sums of u64 values. */
export function sumPerCpu(output: unknown): Map<number, bigint> {
  const out = new Map<number, bigint>();
  if (!Array.isArray(output)) return out;
  for (const e of output as { key?: string[]; values?: { value: string[] }[] }[]) {
    if (e.key === undefined || e.values === undefined) continue;
    const k = e.key.map((s) => parseInt(s, 16));
    const idx = (k[0] ?? 0) | ((k[1] ?? 0) << 8) | ((k[2] ?? 0) << 16) | ((k[3] ?? 0) << 24);
    let sum = 0n;
    for (const v of e.values) {
      const b = v.value.map((s) => BigInt(parseInt(s, 16)));
      let x = 0n;
      for (let i = 7; i >= 0; i--) x = (x << 8n) | (b[i] ?? 0n);
      sum += x;
    }
    out.set(idx, sum);
  }
  return out;
}
