// Restart benchmark: the traffic gap an agent restart causes, per routing mode (BGP full mesh,
// BGP with a route reflector, VXLAN). In a lab per mode, node-2's agent is restarted RESTARTS
// times (SIGTERM and SIGKILL in turn) while TCP probes (one handshake every 20 ms, 900 ms each)
// run both ways between its pod and every other node's pod (test/e2e/restart-gap-harness.ts).
// Per mode and signal: probes lost, the longest gap p50/max over the restarts, and the time from
// the signal to the new agent being ready. Reference in the same run (BGP modes): REFERENCE
// restarts with SIGINT, which stops BIRD with the agent, so the new agent starts a fresh BIRD —
// what every restart cost before BIRD outlived the agent. One JSON line on stdout; progress on
// stderr. Args: [RESTARTS] [REFERENCE] [MODES] (defaults 10, 3, mesh,rr,vxlan).

import { spawnSync } from 'node:child_process';
import { BIN, labEnv } from '../test/e2e/lab-harness.ts';
import { ROUTING_MODES, measureRestart, upGapLab, type RestartFigures, type RestartSignal, type RoutingMode } from '../test/e2e/restart-gap-harness.ts';

const RESTARTS = Number(process.argv[2] ?? '10');
const REFERENCE = Number(process.argv[3] ?? '3');
const MODES = (process.argv[4] ?? ROUTING_MODES.join(',')).split(',') as RoutingMode[];
const log = (l: string): void => void process.stderr.write(`${l}\n`);
for (const m of MODES) {
  if (!ROUTING_MODES.includes(m)) {
    log(`usage: npm run bench -- restart [RESTARTS] [REFERENCE] [${ROUTING_MODES.join(',')}]`);
    process.exit(2);
  }
}

function pct(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? null;
}

function summary(fs: readonly RestartFigures[]): Record<string, number | null> {
  const gaps = fs.map((f) => f.gapMs).sort((a, b) => a - b);
  const ready = fs.map((f) => f.restartMs).sort((a, b) => a - b);
  return {
    restarts: fs.length,
    probes: fs.reduce((k, f) => k + f.attempts, 0),
    lost: fs.reduce((k, f) => k + f.lost, 0),
    restarts_with_loss: fs.filter((f) => f.lost > 0).length,
    gap_p50_ms: pct(gaps, 50),
    gap_max_ms: gaps.at(-1) ?? null,
    bird_adopted: fs.every((f) => f.birdBefore === undefined) ? null : fs.filter((f) => f.birdBefore !== undefined && f.birdBefore === f.birdAfter).length,
    agent_ready_p50_ms: pct(ready, 50),
  };
}

const out: Record<string, unknown> = { bench: 'restart', restarts_per_mode: RESTARTS, probe_interval_ms: 20, probe_timeout_ms: 900 };
for (const mode of MODES) {
  const lab = `r${process.pid.toString(36).slice(-5)}${mode.slice(0, 1)}`;
  log(`${mode}: lab ${lab}`);
  try {
    const g = await upGapLab(mode, lab);
    const runs: RestartFigures[] = [];
    for (let i = 0; i < RESTARTS; i++) {
      const signal: RestartSignal = i % 2 === 0 ? 'SIGTERM' : 'SIGKILL';
      const f = await measureRestart(g, 'node-2', signal, 1000);
      log(`  ${i + 1}/${RESTARTS} ${signal}: ${f.lost}/${f.attempts} lost, gap ${f.gapMs} ms, ready after ${f.restartMs} ms`);
      runs.push(f);
    }
    const ref: RestartFigures[] = [];
    if (mode !== 'vxlan') {
      for (let i = 0; i < REFERENCE; i++) {
        const f = await measureRestart(g, 'node-2', 'SIGINT', 1000);
        log(`  reference ${i + 1}/${REFERENCE} SIGINT (BIRD stopped too): ${f.lost}/${f.attempts} lost, gap ${f.gapMs} ms`);
        ref.push(f);
      }
    }
    out[mode] = {
      all: summary(runs),
      SIGTERM: summary(runs.filter((f) => f.signal === 'SIGTERM')),
      SIGKILL: summary(runs.filter((f) => f.signal === 'SIGKILL')),
      ...(ref.length === 0 ? {} : { reference_bird_restarted: summary(ref) }),
    };
  } finally {
    spawnSync(process.execPath, [BIN, 'lab', 'down', '--name', lab], { env: labEnv(), stdio: 'ignore' });
  }
}
process.stdout.write(`${JSON.stringify(out)}\n`);
