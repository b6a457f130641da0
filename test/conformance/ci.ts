// `npm run conformance:ci`: every profile of ci-profiles.ts, each in its own child process (its
// own lab, taken down by that child), up to --jobs at a time (default 2: the full suites wait on
// probes and convergence far more than they compute, so two labs share a 2-core machine well).
// Output lines are prefixed with the profile's name as they come; then one summary line per
// profile and the totals as `N passed, N failed`. Exit status 0 only when every profile ran and
// every scenario passed. `--only-profile REGEX` narrows the list; `--jobs 1` runs them in order.

import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CI_PROFILES, type ConformanceProfile } from './ci-profiles.ts';

const { values } = parseArgs({
  options: { 'only-profile': { type: 'string' }, jobs: { type: 'string', default: process.env['CONFORMANCE_JOBS'] ?? '2' } },
  allowPositionals: false,
});
let filter: RegExp | undefined;
try {
  filter = values['only-profile'] === undefined ? undefined : new RegExp(values['only-profile'], 'i');
} catch (e) {
  process.stderr.write(`conformance:ci: --only-profile: ${(e as Error).message}\n`);
  process.exit(2);
}
const jobs = Number(values.jobs);
if (!/^\d+$/.test(values.jobs) || jobs < 1 || jobs > 8) {
  process.stderr.write(`conformance:ci: --jobs: ${JSON.stringify(values.jobs)} is not a number from 1 to 8\n`);
  process.exit(2);
}
// Full suites (no --only) start first: they are the longest, so the subsets fill in beside them.
const isSubset = (p: ConformanceProfile): boolean => p.args.includes('--only');
const profiles = CI_PROFILES.filter((p) => filter === undefined || filter.test(p.name))
  .sort((a, b) => Number(isSubset(a)) - Number(isSubset(b)));
const runScript = join(import.meta.dirname, 'run.ts');
const width = Math.max(0, ...profiles.map((p) => p.name.length));

interface Outcome { readonly name: string; readonly passed: number; readonly failed: number; readonly code: number | null; readonly ms: number }

const running = new Set<ChildProcess>();

/** Copies a child's stream to ours line by line, each line prefixed with the profile's name. */
function prefixLines(name: string, into: NodeJS.WriteStream, onLine?: (line: string) => void): (chunk: Buffer) => void {
  let partial = '';
  const tag = `[${name.padEnd(width)}] `;
  return (chunk) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) {
      into.write(`${tag}${l}\n`);
      onLine?.(l);
    }
  };
}

function runProfile(p: ConformanceProfile): Promise<Outcome> {
  const started = Date.now();
  process.stdout.write(`=== conformance profile ${p.name}: run.ts ${p.args.join(' ')}\n`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [runScript, ...p.args], { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let summary: RegExpExecArray | null = null;
    child.stdout.on('data', prefixLines(p.name, process.stdout, (l) => {
      summary = /^(\d+) passed, (\d+) failed/.exec(l) ?? summary;
    }));
    child.stderr.on('data', prefixLines(p.name, process.stderr));
    child.on('close', (code) => {
      running.delete(child);
      const m: RegExpExecArray | null = summary;
      resolve({ name: p.name, passed: Number(m?.[1] ?? 0), failed: Number(m?.[2] ?? 0), code, ms: Date.now() - started });
    });
  });
}

// A signal to us is passed on to every running profile, which takes its own lab down.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    for (const c of running) c.kill(sig);
  });
}

const outcomes = new Map<string, Outcome>();
const queue = [...profiles];
async function worker(): Promise<void> {
  for (let p = queue.shift(); p !== undefined; p = queue.shift()) outcomes.set(p.name, await runProfile(p));
}
await Promise.all(Array.from({ length: Math.min(jobs, profiles.length) }, () => worker()));

process.stdout.write('\n');
let passed = 0;
let failed = 0;
for (const p of profiles) {
  const o = outcomes.get(p.name);
  if (o === undefined) continue;
  const broken = o.code !== 0 && o.failed === 0;
  process.stdout.write(`profile ${o.name}: ${o.passed} passed, ${o.failed} failed${broken ? ` (run exited ${o.code})` : ''} in ${(o.ms / 1000).toFixed(0)} s\n`);
  passed += o.passed;
  failed += o.failed + (broken ? 1 : 0);
}
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exitCode = failed === 0 && outcomes.size > 0 ? 0 : 1;
