// Scale in the lab (issue 7): NODES nodes × PER_NODE pods with POLICIES policies of a realistic
// mix — per-namespace isolation (Kubernetes NetworkPolicy), app-to-app allows across namespaces
// (Calico NetworkPolicy with namespace selectors), a global default deny, a cluster egress allow,
// and a global egress deny to a GlobalNetworkSet of CIDRS CIDRs. Measures: lab up time, pod
// add rate, time until every agent holds every policy, a sampled probe matrix checked pair by
// pair against the `policy explain` oracle, programming latency at that size (policy write →
// probe flips, from a long-running prober), agent CPU and memory per node, nft ruleset size per
// node. One JSON line on stdout; progress on stderr. The lab is removed on success and failure.
//   npm run bench -- scale [--nodes 4] [--per-node 250] [--policies 1000] [--cidrs 10000]
//                          [--sample 400] [--flips 20] [--encap none|vxlan] [--parallel 8]

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { seededRandom } from '../src/base/index.ts';
import { kindInfoFor, type AnyResource } from '../src/api/index.ts';
import { CALC_KINDS, PolicyModel, explain, updateOf } from '../src/calc/index.ts';
import { labDown, labUp, listPods, mapLimit, podAdd, probeFrom, sh, withLabClient, type LabPod, type LabState } from '../src/lab/index.ts';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const optStr = (name: string, dflt: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? String(argv[i + 1]) : dflt;
};
const NODES = opt('nodes', 4);
const PER_NODE = opt('per-node', 250);
const POLICIES = opt('policies', 1000);
const CIDRS = opt('cidrs', 10_000);
const SAMPLE = opt('sample', 400);
const FLIPS = opt('flips', 20);
const PARALLEL = opt('parallel', 8);
const ENCAP = optStr('encap', 'none') === 'vxlan' ? 'vxlan' : 'none';
const NAMESPACES = 20;
const APPS = 10;
const PORT = 80;
const POD_CIDR = '10.48.0.0/16';

const log = (s: string): void => void process.stderr.write(`[scale ${new Date().toISOString().slice(11, 19)}] ${s}\n`);
const name = `s${process.pid.toString(36).slice(-6)}`;
const FLIP_PROBER = join(import.meta.dirname, 'flip-prober.lib.ts');

const rnd = seededRandom(7);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;

function pct(xs: readonly number[], p: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round((s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN) * 10) / 10;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- the cluster's objects -----------------------------------------------------------------------

const nsName = (i: number): string => `team-${i}`;
const appName = (i: number): string => `app-${i}`;

/** 10,000 distinct CIDRs (/32 and /24 mixed) in 100.64.0.0/10, outside every lab address. */
function blocklistCidrs(n: number): string[] {
  const out = new Set<string>();
  while (out.size < n) {
    const b = 64 + Math.floor(rnd() * 64);
    const c = Math.floor(rnd() * 256);
    const d = Math.floor(rnd() * 256);
    out.add(rnd() < 0.8 ? `100.${b}.${c}.${d}/32` : `100.${b}.${c}.0/24`);
  }
  return [...out];
}

function policyDocs(): object[] {
  const docs: object[] = [];
  docs.push({
    apiVersion: 'projectcalico.org/v3',
    kind: 'GlobalNetworkSet',
    metadata: { name: 'blocklist', labels: { feed: 'blocklist' } },
    spec: { nets: blocklistCidrs(CIDRS) },
  });
  docs.push({
    apiVersion: 'projectcalico.org/v3',
    kind: 'GlobalNetworkPolicy',
    metadata: { name: 'deny-blocklist' },
    spec: { order: 10, selector: 'all()', types: ['Egress'], egress: [{ action: 'Deny', destination: { selector: "feed == 'blocklist'" } }] },
  });
  docs.push({
    apiVersion: 'projectcalico.org/v3',
    kind: 'GlobalNetworkPolicy',
    metadata: { name: 'allow-cluster-egress' },
    spec: { order: 1500, selector: 'all()', types: ['Egress'], egress: [{ action: 'Allow', destination: { nets: [POD_CIDR] } }] },
  });
  docs.push({
    apiVersion: 'projectcalico.org/v3',
    kind: 'GlobalNetworkPolicy',
    metadata: { name: 'default-deny' },
    spec: { order: 2000, selector: "projectcalico.org/namespace not in {'kube-system', 'calico-system'}", types: ['Ingress', 'Egress'] },
  });
  for (let i = 0; i < NAMESPACES; i++) {
    docs.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'same-namespace', namespace: nsName(i) },
      spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: {} }] }] },
    });
  }
  let n = 0;
  while (docs.length - 1 < POLICIES) {
    const ns = n % NAMESPACES;
    const app = Math.floor(n / NAMESPACES) % APPS;
    const fromNs = (ns + 1 + (n % 7)) % NAMESPACES;
    const fromApp = (app + 3 + Math.floor(n / (NAMESPACES * APPS))) % APPS;
    docs.push({
      apiVersion: 'projectcalico.org/v3',
      kind: 'NetworkPolicy',
      metadata: { name: `allow-${appName(app)}-from-${nsName(fromNs)}-${appName(fromApp)}-${n}`, namespace: nsName(ns) },
      spec: {
        order: 100 + (n % 50),
        selector: `app == '${appName(app)}'`,
        types: ['Ingress'],
        ingress: [
          {
            action: 'Allow',
            protocol: 'TCP',
            source: { namespaceSelector: `kubernetes.io/metadata.name == '${nsName(fromNs)}'`, selector: `app == '${appName(fromApp)}'` },
            destination: { ports: [PORT] },
          },
        ],
      },
    });
    n++;
  }
  return docs;
}

