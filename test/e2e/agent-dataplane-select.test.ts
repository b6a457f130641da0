// The agent picks its dataplane from FelixConfiguration (docs/design/seams.md, bpf.md), as Felix
// does: `bpfEnabled: true` makes the eBPF dataplane — our tc programs on the pods' cali
// interfaces, the small `inet tricolor-bpf` nft table, no nftables dataplane table — and what it
// enforces is what `policy explain` says, probed with real traffic between two pods. Switching
// `bpfEnabled` off on a running agent keeps eBPF in force and says a restart is needed; after the
// restart the node runs nftables and nothing of eBPF is left. Needs root; skipped otherwise.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseMetricsText } from '../../src/base/index.ts';
import { netnsSkipReason } from '../support/netns.ts';
import { makeAgentRig, mismatches, until, type AgentProc, type AgentRig, type Pod } from './agent-harness.ts';

const CONVERGE_MS = 60_000;
const felix = (bpfEnabled: boolean) => ({ apiVersion: 'projectcalico.org/v3', kind: 'FelixConfiguration', metadata: { name: 'default' }, spec: { bpfEnabled } });
/** b accepts only TCP 8080 (so the probe matrix has allowed and denied pairs). */
const onlyHttpToB = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'b-http-only', namespace: 'sel' },
  spec: { podSelector: { matchLabels: { app: 'b' } }, policyTypes: ['Ingress'], ingress: [{ ports: [{ protocol: 'TCP', port: 8080 }] }] },
};

void describe('node agent: dataplane selection (bpfEnabled)', { skip: netnsSkipReason(), timeout: 240_000 }, () => {
  const fns: (() => Promise<void>)[] = [];
  after(async () => {
    for (const f of fns.reverse()) await f();
  });
  let ar: AgentRig;
  let agent: AgentProc;
  let pods: Pod[];

  /** Probe until the matrix equals policy explain's (the agent converges asynchronously). */
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
  const hostIfaces = async (): Promise<string[]> => {
    const r = await ar.nodeExec(['ip', '-j', 'link', 'show']);
    return (JSON.parse(r.stdout) as { ifname: string }[]).map((l) => l.ifname).filter((n) => n.startsWith('cali'));
  };

  before(async () => {
    ar = await makeAgentRig((fn) => fns.push(fn));
    await ar.apply([felix(true), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'sel', labels: { team: 'sel' } } }, onlyHttpToB]);
    pods = [await ar.addPod('sel', 'a', { app: 'a' }), await ar.addPod('sel', 'b', { app: 'b' })];
    agent = ar.startAgent();
    fns.push(() => ar.stopAgent(agent, 'SIGKILL'));
  });

  void it('bpfEnabled: true → the eBPF dataplane programs the node and enforces what policy explain says', async () => {
    const st = await until(
      async () => {
        const s = ar.status();
        return s?.ready === true ? s : undefined;
      },
      CONVERGE_MS,
      () => `never ready with bpf:\n${agent.log().slice(-3000)}`,
    );
    assert.deepEqual(st.dataplane, { kind: 'bpf', running: 'bpf' });
    assert.equal(st.endpoints.workload, 2);
    await converged('bpf');
    const want = await ar.expected();
    assert.ok([...want.values()].includes(false) && [...want.values()].includes(true), 'the matrix has allowed and denied pairs');
    const ifaces = await hostIfaces();
    assert.equal(ifaces.length, 2);
    for (const i of ifaces) {
      const ing = await ar.nodeExec(['tc', 'filter', 'show', 'dev', i, 'ingress']);
      const eg = await ar.nodeExec(['tc', 'filter', 'show', 'dev', i, 'egress']);
      assert.match(ing.stdout, /tri_from_wep/, `${i} ingress`);
      assert.match(eg.stdout, /tri_to_wep/, `${i} egress`);
    }
    const tables = await ar.nodeExec(['nft', 'list', 'tables']);
    assert.match(tables.stdout, /table inet tricolor-bpf/);
    assert.doesNotMatch(tables.stdout, /table inet tricolor\n/, 'no nftables dataplane table beside eBPF');
    assert.ok(pods.every((p) => p.ip !== ''));
  });

  void it('felix_bpf_* metrics: map fill per map (entries and capacity), conntrack in use, endpoints', async () => {
    await ar.probe(); // flows for the conntrack map
    await ar.apply([{ ...onlyHttpToB, metadata: { ...onlyHttpToB.metadata, labels: { touched: 'yes' } } }]); // an apply refreshes the fill
    const m = await until(
      async () => {
        const got = parseMetricsText((await ar.nodeFetch('http://127.0.0.1:9091/metrics')).body);
        return (got.get('felix_bpf_conntrack_used') ?? 0) > 0 ? got : undefined;
      },
      CONVERGE_MS,
      () => `no BPF conntrack fill in the metrics:\n${agent.log().slice(-2000)}`,
    );
    assert.equal(m.get('felix_bpf_map_entries{map="tri1_ifs"}'), 2, 'one interface entry per pod');
    assert.equal(m.get('felix_bpf_map_capacity{map="tri1_ifs"}'), 4096);
    assert.equal(m.get('felix_bpf_map_capacity{map="tri1_ct"}'), 65536);
    assert.ok((m.get('felix_bpf_map_entries{map="tri1_rules"}') ?? 0) > 0, 'rule ops in use');
    assert.equal(m.get('felix_bpf_map_entries{map="tri1_ct"}'), m.get('felix_bpf_conntrack_used'));
    assert.equal(m.get('felix_bpf_dataplane_endpoints'), 2);
  });

  void it('bpfEnabled switched off on a running agent: eBPF stays in force, the status says a restart is needed', async () => {
    await ar.apply([felix(false)]);
    const st = await until(
      async () => {
        const s = ar.status();
        return s?.dataplane?.problem !== undefined ? s : undefined;
      },
      CONVERGE_MS,
      () => `no switch reported:\n${agent.log().slice(-3000)}`,
    );
    assert.equal(st.dataplane?.running, 'bpf');
    assert.match(st.dataplane?.problem ?? '', /selects the "nft" dataplane; the "bpf" dataplane stays in force until the agent restarts/);
    await converged('bpf after the switch request');
  });

  void it('after a restart with bpfEnabled false the nftables dataplane programs the node', async () => {
    await ar.stopAgent(agent, 'SIGTERM');
    agent = ar.startAgent();
    fns.push(() => ar.stopAgent(agent, 'SIGKILL'));
    const st = await until(
      async () => {
        const s = ar.status();
        return s?.ready === true && s.dataplane?.running === 'nft' ? s : undefined;
      },
      CONVERGE_MS,
      () => `never ready with nft:\n${agent.log().slice(-3000)}`,
    );
    assert.deepEqual(st.dataplane, { kind: 'nft', running: 'nft' });
    const table = await ar.nodeExec(['nft', 'list', 'table', 'inet', 'tricolor']);
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /tri-from-wl-map/);
    // nothing of eBPF left behind once nftables is in force: no programs, no tricolor-bpf table
    await until(
      async () => {
        const tables = await ar.nodeExec(['nft', 'list', 'tables']);
        if (/tricolor-bpf/.test(tables.stdout)) return undefined;
        for (const i of await hostIfaces()) if ((await ar.nodeExec(['tc', 'filter', 'show', 'dev', i, 'ingress'])).stdout.trim() !== '') return undefined;
        return true;
      },
      CONVERGE_MS,
      () => `eBPF left behind after the switch to nft:\n${agent.log().slice(-3000)}`,
    );
    await converged('nft');
  });
});
