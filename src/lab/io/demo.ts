// `tricolor lab demo quickstart`: Calico's policy quickstart on a fresh 3-node lab. Namespace
// `quickstart`, an nginx pod behind service `nginx`, an `access` pod; then four steps (no policy,
// default deny, allow access's egress, allow nginx's ingress from access), each printing the YAML
// it applies and probing access → nginx (through the service) and access → external, marked
// ✔/✘ against what Calico's quickstart says should happen. Policy takes a moment to reach the
// agents, so each probe is retried until it matches or a deadline passes: a ✘ means the outcome
// stayed wrong for the whole window.

import { parseAllDocuments } from 'yaml';
import { TricolorError } from '../../base/index.ts';
import type { LabDataplane, LabState, Progress } from '../lab-model.ts';
import { withLabClient } from './datastore.ts';
import { labDown } from './down.ts';
import { nsAdd } from './namespaces.ts';
import { podAdd } from './pods.ts';
import { probeFrom, resolveSource, resolveTarget } from './probes.ts';
import { sleep } from './processes.ts';
import { svcAdd } from './services.ts';
import { readLabState } from './state.ts';
import { labUp } from './up.ts';
import { labFlowsUrl } from './flows.ts';

export interface DemoStep {
  readonly title: string;
  readonly yaml: string | undefined;
  readonly expect: { readonly nginx: boolean; readonly external: boolean };
}

/**
 * A step's probes. access → nginx goes to the service's cluster IP: `quickstart/nginx` names the
 * pod as well as the service, and a probe target resolves to the pod first — so probing by name
 * skipped the service (and the eBPF dataplane's NAT: its nat_frontend_hit counter never moved).
 */
export function quickstartChecks(step: DemoStep, clusterIP: string, externalIP: string): { label: string; to: string; want: boolean }[] {
  return [
    { label: `access → nginx (service ${clusterIP}:80)`, to: clusterIP, want: step.expect.nginx },
    { label: `access → external (${externalIP}:80)`, to: 'external', want: step.expect.external },
  ];
}

export const QUICKSTART_STEPS: readonly DemoStep[] = [
  { title: 'No policy: every pod can reach every other pod and the outside', yaml: undefined, expect: { nginx: true, external: true } },
  {
    title: 'Default deny: a global policy selecting every workload outside the system namespaces, with no rules',
    yaml: `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: default-deny
spec:
  selector: projectcalico.org/namespace not in {'kube-system', 'calico-system', 'calico-apiserver'}
  types:
  - Ingress
  - Egress
`,
    expect: { nginx: false, external: false },
  },
  {
    title: 'Allow egress from the access pod: it reaches the outside, but nginx still refuses it',
    yaml: `apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: allow-busybox-egress
  namespace: quickstart
spec:
  selector: run == 'access'
  types:
  - Egress
  egress:
  - action: Allow
`,
    expect: { nginx: false, external: true },
  },
  {
    title: 'Allow ingress to nginx from the access pod',
    yaml: `apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: allow-nginx-ingress
  namespace: quickstart
spec:
  selector: app == 'nginx'
  types:
  - Ingress
  ingress:
  - action: Allow
    source:
      selector: run == 'access'
`,
    expect: { nginx: true, external: true },
  },
];

export interface DemoOptions {
  readonly name: string;
  readonly out: (text: string) => void;
  /** How long a probe may keep disagreeing with its expectation (policy propagation). */
  readonly convergeMs?: number;
  /** nginx on node-2 and access on node-1 (default: true), so every probe crosses the BGP-routed underlay. */
  readonly spread?: boolean;
  /** nft (default) or bpf. */
  readonly dataplane?: LabDataplane;
  /** Run the demo over WireGuard-encrypted node-to-node traffic. */
  readonly wireguard?: boolean;
}

export interface DemoResult {
  readonly lab: LabState;
  readonly mismatches: number;
}

function indent(text: string, by: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => by + l)
    .join('\n');
}

async function probeUntil(s: LabState, from: string, to: string, port: number, want: boolean, windowMs: number): Promise<boolean> {
  const netns = resolveSource(s, from);
  const ip = await resolveTarget(s, to);
  const deadline = Date.now() + windowMs;
  for (;;) {
    const [got] = await probeFrom(netns, [ip], port, 'tcp', 1000);
    if (got === want || Date.now() >= deadline) return got === true;
    await sleep(200);
  }
}

