// Faults of the eBPF dataplane under a real node agent (FelixConfiguration bpfEnabled: true), with
// its bpffs mounted in the host's mount namespace as `lab up --dataplane bpf` does, so pins
// outlive the agent. While a continuous probe runs between two pods (TCP 8080 allowed, 9090
// denied by a NetworkPolicy):
//   - SIGKILL and restart: the pinned maps and attached programs keep enforcing with no agent —
//     no allowed connection fails (no gap) and no denied one connects (no open window);
//   - verifier rejection: an agent given an object the kernel refuses (TRICOLOR_BPF_OBJECT, built
//     here with TRI_VERIFIER_REJECT) stays on the last good programs, says why in `node status`,
//     and still programs policy changes through them.
// Needs root; skipped otherwise.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mountBpffs, unmountBpffs } from '../../src/dataplane/io/index.ts';
import { netnsSkipReason, run } from '../support/netns.ts';
import { TCP_OTHER_PORT, TCP_PORT, makeAgentRig, mismatches, pairKey, until, type AgentProc, type AgentRig, type Pod } from './agent-harness.ts';

const CONVERGE_MS = 60_000;
const REPO = join(import.meta.dirname, '..', '..');

const felix = { apiVersion: 'projectcalico.org/v3', kind: 'FelixConfiguration', metadata: { name: 'default' }, spec: { bpfEnabled: true } };
const policyFor = (ports: number[]) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'b-only', namespace: 'flt' },
  spec: { podSelector: { matchLabels: { app: 'b' } }, policyTypes: ['Ingress'], ingress: [{ ports: ports.map((port) => ({ protocol: 'TCP', port })) }] },
});

/** Connections a → b until `stop` exists: every 5th to the denied port, the rest to the allowed one. */
const PROBE_JS = `
const net = require('node:net'); const fs = require('node:fs');
const [ip, okPort, denyPort, stop] = [process.argv[1], +process.argv[2], +process.argv[3], process.argv[4]];
const c = { ok: 0, okFailed: 0, deny: 0, denyConnected: 0, okTimes: [], failures: [] };
const one = (port, timeout) => new Promise((r) => { const s = net.connect({ host: ip, port, timeout }); let done = false;
  const fin = (ok, why) => { if (done) return; done = true; s.destroy(); r([ok, why]); };
  s.on('data', () => fin(true)); s.on('end', () => fin(true)); s.on('error', (e) => fin(false, e.code)); s.on('timeout', () => fin(false, 'timeout')); });
(async () => { for (let i = 0; !fs.existsSync(stop); i++) {
  if (i % 5 === 4) { c.deny++; const [ok] = await one(denyPort, 300); if (ok) c.denyConnected++; }
  else { c.ok++; const [ok, why] = await one(okPort, 4000); if (ok) c.okTimes.push(Date.now()); else { c.okFailed++; c.failures.push(why + '@' + Date.now()); } }
} process.stdout.write(JSON.stringify(c)); })();`;

interface ProbeResult {
  ok: number;
  okFailed: number;
  deny: number;
  denyConnected: number;
  okTimes: number[];
  failures: string[];
}

