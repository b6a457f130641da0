// Flow collection on real kernel parts: nft `log … group N` rules with Calico-grammar prefixes in
// a server namespace, ulogd2 reading NFLOG there, `conntrack -L` counters, joined by the
// collector into flow records with the logged trace (tier and end-of-tier trigger resolved).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FlowCollector, RuleIdLookup } from '../../src/flows/index.ts';
import type { FlowRecord } from '../../src/flows/index.ts';
import { FlowSources } from '../../src/flows/io/index.ts';
import { API, WEB, demoModels } from '../../src/flows/test-support.ts';
import { createNetns, netnsSkipReason, runOk } from '../support/netns.ts';
import { until } from '../support/wait.ts';

void describe('flow collection: nft log + ulogd2 + conntrack', { skip: netnsSkipReason() }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tri-flows-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  void it('reports an allowed flow with counters and a denied flow with the end-of-tier deny', async () => {
    const a = await createNetns(after, 'tri-fa-');
    const b = await createNetns(after, 'tri-fb-');
    const va = `fa${a.name.slice(-6)}`;
    const vb = `fb${b.name.slice(-6)}`;
    await runOk(['ip', 'link', 'add', va, 'netns', a.name, 'type', 'veth', 'peer', 'name', vb, 'netns', b.name]);
    await a.execOk(['ip', 'addr', 'add', `${WEB}/8`, 'dev', va]);
    await b.execOk(['ip', 'addr', 'add', `${API}/8`, 'dev', vb]);
    await a.execOk(['ip', 'link', 'set', va, 'up']);
    await b.execOk(['ip', 'link', 'set', vb, 'up']);
    await b.execOk(['nft', '-f', '-'], {
      input: `table inet tri-flowtest {
  chain in {
    type filter hook input priority 0;
    ct state established,related accept
    tcp dport 8080 log prefix "API0|np/backend/allow-web" snaplen 80 group 1
    tcp dport 8080 accept
    tcp dport 9090 log prefix "DPI|default" snaplen 80 group 1
    tcp dport 9090 drop
  }
}
`,
    });
    const server = spawn('ip', ['netns', 'exec', b.name, 'socat', 'TCP-LISTEN:8080,reuseaddr,fork', 'SYSTEM:echo hello'], { stdio: 'ignore' });
    after(() => {
      server.kill();
    });
    const collector = new FlowCollector({ node: 'node-2' });
    const sources = new FlowSources({
      dir,
      netns: b.name,
      conntrackPollMs: 300,
      onVerdict: (ev) => collector.addVerdict(ev),
      onConntrack: (entries) => collector.updateConntrack(entries, Math.floor(Date.now() / 1000)),
    });
    sources.start();
    after(() => sources.stop());
    const lookup = new RuleIdLookup();
    lookup.add({ owner: 'policy', action: 'allow', direction: 'ingress', index: 0, kind: 'NetworkPolicy', namespace: 'backend', name: 'allow-web', tier: 'default' });
    const models = demoModels();
    // ulogd binds its NFLOG groups asynchronously: probe until a verdict shows up.
    await until('ulogd to log the first packet', async () => {
      await a.exec(['socat', '-T1', '-', `TCP:${API}:8080,connect-timeout=1`]);
      return sources.logsReceived > 0 ? true : undefined;
    }, 20_000, 300);
    await a.exec(['socat', '-T1', '-', `TCP:${API}:9090,connect-timeout=1`]);
    const got: FlowRecord[] = [];
    await until('an allowed flow with counters and a denied flow', async () => {
      got.push(...collector.flush(Math.floor(Date.now() / 1000), models, lookup));
      const allow = got.find((f) => f.action === 'allow' && f.stats.packetsIn > 0);
      const deny = got.find((f) => f.action === 'deny');
      return allow !== undefined && deny !== undefined ? true : undefined;
    }, 20_000, 500);
    const allow = got.find((f) => f.action === 'allow' && f.stats.packetsIn > 0) as FlowRecord;
    assert.equal(allow.destPort, 8080);
    assert.equal(allow.src.name, 'web-1');
    assert.equal(allow.dst.name, 'api-1');
    assert.deepEqual(allow.policies.enforced.map((h) => `${h.tier}/${h.namespace}/${h.name}#${h.ruleIndex}:${h.action}`), ['default/backend/allow-web#0:allow']);
    assert.ok(allow.stats.bytesIn > 0 && allow.stats.packetsOut > 0);
    const deny = got.find((f) => f.action === 'deny') as FlowRecord;
    assert.equal(deny.destPort, 9090);
    assert.deepEqual(deny.policies.enforced[0]?.trigger, { kind: 'NetworkPolicy', namespace: 'backend', name: 'default-deny' });
    assert.equal(deny.stats.packetsIn, 0);
    assert.equal(sources.parseErrors, 0);
  });
});