// ---- measurements ----------------------------------------------------------------------------------

function cpuSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / 100; // utime + stime, in clock ticks of 1/100 s
  } catch {
    return NaN;
  }
}

function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? NaN : Math.round(Number(m[1]) / 1024);
  } catch {
    return NaN;
  }
}

interface AgentView {
  ready?: boolean;
  policies?: number;
  endpoints?: { workload: number };
  ipSets?: number;
}

function agentStatus(n: LabState['nodes'][number]): AgentView | undefined {
  try {
    return JSON.parse(readFileSync(join(n.runDir, 'status.json'), 'utf8')) as AgentView;
  } catch {
    return undefined;
  }
}

async function rulesetSize(netns: string): Promise<{ rules: number; sets: number; setElements: number; chains: number }> {
  const r = await sh(['ip', 'netns', 'exec', netns, 'nft', '-j', 'list', 'table', 'inet', 'tricolor']);
  const items = (JSON.parse(r.stdout) as { nftables: Record<string, { elem?: unknown[] }>[] }).nftables;
  let rules = 0;
  let sets = 0;
  let setElements = 0;
  let chains = 0;
  for (const it of items) {
    if ('rule' in it) rules++;
    if ('chain' in it) chains++;
    if ('set' in it) {
      sets++;
      setElements += it['set']?.elem?.length ?? 0;
    }
    if ('map' in it) setElements += it['map']?.elem?.length ?? 0;
  }
  return { rules, sets, setElements, chains };
}

async function oracle(lab: LabState): Promise<PolicyModel> {
  const resources = await withLabClient(lab, async (c) => {
    const out: AnyResource[] = [];
    for (const [apiVersion, kind] of CALC_KINDS) {
      const info = kindInfoFor(apiVersion, kind);
      if (info !== undefined) out.push(...(await c.list(info)).items);
    }
    return out;
  });
  return PolicyModel.fromUpdates(resources.map(updateOf));
}

/** A prober in `from`'s namespace hitting `to` every 10 ms; resolves each line to the caller. */
function startFlipProber(from: LabPod, to: LabPod): { lines: { start: number; ok: boolean }[]; stop: () => void } {
  const child = spawn('ip', ['netns', 'exec', from.netns, process.execPath, FLIP_PROBER, to.ip, String(PORT), '10', '150'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: { start: number; ok: boolean }[] = [];
  createInterface({ input: child.stdout }).on('line', (l) => {
    try {
      lines.push(JSON.parse(l) as { start: number; ok: boolean });
    } catch {
      // partial line at exit
    }
  });
  return { lines, stop: () => void child.stdin.end() };
}

/** Epoch ms of the first attempt started after `after` with outcome `want`, once a later attempt agrees (no flapping). */
async function flipAt(lines: readonly { start: number; ok: boolean }[], after: number, want: boolean, timeoutMs = 30_000): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const later = lines.filter((l) => l.start >= after).sort((a, b) => a.start - b.start);
    const i = later.findIndex((l) => l.ok === want);
    if (i >= 0 && later.slice(i).length >= 3 && later.slice(i).every((l) => l.ok === want)) return later[i]?.start;
    await sleep(20);
  }
  return undefined;
}

