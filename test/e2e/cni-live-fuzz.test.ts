// Live-path fuzzing of CNI ADD (issue 16 item 3, "no partial state"): generated ADDs, each with
// at least one defect, sent through the installed `tricolor-cni` to a running node agent in a
// real node namespace, against a real pod namespace. Defects sit at every stage of an ADD: the
// environment (container id, netns path, interface name, CNI_ARGS), the network configuration
// (MTU, IPAM pools, nodename file) and the pod namespace itself (the interface name is already
// taken there, or is `lo`) — the last ones fail only after an address was allocated and a veth
// made, so they test the rollback. Every call must end in CNI error JSON (never code 999), and
// afterwards there must be no WorkloadEndpoint, no IPAM handle or allocated address, no cali*
// interface on the node and nothing new in the pod namespace. A fixed seed and a bounded run;
// prints the inputs tried per defect. Needs root; skipped otherwise.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { resolveResourceType } from '../../src/api/index.ts';
import { createNetns, linkNames, netnsSkipReason, type TestNetns } from '../support/netns.ts';
import { installWrapper, makeRig, podArgs, startAgent, type CniAgent, type Rig } from './cni-harness.ts';

const skip = netnsSkipReason() ?? (spawnSync('socat', ['-V']).status === 0 ? undefined : 'socat is not installed');
const wepInfo = resolveResourceType('workloadendpoint');
const SEED = 1616;
const RUNS = 60;

/** The defects a generated ADD carries (one or two of them). */
const DEFECTS = [
  'netns-missing',
  'netns-not-a-namespace',
  'ifname-taken',
  'ifname-lo',
  'ifname-invalid',
  'containerid-invalid',
  'args-malformed',
  'args-bad-namespace',
  'mtu-out-of-range',
  'pool-unknown',
  'pool-not-a-cidr',
  'nodename-file-missing',
  'ipam-type-unknown',
] as const;
type Defect = (typeof DEFECTS)[number];

interface Input {
  readonly defects: readonly Defect[];
  readonly id: string;
  readonly junk: string;
}

const junk = fc.oneof(fc.constantFrom('', ' ', '/', '..', 'a b', 'x'.repeat(300), '\u00e9', '$(id)', ';', '='), fc.string({ maxLength: 20 }));

