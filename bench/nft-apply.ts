// nft apply benchmark: render + apply a full ruleset for 250 local endpoints and 1000 policies
// (synthesised calc messages: 25 namespaces × 10 pods, each policy selecting one app in one
// namespace with selector IP sets, a named port and port ranges), then one-policy and one-member
// IP set changes at that size (p50/p99 over SAMPLES, default 30), each timed from the message
// reaching the dataplane loop to `nft` having committed it, in a throwaway network namespace.
// Prints one JSON line.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { CalcMessage } from '../src/calc/index.ts';
import { NftDataplane } from '../src/dataplane/io/index.ts';
import { DataplaneState, RulesetRenderer, diffRuleset, fingerprintOf, renderRuleset, rulesetSize } from '../src/dataplane/index.ts';
import { entity, policy, ports, profile, rule, tierInfo, workload } from '../src/dataplane/test-support.ts';

const ENDPOINTS = Number(process.env['ENDPOINTS'] ?? 250);
const POLICIES = Number(process.env['POLICIES'] ?? 1000);
const NAMESPACES = 25;
const APPS = 10;

function synth(variant = 0): CalcMessage[] {
  const msgs: CalcMessage[] = [];
  const podsPerNs = Math.ceil(ENDPOINTS / NAMESPACES);
  const ipOf = (n: number, p: number) => `10.${n}.${Math.floor(p / 250)}.${(p % 250) + 1}`;
  for (let i = 0; i < POLICIES; i++) {
    const n = i % NAMESPACES;
    // Source set: the pods of another app in the same namespace.
    const members = [];
    for (let p = 0; p < podsPerNs; p++) if (p % APPS === (i + 1) % APPS) members.push(`${ipOf(n, p)}/32`);
    msgs.push({ type: 'IPSetUpdate', id: `s:src${i}`, ipsetType: 'net', members });
    msgs.push({ type: 'IPSetUpdate', id: `n:port${i}`, ipsetType: 'ip-port', members: members.map((m) => ({ ip: m.slice(0, -3), protocol: 6, port: 8000 + (i % 100) })) });
  }
  const pols = [];
  for (let i = 0; i < POLICIES; i++) {
    const port = i === 0 ? 80 + variant : 80 + (i % 50);
    pols.push(
      policy(
        `ns${i % NAMESPACES}`,
        `pol${i}`,
        [
          rule({ protocol: 6, source: entity({ ipSetIds: [`s:src${i}`] }), destination: entity({ ports: ports(port, [9000, 9100]) }), index: 0 }),
          rule({ protocol: 6, destination: entity({ namedPortIpSetIds: [`n:port${i}`] }), index: 1 }),
        ],
        [rule({ protocol: 17, destination: entity({ ports: ports(53), nets: ['10.96.0.10/32'] }) })],
      ),
    );
  }
  msgs.push(...pols);
  for (let n = 0; n < NAMESPACES; n++) msgs.push(profile(`kns.ns${n}`, [rule()]));
  for (let e = 0; e < ENDPOINTS; e++) {
    const n = e % NAMESPACES;
    const p = Math.floor(e / NAMESPACES);
    const app = p % APPS;
    const keys = pols.filter((_, i) => i % NAMESPACES === n && i % APPS === app).map((x) => x.key);
    msgs.push(workload(`ns${n}`, `pod${e}`, `cali${e.toString(16).padStart(11, '0')}`, ipOf(n, p), [tierInfo('default', keys, keys)]));
  }
  msgs.push({ type: 'InSync' });
  return msgs;
}

function ms(t0: number): number {
  return Math.round((performance.now() - t0) * 10) / 10;
}

const ns = `tri-b-${randomBytes(4).toString('hex')}`;
if (spawnSync('ip', ['netns', 'add', ns]).status !== 0) throw new Error(`cannot create netns ${ns}`);
// The agent's path: messages → DataplaneState journal → incremental render → hinted delta → nft.
const dp = new NftDataplane({ netnsPath: `/var/run/netns/${ns}`, resyncIntervalMs: 0 });
const SAMPLES = Number(process.env['SAMPLES'] ?? 30);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)] ?? 0;
try {
  const msgs = synth();
  // From scratch, for the render-cost figure.
  const scratch = new DataplaneState();
  scratch.applyAll(msgs);
  let t0 = performance.now();
  const full = renderRuleset(scratch);
  const renderMs = ms(t0);
  const size = rulesetSize(full);
  process.stderr.write(`rendered ${JSON.stringify(size)} in ${renderMs} ms\n`);

  t0 = performance.now();
  dp.onMessages(msgs);
  await dp.flush();
  const fullApplyMs = ms(t0);
  process.stderr.write(`full apply ${fullApplyMs} ms\n`);

  // One policy edited (its port): a policy write → the ruleset holds it.
  const deltaTimes: number[] = [];
  let commands = 0;
  let renderDiffMs = 0;
  const polOf = (v: number): CalcMessage => {
    const m = synth(v).find((x) => x.type === 'ActivePolicyUpdate');
    if (m === undefined) throw new Error('synth: no policy');
    return m;
  };
  const pols = Array.from({ length: SAMPLES }, (_, v) => polOf(v + 1));
  for (const p of pols) {
    t0 = performance.now();
    dp.onMessages([p]);
    await dp.flush();
    deltaTimes.push(ms(t0));
  }
  // Render + hinted diff alone (no nft), for one more policy edit.
  {
    const r = new RulesetRenderer();
    r.update(scratch);
    const fp = fingerprintOf(r.ruleset);
    r.takeChanges();
    scratch.apply(polOf(99));
    t0 = performance.now();
    r.update(scratch);
    const d = diffRuleset(fp, r.ruleset, r.takeChanges());
    renderDiffMs = ms(t0);
    commands = d.commands.length;
  }
  // One IP set member added / removed (with the calc graph's added/removed).
  const setTimes: number[] = [];
  let members = (msgs.find((m) => m.type === 'IPSetUpdate' && m.id === 's:src0') as { members: readonly string[] }).members;
  for (let v = 1; v <= SAMPLES; v++) {
    const m = `10.200.0.${v}/32`;
    const next = [...members, m].sort();
    t0 = performance.now();
    dp.onMessages([{ type: 'IPSetUpdate', id: 's:src0', ipsetType: 'net', members: next, added: [m], removed: [] }]);
    await dp.flush();
    setTimes.push(ms(t0));
    members = next;
  }
  t0 = performance.now();
  const rs = await dp.resyncNow();
  const resyncMs = ms(t0);
  process.stdout.write(
    JSON.stringify({
      bench: 'nft-apply',
      endpoints: ENDPOINTS,
      policies: POLICIES,
      chains: size.chains,
      rules: size.rules,
      sets: size.sets,
      setElements: size.setElements,
      mapElements: size.mapElements,
      renderMs,
      fullApplyMs,
      samples: SAMPLES,
      onePolicyDeltaMsP50: pct(deltaTimes, 50),
      onePolicyDeltaMsP99: pct(deltaTimes, 99),
      onePolicyDeltaCommands: commands,
      oneSetMemberDeltaMsP50: pct(setTimes, 50),
      oneSetMemberDeltaMsP99: pct(setTimes, 99),
      renderAndDiffMs: renderDiffMs,
      resyncNoDriftMs: resyncMs,
      resyncDrift: rs.drift.length,
      applyFailures: dp.driver.stats.failures,
    }) + '\n',
  );
} finally {
  dp.dispose();
  spawnSync('ip', ['netns', 'del', ns]);
}
