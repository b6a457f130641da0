// End-to-end: Typha failover in a real lab (`lab up --typha 2`, issue 15). Two replicas in node-1
// and node-2; every agent and proxy reads through one of them. The replica serving the most
// clients is SIGKILLed: its clients move to the other one (its health shows all of them), the
// pods keep the policy they had, every agent stays ready, and a policy change made while the
// replica is down reaches every node's agent (probes across all three nodes follow it). The
// replicas' health answers on their namespace loopback :9098 and nothing listens on the host.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { run } from '../support/netns.ts';
import { LAB_ROOT, applyToLab, eventually, forgetLab, labSkipReason, probeAll, tri, triOk, triOnLab, uniqueLab } from './lab-harness.ts';

const skip = labSkipReason();

/** GET a Typha replica's health from inside its node namespace (the host never reaches it). */
async function typhaHealth(netns: string, path: '/liveness' | '/readiness'): Promise<{ status: number; body: string }> {
  const js = `fetch('http://127.0.0.1:9098${path}',{signal:AbortSignal.timeout(3000)}).then(async r=>process.stdout.write(JSON.stringify({status:r.status,body:await r.text()})),e=>{process.stderr.write(String(e));process.exit(2)})`;
  const r = await run(['ip', 'netns', 'exec', netns, process.execPath, '-e', js]);
  if (r.status !== 0) throw new Error(`health ${netns}${path}: ${r.stderr}`);
  return JSON.parse(r.stdout) as { status: number; body: string };
}

/** Clients streaming from a replica, by syncer (from its readiness body). */
function streaming(body: string): { felix: number; proxy: number } {
  const n = (t: string): number => Number(new RegExp(`cache ${t} .* (\\d+) streaming`).exec(body)?.[1] ?? 'NaN');
  return { felix: n('felix'), proxy: n('proxy') };
}

/** The pid of `tricolor typha run` inside a namespace. */
async function typhaPid(netns: string): Promise<number> {
  const r = await run(['ip', 'netns', 'pids', netns]);
  for (const pid of r.stdout.split('\n').map((x) => Number(x.trim())).filter((x) => x > 1)) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const i = argv.indexOf('typha');
      if (i >= 0 && argv[i + 1] === 'run') return pid;
    } catch {
      // gone meanwhile
    }
  }
  throw new Error(`no typha process in ${netns}`);
}

const agentReady = (lab: string, node: string): boolean => {
  try {
    return (JSON.parse(readFileSync(join(LAB_ROOT, lab, 'nodes', node, 'status.json'), 'utf8')) as { ready?: boolean }).ready === true;
  } catch {
    return false;
  }
};

/** `from→to` pairs that connected, sorted. */
async function connectedPairs(lab: string): Promise<string[]> {
  const r = await probeAll(lab, 80, 'tcp', 1000);
  assert.equal(r.results.length, 6, JSON.stringify(r));
  return r.results
    .filter((x) => x.connected)
    .map((x) => `${x.from}→${x.to}`)
    .sort();
}

const policy = (allowFrom: string): string => `apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: only-${allowFrom}
  namespace: x
spec:
  selector: all()
  types: [Ingress]
  ingress:
    - action: Allow
      protocol: TCP
      source:
        selector: role == '${allowFrom}'
`;

void describe('lab typha failover', { skip, timeout: 400_000 }, () => {
  void it('two replicas: kill the busier one, its agents move to the other, keep enforcing, and get a policy changed meanwhile', async (t) => {
    const lab = uniqueLab();
    t.after(async () => {
      await tri(['lab', 'down', '--name', lab]);
      forgetLab(lab);
    });
    await triOk(['lab', 'up', '--name', lab, '--nodes', '3', '--typha', '2'], lab);
    const st = JSON.parse(await triOk(['lab', 'status', '-o', 'json'], lab)) as { typha: string[] };
    assert.deepEqual(st.typha, ['172.31.0.11:5473', '172.31.0.12:5473']);
    const ns = (node: string): string => `tri-${lab}-${node}`;
    for (const [node, role] of [['node-1', 'r1'], ['node-2', 'r2'], ['node-3', 'r3']] as const) {
      await triOk(['lab', 'pod', 'add', `x/${role}`, '--node', node, '--labels', `role=${role}`, '--serve', 'tcp:80'], lab);
    }

    // only r1 may connect to anything
    await applyToLab(lab, policy('r1'));
    const v1 = ['x/r1→x/r2', 'x/r1→x/r3'];
    let pairs: string[] = [];
    assert.ok(await eventually(async () => JSON.stringify((pairs = await connectedPairs(lab))) === JSON.stringify(v1), 60_000), `before the failover: ${pairs.join(', ')}`);

    // both replicas ready on their namespace loopback; 3 agents and 3 proxies spread over them
    const health = await Promise.all(['node-1', 'node-2'].map((n) => typhaHealth(ns(n), '/readiness')));
    for (const h of health) assert.equal(h.status, 200, h.body);
    const counts = health.map((h) => streaming(h.body));
    assert.equal(counts.reduce((a, c) => a + c.felix, 0), 3, JSON.stringify(counts));
    assert.equal(counts.reduce((a, c) => a + c.proxy, 0), 3, JSON.stringify(counts));
    assert.doesNotMatch((await run(['ss', '-ltnH'])).stdout, /:9098\b/, 'no Typha health port on the host');

    // kill the replica with the most clients (there is always one with at least 3 of the 6)
    const victimIdx = counts[0] !== undefined && counts[1] !== undefined && counts[0].felix + counts[0].proxy >= counts[1].felix + counts[1].proxy ? 0 : 1;
    const victim = victimIdx === 0 ? 'node-1' : 'node-2';
    const survivor = victimIdx === 0 ? 'node-2' : 'node-1';
    const pid = await typhaPid(ns(victim));
    process.kill(pid, 'SIGKILL');
    assert.ok(await eventually(async () => (await run(['ip', 'netns', 'pids', ns(victim)])).stdout.split('\n').every((p) => p.trim() !== String(pid)), 10_000), 'the replica is gone');

    // every client moves to the survivor
    let last = '';
    assert.ok(
      await eventually(async () => {
        const h = await typhaHealth(ns(survivor), '/readiness');
        last = h.body;
        const c = streaming(h.body);
        return h.status === 200 && c.felix === 3 && c.proxy === 3;
      }, 90_000),
      `all 3 agents and 3 proxies on ${survivor}'s replica:\n${last}`,
    );
    // …and nothing changed for the pods meanwhile: the old policy still holds, agents stay ready
    assert.deepEqual(await connectedPairs(lab), v1, 'policy unchanged through the failover');
    for (const n of ['node-1', 'node-2', 'node-3']) assert.ok(agentReady(lab, n), `${n}'s agent ready`);

    // a policy change while one replica is down reaches every agent: now only r2 may connect
    // (node-1 must open r2→r1, node-2 close r1→r2, node-3 swap r1→r3 for r2→r3)
    await applyToLab(lab, policy('r2'));
    await triOnLab(['delete', 'networkpolicy', 'only-r1', '-n', 'x'], lab);
    const v2 = ['x/r2→x/r1', 'x/r2→x/r3'];
    assert.ok(await eventually(async () => JSON.stringify((pairs = await connectedPairs(lab))) === JSON.stringify(v2), 60_000), `after the change: ${pairs.join(', ')}`);
    for (const n of ['node-1', 'node-2', 'node-3']) assert.ok(agentReady(lab, n), `${n}'s agent ready`);
  });
});
