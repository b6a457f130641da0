// Flow logs end to end on a live lab (`lab up --flow-logs`): after a policy step, a probe's flows
// reach the aggregator through the agents' nft verdict logs, ulogd and conntrack, and show
// through the API, the CLI and the web UI (Chromium) with the right action, the enforced trace
// (the allowing rule; for a deny, the end of tier triggered by default-deny) and the pending
// trace of a staged deny; counters grow with traffic; with flow logs turned off the ruleset has
// no verdict log and nothing more is recorded.
//
// Bound: a probe's flow is in the aggregator within 30 s (flush interval 5 s, conntrack poll 5 s,
// plus the agents' policy programming on a loaded machine).

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import type { FlowRecord } from '../../src/flows/index.ts';
import { forgetLab, labSkipReason, tri, triOk, uniqueLab, applyToLab, probe } from './lab-harness.ts';
import { until } from '../support/wait.ts';
import { RESULTS, launchBrowser, visibleRows } from './flows-ui-support.ts';
import { run } from '../support/netns.ts';
import { readLabState } from '../../src/lab/index.ts';

const BOUND_MS = 30_000;

type Wire = FlowRecord & { id: string };

void describe('flow logs in the lab', { skip: labSkipReason(['ulogd', 'conntrack']) }, () => {
  const lab = uniqueLab();
  let url = '';
  before(async () => {
    await triOk(['lab', 'up', '--name', lab, '--nodes', '2', '--flow-logs']);
    const st = JSON.parse(await triOk(['lab', 'status', '-o', 'json'], lab)) as { flows: { url: string } | null };
    assert.ok(st.flows !== null, 'lab status -o json has flows.url');
    url = st.flows.url;
    await triOk(['lab', 'ns', 'add', 'demo'], lab);
    await triOk(['lab', 'pod', 'add', 'demo/web', '--node', 'node-1', '--labels', 'app=web', '--serve', 'tcp:80,tcp:81,tcp:82'], lab);
    await triOk(['lab', 'pod', 'add', 'demo/client', '--node', 'node-2', '--labels', 'app=client'], lab);
  });
  after(async () => {
    await tri(['lab', 'down', '--name', lab]);
    forgetLab(lab);
  });

  const list = async (filter: unknown): Promise<Wire[]> => {
    const r = await fetch(`${url}/api/v1/flows?startTimeGte=-600&pageSize=1000&filter=${encodeURIComponent(JSON.stringify(filter))}`);
    assert.equal(r.status, 200);
    return ((await r.json()) as { flows: Wire[] }).flows;
  };

  void it('after a policy step, allowed and denied flows appear with their traces and the staged deny as pending', async () => {
    await applyToLab(
      lab,
      `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: default-deny
spec:
  order: 1000
  selector: projectcalico.org/namespace == 'demo'
  types: [Ingress]
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: allow-client
  namespace: demo
spec:
  selector: app == 'web'
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    source:
      selector: app == 'client'
    destination:
      ports: [80]
---
apiVersion: projectcalico.org/v3
kind: StagedNetworkPolicy
metadata:
  name: lockdown
  namespace: demo
spec:
  order: 10
  selector: app == 'web'
  types: [Ingress]
  ingress:
  - action: Deny
`,
    );
    // Flow logs on: the verdict logs are in the node's ruleset (the "off" check below is not vacuous).
    const node1 = readLabState(lab)?.nodes[0];
    assert.ok(node1 !== undefined);
    await until('verdict logs in node-1', async () => {
      const r = await run(['ip', 'netns', 'exec', node1.netns, 'nft', 'list', 'ruleset']);
      return /log prefix "DPI\|default" group 1 snaplen 80/.test(r.stdout) ? true : undefined;
    }, BOUND_MS, 500);
    await until('the policy to be enforced', async () => ((await probe(lab, 'demo/client', 'demo/web', 81, ['--timeout-ms', '500'])) ? undefined : true), BOUND_MS, 500);
    assert.equal(await probe(lab, 'demo/client', 'demo/web', 80), true);
    const allowed = await until('the allowed flow at the aggregator', async () => {
      const f = await list({ dest_ports: [80], reporters: ['dst'], actions: ['allow'] });
      return f.find((x) => x.src.name === 'client' && x.stats.packetsIn > 0);
    }, BOUND_MS, 1000);
    assert.equal(allowed.dst.namespace, 'demo');
    assert.equal(allowed.node, 'node-1');
    assert.deepEqual(allowed.policies.enforced.map((h) => `${h.tier}|${h.kind}|${h.namespace}/${h.name}|${h.ruleIndex}|${h.action}`), ['default|NetworkPolicy|demo/allow-client|0|allow']);
    assert.deepEqual(allowed.policies.pending.map((h) => `${h.kind}|${h.namespace}/${h.name}|${h.action}`), ['StagedNetworkPolicy|demo/lockdown|deny']);
    const denied = await until('the denied flow at the aggregator', async () => (await list({ dest_ports: [81], actions: ['deny'] }))[0], BOUND_MS, 1000);
    assert.equal(denied.reporter, 'dst');
    const eot = denied.policies.enforced[denied.policies.enforced.length - 1];
    assert.equal(eot?.kind, 'EndOfTier');
    assert.equal(eot?.tier, 'default');
    assert.deepEqual(eot?.trigger, { kind: 'GlobalNetworkPolicy', namespace: '', name: 'default-deny' });
    // The source side reports its egress too (no egress policy: the namespace profile allows).
    const egress = await until('the source-side record', async () => (await list({ dest_ports: [80], reporters: ['src'] }))[0], BOUND_MS, 1000);
    assert.equal(egress.node, 'node-2');
    assert.equal(egress.policies.enforced[0]?.kind, 'Profile');
  });

  void it('counters grow with traffic', async () => {
    const sum = async (): Promise<number> => (await list({ dest_ports: [80], reporters: ['dst'], actions: ['allow'] })).reduce((a, f) => a + f.stats.packetsIn, 0);
    const before = await sum();
    for (let i = 0; i < 3; i++) assert.equal(await probe(lab, 'demo/client', 'demo/web', 80), true);
    await until('the counters to grow', async () => ((await sum()) > before ? true : undefined), BOUND_MS, 1000);
  });

  void it('a connection to a service names the service it was sent to before DNAT', async () => {
    await triOk(['lab', 'svc', 'add', 'demo/web-svc', '--selector', 'app=web', '--port', '8080:80'], lab);
    await until('the service to answer', async () => ((await probe(lab, 'demo/client', 'demo/web-svc', 8080, ['--timeout-ms', '1000'])) ? true : undefined), BOUND_MS, 1000);
    // The client's node DNATs the cluster IP: its source-side record carries the service.
    const f = await until('the flow through the service', async () => (await list({ dest_ports: [80], reporters: ['src'] })).find((x) => x.service !== undefined), BOUND_MS, 1000);
    assert.deepEqual(f.service, { namespace: 'demo', name: 'web-svc', portName: 'tcp-8080', port: 8080 });
    assert.equal(f.dst.name, 'web');
    assert.equal(f.node, 'node-2');
    assert.match(await triOk(['flows', '--port', '80', '--reporter', 'src', '-o', 'wide'], lab), / service=demo\/web-svc:8080/);
  });

  void it('plain `tricolor flows` finds the lab aggregator and shows the deny rule', async () => {
    const text = await triOk(['flows', '--action', 'deny', '--since', '10m', '-o', 'wide'], lab);
    assert.match(text, /demo\/client -> demo\/web {2}TCP\/81 {2}DENY {3}tier default: end of tier deny \(default-deny\)/);
    const json = (await triOk(['flows', '--port', '80', '--reporter', 'dst', '-o', 'json'], lab)).trim().split('\n').map((l) => JSON.parse(l) as FlowRecord);
    assert.ok(json.length > 0 && json.every((f) => f.destPort === 80 && f.reporter === 'dst'));
    const stats = await triOk(['flows', 'stats', '--group-by', 'rule'], lab);
    assert.match(stats, /default {2}demo\/allow-client {2}0 {2}allow/);
  });

  void it('the web UI: deny filter hides allows, the drawer shows default-deny in tier default, pause, URL restore', async () => {
    let browser: Browser | undefined;
    try {
      browser = await launchBrowser();
      const page = await browser.newPage({ viewport: { width: 1400, height: 800 } });
      await page.goto(`${url}/?range=900`);
      await until('rows', async () => ((await visibleRows(page)).length >= 2 ? true : undefined), BOUND_MS);
      await page.selectOption('#f-action', 'deny');
      await until('only denies', async () => {
        const rows = await visibleRows(page);
        return rows.length > 0 && rows.every((r) => r[0] === 'deny') ? true : undefined;
      }, BOUND_MS);
      await page.click('#flow-rows tr');
      await page.waitForSelector('#drawer:not(.hidden)');
      const trace = await page.$$eval('#enforced tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent ?? '')));
      assert.ok(trace.some((r) => r[1] === 'default' && r[6] === 'default-deny'), JSON.stringify(trace));
      await page.click('#btn-suggest');
      await page.waitForSelector('#suggest-box:not(.hidden)');
      assert.match((await page.textContent('#suggest-yaml')) ?? '', /kind: StagedNetworkPolicy[\s\S]*- 81/);
      assert.match((await page.textContent('#explain-out')) ?? '', /Deny: demo\/client -> demo\/web TCP\/81/);
      mkdirSync(RESULTS, { recursive: true });
      await page.screenshot({ path: join(RESULTS, 'flows-ui-lab.png') });
      await page.click('#drawer-close');
      await page.click('#btn-pause');
      const n = (await visibleRows(page)).length;
      assert.equal(await probe(lab, 'demo/client', 'demo/web', 82, ['--timeout-ms', '500']), false);
      await new Promise((r) => setTimeout(r, 12_000));
      assert.equal((await visibleRows(page)).length, n, 'rows changed while paused');
      await page.click('#btn-pause');
      await until('the port-82 deny after play', async () => ((await visibleRows(page)).some((r) => r[2] === '82') ? true : undefined), BOUND_MS);
      const page2 = await browser.newPage();
      await page2.goto(page.url());
      assert.equal(await page2.inputValue('#f-action'), 'deny');
    } finally {
      await browser?.close();
    }
  });

  void it('with flow logs off there is no verdict log rule and nothing more is recorded', async () => {
    await applyToLab(lab, `apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata:
  name: default
spec: {}
`);
    const s = readLabState(lab);
    assert.ok(s !== undefined);
    for (const n of s.nodes) {
      await until(`no verdict log in ${n.name}'s ruleset`, async () => {
        const r = await run(['ip', 'netns', 'exec', n.netns, 'nft', 'list', 'ruleset']);
        return r.status === 0 && !/log prefix "[^"]*" group [12]/.test(r.stdout) ? true : undefined;
      }, BOUND_MS, 500);
    }
    const before = (await list({ dest_ports: [81] })).reduce((a, f) => a + f.stats.started, 0);
    assert.equal(await probe(lab, 'demo/client', 'demo/web', 81, ['--timeout-ms', '500']), false);
    await new Promise((r) => setTimeout(r, 12_000));
    assert.equal((await list({ dest_ports: [81] })).reduce((a, f) => a + f.stats.started, 0), before);
  });
});