void describe('CNI ADD through a running agent: bad inputs leave no partial state', { skip, timeout: 300_000 }, () => {
  let rig: Rig;
  let wrapper: string;
  let agent: CniAgent;
  let pod: TestNetns;
  const fns: (() => Promise<void>)[] = [];
  const reg = (fn: () => Promise<void>): void => void fns.push(fn);
  after(async () => {
    for (const fn of fns.reverse()) await fn();
  });

  before(async () => {
    rig = await makeRig(reg, { cidr: '10.247.0.0/24', blockSize: 26 });
    pod = await createNetns(reg);
    // a link the pod namespace already has under the name some inputs ask for
    await pod.execOk(['ip', 'link', 'add', 'taken0', 'type', 'veth', 'peer', 'name', 'taken1']);
    agent = await startAgent(rig, reg);
    wrapper = await installWrapper(rig, agent.socketPath);
  });

  async function state(): Promise<{ weps: string[]; handles: string[]; allocated: number; cali: string[]; podLinks: string[] }> {
    const c = await rig.client();
    try {
      // every allocated ordinal shows as a non-null entry of a block's allocations
      const blocks = (await c.client.backend.list('/calico/ipam/v2/assignment/')).items;
      const allocated = blocks.reduce((k, kv) => k + ((JSON.parse(kv.value) as { allocations?: (number | null)[] }).allocations ?? []).filter((a) => a !== null).length, 0);
      return {
        weps: (await c.client.list(wepInfo)).items.map((w) => w.metadata.name),
        handles: (await c.client.backend.list('/calico/ipam/v2/handle/')).items.map((kv) => kv.key),
        allocated,
        cali: (await linkNames(rig.node)).filter((n) => n.startsWith('cali')),
        podLinks: (await linkNames(pod)).sort(),
      };
    } finally {
      await c.close();
    }
  }

  void it(`${RUNS} generated bad ADDs (seed ${SEED}): each a CNI error, nothing left behind`, async (t) => {
    const clean = await state();
    assert.deepEqual({ ...clean, podLinks: undefined }, { weps: [], handles: [], allocated: 0, cali: [], podLinks: undefined });
    const tried = new Map<Defect, number>();
    let inputs = 0;
    const input = fc.record({
      defects: fc.uniqueArray(fc.constantFrom(...DEFECTS), { minLength: 1, maxLength: 2 }),
      id: fc.stringMatching(/^[a-z0-9]{6,12}$/),
      junk,
    });
    const prop = fc.asyncProperty(input, async (x: Input) => {
      inputs++;
      for (const d of x.defects) tried.set(d, (tried.get(d) ?? 0) + 1);
      const has = (d: Defect): boolean => x.defects.includes(d);
      const containerId = has('containerid-invalid') ? `bad id${x.junk}!` : `ctr-${x.id}`;
      const netns = has('netns-missing') ? `/var/run/netns/tri-none-${x.id}` : has('netns-not-a-namespace') ? '/etc/hostname' : pod.path;
      const ifName = has('ifname-taken') ? 'taken0' : has('ifname-lo') ? 'lo' : has('ifname-invalid') ? `${'e'.repeat(16)}${x.junk}` : 'eth0';
      const args = has('args-malformed') ? `IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME` : podArgs(has('args-bad-namespace') ? `Shop_${x.id}` : 'shop', `p-${x.id}`, containerId);
      const conf = rig.netconf({
        ...(has('mtu-out-of-range') ? { mtu: 70_000 } : {}),
        ...(has('nodename-file-missing') ? { nodename_file: `/nonexistent/${x.id}/nodename` } : {}),
        ipam: {
          type: has('ipam-type-unknown') ? `no-such-ipam-${x.id}` : 'tricolor-ipam',
          ...(has('pool-unknown') ? { ipv4_pools: [`pool-${x.id}`] } : has('pool-not-a-cidr') ? { ipv4_pools: [`10.${x.junk.length}.0.0/33`] } : {}),
        },
      });
      const r = await rig.invoke('ADD', { containerId, netns, ifName, args, conf, wrapper });
      const where = `defects ${x.defects.join('+')} (id ${x.id}, junk ${JSON.stringify(x.junk)})`;
      assert.notEqual(r.status, 0, `${where}: ADD succeeded: ${r.stdout}`);
      const code = r.json?.code;
      assert.ok(typeof code === 'number' && typeof r.json?.msg === 'string', `${where}: no CNI error JSON: ${r.stdout} ${r.stderr}`);
      assert.notEqual(code, 999, `${where}: internal error: ${r.stdout}`);
      assert.deepEqual(await state(), clean, `${where}: partial state left after ${r.stdout}`);
    });
    const res = await fc.check(prop, { seed: SEED, numRuns: RUNS, endOnFailure: true });
    const perDefect = DEFECTS.map((d) => `${d} ${tried.get(d) ?? 0}`).join(', ');
    t.diagnostic(`live CNI ADD fuzz: ${inputs} inputs tried (seed ${SEED}); per defect: ${perDefect}`);
    process.stdout.write(`fuzz live-cni-add: ${inputs} inputs tried (seed ${SEED}); per defect: ${perDefect}\n`);
    if (res.failed) assert.fail(`live CNI ADD fuzz failed (seed ${res.seed}, path ${res.counterexamplePath ?? '?'}): ${JSON.stringify(res.counterexample)}\n${res.errorInstance instanceof Error ? res.errorInstance.message : String(res.errorInstance)}`);
    for (const d of DEFECTS) assert.ok((tried.get(d) ?? 0) > 0, `defect ${d} was tried`);
    // the agent served them (not the fallback plugin)
    assert.ok(agent.log().includes('failed'), 'the agent logged the failed calls');
  });
});
