// The incremental renderer against the from-scratch one: after any sequence of calc messages
// (IP set deltas with and without `added`/`removed`, sets flipping flavour or family, policies,
// profiles and endpoints coming and going, shared interface names, config changes) the ruleset it
// keeps equals renderRuleset(state), and the hinted delta — replayed on a model of the table —
// lands exactly on it, as does the driver's patched fingerprint.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CalcMessage, IPPortMember } from '../../calc/index.ts';
import { DataplaneState, resolveDataplaneConfig } from '../dataplane-state.ts';
import { describeDrift, diffRuleset, fingerprintOf, patchFingerprint } from './nft-delta.ts';
import type { RulesetFingerprint } from './nft-delta.ts';
import { RulesetRenderer, renderRuleset } from './nft-renderer.ts';
import { entity, policy, ports, profile, rule, tierInfo, workload } from '../test-support.ts';
import { replay } from './test-support.ts';

function rng(seed: number): (n: number) => number {
  let s = seed;
  return (n) => ((s = (s * 1103515245 + 12345) % 2 ** 31), s % n);
}

void test('incremental renderer property: equals a fresh render, and its hinted delta replays onto it', () => {
  const rnd = rng(7);
  const state = new DataplaneState(resolveDataplaneConfig({}, [{ cidr: '10.0.0.0/16', natOutgoing: true }]));
  const renderer = new RulesetRenderer();
  let fp: RulesetFingerprint | undefined;
  let patched: RulesetFingerprint | undefined;
  const nets = new Map<string, Set<string>>();
  const portSets = new Map<string, Map<string, IPPortMember>>();
  const netPool = ['10.0.0.1/32', '10.0.0.2/32', '10.0.0.3/32', '10.1.0.0/16', 'fd00::1/128', 'fd00::2/128', '10.0.0.0/8'];
  let fullSteps = 0;
  let hintedSteps = 0;
  for (let step = 0; step < 400; step++) {
    const msgs: CalcMessage[] = [];
    for (let k = 0; k < 1 + rnd(3); k++) {
      const what = rnd(10);
      if (what <= 2) {
        const id = `s:${rnd(4)}`;
        if (rnd(8) === 0) {
          nets.delete(id);
          msgs.push({ type: 'IPSetRemove', id });
          continue;
        }
        const prev = nets.get(id);
        const next = new Set(prev ?? []);
        // Mostly host members (the incremental path); sometimes a CIDR or an IPv6 member.
        const m = rnd(4) === 0 ? (netPool[rnd(netPool.length)] ?? '') : (netPool[rnd(3)] ?? '');
        if (next.has(m)) next.delete(m);
        else next.add(m);
        nets.set(id, next);
        const members = [...next].sort();
        const withDelta = prev !== undefined && rnd(4) !== 0;
        msgs.push(
          withDelta
            ? { type: 'IPSetUpdate', id, ipsetType: 'net', members, added: members.filter((x) => !prev.has(x)), removed: [...prev].filter((x) => !next.has(x)).sort() }
            : { type: 'IPSetUpdate', id, ipsetType: 'net', members },
        );
      } else if (what === 3) {
        const id = `n:${rnd(2)}`;
        const prev = portSets.get(id);
        const next = new Map(prev ?? []);
        const m: IPPortMember = { ip: rnd(3) === 0 ? 'fd00::1' : `10.0.0.${rnd(3)}`, protocol: 6, port: 80 + rnd(2) };
        const key = `${m.ip}|${m.protocol}|${m.port}`;
        if (next.has(key)) next.delete(key);
        else next.set(key, m);
        portSets.set(id, next);
        const members = [...next.values()];
        msgs.push(
          prev !== undefined
            ? {
                type: 'IPSetUpdate',
                id,
                ipsetType: 'ip-port',
                members,
                added: [...next].filter(([k2]) => !prev.has(k2)).map(([, v]) => v),
                removed: [...prev].filter(([k2]) => !next.has(k2)).map(([, v]) => v),
              }
            : { type: 'IPSetUpdate', id, ipsetType: 'ip-port', members },
        );
      } else if (what <= 5) {
        const name = `p${rnd(4)}`;
        if (rnd(5) === 0) {
          msgs.push({ type: 'ActivePolicyRemove', key: policy('ns1', name, []).key });
          continue;
        }
        msgs.push(
          policy('ns1', name, [
            rule({ protocol: 6, source: entity({ ipSetIds: [`s:${rnd(4)}`], notIpSetIds: rnd(2) ? [`s:${rnd(4)}`] : [] }), destination: entity({ ports: ports(80 + rnd(3), [1000, 1000 + rnd(5)]) }) }),
            rule({ protocol: 6, destination: entity({ namedPortIpSetIds: [`n:${rnd(2)}`], nets: rnd(2) ? ['10.0.0.0/8', '192.168.0.1/32'] : [] }), index: 1 }),
          ]),
        );
      } else if (what === 6) {
        const name = `kns.ns${rnd(2)}`;
        msgs.push(rnd(4) === 0 ? { type: 'ActiveProfileRemove', name } : profile(name, [rule({ source: entity({ ipSetIds: [`s:${rnd(4)}`] }) }), rule({ index: 1 })]));
      } else if (what <= 8) {
        const w = rnd(5);
        if (rnd(5) === 0) {
          msgs.push({ type: 'WorkloadEndpointRemove', key: workload('ns1', `w${w}`, 'x', '10.0.0.9').key });
          continue;
        }
        const pols = [0, 1, 2, 3, 4].filter(() => rnd(2) === 0).map((i) => policy('ns1', `p${i}`, []).key);
        // Interface names sometimes collide (w3 and w4 share one).
        const wl = workload('ns1', `w${w}`, `cali${Math.min(w, 3)}`, `10.0.0.${w}`, pols.length > 0 ? [tierInfo('default', pols, pols, rnd(2) ? 'Deny' : 'Pass')] : []);
        msgs.push({ ...wl, profileIds: [`kns.ns${rnd(3)}`] });
      } else if (rnd(6) === 0) {
        state.setConfig(resolveDataplaneConfig({ defaultEndpointToHostAction: rnd(2) ? 'Accept' : 'Drop' }, [{ cidr: '10.0.0.0/16', natOutgoing: rnd(2) === 0 }]));
      } else {
        const key = 'HostEndpoint//h';
        msgs.push(
          rnd(3) === 0
            ? { type: 'HostEndpointRemove', key }
            : {
                type: 'HostEndpointUpdate',
                key,
                name: 'h',
                interfaceName: 'eth9',
                expectedIPs: [],
                profileIds: [],
                tiers: [tierInfo('default', [policy('ns1', `p${rnd(4)}`, []).key])],
                untrackedTiers: [],
                preDNATTiers: [],
                forwardTiers: rnd(2) ? [tierInfo('default', [policy('ns1', 'p0', []).key], [])] : [],
              },
        );
      }
    }
    state.applyAll(msgs);
    renderer.update(state);
    const changes = renderer.takeChanges();
    const fresh = fingerprintOf(renderRuleset(state));
    assert.deepEqual(describeDrift(fresh, fingerprintOf(renderer.ruleset)), [], `step ${step}: incremental render differs`);
    const d = diffRuleset(fp, renderer.ruleset, fp === undefined ? undefined : changes);
    const got = replay(fp, d.commands);
    assert.ok(got !== undefined, `step ${step}: replay failed`);
    assert.deepEqual(describeDrift(fresh, got), [], `step ${step}: hinted delta misses something`);
    patched = patched === undefined ? fingerprintOf(renderer.ruleset) : patchFingerprint(patched, renderer.ruleset, changes);
    assert.deepEqual(describeDrift(fresh, patched), [], `step ${step}: patched fingerprint differs`);
    if (changes.full) fullSteps++;
    else hintedSteps++;
    fp = got;
  }
  // Most steps must take the incremental path, or the property proves little.
  assert.ok(hintedSteps > fullSteps * 3, `hinted ${hintedSteps} full ${fullSteps}`);
});

void test('a one-member IP set change with added/removed re-renders nothing else: only that element is in the changes', () => {
  const state = new DataplaneState();
  const p = policy('ns1', 'p', [rule({ source: entity({ ipSetIds: ['s:a'] }) })]);
  state.applyAll([{ type: 'IPSetUpdate', id: 's:a', ipsetType: 'net', members: ['10.0.0.1/32'] }, p, workload('ns1', 'w', 'cali1', '10.0.0.1', [tierInfo('default', [p.key])])]);
  const r = new RulesetRenderer();
  r.update(state);
  assert.equal(r.takeChanges().full, true);
  state.apply({ type: 'IPSetUpdate', id: 's:a', ipsetType: 'net', members: ['10.0.0.1/32', '10.0.0.2/32'], added: ['10.0.0.2/32'], removed: [] });
  r.update(state);
  const c = r.takeChanges();
  assert.equal(c.full, false);
  assert.deepEqual([...c.chains], []);
  assert.deepEqual([...c.sets].map(([n, k]) => [n, k === 'all' ? k : [...k]]), [['tri-s4-s-a', ['10.0.0.2']]]);
  assert.equal(c.from + 1, c.to);
});
