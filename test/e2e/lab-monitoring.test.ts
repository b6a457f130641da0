// `lab up --monitoring` on a live lab: Debian's Prometheus runs in a lab namespace of its own,
// scrapes every agent, the controllers and the flow aggregator, and — with traffic flowing
// (allowed and denied connections across nodes over VXLAN, BGP sessions up) — every panel of the
// shipped dashboard (dashboards/tricolor.json) returns data through Prometheus' HTTP API. `lab
// down` removes Prometheus, its namespace, its data and its host-side bridge.
//
// The lab is VXLAN (every pod pool encapsulates) with one more pool that no node allocates from
// and that does not encapsulate: Calico then runs BIRD next to VXLAN (a mixed cluster), so the
// BGP panel and the VXLAN panel both have something to show in one lab.
//
// Bound: every panel has data within 90 s of the traffic (2 s scrapes; rates need two samples).

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { panelQueries } from '../monitoring/dashboard.ts';
import { until } from '../support/wait.ts';
import { applyToLab, assertLabGone, forgetLab, labSkipReason, pidsNamed, probe, recordedPids, tri, triOk, uniqueLab } from './lab-harness.ts';

const BOUND_MS = 90_000;

interface Sample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

async function query(url: string, expr: string): Promise<Sample[]> {
  const r = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await r.json()) as { status: string; error?: string; data?: { resultType: string; result: Sample[] } };
  assert.equal(body.status, 'success', `${expr}: ${body.error ?? r.status}`);
  assert.equal(body.data?.resultType, 'vector', expr);
  return body.data.result;
}

/** A sample with a number in it (NaN from an empty summary window or 0/0 is not data). */
const hasData = (samples: readonly Sample[]): boolean => samples.some((s) => Number.isFinite(Number(s.value[1])));

const skip = labSkipReason(['ulogd', 'conntrack', 'prometheus']) ?? (spawnSync('sh', ['-c', 'command -v prometheus']).status === 0 ? undefined : 'prometheus is not installed');

void describe('lab up --monitoring: Prometheus scrapes the lab and every dashboard panel has data', { skip }, () => {
  const lab = uniqueLab();
  let url = '';
  let netns = '';
  before(async () => {
    await triOk(['lab', 'up', '--name', lab, '--nodes', '2', '--encap', 'vxlan', '--flow-logs', '--monitoring'], lab);
    const st = JSON.parse(await triOk(['lab', 'status', '-o', 'json'], lab)) as { monitoring: { url: string; netns: string; address: string } | null };
    assert.ok(st.monitoring !== null, 'lab status -o json has monitoring.url');
    url = st.monitoring.url;
    netns = st.monitoring.netns;
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    await applyToLab(
      lab,
      `apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: bgp-routed
spec:
  cidr: 10.250.0.0/16
  vxlanMode: Never
  ipipMode: Never
  nodeSelector: '!all()'
`,
    );
    await triOk(['lab', 'ns', 'add', 'demo'], lab);
    await triOk(['lab', 'pod', 'add', 'demo/web', '--node', 'node-1', '--labels', 'app=web', '--serve', 'tcp:80,tcp:81'], lab);
    await triOk(['lab', 'pod', 'add', 'demo/client', '--node', 'node-2', '--labels', 'app=client'], lab);
    await applyToLab(
      lab,
      `apiVersion: projectcalico.org/v3
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
`,
    );
    await until('port 81 to be denied', async () => ((await probe(lab, 'demo/client', 'demo/web', 81, ['--timeout-ms', '500'])) ? undefined : true), 60_000, 500);
  });
  after(async () => {
    await tri(['lab', 'down', '--name', lab]);
    forgetLab(lab);
  });

  void it('Prometheus runs in the lab namespace and every target is up', async () => {
    assert.equal((await pidsNamed(netns, 'prometheus')).length, 1, `one prometheus in ${netns}`);
    const targets = await until('every target up', async () => {
      const r = (await (await fetch(`${url}/api/v1/targets`)).json()) as { data: { activeTargets: { labels: Record<string, string>; health: string; lastError: string }[] } };
      const t = r.data.activeTargets;
      return t.length > 0 && t.every((x) => x.health === 'up') ? t : undefined;
    }, BOUND_MS, 1000);
    const jobs = targets.map((t) => `${t.labels['job']}${t.labels['node'] === undefined ? '' : `/${t.labels['node']}`}`).sort();
    assert.deepEqual(jobs, ['calico_kube_controllers', 'felix_metrics/node-1', 'felix_metrics/node-2', 'prometheus', 'tricolor_flows']);
  });

  void it('with traffic, every panel of dashboards/tricolor.json returns data', async () => {
    const queries = panelQueries('30s');
    assert.ok(queries.length >= 25, `${queries.length} panel queries`);
    let empty: string[] = queries.map((q) => q.panel);
    await until(() => `data in every panel; still empty: ${empty.join('; ')}`, async () => {
      // Traffic each round: allowed connections (rule hits, flows, VXLAN packets) and a denied one.
      for (let i = 0; i < 3; i++) assert.equal(await probe(lab, 'demo/client', 'demo/web', 80), true);
      assert.equal(await probe(lab, 'demo/client', 'demo/web', 81, ['--timeout-ms', '300']), false);
      const now: string[] = [];
      for (const q of queries) if (!hasData(await query(url, q.expr))) now.push(`${q.panel}: ${q.expr}`);
      empty = now;
      return now.length === 0 ? true : undefined;
    }, BOUND_MS, 2000);
    // The check is not vacuous: a series nobody exports is no data.
    assert.equal(hasData(await query(url, 'rate(felix_no_such_series[30s])')), false);
    // Not just present: the values say what the lab is.
    const one = async (expr: string): Promise<number> => Number((await query(url, expr))[0]?.value[1]);
    assert.equal(await one('sum(up{job="felix_metrics"})'), 2);
    assert.equal(await one('max(felix_cluster_num_hosts)'), 2);
    assert.ok((await one('sum(tricolor_bgp_sessions{state="up"})')) >= 2, 'the mesh session is up on both nodes');
    assert.ok((await one('sum(tricolor_vxlan_tx_packets_total)')) > 0, 'packets went over VXLAN');
    // An allowed connection's record waits for conntrack (up to one poll and a little) before it
    // is flushed, so the allow rule's hits can trail the panels that the denied probe filled.
    await until(() => 'the allow rule counted hits and the aggregator received flows', async () => {
      assert.equal(await probe(lab, 'demo/client', 'demo/web', 80), true);
      const hits = await one('sum(tricolor_policy_rule_hits_total{policy="demo/allow-client",action="allow"})');
      const received = await one('sum(tricolor_flows_received_flows_total)');
      return hits > 0 && received > 0 ? true : undefined;
    }, BOUND_MS, 2000);
  });

  void it('lab down removes Prometheus, its namespace, data and bridge', async () => {
    const pids = recordedPids(lab);
    const prom = await pidsNamed(netns, 'prometheus');
    await triOk(['lab', 'down', '--name', lab]);
    forgetLab(lab);
    await assertLabGone(lab, [...pids, ...prom]);
    assert.equal(existsSync(`/var/run/tricolor/lab/${lab}/monitoring`), false);
    await assert.rejects(fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2000) }));
  });
});
