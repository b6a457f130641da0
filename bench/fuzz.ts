// Fuzz benchmark: each target of test/fuzz/targets.ts for a fixed time budget from a seed given
// on the command line (default: the date), reporting inputs tried and inputs per second per
// target. A failure prints its seed and counterexample to stderr (keep it as a regression in
// test/fuzz/fuzz.test.ts) and the figures line still comes out. Usage:
//   npm run bench -- fuzz [SECONDS_PER_TARGET=10] [SEED]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { PURE_TARGETS, cliTarget, type FuzzTarget } from '../test/fuzz/targets.ts';

const seconds = Number(process.argv[2] ?? 10);
const seed = Number(process.argv[3] ?? Math.floor(Date.now() / 86_400_000));
const dir = mkdtempSync(join(tmpdir(), 'tri-bench-fuzz-'));
const targets: FuzzTarget[] = [...PURE_TARGETS, cliTarget(join(dir, 'ds.db'), dir)];
const figures: Record<string, { inputs: number; inputs_per_s: number; failed: boolean }> = {};
let total = 0;
try {
  for (const t of targets) {
    let tried = 0;
    const prop = (t.property as fc.IAsyncPropertyWithHooks<[unknown]>).beforeEach((before) => {
      tried++;
      return before();
    });
    const t0 = performance.now();
    const r = await fc.check(prop, { seed, numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: seconds * 1000, endOnFailure: true });
    const s = (performance.now() - t0) / 1000;
    if (r.failed) process.stderr.write(`fuzz ${t.name} FAILED (seed ${r.seed}, path ${r.counterexamplePath ?? '?'}): ${JSON.stringify(r.counterexample)?.slice(0, 2000)}\n${String(r.errorInstance)}\n`);
    figures[t.name] = { inputs: tried, inputs_per_s: Math.round(tried / s), failed: r.failed };
    total += tried;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify({ bench: 'fuzz', seed, seconds_per_target: seconds, total_inputs: total, targets: figures }) + '\n');
