// Flow logs in the nftables ruleset: with flowLogsGoldmaneServer set, a verdict log (NFLOG group
// 1 inbound / 2 outbound, Calico's prefix grammar) sits before every allow/deny/pass of a policy
// or profile rule, at each end-of-tier deny and at the final "no profile" deny; with it unset not
// one extra rule. The rendered ruleset is then loaded by `nft -c` in a throwaway namespace.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataplaneState, resolveDataplaneConfig } from '../dataplane-state.ts';
import { fullRebuild } from './nft-delta.ts';
import { renderRuleset, rulesetSize } from './nft-renderer.ts';
import { policy, ports, profile, rule, tierInfo, workload } from '../test-support.ts';
import { entity } from '../test-support.ts';
import { RuleIdLookup, ruleLookupFromState } from '../../flows/index.ts';
import { tryDecodeRuleId } from '../../flows/index.ts';

function build(flowLogsGoldmaneServer: string | undefined): DataplaneState {
  const st = new DataplaneState(resolveDataplaneConfig(flowLogsGoldmaneServer === undefined ? {} : { flowLogsGoldmaneServer }, []));
  const msgs = [
    policy('backend', 'allow-web', [rule({ action: 'allow', protocol: 6, destination: entity({ ports: ports(8080) }), index: 0 }), rule({ action: 'pass', index: 1 })]),
    policy('', 'deny-egress', [], [rule({ action: 'deny', protocol: 17, index: 0 })]),
    profile('kns.backend', [rule({ action: 'allow' })]),
    workload('backend', 'api-1', 'cali0123456789a', '10.0.2.1', [tierInfo('default', ['NetworkPolicy/backend/allow-web'], ['GlobalNetworkPolicy//deny-egress'])], ['kns.backend']),
  ];
  for (const m of msgs) st.apply(m);
  return st;
}

type Log = { prefix: string; group: number; snaplen: number };

function logs(st: DataplaneState): Log[] {
  const out: Log[] = [];
  for (const c of renderRuleset(st).chains.values()) {
    for (const r of c.rules) for (const e of r.expr as ReadonlyArray<Record<string, unknown>>) if ('log' in e && (e['log'] as Log).group !== undefined) out.push(e['log'] as Log);
  }
  return out;
}

void describe('flow-log rules in the nftables renderer', () => {
  void it('off: no verdict logs and the same rule count as before', () => {
    const off = build(undefined);
    assert.deepEqual(logs(off), []);
    const on = build('unix:///x/flows.sock');
    assert.equal(rulesetSize(renderRuleset(off)).rules, rulesetSize(renderRuleset(on)).rules);
  });

  void it('on: a log before each decision point, with prefixes that decode to the rule', () => {
    const got = logs(build('unix:///x/flows.sock'))
      .map((l) => `${l.group}:${l.prefix}`)
      .sort();
    assert.deepEqual([...new Set(got)], ['1:API0|np/backend/allow-web', '1:ARI0|kns.backend', '1:DPI|default', '1:DRI', '1:PPI1|np/backend/allow-web', '2:ARE0|kns.backend', '2:DPE0|gnp/deny-egress', '2:DPE|default', '2:DRE']);
    for (const g of got) assert.notEqual(tryDecodeRuleId(g.slice(2)), undefined);
    assert.ok(logs(build('x')).every((l) => l.snaplen === 80));
    assert.ok(new RuleIdLookup() instanceof RuleIdLookup && typeof ruleLookupFromState === 'function');
  });

  const nft = spawnSync('nft', ['--version']).status === 0 && process.getuid?.() === 0;
  void it('loads with nft -c in a throwaway namespace', { skip: nft ? undefined : 'needs root and nft' }, () => {
    const ns = `tri-fl-${process.pid}`;
    spawnSync('ip', ['netns', 'add', ns]);
    try {
      const batch = JSON.stringify({ nftables: fullRebuild(renderRuleset(build('unix:///x/flows.sock'))).commands });
      const file = join(tmpdir(), `tri-fl-${process.pid}.json`);
      writeFileSync(file, batch);
      const r = spawnSync('ip', ['netns', 'exec', ns, 'nft', '-c', '-j', '-f', file], { encoding: 'utf8' });
      rmSync(file, { force: true });
      assert.equal(r.status, 0, r.stderr);
    } finally {
      spawnSync('ip', ['netns', 'del', ns]);
    }
  });
});
