// The lab's Prometheus configuration: what it scrapes, checked by Prometheus' own promtool.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { planLab } from './lab-model.ts';
import { LAB_SCRAPE_INTERVAL_S, MONITORING_ADDRESS, planMonitoring, renderPrometheusConfig } from './monitoring-model.ts';

interface Config {
  global: { scrape_interval: string };
  scrape_configs: { job_name: string; static_configs: { targets: string[]; labels?: Record<string, string> }[]; metric_relabel_configs?: unknown[] }[];
}

const lab = planLab({ name: 'm1', nodes: 3, encap: 'none', podCidr: '10.244.0.0/16' });

void describe('lab monitoring model', () => {
  void it('plans a namespace of the lab on the underlay and a directory under its run dir', () => {
    const m = planMonitoring(lab);
    assert.equal(m.netns, 'tri-m1-mon');
    assert.equal(m.address, MONITORING_ADDRESS);
    assert.ok(m.dir.startsWith(`${lab.runDir}/`));
    assert.ok(!lab.nodes.some((n) => n.address === m.address), 'no node has the monitoring address');
  });

  void it('scrapes every agent (with its node), the controllers, the aggregator and itself', () => {
    const c = JSON.parse(renderPrometheusConfig({ nodes: lab.nodes, controllersAddress: '172.31.0.11', flows: true }).replace(/^#.*\n/, '')) as Config;
    assert.equal(c.global.scrape_interval, `${LAB_SCRAPE_INTERVAL_S}s`);
    const jobs = Object.fromEntries(c.scrape_configs.map((j) => [j.job_name, j]));
    assert.deepEqual(Object.keys(jobs).sort(), ['calico_kube_controllers', 'felix_metrics', 'prometheus', 'tricolor_flows']);
    assert.deepEqual(
      jobs['felix_metrics']?.static_configs.map((s) => [s.targets[0], s.labels?.['node']]),
      lab.nodes.map((n) => [`${n.address}:9091`, n.name]),
    );
    assert.deepEqual(jobs['calico_kube_controllers']?.static_configs[0]?.targets, ['172.31.0.11:9094']);
    // ipam_* come from the controllers only, so sums over pools count each address once
    assert.deepEqual(jobs['tricolor_flows']?.metric_relabel_configs, [{ source_labels: ['__name__'], regex: 'ipam_.*', action: 'drop' }]);
  });

  void it('scrapes every Typha replica when the lab runs them', () => {
    const c = JSON.parse(renderPrometheusConfig({ nodes: lab.nodes, typhaNodes: lab.nodes.slice(0, 2), controllersAddress: undefined, flows: false }).replace(/^#.*\n/, '')) as Config;
    const t = c.scrape_configs.find((j) => j.job_name === 'typha_metrics');
    assert.deepEqual(t?.static_configs.map((s) => [s.targets[0], s.labels?.['node']]), lab.nodes.slice(0, 2).map((n) => [`${n.address}:9093`, n.name]));
  });

  void it('leaves out what the lab does not run; the aggregator keeps ipam_* without controllers', () => {
    const none = JSON.parse(renderPrometheusConfig({ nodes: lab.nodes, controllersAddress: undefined, flows: false }).replace(/^#.*\n/, '')) as Config;
    assert.deepEqual(none.scrape_configs.map((j) => j.job_name), ['felix_metrics', 'prometheus']);
    const flowsOnly = JSON.parse(renderPrometheusConfig({ nodes: lab.nodes, controllersAddress: undefined, flows: true }).replace(/^#.*\n/, '')) as Config;
    assert.equal(flowsOnly.scrape_configs.find((j) => j.job_name === 'tricolor_flows')?.metric_relabel_configs, undefined);
  });

  void it('promtool accepts the configuration', { skip: spawnSync('promtool', ['--version']).status === 0 ? undefined : 'promtool is not installed' }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'tri-prom-'));
    try {
      const f = join(dir, 'prometheus.yml');
      writeFileSync(f, renderPrometheusConfig({ nodes: lab.nodes, controllersAddress: '172.31.0.11', flows: true }));
      const r = spawnSync('promtool', ['check', 'config', f], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      writeFileSync(f, '{"global": {"scrape_interval": "soon"}}');
      assert.notEqual(spawnSync('promtool', ['check', 'config', f]).status, 0, 'a broken config is refused');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
