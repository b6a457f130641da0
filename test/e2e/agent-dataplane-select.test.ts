// The agent picks its dataplane from FelixConfiguration (docs/design/seams.md): with
// `bpfEnabled: true` and no eBPF dataplane built in, the agent programs nothing, is not ready and
// says why in its status (naming the field); once `bpfEnabled` is false it makes the nftables
// dataplane and converges. Needs root; skipped otherwise.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { availableDataplanes } from '../../src/dataplane/io/index.ts';
import { netnsSkipReason } from '../support/netns.ts';
import { makeAgentRig, until, type AgentProc, type AgentRig } from './agent-harness.ts';

const skip =
  netnsSkipReason() ?? (availableDataplanes().includes('bpf') ? 'the eBPF dataplane is built in: the not-available path cannot be reached' : undefined);
const CONVERGE_MS = 30_000;
const felix = (bpfEnabled: boolean) => ({ apiVersion: 'projectcalico.org/v3', kind: 'FelixConfiguration', metadata: { name: 'default' }, spec: { bpfEnabled } });

void describe('node agent: dataplane selection', { skip, timeout: 120_000 }, () => {
  const fns: (() => Promise<void>)[] = [];
  after(async () => {
    for (const f of fns.reverse()) await f();
  });
  let ar: AgentRig;
  let agent: AgentProc;

  before(async () => {
    ar = await makeAgentRig((fn) => fns.push(fn));
    await ar.apply([felix(true)]);
    await ar.addPod('default', 'a', { app: 'a' });
    agent = ar.startAgent();
    fns.push(() => ar.stopAgent(agent, 'SIGKILL'));
  });

  void it('bpfEnabled without an eBPF dataplane: a coded problem in the status, nothing programmed, not ready', async () => {
    const st = await until(
      async () => {
        const s = ar.status();
        return s?.datastore === 'InSync' && s.dataplane?.problem !== undefined ? s : undefined;
      },
      CONVERGE_MS,
      () => `no dataplane problem reported:\n${agent.log().slice(-3000)}`,
    );
    assert.equal(st.dataplane?.kind, 'bpf');
    assert.equal(st.dataplane?.running, undefined);
    assert.match(st.dataplane?.problem ?? '', /spec\.bpfEnabled: true selects the "bpf" dataplane, which is not available/);
    assert.equal(st.ready, false);
    assert.ok(st.recentErrors.some((e) => /not available/.test(e.message)));
    const r = await ar.nodeExec(['nft', 'list', 'table', 'inet', 'tricolor']);
    assert.notEqual(r.status, 0, 'no nft table is programmed');
    assert.deepEqual(await ar.nodeFetch('http://localhost:9099/readiness'), { status: 503, body: 'not ready\n' });
  });

  void it('bpfEnabled false: the nftables dataplane is made and programs the node', async () => {
    await ar.apply([felix(false)]);
    const st = await until(
      async () => {
        const s = ar.status();
        return s?.ready === true ? s : undefined;
      },
      CONVERGE_MS,
      () => `never ready with nft:\n${agent.log().slice(-3000)}`,
    );
    assert.deepEqual(st.dataplane, { kind: 'nft', running: 'nft' });
    assert.equal(st.endpoints.workload, 1);
    const table = await ar.nodeExec(['nft', 'list', 'table', 'inet', 'tricolor']);
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /tri-from-wl-map/);
  });
});
