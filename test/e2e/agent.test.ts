// The node agent in real network namespaces: four pods in two namespaces plugged in through
// tricolor-cni, the agent (`tricolor node run`) inside the node namespace, policies applied with
// `tricolor apply`, and after every step real TCP, UDP and ICMP probes between every pair of pods
// checked against the verdict oracle (`policy explain`). Then the faults: SIGKILL leaves policy in
// force, a restart converges with no open window, a new pod gets nothing until programmed, and a
// chain flushed from outside is repaired and counted. Needs root; skipped otherwise.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseMetricsText } from '../../src/agent/index.ts';
import { netnsSkipReason } from '../support/netns.ts';
import { makeAgentRig, mismatches, pairKey, PROBES, TCP_PORT, until, type AgentProc, type AgentRig, type Matrix, type Pod } from './agent-harness.ts';

const skip = netnsSkipReason();
const CONVERGE_MS = 30_000;

void describe('tricolor node agent in network namespaces', { skip }, () => {
  const fns: (() => Promise<void>)[] = [];
  after(async () => {
    for (const f of fns.reverse()) await f();
  });
  let ar: AgentRig;
  let agent: AgentProc;

  async function converge(step: string): Promise<Matrix> {
    const want = await ar.expected();
    let last: string[] = [];
    await until(
      async () => {
        last = mismatches(want, await ar.probe());
        return last.length === 0 ? true : undefined;
      },
      CONVERGE_MS,
      () => `${step}: probes disagree with policy explain:\n  ${last.join('\n  ')}\nagent log:\n${agent.log().slice(-3000)}`,
    );
    return want;
  }

  async function waitReady(a: AgentProc): Promise<void> {
    await until(
      async () => {
        const s = ar.status();
        return s?.ready === true && a.child.pid !== undefined ? true : undefined;
      },
      CONVERGE_MS,
      () => `agent never became ready:\n${a.log().slice(-3000)}`,
    );
  }

  before(async () => {
    ar = await makeAgentRig((fn) => fns.push(fn));
    await ar.apply([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'red', labels: { team: 'red' } } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'blue', labels: { team: 'blue' } } },
    ]);
    await ar.addPod('red', 'web', { app: 'web' });
    await ar.addPod('red', 'db', { app: 'db' });
    await ar.addPod('blue', 'web', { app: 'web' });
    await ar.addPod('blue', 'client', { app: 'client' });
    agent = ar.startAgent(['--nft-refresh-ms', '1000']);
    fns.push(() => ar.stopAgent(agent, 'SIGKILL'));
    await waitReady(agent);
  });

  void it('health, readiness and metrics are served; node status reports the counts', async () => {
    assert.deepEqual(await ar.nodeFetch('http://localhost:9099/liveness'), { status: 200, body: 'live\n' });
    assert.deepEqual(await ar.nodeFetch('http://localhost:9099/readiness'), { status: 200, body: 'ready\n' });
    const m = parseMetricsText((await ar.nodeFetch('http://127.0.0.1:9091/metrics')).body);
    assert.equal(m.get('felix_active_local_endpoints'), 4);
    assert.ok((m.get('felix_int_dataplane_apply_time_seconds_count') ?? 0) >= 1);
    assert.ok((m.get('process_resident_memory_bytes') ?? 0) > 0);
    // the CLI reads the status file (the health port lives in the node namespace)
    const { run } = await import('../support/netns.ts');
    const r = await run([process.execPath, 'bin/tricolor.ts', 'node', 'status', '--run-dir', ar.runDir, '-o', 'json'], { env: ar.env });
    assert.equal(r.status, 0, r.stderr);
    const st = JSON.parse(r.stdout) as { running: boolean; ready: boolean; status: { endpoints: { workload: number }; lastApplyAt: string } };
    assert.equal(st.running, true);
    assert.equal(st.ready, true);
    assert.equal(st.status.endpoints.workload, 4);
    assert.ok(st.status.lastApplyAt !== undefined);
    const text = await run([process.execPath, 'bin/tricolor.ts', 'node', 'status', '--run-dir', ar.runDir], { env: ar.env });
    assert.match(text.stdout, /Readiness:\s+ready/);
    assert.match(text.stdout, /Endpoints:\s+4 workload/);
  });

  void it('routes: each pod has its /32 via its cali interface; a deleted route is repaired', async () => {
    const routes = await ar.rig.node.ipJson(['-4', 'route', 'show']);
    for (const p of ar.pods) assert.ok(routes.some((r) => r.dst === p.ip && String(r.dev).startsWith('cali')), `route to ${p.ip}`);
    const victim = ar.pods[0] as Pod;
    await ar.rig.node.execOk(['ip', 'route', 'del', `${victim.ip}/32`]);
    // a datastore change makes the agent reconcile routes at once (otherwise the periodic check does)
    await ar.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'red', labels: { team: 'red', touched: 'yes' } } }]);
    await ar.addPod('red', 'tmp', { app: 'tmp' });
    await ar.removePod(ar.pods[ar.pods.length - 1] as Pod);
    await until(
      async () => ((await ar.rig.node.ipJson(['-4', 'route', 'show'])).some((r) => r.dst === victim.ip) ? true : undefined),
      CONVERGE_MS,
      () => 'route not repaired',
    );
  });

  void it('step 1: no policy — everything allowed', async () => {
    const want = await converge('no policy');
    assert.ok([...want.values()].every((v) => v));
  });

  void it('step 2: Kubernetes NetworkPolicy default-deny ingress in one namespace', async () => {
    await ar.apply([
      { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'default-deny', namespace: 'red' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } },
    ]);
    const want = await converge('default deny');
    assert.equal(want.get(pairKey('blue/client', 'red/web', PROBES[0]!)), false);
    assert.equal(want.get(pairKey('red/web', 'blue/client', PROBES[0]!)), true);
  });

  void it('step 3: allow from a namespace', async () => {
    await ar.apply([
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'allow-blue', namespace: 'red' },
        spec: { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'blue' } } }] }] },
      },
    ]);
    const want = await converge('allow from namespace');
    assert.equal(want.get(pairKey('blue/client', 'red/web', PROBES[0]!)), true);
    assert.equal(want.get(pairKey('blue/client', 'red/db', PROBES[0]!)), false);
  });

  void it('step 4: Calico tier with Pass, then a policy in the default tier', async () => {
    await ar.apply([
      { apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name: 'security' }, spec: { order: 10 } },
      {
        apiVersion: 'projectcalico.org/v3',
        kind: 'GlobalNetworkPolicy',
        metadata: { name: 'security.gate' },
        spec: {
          tier: 'security',
          order: 1,
          selector: "projectcalico.org/namespace == 'blue'",
          types: ['Ingress'],
          ingress: [{ action: 'Deny', source: { selector: "app == 'web'" } }, { action: 'Pass' }],
        },
      },
      {
        apiVersion: 'projectcalico.org/v3',
        kind: 'NetworkPolicy',
        metadata: { name: 'default.blue-web', namespace: 'blue' },
        spec: { tier: 'default', order: 100, selector: "app == 'web'", types: ['Ingress'], ingress: [{ action: 'Allow', protocol: 'TCP' }] },
      },
    ]);
    const want = await converge('tier pass');
    assert.equal(want.get(pairKey('red/web', 'blue/client', PROBES[0]!)), false);
  });

  void it('step 5: GlobalNetworkPolicy order — Deny vs Allow', async () => {
    await ar.apply([
      {
        apiVersion: 'projectcalico.org/v3',
        kind: 'GlobalNetworkPolicy',
        metadata: { name: 'deny-db' },
        spec: { order: 200, selector: "app == 'db'", types: ['Ingress'], ingress: [{ action: 'Deny' }] },
      },
      {
        apiVersion: 'projectcalico.org/v3',
        kind: 'GlobalNetworkPolicy',
        metadata: { name: 'allow-db-from-web' },
        spec: { order: 50, selector: "app == 'db'", types: ['Ingress'], ingress: [{ action: 'Allow', source: { selector: "app == 'web'" } }] },
      },
    ]);
    const want = await converge('order deny vs allow');
    assert.equal(want.get(pairKey('red/web', 'red/db', PROBES[0]!)), true);
    assert.equal(want.get(pairKey('blue/client', 'red/db', PROBES[0]!)), false);
  });

  void it('step 6: GlobalNetworkSet egress deny', async () => {
    const blueWeb = ar.pods.find((p) => p.id === 'blue/web') as Pod;
    await ar.apply([
      { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkSet', metadata: { name: 'blocked', labels: { blocked: 'true' } }, spec: { nets: [`${blueWeb.ip}/32`] } },
      {
        apiVersion: 'projectcalico.org/v3',
        kind: 'GlobalNetworkPolicy',
        metadata: { name: 'no-egress-to-blocked' },
        spec: { order: 10, selector: "projectcalico.org/namespace == 'red'", types: ['Egress'], egress: [{ action: 'Deny', destination: { selector: "blocked == 'true'" } }, { action: 'Allow' }] },
      },
    ]);
    const want = await converge('network set egress deny');
    assert.equal(want.get(pairKey('red/web', 'blue/web', PROBES[0]!)), false);
  });

  void it('step 7: named ports', async () => {
    await ar.apply([
      {
        apiVersion: 'projectcalico.org/v3',
        kind: 'NetworkPolicy',
        metadata: { name: 'default.client-http-only', namespace: 'blue' },
        spec: { tier: 'default', order: 1, selector: "app == 'client'", types: ['Ingress'], ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: ['http'] } }] },
      },
    ]);
    const want = await converge('named ports');
    assert.equal(want.get(pairKey('red/db', 'blue/client', PROBES[0]!)), true);
    assert.equal(want.get(pairKey('red/db', 'blue/client', PROBES[1]!)), false);
  });

  void it('SIGKILL: the programmed policy stays in force', async () => {
    const want = await ar.expected();
    await ar.stopAgent(agent, 'SIGKILL');
    const table = await ar.nodeExec(['nft', 'list', 'table', 'inet', 'tricolor']);
    assert.equal(table.status, 0, 'table still present');
    assert.deepEqual(mismatches(want, await ar.probe()), []);
  });

  void it('restart: converges with no window of open access', async () => {
    const want = await ar.expected(ar.pods, [PROBES[0]!]);
    const denied = [...want].filter(([, v]) => !v).map(([k]) => k);
    assert.ok(denied.length > 0);
    agent = ar.startAgent(['--nft-refresh-ms', '1000']);
    fns.push(() => ar.stopAgent(agent, 'SIGKILL'));
    const leaks: string[] = [];
    let rounds = 0;
    let ready = false;
    // probe continuously from before start until a while after ready
    for (let extra = 0; extra < 3; ) {
      const got = await ar.probe(ar.pods, [PROBES[0]!], 300);
      rounds++;
      for (const k of denied) if (got.get(k) === true) leaks.push(`round ${rounds}: ${k}`);
      ready ||= ar.status()?.ready === true && ar.status()?.pid === agent.child.pid;
      if (ready) extra++;
      if (rounds > 200) break;
    }
    assert.ok(ready, `agent did not become ready:\n${agent.log()}`);
    assert.deepEqual(leaks, []);
    await converge('after restart');
  });

  void it('a new pod gets no traffic until its policy is programmed', async () => {
    // with the agent stopped (SIGTERM: nothing flushed), a freshly plugged pod carries nothing
    await ar.stopAgent(agent, 'SIGTERM');
    assert.equal((await ar.nodeExec(['nft', 'list', 'table', 'inet', 'tricolor'])).status, 0, 'SIGTERM left the table');
    const pod = await ar.addPod('red', 'late', { app: 'late' });
    const others = ar.pods.filter((p) => p !== pod);
    const inbound = await ar.probe(others, PROBES, 600, [pod]);
    const outbound = await ar.probe([pod], PROBES, 600, others);
    assert.deepEqual([...inbound, ...outbound].filter(([, v]) => v), [], 'unknown cali interface must be dropped');
    agent = ar.startAgent(['--nft-refresh-ms', '1000']);
    fns.push(() => ar.stopAgent(agent, 'SIGKILL'));
    await waitReady(agent);
    const want = await converge('new pod programmed');
    assert.ok([...want].some(([k, v]) => v && k.includes('red/late')), 'the new pod is reachable once programmed');
  });

  void it('a chain flushed from outside is repaired and counted', async () => {
    const before = parseMetricsText((await ar.nodeFetch('http://127.0.0.1:9091/metrics')).body).get('tricolor_nft_resync_repairs') ?? 0;
    await ar.rig.node.execOk(['nft', 'flush', 'chain', 'inet', 'tricolor', 'tri-from-wl-dispatch']);
    await until(
      async () => {
        const m = parseMetricsText((await ar.nodeFetch('http://127.0.0.1:9091/metrics')).body);
        return (m.get('tricolor_nft_resync_repairs') ?? 0) > before ? true : undefined;
      },
      CONVERGE_MS,
      () => `no repair counted:\n${agent.log().slice(-2000)}`,
    );
    assert.match(agent.log(), /drift repaired/);
    await converge('after repair');
    const denied = [...(await ar.expected(ar.pods, [PROBES[0]!]))].filter(([, v]) => !v);
    assert.ok(denied.length > 0);
    void TCP_PORT;
  });
});