// ---- the run -----------------------------------------------------------------------------------------

const figures: Record<string, unknown> = { bench: 'scale', nodes: NODES, podsPerNode: PER_NODE, policies: POLICIES, networkSetCidrs: CIDRS, encap: ENCAP };
let lab: LabState | undefined;
const onSignal = (): void => {
  log('interrupted: removing the lab');
  void labDown(name).finally(() => process.exit(130));
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
try {
  log(`lab up: ${NODES} nodes, encap ${ENCAP}`);
  let t0 = performance.now();
  lab = await labUp({ name, nodes: NODES, encap: ENCAP, podCidr: POD_CIDR, progress: (l) => log(`  ${l}`) });
  figures['labUpMs'] = Math.round(performance.now() - t0);
  const cpu0 = new Map(lab.nodes.map((n) => [n.name, cpuSeconds(n.agentPid ?? 0)]));

  const total = NODES * PER_NODE;
  log(`adding ${total} pods, ${PARALLEL} at a time`);
  t0 = performance.now();
  let done = 0;
  const current = lab;
  await mapLimit(
    Array.from({ length: total }, (_, i) => i),
    PARALLEL,
    async (i) => {
      // namespaces and apps spread over the nodes (not one namespace per node)
      const node = current.nodes[(i + Math.floor(i / NAMESPACES)) % NODES]?.name;
      const ns = nsName(i % NAMESPACES);
      const app = appName(Math.floor(i / NAMESPACES) % APPS);
      await podAdd(current, { namespace: ns, name: `p${i}`, node, labels: { app }, serve: [{ protocol: 'tcp', port: PORT }] });
      if (++done % 100 === 0) log(`  ${done}/${total} pods (${(done / ((performance.now() - t0) / 1000)).toFixed(1)}/s)`);
    },
  );
  const podSecs = (performance.now() - t0) / 1000;
  figures['podsAddSeconds'] = Math.round(podSecs);
  figures['podsPerSec'] = Number((total / podSecs).toFixed(2));
  const pods = listPods(lab);
  figures['podsWithAddress'] = pods.filter((p) => p.ip !== '').length;
  figures['distinctAddresses'] = new Set(pods.map((p) => p.ip)).size;
  figures['clusterUpMs'] = Math.round((figures['labUpMs'] as number) + podSecs * 1000);

  const docs = policyDocs();
  log(`writing ${docs.length - 1} policies and a network set of ${CIDRS} CIDRs`);
  t0 = performance.now();
  await withLabClient(lab, async (c) => {
    for (let i = 0; i < docs.length; i += 200) await c.applyMany(docs.slice(i, i + 200));
  });
  // Each agent holds the policies that select its local pods; done when no count has changed for 3 s.
  let last = '';
  let lastChange = performance.now();
  const deadline = Date.now() + 600_000;
  while (Date.now() < deadline) {
    const counts = JSON.stringify(current.nodes.map((n) => agentStatus(n)?.policies ?? 0));
    if (counts !== last) {
      last = counts;
      lastChange = performance.now();
    } else if (performance.now() - lastChange > 3000) {
      break;
    }
    await sleep(100);
  }
  const held = JSON.parse(last) as number[];
  figures['policiesProgrammedMs'] = Math.round(lastChange - t0);
  figures['policiesHeldPerNode'] = held;

  log(`sampled probe matrix: ${SAMPLE} pairs (TCP ${PORT}) against policy explain`);
  const model = await oracle(lab);
  const byNs = new Map<string, LabPod[]>();
  for (const p of pods) byNs.set(p.namespace, [...(byNs.get(p.namespace) ?? []), p]);
  const sources = Array.from({ length: Math.max(1, Math.round(SAMPLE / 10)) }, () => pick(pods));
  const pairs: { from: LabPod; to: LabPod }[] = [];
  for (const from of sources) {
    for (let k = 0; k < 10; k++) {
      // half the destinations in the source's namespace (mostly allowed), half anywhere (mostly denied)
      const to = k % 2 === 0 ? pick(byNs.get(from.namespace) ?? pods) : pick(pods);
      if (to !== from) pairs.push({ from, to });
    }
  }
  const expected = pairs.map(({ from, to }) => {
    const a = model.findWorkload(from.namespace, from.name);
    const b = model.findWorkload(to.namespace, to.name);
    if (a === undefined || b === undefined) throw new Error(`no endpoint for ${from.name} or ${to.name}`);
    return explain(model, { from: { endpoint: a.key }, to: { endpoint: b.key }, protocol: 'TCP', port: PORT }).verdict === 'Allow';
  });
  const got = new Array<boolean>(pairs.length).fill(false);
  const bySource = new Map<LabPod, number[]>();
  pairs.forEach((p, i) => bySource.set(p.from, [...(bySource.get(p.from) ?? []), i]));
  t0 = performance.now();
  await mapLimit([...bySource], 4, async ([from, idx]) => {
    const res = await probeFrom(from.netns, idx.map((i) => pairs[i]?.to.ip ?? ''), PORT, 'tcp', 1000);
    idx.forEach((i, j) => (got[i] = res[j] === true));
  });
  figures['probeMatrixMs'] = Math.round(performance.now() - t0);
  const mismatches = pairs.map((p, i) => ({ ...p, want: expected[i], got: got[i] })).filter((x) => x.want !== x.got);
  figures['sampledPairs'] = pairs.length;
  figures['sampledAllowed'] = expected.filter((x) => x).length;
  figures['sampledMismatches'] = mismatches.length;
  figures['sampledCrossNode'] = pairs.filter((p) => p.from.node !== p.to.node).length;
  for (const m of mismatches.slice(0, 10)) log(`  MISMATCH ${m.from.namespace}/${m.from.name}(${m.from.node}) -> ${m.to.namespace}/${m.to.name}(${m.to.node}): oracle ${m.want ? 'allow' : 'deny'}, probe ${m.got ? 'connected' : 'refused'}`);

  log(`programming latency at size: ${FLIPS} deny/allow flips`);
  const allowedCross = pairs.filter((p, i) => expected[i] === true && got[i] === true && p.from.node !== p.to.node);
  const allowedAny = pairs.filter((_, i) => expected[i] === true && got[i] === true);
  const pair = allowedCross[0] ?? allowedAny[0];
  if (pair === undefined) {
    figures['programmingMs'] = null;
  } else {
    const prober = startFlipProber(pair.from, pair.to);
    const toDeny: number[] = [];
    const toAllow: number[] = [];
    try {
      await sleep(500);
      for (let s = 0; s < FLIPS; s++) {
        const pol = {
          apiVersion: 'projectcalico.org/v3',
          kind: 'GlobalNetworkPolicy',
          metadata: { name: `scale-flip-${s}` },
          spec: { order: 1, selector: `app == '${pair.to.labels['app'] ?? ''}'`, types: ['Ingress'], ingress: [{ action: 'Deny', protocol: 'TCP', source: { selector: `app == '${pair.from.labels['app'] ?? ''}'` } }] },
        };
        const w0 = Date.now();
        await withLabClient(current, (c) => c.apply(pol));
        const denied = await flipAt(prober.lines, w0, false);
        if (denied !== undefined) toDeny.push(denied - w0);
        const d0 = Date.now();
        await withLabClient(current, async (c) => {
          const info = kindInfoFor('projectcalico.org/v3', 'GlobalNetworkPolicy');
          if (info !== undefined) await c.delete(info, `scale-flip-${s}`);
        });
        const allowed = await flipAt(prober.lines, d0, true);
        if (allowed !== undefined) toAllow.push(allowed - d0);
      }
    } finally {
      prober.stop();
    }
    figures['programmingPair'] = `${pair.from.node}->${pair.to.node}`;
    figures['programmingMs'] = {
      deny: { p50: pct(toDeny, 50), p99: pct(toDeny, 99), n: toDeny.length },
      allow: { p50: pct(toAllow, 50), p99: pct(toAllow, 99), n: toAllow.length },
    };
  }

  log('agent CPU and memory, nft ruleset size per node');
  figures['perNode'] = await Promise.all(
    current.nodes.map(async (n) => {
      const st = agentStatus(n);
      return {
        node: n.name,
        agentCpuSeconds: Number((cpuSeconds(n.agentPid ?? 0) - (cpu0.get(n.name) ?? 0)).toFixed(1)),
        agentRssMiB: rssMiB(n.agentPid ?? 0),
        endpoints: st?.endpoints?.workload ?? null,
        policies: st?.policies ?? null,
        ipSets: st?.ipSets ?? null,
        nft: await rulesetSize(n.netns),
      };
    }),
  );
  process.stdout.write(JSON.stringify(figures) + '\n');
} finally {
  log('lab down');
  await labDown(name).catch((e: unknown) => log(`lab down failed: ${(e as Error).message}`));
}
