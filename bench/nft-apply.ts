// nft apply benchmark: render + apply a full ruleset for 250 local endpoints and 1000 policies
// (synthesised calc messages: 25 namespaces × 10 pods, each policy selecting one app in one
// namespace with selector IP sets and a named port), then a one-policy delta and a one-member IP
// set delta at that size, in a throwaway network namespace. Prints one JSON line.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { CalcMessage } from '../src/calc/index.ts';
import { DataplaneState, NftDriver, diffRuleset, fingerprintOf, renderRuleset, rulesetSize } from '../src/dataplane/index.ts';
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
const driver = new NftDriver({ netnsPath: `/var/run/netns/${ns}` });
try {
  const state = new DataplaneState();
  state.applyAll(synth());
  let t0 = performance.now();
  const full = renderRuleset(state);
  const renderMs = ms(t0);
  const size = rulesetSize(full);
  process.stderr.write(`rendered ${JSON.stringify(size)} in ${renderMs} ms\n`);

  t0 = performance.now();
  await driver.apply(full);
  const fullApplyMs = ms(t0);
  process.stderr.write(`full apply ${fullApplyMs} ms\n`);

  // One policy edited (its port): render + diff + apply.
  const deltaTimes: number[] = [];
  let commands = 0;
  for (let v = 1; v <= 5; v++) {
    state.apply(synth(v).find((m) => m.type === 'ActivePolicyUpdate') ?? (undefined as never));
    t0 = performance.now();
    const r = await driver.apply(renderRuleset(state));
    deltaTimes.push(ms(t0));
    commands = r.commandCount;
  }
  // One IP set member added.
  const setTimes: number[] = [];
  for (let v = 1; v <= 5; v++) {
    state.apply({ type: 'IPSetUpdate', id: 's:src0', ipsetType: 'net', members: [`10.200.0.${v}/32`] });
    t0 = performance.now();
    await driver.apply(renderRuleset(state));
    setTimes.push(ms(t0));
  }
  t0 = performance.now();
  const fp = fingerprintOf(full);
  diffRuleset(fp, renderRuleset(state));
  const renderDiffOnlyMs = ms(t0);
  t0 = performance.now();
  const rs = await driver.resync(renderRuleset(state));
  const resyncMs = ms(t0);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
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
      onePolicyDeltaMsP50: median(deltaTimes),
      onePolicyDeltaCommands: commands,
      oneSetMemberDeltaMsP50: median(setTimes),
      renderAndDiffMs: renderDiffOnlyMs,
      resyncNoDriftMs: resyncMs,
      resyncDrift: rs.drift.length,
    }) + '\n',
  );
} finally {
  driver.dispose();
  spawnSync('ip', ['netns', 'del', ns]);
}
