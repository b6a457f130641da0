// `npm run conformance:ci`: every profile of ci-profiles.ts, one after the other, each in its own
// child process (its own lab, taken down by that child). Prints each run's output as it comes,
// then one summary line per profile and the totals as `N passed, N failed`. Exit status 0 only
// when every profile ran and every scenario passed; `--only-profile REGEX` narrows the list.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CI_PROFILES } from './ci-profiles.ts';

const { values } = parseArgs({ options: { 'only-profile': { type: 'string' } }, allowPositionals: false });
const filter = values['only-profile'] === undefined ? undefined : new RegExp(values['only-profile'], 'i');
const profiles = CI_PROFILES.filter((p) => filter === undefined || filter.test(p.name));
const runScript = join(import.meta.dirname, 'run.ts');

interface Outcome { readonly name: string; readonly passed: number; readonly failed: number; readonly code: number | null; readonly ms: number }

function runProfile(name: string, args: readonly string[]): Promise<Outcome> {
  const started = Date.now();
  process.stdout.write(`\n=== conformance profile ${name}: run.ts ${args.join(' ')}\n`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [runScript, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let tail = '';
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString('utf8')).slice(-4096);
    });
    child.on('close', (code) => {
      const m = /^(\d+) passed, (\d+) failed/m.exec(tail.split('\n').reverse().find((l) => /^\d+ passed, \d+ failed/.test(l)) ?? '');
      resolve({ name, passed: Number(m?.[1] ?? 0), failed: Number(m?.[2] ?? 0), code, ms: Date.now() - started });
    });
  });
}

const outcomes: Outcome[] = [];
for (const p of profiles) outcomes.push(await runProfile(p.name, p.args));
process.stdout.write('\n');
let passed = 0;
let failed = 0;
for (const o of outcomes) {
  const broken = o.code !== 0 && o.failed === 0;
  process.stdout.write(`profile ${o.name}: ${o.passed} passed, ${o.failed} failed${broken ? ` (run exited ${o.code})` : ''} in ${(o.ms / 1000).toFixed(0)} s\n`);
  passed += o.passed;
  failed += o.failed + (broken ? 1 : 0);
}
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exitCode = failed === 0 && outcomes.length > 0 ? 0 : 1;
