// Conformance benchmark: wall time of the whole lab conformance suite (`npm run conformance`:
// lab up, the x/y/z model, every Kubernetes and Calico scenario, lab down), with the set-up and
// per-step figures the runner reports and the machine's load, since the suite is CPU-bound on
// process start-ups (probers, CLI calls). Needs root. One JSON line on stdout; the suite's own
// output goes to stderr. Args are passed to the runner (e.g. --only REGEX, --placement one).

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const RUNNER = resolve(import.meta.dirname, '../test/conformance/run.ts');
const dir = mkdtempSync(join(tmpdir(), 'tricolor-conformance-bench-'));
const figuresFile = join(dir, 'figures.json');
const load0 = loadavg()[0] ?? 0;
const t0 = performance.now();
try {
  const status = await new Promise<number>((resolvePromise) => {
    const child = spawn(process.execPath, [RUNNER, '--figures', figuresFile, ...process.argv.slice(2)], { stdio: ['ignore', 2, 2] });
    // the runner's report belongs on stderr here: stdout carries only the JSON line
    child.on('error', () => resolvePromise(127));
    child.on('close', (code) => resolvePromise(code ?? 1));
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => child.kill(sig));
  });
  const wallMs = performance.now() - t0;
  let f: Record<string, unknown> = {};
  try {
    f = JSON.parse(readFileSync(figuresFile, 'utf8')) as Record<string, unknown>;
  } catch {
    // the runner stopped before writing figures: report what we know
  }
  const steps = typeof f['steps'] === 'number' ? f['steps'] : 0;
  const scenariosMs = typeof f['scenariosMs'] === 'number' ? f['scenariosMs'] : 0;
  process.stdout.write(
    JSON.stringify({
      bench: 'conformance',
      wallMs: Math.round(wallMs),
      setupMs: typeof f['setupMs'] === 'number' ? Math.round(f['setupMs']) : null,
      scenariosMs: Math.round(scenariosMs),
      scenarios: f['scenarios'] ?? null,
      passed: f['passed'] ?? null,
      failed: f['failed'] ?? null,
      steps,
      msPerStep: steps > 0 ? Math.round(scenariosMs / steps) : null,
      matrixProbes: f['matrixProbes'] ?? null,
      reprobes: f['reprobes'] ?? null,
      placement: f['placement'] ?? null,
      exitStatus: status,
      cores: availableParallelism(),
      loadavg1Before: Number(load0.toFixed(2)),
      loadavg1After: Number((loadavg()[0] ?? 0).toFixed(2)),
    }) + '\n',
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
