// Scale in the lab (issue 7): NODES nodes × PER_NODE pods with POLICIES policies of a realistic
// mix — per-namespace isolation (Kubernetes NetworkPolicy), app-to-app allows across namespaces
// (Calico NetworkPolicy with namespace selectors), a global default deny, a cluster egress allow,
// and a global egress deny to a GlobalNetworkSet of CIDRS CIDRs. Measures: lab up time, pod
// add rate, time until every agent holds the policies the oracle says it should, a sampled probe
// matrix checked pair by pair against the `policy explain` oracle (mismatches re-probed),
// programming latency at that size (policy write → probe flips, from a long-running prober), pod
// add/delete with every policy in force, agent CPU and memory per node, the largest nft
// transaction, nft ruleset size per node, `lab down` time and leftovers. One JSON line on stdout,
// after `lab down`; progress on stderr. The lab is removed on success, failure, SIGINT and
// SIGTERM. On a mismatch or a missed flip, evidence (agent status, routes, neighbours, FDB, nft,
// then the lab's logs) is kept under $TMPDIR/tricolor-scale-<lab>/ and named on stderr.
// Findings and figures: docs/design/scale.md.
//   npm run bench -- scale [--nodes 4] [--per-node 250] [--policies 1000] [--cidrs 10000]
//                          [--sample 400] [--flips 20] [--encap none|vxlan] [--parallel 8]

import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { seededRandom } from '../src/base/index.ts';
import { kindInfoFor, type AnyResource } from '../src/api/index.ts';
import { CALC_KINDS, PolicyModel, explain, updateOf } from '../src/calc/index.ts';
import { labDown, labPrefix, labUp, listPods, mapLimit, podAdd, podDel, probeFrom, sh, withLabClient, type LabPod, type LabState } from '../src/lab/index.ts';

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
  applies?: number;
  resyncRepairs?: number;
  errors?: number;
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

/** The slowest nft transaction the node's agent logged ("applied N nft commands in X ms"): the policy write's, at this size. */
function largestApply(lab: LabState, node: string): { commands: number; ms: number } | null {
  let best: { commands: number; ms: number } | null = null;
  try {
    for (const m of readFileSync(join(lab.runDir, 'logs', `${node}-agent.log`), 'utf8').matchAll(/applied (\d+) nft commands in ([\d.]+) ms/g)) {
      const ms = Number(m[2]);
      if (best === null || ms > best.ms) best = { commands: Number(m[1]), ms: Math.round(ms) };
    }
  } catch {
    // no log: leave it null
  }
  return best;
}

/** Distinct policies with chains (`tri-pi-…`/`tri-po-…`) in the node's nft table now. */
async function policyChainsInKernel(netns: string): Promise<number> {
  const r = await sh(['ip', 'netns', 'exec', netns, 'nft', '-j', 'list', 'chains', 'inet']);
  const names = new Set<string>();
  try {
    for (const it of (JSON.parse(r.stdout) as { nftables: { chain?: { table: string; name: string } }[] }).nftables) {
      const c = it.chain;
      if (c !== undefined && c.table === 'tricolor' && /^tri-p[io]-/.test(c.name)) names.add(c.name.slice(7));
    }
  } catch {
    return -1;
  }
  return names.size;
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

/** Epoch ms of the first attempt (started after `after`) of the final run of outcome `want`, once that run is 3 long. */
async function flipAt(lines: readonly { start: number; ok: boolean }[], after: number, want: boolean, timeoutMs = 30_000): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const later = lines.filter((l) => l.start >= after).sort((a, b) => a.start - b.start);
    // the start of the final run of `want` (a lone attempt timing out on a loaded machine before
    // the real flip must not hide it), once it is at least 3 attempts long
    let i = later.length;
    while (i > 0 && later[i - 1]?.ok === want) i--;
    if (later.length - i >= 3) return later[i]?.start;
    await sleep(20);
  }
  return undefined;
}

