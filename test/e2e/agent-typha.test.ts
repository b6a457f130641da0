// The node agent behind Typha, in real network namespaces: `tricolor typha run` and `tricolor
// node run` with FELIX_TYPHAADDR in the node namespace, pods plugged in through tricolor-cni,
// probes checked against the verdict oracle. Typha is killed: the programmed ruleset does not
// change while it is away (even though policy changes in the datastore meanwhile), the agent
// stays ready, and once Typha is back the agent converges on the new policy. Needs root.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { parseMetricsText } from '../../src/base/index.ts';
import { netnsSkipReason } from '../support/netns.ts';
import { makeAgentRig, mismatches, pairKey, PROBES, TRICOLOR_BIN, until, type AgentProc, type AgentRig, type Matrix } from './agent-harness.ts';

const skip = netnsSkipReason();
const CONVERGE_MS = 30_000;

void describe('the node agent behind Typha', { skip }, () => {
  const fns: (() => Promise<void>)[] = [];
  after(async () => {
    for (const f of fns.reverse()) await f();
  });
  let ar: AgentRig;
  let agent: AgentProc;
  let typha: { child: ChildProcess; log: () => string; exited: Promise<unknown> };

  const startTypha = (): typeof typha => {
    const child = spawn('ip', ['netns', 'exec', ar.rig.node.name, process.execPath, TRICOLOR_BIN, 'typha', 'run', '--port', '5473', '--metrics-port', '9093', '--ping-interval', '1s'], {
      env: ar.env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    child.stderr?.on('data', (b: Buffer) => (log += b.toString()));
    const exited = new Promise((resolve) => child.on('exit', resolve));
    fns.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    });
    return { child, log: () => log, exited };
  };

  /** The ruleset without packet/byte counts (probes move them). */
  const rules = async (): Promise<string> => (await ar.nodeExec(['nft', 'list', 'table', 'inet', 'tricolor'])).stdout.replace(/counter packets \d+ bytes \d+/g, 'counter');

  async function converge(step: string): Promise<Matrix> {
    const want = await ar.expected();
    let last: string[] = [];
    await until(
      async () => {
        last = mismatches(want, await ar.probe());
        return last.length === 0 ? true : undefined;
      },
      CONVERGE_MS,
      () => `${step}: probes disagree with policy explain:\n  ${last.join('\n  ')}\nagent log:\n${agent.log().slice(-3000)}\ntypha log:\n${typha.log().slice(-2000)}`,
    );
    return want;
  }

  before(async () => {
    ar = await makeAgentRig((fn) => fns.push(fn));
    await ar.apply([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'red', labels: { team: 'red' } } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'blue', labels: { team: 'blue' } } },
    ]);
    await ar.addPod('red', 'web', { app: 'web' });
    await ar.addPod('blue', 'client', { app: 'client' });
    typha = startTypha();
    await until(async () => (/serving felix/.test(typha.log()) ? true : undefined), CONVERGE_MS, () => `typha did not start:\n${typha.log()}`);
    ar.env['FELIX_TYPHAADDR'] = '127.0.0.1:5473';
    agent = ar.startAgent(['--nft-refresh-ms', '1000']);
    fns.push(() => ar.stopAgent(agent, 'SIGKILL'));
    await until(async () => (ar.status()?.ready === true ? true : undefined), CONVERGE_MS, () => `agent never became ready:\n${agent.log().slice(-3000)}`);
  });

  void it('syncs through Typha and enforces policy', async () => {
    assert.match(agent.log(), /syncing from Typha 127\.0\.0\.1:5473 \(syncer felix\)/);
    const m = parseMetricsText((await ar.nodeFetch('http://127.0.0.1:9093/metrics')).body);
    assert.equal(m.get('typha_connections_active'), 1);
    assert.equal(m.get('typha_connections_streaming{syncer="felix"}'), 1);
    await ar.apply([{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'default-deny', namespace: 'red' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } }]);
    const want = await converge('default deny via Typha');
    assert.equal(want.get(pairKey('blue/client', 'red/web', PROBES[0]!)), false);
  });

  void it('Typha killed: nothing changes in the dataplane while it is away; back, the agent converges', async () => {
    const rulesBefore = await rules();
    const enforced = await ar.expected();
    typha.child.kill('SIGKILL');
    await typha.exited;
    // policy changes while Typha is away: the agent cannot see it and keeps what it programmed
    await ar.apply([
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'allow-blue', namespace: 'red' },
        spec: { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'blue' } } }] }] },
      },
    ]);
    await new Promise((r) => setTimeout(r, 3000));
    assert.deepEqual(mismatches(enforced, await ar.probe()), [], 'the programmed policy stays in force');
    assert.equal(await rules(), rulesBefore, 'the ruleset is untouched while Typha is away');
    assert.equal(ar.status()?.ready, true, 'the agent stays ready');
    typha = startTypha();
    const want = await converge('after Typha is back');
    assert.equal(want.get(pairKey('blue/client', 'red/web', PROBES[0]!)), true);
    assert.match(agent.log(), /typha client: /, 'the loss was logged');
  });
});