void describe('eBPF dataplane faults under the node agent', { skip: netnsSkipReason(), timeout: 420_000 }, () => {
  const fns: (() => Promise<void>)[] = [];
  after(async () => {
    for (const f of fns.reverse()) await f();
  });
  let ar: AgentRig;
  let agent: AgentProc;
  let a: Pod;
  let b: Pod;
  let tmp: string;

  const converged = async (what: string): Promise<void> => {
    const want = await ar.expected();
    let last: string[] = [];
    await until(
      async () => {
        last = mismatches(want, await ar.probe());
        return last.length === 0 ? true : undefined;
      },
      CONVERGE_MS,
      () => `${what}: probes differ from policy explain:\n${last.join('\n')}\n${agent.log().slice(-3000)}`,
    );
  };
  const readyAgain = async (pid: number | undefined): Promise<void> => {
    await until(
      async () => {
        const s = ar.status();
        return s?.ready === true && s.pid === pid ? true : undefined;
      },
      CONVERGE_MS,
      () => `the restarted agent never became ready:\n${agent.log().slice(-3000)}`,
    );
  };
  /** Run the probe around `during`; the result, and the window `during` reported (ms epoch). */
  const probeAround = async (name: string, during: () => Promise<[number, number]>): Promise<{ c: ProbeResult; window: [number, number] }> => {
    const stop = join(tmp, `${name}.stop`);
    const probing = a.netns.exec([process.execPath, '-e', PROBE_JS, b.ip, String(TCP_PORT), String(TCP_OTHER_PORT), stop]);
    await new Promise((r) => setTimeout(r, 1500));
    const window = await during();
    await new Promise((r) => setTimeout(r, 1500));
    writeFileSync(stop, '');
    const r = await probing;
    assert.equal(r.status, 0, r.stderr);
    return { c: JSON.parse(r.stdout) as ProbeResult, window };
  };

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'tri-bpf-faults-'));
    fns.push(async () => rmSync(tmp, { recursive: true, force: true }));
    ar = await makeAgentRig((fn) => fns.push(fn));
    // the node's own bpffs in the host's mount namespace (as the lab does): pins outlive the agent
    const bpffs = join(ar.runDir, 'bpf');
    await mountBpffs(bpffs);
    fns.push(() => unmountBpffs(bpffs));
    await ar.apply([felix, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'flt', labels: { team: 'flt' } } }, policyFor([TCP_PORT])]);
    a = await ar.addPod('flt', 'a', { app: 'a' });
    b = await ar.addPod('flt', 'b', { app: 'b' });
    agent = ar.startAgent();
    fns.push(() => ar.stopAgent(agent, 'SIGKILL'));
    await readyAgain(agent.child.pid);
    await converged('start');
  });

  void it('agent SIGKILL and restart: pinned state keeps enforcing — no gap, no open window', async () => {
    const { c, window } = await probeAround('kill', async () => {
      await ar.stopAgent(agent, 'SIGKILL');
      const killedAt = Date.now();
      assert.ok(existsSync(join(ar.runDir, 'bpf', 'maps', 'tri1_ct')), 'the conntrack map stays pinned after SIGKILL');
      await new Promise((r) => setTimeout(r, 2000)); // no agent at all for a while
      agent = ar.startAgent();
      fns.push(() => ar.stopAgent(agent, 'SIGKILL'));
      await readyAgain(agent.child.pid);
      return [killedAt, Date.now()];
    });
    const duringOutage = c.okTimes.filter((t) => t >= window[0] && t <= window[1]).length;
    assert.equal(c.okFailed, 0, `allowed connections failed (a gap): ${c.failures.join(', ')}`);
    assert.equal(c.denyConnected, 0, `denied connections connected (an open window): ${c.denyConnected} of ${c.deny}`);
    assert.ok(duringOutage > 0 && c.deny > 0, `the probe ran through the outage (${duringOutage} allowed connections in it, ${c.deny} denied tries)`);
    await converged('after the restart');
  });

  void it('verifier rejection: the agent stays on its last good programs and says why in node status', async () => {
    const broken = join(tmp, 'broken.bpf.o');
    const src = join(REPO, 'src', 'dataplane', 'bpf', 'c', 'tricolor.bpf.c');
    const cc = await run(['clang', '-O2', '-g', '-target', 'bpf', '-mcpu=v3', '-DTRI_VERIFIER_REJECT', '-I/usr/include/x86_64-linux-gnu', '-c', src, '-o', broken]);
    assert.equal(cc.status, 0, cc.stderr);
    const { c } = await probeAround('verifier', async () => {
      await ar.stopAgent(agent, 'SIGTERM');
      const at = Date.now();
      agent = ar.startAgent([], { TRICOLOR_BPF_OBJECT: broken });
      fns.push(() => ar.stopAgent(agent, 'SIGKILL'));
      await readyAgain(agent.child.pid);
      return [at, Date.now()];
    });
    assert.equal(c.okFailed, 0, `allowed connections failed: ${c.failures.join(', ')}`);
    assert.equal(c.denyConnected, 0, `denied connections connected: ${c.denyConnected} of ${c.deny}`);
    const st = ar.status();
    assert.equal(st?.dataplane?.running, 'bpf');
    assert.match(st?.dataplane?.problem ?? '', /loading .*broken\.bpf\.o failed \(the kernel's verifier or loader refused it\)/);
    assert.match(st?.dataplane?.problem ?? '', /running the last good programs \(progs-[0-9a-f]+\)/);
    assert.match(st?.dataplane?.problem ?? '', /invalid access to packet|R\d+ invalid mem access|unbounded/);
    const ns = await run([process.execPath, join(REPO, 'bin', 'tricolor.ts'), 'node', 'status', '--run-dir', ar.runDir], { env: ar.env });
    assert.match(ns.stdout, /Dataplane:\s+bpf — bpf: loading .*broken\.bpf\.o failed/);
    // the last good programs are still programmable: a policy change is enforced through them
    await ar.apply([policyFor([TCP_PORT, TCP_OTHER_PORT])]);
    await converged('a policy change on the last good programs');
    const got = await ar.probe([a], [{ proto: 'TCP', port: TCP_OTHER_PORT }], 1000, [b]);
    assert.equal(got.get(pairKey(a.id, b.id, { proto: 'TCP', port: TCP_OTHER_PORT })), true, 'a → b:9090 connects once the policy allows it');
  });
});