/** The prober's outcomes since `after`, run-length encoded ("+" connected, "-" not), for diagnostics. */
function tail(lines: readonly { start: number; ok: boolean }[], after: number): string {
  const later = lines.filter((l) => l.start >= after).sort((a, b) => a.start - b.start);
  const runs: string[] = [];
  for (const l of later) {
    const c = l.ok ? '+' : '-';
    const lastRun = runs[runs.length - 1];
    if (lastRun !== undefined && lastRun.startsWith(c)) runs[runs.length - 1] = `${c}${Number(lastRun.slice(1)) + 1}`;
    else runs.push(`${c}1`);
  }
  return `${later.length} attempts: ${runs.join(' ') || 'none'}`;
}

/**
 * Something disagreed (a mismatch, a missed flip): keep evidence, since the lab goes away at the
 * end. Per node: the agent's status, routes, neighbours, FDB and our nft table now; the lab's logs
 * are copied at lab down. Everything goes to one directory under the temp dir, named on stderr.
 */
let evidenceDir: string | undefined;
async function keepEvidence(lab: LabState, reason: string): Promise<void> {
  evidenceDir ??= join(tmpdir(), `tricolor-scale-${name}`);
  const dir = join(evidenceDir, `${new Date().toISOString().slice(11, 23).replace(/[:.]/g, '')}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'reason.txt'), `${reason}\n`);
  for (const n of lab.nodes) {
    const run = async (file: string, argv: string[]): Promise<void> => writeFileSync(join(dir, `${n.name}-${file}`), (await sh(['ip', 'netns', 'exec', n.netns, ...argv])).stdout);
    writeFileSync(join(dir, `${n.name}-status.json`), JSON.stringify(agentStatus(n) ?? null, null, 2));
    await run('routes.txt', ['ip', 'route', 'show']);
    await run('neigh.txt', ['ip', 'neigh', 'show']);
    await run('fdb.txt', ['bridge', 'fdb', 'show']);
    await run('nft.txt', ['nft', 'list', 'table', 'inet', 'tricolor']);
  }
  log(`  evidence kept in ${dir} (lab logs follow at lab down)`);
}

// ---- the run -----------------------------------------------------------------------------------------

const figures: Record<string, unknown> = { bench: 'scale', nodes: NODES, podsPerNode: PER_NODE, policies: POLICIES, networkSetCidrs: CIDRS, encap: ENCAP };
let lab: LabState | undefined;
let stopping = false;
let downing: Promise<void> | undefined;
/** Remove the lab once (the signal handler and the finally share it); time it and check that nothing of it is left. */
function down(): Promise<void> {
  downing ??= (async () => {
    if (evidenceDir !== undefined && lab !== undefined) {
      try {
        cpSync(join(lab.runDir, 'logs'), join(evidenceDir, 'logs'), { recursive: true });
        log(`  lab logs copied to ${join(evidenceDir, 'logs')}`);
      } catch (e) {
        log(`  cannot copy the lab logs: ${(e as Error).message}`);
      }
    }
    log('lab down');
    const t = performance.now();
    try {
      const r = await labDown(name);
      figures['labDownMs'] = Math.round(performance.now() - t);
      figures['labDownNamespaces'] = r.namespaces;
      const left = (await sh(['ip', 'netns', 'list'])).stdout.split('\n').filter((l) => l.startsWith(labPrefix(name)));
      figures['namespacesLeftAfterDown'] = left.length;
      if (left.length > 0) log(`  LEFT BEHIND after lab down: ${left.join(', ')}`);
    } catch (e) {
      log(`lab down failed: ${(e as Error).message}`);
    }
  })();
  return downing;
}
let interrupted: Promise<never> | undefined;
const onSignal = (sig: string): void => {
  if (interrupted !== undefined) return;
  log(`${sig}: removing the lab`);
  stopping = true; // no new pod adds start; one in flight may still create its namespace, so sweep twice
  interrupted = down()
    .then(() => labDown(name))
    .catch(() => undefined)
    .then(() => process.exit(130));
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
      if (stopping) return;
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
  figures['policiesWriteMs'] = Math.round(performance.now() - t0);
  // Each agent holds the policies that select its local pods: the oracle, built from what was just
  // written, says how many that is per node. Done when every agent's count equals it; or, should
  // the two ever disagree, when every count has moved off its value before the write and none has
  // changed for 10 s (an agent busy decoding the write has not published a new count yet, so
  // "stable" alone would end the wait before it began). The disagreement is reported.
  const model = await oracle(lab);
  const expectedHeld = current.nodes.map((n) => {
    const keys = new Set<string>();
    for (const w of model.workloads()) if (w.node === n.name) for (const p of model.policiesFor(w)) keys.add(p.key);
    return keys.size;
  });
  figures['policiesExpectedPerNode'] = expectedHeld;
  const before = current.nodes.map((n) => agentStatus(n)?.policies ?? 0);
  let last: number[] = before;
  const held = (i: number): number | undefined => last[i];
  let lastChange = performance.now();
  let settled = false;
  const deadline = Date.now() + 600_000;
  while (Date.now() < deadline) {
    const counts = current.nodes.map((n) => agentStatus(n)?.policies ?? 0);
    if (counts.some((c, i) => c !== last[i])) {
      last = counts;
      lastChange = performance.now();
    }
    if (counts.every((c, i) => c === expectedHeld[i])) {
      settled = true;
      break;
    }
    if (counts.every((c, i) => c !== before[i]) && performance.now() - lastChange > 10_000) {
      log(`  agents hold ${JSON.stringify(counts)} policies, the oracle expects ${JSON.stringify(expectedHeld)}`);
      settled = true;
      break;
    }
    await sleep(100);
  }
  figures['policiesInStatusMs'] = Math.round(lastChange - t0);
  figures['policiesHeldPerNode'] = last;
  if (!settled) throw new Error(`agents' policy counts did not settle within 600 s after the write: ${JSON.stringify(last)} (before: ${JSON.stringify(before)}, expected ${JSON.stringify(expectedHeld)})`);
  // The status counts what the agent holds, not what the kernel has: wait until every node's nft
  // table has the policy chains too (the sampled matrix must not run against a half-programmed
  // node; a lost apply once left a whole write unprogrammed while the status showed it).
  let inKernel = await Promise.all(current.nodes.map((n) => policyChainsInKernel(n.netns)));
  while (!inKernel.every((c, i) => c === held(i)) && Date.now() < deadline) {
    await sleep(250);
    inKernel = await Promise.all(current.nodes.map((n) => policyChainsInKernel(n.netns)));
  }
  figures['policiesProgrammedMs'] = Math.round(performance.now() - t0);
  figures['policiesInKernelPerNode'] = inKernel;
  if (!inKernel.every((c, i) => c === held(i))) throw new Error(`nft tables hold ${JSON.stringify(inKernel)} policies, the agents ${JSON.stringify(last)}`);

  log(`sampled probe matrix: ${SAMPLE} pairs (TCP ${PORT}) against policy explain`);
  const byNs = new Map<string, LabPod[]>();
  for (const p of pods) byNs.set(p.namespace, [...(byNs.get(p.namespace) ?? []), p]);
  const sources = Array.from({ length: Math.max(1, Math.round(SAMPLE / 10)) }, () => pick(pods));
  const pairs: { from: LabPod; to: LabPod }[] = [];
  for (const from of sources) {
    for (let k = 0, tries = 0; k < 10 && tries < 100; tries++) {
      // half the destinations in the source's namespace (mostly allowed), half anywhere (mostly denied)
      const to = k % 2 === 0 ? pick(byNs.get(from.namespace) ?? pods) : pick(pods);
      if (to === from) continue;
      pairs.push({ from, to });
      k++;
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
  // Each mismatch is probed again, alone and with a longer timeout: one that goes away was a probe
  // lost on a loaded machine, one that stays is a disagreement between dataplane and oracle.
  let persisting = 0;
  for (const m of mismatches.slice(0, 20)) {
    await sleep(1000);
    const again = (await probeFrom(m.from.netns, [m.to.ip], PORT, 'tcp', 3000))[0] === true;
    if (again !== m.want) {
      persisting++;
      await keepEvidence(current, `${m.from.namespace}/${m.from.name} -> ${m.to.namespace}/${m.to.name} ${m.to.ip}: oracle ${m.want ? 'allow' : 'deny'}, probe ${again ? 'connected' : 'refused'} twice`);
    }
    log(
      `  MISMATCH ${m.from.namespace}/${m.from.name}(${m.from.node}) -> ${m.to.namespace}/${m.to.name}(${m.to.node} ${m.to.ip}): oracle ${m.want ? 'allow' : 'deny'}, probe ${m.got ? 'connected' : 'refused'}; again: ${again ? 'connected' : 'refused'}`,
    );
  }
  figures['sampledMismatchesPersisting'] = mismatches.length > 20 ? `${persisting} of the first 20` : persisting;

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
      // the prober is a fresh node process in the pod's namespace: wait until it reports the pair connected
      if ((await flipAt(prober.lines, Date.now(), true, 15_000)) === undefined) throw new Error(`flip prober ${pair.from.name} -> ${pair.to.name} never connected (${tail(prober.lines, 0)})`);
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
        else {
          log(`  flip ${s}: no deny seen within 30 s of ${new Date(w0).toISOString()} (${tail(prober.lines, w0)})`);
          await keepEvidence(current, `flip ${s}: scale-flip-${s} written at ${new Date(w0).toISOString()}, ${pair.from.name} -> ${pair.to.name} ${pair.to.ip} still connects`);
        }
        const d0 = Date.now();
        await withLabClient(current, async (c) => {
          const info = kindInfoFor('projectcalico.org/v3', 'GlobalNetworkPolicy');
          if (info !== undefined) await c.delete(info, `scale-flip-${s}`);
        });
        const allowed = await flipAt(prober.lines, d0, true);
        if (allowed !== undefined) toAllow.push(allowed - d0);
        else {
          log(`  flip ${s}: no allow seen within 30 s of ${new Date(d0).toISOString()} (${tail(prober.lines, d0)})`);
          await keepEvidence(current, `flip ${s}: scale-flip-${s} deleted at ${new Date(d0).toISOString()}, ${pair.from.name} -> ${pair.to.name} ${pair.to.ip} still refused`);
          const late = await flipAt(prober.lines, d0, true, 60_000);
          log(`  flip ${s}: ${late === undefined ? 'still refused 90 s after the delete' : `connects again ${late - d0} ms after the delete`}`);
        }
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

  // A pod added to the full cluster (1000 policies in force): CNI ADD through to its endpoint being
  // programmed on its node, one at a time, and its removal.
  log('pod add and delete at size: 8 pods, one at a time');
  const addMs: number[] = [];
  const delMs: number[] = [];
  for (let k = 0; k < 8; k++) {
    const node = current.nodes[k % NODES]?.name;
    let t = performance.now();
    await podAdd(current, { namespace: nsName(k), name: `late-${k}`, node, labels: { app: appName(k % APPS) }, serve: [{ protocol: 'tcp', port: PORT }] });
    addMs.push(performance.now() - t);
    t = performance.now();
    await podDel(current, nsName(k), `late-${k}`);
    delMs.push(performance.now() - t);
  }
  figures['podAddAtSizeMs'] = { p50: pct(addMs, 50), max: pct(addMs, 100) };
  figures['podDelAtSizeMs'] = { p50: pct(delMs, 50), max: pct(delMs, 100) };

  // Every flip policy is gone again: each agent must come back to the count the oracle gave (a
  // node that does not hold the flipped pair's pods may still be catching up, so wait a little).
  const backBy = Date.now() + 30_000;
  let after = current.nodes.map((n) => agentStatus(n)?.policies ?? 0);
  while (!after.every((c, i) => c === expectedHeld[i]) && Date.now() < backBy) {
    await sleep(100);
    after = current.nodes.map((n) => agentStatus(n)?.policies ?? 0);
  }
  figures['policiesHeldAfterFlips'] = after;
  if (!after.every((c, i) => c === expectedHeld[i])) log(`  MISMATCH after the flips: agents hold ${JSON.stringify(after)} policies, the oracle expects ${JSON.stringify(expectedHeld)}`);

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
        applies: st?.applies ?? null,
        resyncRepairs: st?.resyncRepairs ?? null,
        errors: st?.errors ?? null,
        largestApply: largestApply(current, n.name),
        nft: await rulesetSize(n.netns),
      };
    }),
  );
} finally {
  await down();
  // interrupted: probes and adds fail as their processes get the signal too; let the handler finish
  if (interrupted !== undefined) await interrupted;
}
// Only reached on success, after lab down, so the line carries how long that took and what it left.
process.stdout.write(JSON.stringify(figures) + '\n');