export async function runQuickstartDemo(o: DemoOptions): Promise<DemoResult> {
  const out = o.out;
  const progress: Progress = (line) => out(`  … ${line}\n`);
  out(`Tricolor quickstart: a 3-node lab, a namespace with nginx behind a service and an access pod, then policy step by step.\n\n`);
  if (readLabState(o.name) !== undefined) {
    progress(`lab "${o.name}" is already up: taking it down for a fresh start`);
    await labDown(o.name);
  }
  out('Starting the lab:\n');
  // flow logs come from the nft dataplane's verdict logging: the eBPF dataplane has none yet
  const flowLogs = o.dataplane !== 'bpf';
  if (!flowLogs) out('  (eBPF dataplane: no flow logs — the eBPF programs do not report flows yet)\n');
  const lab = await labUp({ name: o.name, nodes: 3, encap: 'none', podCidr: '10.244.0.0/16', flowLogs, wireguard: o.wireguard === true, progress, ...(o.dataplane === undefined ? {} : { dataplane: o.dataplane }) });
  out('\nWorkloads:\n');
  await nsAdd(lab, 'quickstart', {});
  progress('namespace quickstart');
  const nginx = await podAdd(lab, { namespace: 'quickstart', name: 'nginx', node: o.spread === false ? 'node-1' : 'node-2', labels: { app: 'nginx' }, serve: [{ protocol: 'tcp', port: 80 }] });
  progress(`pod quickstart/nginx (app=nginx) on ${nginx.node}: ${nginx.ip}, serving tcp:80`);
  const clusterIP = await svcAdd(lab, 'quickstart', 'nginx', { app: 'nginx' }, [{ port: 80, targetPort: 80, protocol: 'TCP' }]);
  progress(`service quickstart/nginx: ${clusterIP}:80 → app=nginx:80`);
  const access = await podAdd(lab, { namespace: 'quickstart', name: 'access', node: 'node-1', labels: { run: 'access' }, serve: [] });
  progress(`pod quickstart/access (run=access) on ${access.node}: ${access.ip}`);

  const windowMs = o.convergeMs ?? 20_000;
  let mismatches = 0;
  for (const [i, step] of QUICKSTART_STEPS.entries()) {
    out(`\nStep ${i + 1}. ${step.title}\n`);
    if (step.yaml !== undefined) {
      out(`  tricolor apply -f - <<EOF\n${indent(step.yaml, '  ')}\n  EOF\n`);
      const docs = parseAllDocuments(step.yaml).map((d) => d.toJS() as unknown);
      await withLabClient(lab, async (c) => {
        for (const d of docs) await c.apply(d);
      });
    }
    for (const c of quickstartChecks(step, clusterIP, lab.externalIP)) {
      const got = await probeUntil(lab, 'quickstart/access', c.to, 80, c.want, windowMs);
      const ok = got === c.want;
      if (!ok) mismatches++;
      out(`  ${ok ? '✔' : '✘'} ${c.label.padEnd(44)} ${got ? 'connected' : 'blocked'}${ok ? '' : ` (expected ${c.want ? 'connected' : 'blocked'})`}\n`);
    }
  }
  out(`\n${mismatches === 0 ? 'All steps behaved as expected.' : `${mismatches} outcome(s) differed from the expectation.`}\n`);
  await showDeniedFlow(lab, out);
  out(`\nThe lab "${lab.name}" is still up. Try:\n`);
  for (const line of [
    'tricolor lab status',
    'tricolor node status --name node-2',
    'tricolor get networkpolicy -n quickstart -o yaml',
    'tricolor lab probe quickstart/access quickstart/nginx --port 80',
    'tricolor lab probe --all --port 80 -o json',
    'tricolor lab exec quickstart/access -- socat -T2 - TCP:external-host:80 </dev/null',
    `tricolor policy explain --help`,
    flowLogs ? 'tricolor flows --action deny -o wide' : 'tricolor bpf conntrack dump --node node-1',
    `tricolor lab down --name ${lab.name}`,
  ]) {
    out(`  ${line.replace('external-host', lab.externalIP)}\n`);
  }
  return { lab, mismatches };
}

/** A flow's enforced hit, as the API returns it. */
export interface DemoHit {
  readonly kind: string;
  readonly tier: string;
  readonly namespace: string;
  readonly name: string;
  readonly trigger?: { readonly namespace: string; readonly name: string };
}

/** What denied a flow, in the demo's words: the policy, or the end of tier and the policy that brought the flow there. */
export function deniedBy(h: DemoHit | undefined): string {
  if (h === undefined) return 'no recorded rule';
  const ref = (p: { namespace: string; name: string }): string => (p.namespace === '' ? p.name : `${p.namespace}/${p.name}`);
  if (h.kind === 'EndOfTier') return h.trigger === undefined ? `end of tier ${h.tier} (no policy in it allowed the flow)` : `end of tier ${h.tier}, triggered by ${ref(h.trigger)}`;
  return `${h.tier}/${ref(h)}`;
}

/**
 * Where to watch flows, and the flow step 2 denied with the policy that denied it (from the
 * aggregator; flows arrive within the lab's 5 s flush interval, so wait a little for it).
 */
async function showDeniedFlow(lab: LabState, out: (text: string) => void): Promise<void> {
  const url = labFlowsUrl(lab);
  if (url === undefined) return;
  out(`\nFlows: open ${url}/ in a browser on this host, or run \`tricolor flows --follow\`.\n`);
  const filter = encodeURIComponent(JSON.stringify({ actions: ['deny'], source_names: ['access'] }));
  type Row = { dst: { namespace: string; name: string }; destPort: number; proto: string; policies: { enforced: DemoHit[] } };
  const deadline = Date.now() + 20_000;
  let row: Row | undefined;
  while (row === undefined && Date.now() < deadline) {
    try {
      const r = await fetch(`${url}/api/v1/flows?startTimeGte=-900&filter=${filter}`);
      row = ((await r.json()) as { flows: Row[] }).flows[0];
    } catch {
      row = undefined;
    }
    if (row === undefined) await sleep(1000);
  }
  if (row === undefined) {
    out('  (the denied flow of step 2 has not reached the aggregator yet: `tricolor flows --action deny`)\n');
    return;
  }
  const by = deniedBy(row.policies.enforced[row.policies.enforced.length - 1]);
  out(`  Denied in step 2: quickstart/access -> ${row.dst.namespace === '' ? row.dst.name : `${row.dst.namespace}/${row.dst.name}`} ${row.proto.toUpperCase()}/${row.destPort}, by ${by}\n`);
}

export function demoUnknown(name: string): TricolorError {
  return new TricolorError('ERR_USAGE', `lab demo: unknown demo ${JSON.stringify(name)} (available: quickstart)`, { value: name });
}
