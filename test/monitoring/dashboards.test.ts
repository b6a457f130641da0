// The shipped dashboard and alert rules, checked with Prometheus's own promtool: every panel
// query parses (wrapped as recording rules), the alert rules load, and their unit tests pass
// (each alert fires on a bad series and stays quiet on good ones).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { DASHBOARDS, loadDashboard, panelQueries } from './dashboard.ts';

const skip = spawnSync('promtool', ['--version']).status === 0 ? undefined : 'promtool (Debian prometheus) is not installed';

function promtool(args: string[], cwd: string): string {
  const r = spawnSync('promtool', args, { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, `promtool ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

void describe('dashboards/tricolor.json and dashboards/alerts.yml', { skip }, () => {
  void it('the dashboard is well formed: unique panel ids, a datasource variable, a query per panel', () => {
    const d = loadDashboard();
    const ids = d.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length);
    const graphs = d.panels.filter((p) => p.type !== 'row');
    assert.ok(graphs.length >= 20, `${graphs.length} panels`);
    for (const p of graphs) assert.ok((p.targets ?? []).length > 0, `panel ${p.title} has no query`);
    assert.match(JSON.stringify(d), /\$\{DS_PROMETHEUS\}/);
  });

  void it('every panel query parses (promtool check rules)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tri-dash-'));
    try {
      const rules = panelQueries().map((q, i) => ({ record: `tricolor:panel_${i}`, expr: q.expr }));
      writeFileSync(join(dir, 'panels.yml'), stringify({ groups: [{ name: 'panels', rules }] }));
      assert.match(promtool(['check', 'rules', 'panels.yml'], dir), new RegExp(`SUCCESS: ${rules.length} rules found`));
      // And a broken query would be caught: the check is not vacuous.
      writeFileSync(join(dir, 'broken.yml'), stringify({ groups: [{ name: 'b', rules: [{ record: 'x:y', expr: 'rate(foo[1m]' }] }] }));
      assert.notEqual(spawnSync('promtool', ['check', 'rules', 'broken.yml'], { cwd: dir }).status, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  void it('the alert rules load and pass their unit tests (promtool test rules)', () => {
    assert.match(promtool(['check', 'rules', 'alerts.yml'], DASHBOARDS), /SUCCESS: 5 rules found/);
    assert.match(promtool(['test', 'rules', 'alerts.test.yml'], DASHBOARDS), /SUCCESS/);
  });
});
