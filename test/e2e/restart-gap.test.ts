// End-to-end: an agent restart costs no traffic. In a lab per routing mode (BGP full mesh, BGP
// with a route reflector, VXLAN) every pair between the restarted node's pod and the other nodes'
// pods is probed continuously (both directions, a TCP handshake every 20 ms) while the agent is
// stopped with SIGTERM, then killed with SIGKILL, and restarted as `lab up` starts it. The
// ruleset, routes and VXLAN device stay in force while no agent runs, and BIRD outlives the agent
// (SIGTERM leaves it running; after SIGKILL it is orphaned) and is adopted by the new agent, so
// not one probe may be lost. The figures (probes lost, longest gap) are printed. A reference run
// with SIGINT (which stops BIRD too, so a fresh BIRD starts) shows what the probes would see
// without adoption, and that the probes can see a gap at all.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forgetLab, labSkipReason, tri, uniqueLab } from './lab-harness.ts';
import { describeFigures, measureRestart, upGapLab, type RestartSignal, type RoutingMode } from './restart-gap-harness.ts';

const skip = labSkipReason(['bird']);

const CASES: readonly { mode: RoutingMode; nodes: readonly string[] }[] = [
  { mode: 'mesh', nodes: ['node-2'] },
  // a client of the reflector, and the reflector itself (every route passes through its BIRD)
  { mode: 'rr', nodes: ['node-2', 'node-1'] },
  { mode: 'vxlan', nodes: ['node-2'] },
];

void describe('agent restart without a traffic gap', { skip, timeout: 600_000 }, () => {
  for (const c of CASES) {
    void it(`${c.mode}: SIGTERM and SIGKILL lose no probe; BIRD is adopted`, async (t) => {
      const lab = uniqueLab();
      t.after(async () => {
        await tri(['lab', 'down', '--name', lab]);
        forgetLab(lab);
      });
      const g = await upGapLab(c.mode, lab);
      for (const node of c.nodes) {
        for (const signal of ['SIGTERM', 'SIGKILL'] as const satisfies readonly RestartSignal[]) {
          const f = await measureRestart(g, node, signal);
          t.diagnostic(describeFigures(f));
          assert.ok(f.attempts > 100, `probes ran throughout (${f.attempts} attempts)`);
          assert.equal(f.lost, 0, `${describeFigures(f)}\n${JSON.stringify(f.directions)}\n${f.agentLog}`);
          if (c.mode !== 'vxlan') {
            assert.ok(f.birdBefore !== undefined, 'BIRD ran before the restart');
            assert.equal(f.birdAfter, f.birdBefore, `the restarted agent adopted BIRD (${describeFigures(f)})`);
          }
        }
      }
      if (c.mode === 'mesh') {
        // reference: SIGINT stops BIRD as well; the new agent's fresh BIRD is a different process
        const f = await measureRestart(g, 'node-2', 'SIGINT');
        t.diagnostic(`reference (BIRD stopped with the agent): ${describeFigures(f)}`);
        assert.notEqual(f.birdAfter, f.birdBefore, 'SIGINT stopped BIRD, a new one started');
        // the probes see a fresh BIRD's prune-and-relearn: they can tell a gap from none
        assert.ok(f.lost > 0, `the reference restart shows a gap (${describeFigures(f)})`);
      }
    });
  }
});
