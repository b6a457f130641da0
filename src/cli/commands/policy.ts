// `tricolor policy explain|show`: the verdict oracle and the per-endpoint view of what the agent
// would program, computed from the configured datastore. Reads every policy-relevant kind once,
// builds the pure model from src/calc and prints a trace (human) or JSON.

import { EXIT_OK, EXIT_USAGE, TricolorError, quote } from '../../base/index.ts';
import type { AnyResource } from '../../api/index.ts';
import { CONFIG_FLAG, flagBool, flagString, flagStrings, parseArgs, usage } from '../args.ts';
import type { CliContext, Command } from '../command.ts';

const HELP = `Usage: tricolor policy explain --from NS/POD|IP --to NS/POD|IP --port PORT [--protocol P] [-o json]
       tricolor policy explain --all --port PORT[,PORT...] [--protocol P[,P...]] [-o json]
       tricolor policy show NS/POD | --node NODE [-o json]

explain  Decide whether a new connection is allowed, as Calico would: the source's egress policy
         and the destination's ingress policy must both allow it. Prints the tier, policy and rule
         (or profile, or end of tier) that decided each side.
show     The ordered tiers, policies and profiles applied to an endpoint per direction, and the
         IP sets its rules use with member counts: what the node agent programs.

Options:
      --from NS/POD|IP       source: the WorkloadEndpoint of pod POD in namespace NS, or an IP
      --to NS/POD|IP         destination
      --port PORT            destination port
      --protocol P           TCP (default), UDP, SCTP, ICMP, ICMPv6 or a number
      --all                  every ordered pair of workload endpoints; --port and --protocol
                             may then be lists (80,81 / TCP,UDP, or the flag repeated): every
                             pair on every protocol × port, each JSON result naming both
                             ({ports, protocols, results: [{from, to, protocol, port, verdict}]})
      --node NODE            show every endpoint on NODE
  -o, --output FORMAT        text (default) or json
  -c, --config FILE          CalicoAPIConfig file
  -h, --help                 this help
`;

async function loadResources(configFlag: string | undefined, ctx: CliContext): Promise<AnyResource[]> {
  const { withClient } = await import('../connection.ts');
  const { kindInfoFor } = await import('../../api/index.ts');
  const { CALC_KINDS } = await import('../../calc/index.ts');
  return withClient(configFlag, ctx, async (client) => {
    const out: AnyResource[] = [];
    for (const [apiVersion, kind] of CALC_KINDS) {
      const info = kindInfoFor(apiVersion, kind);
      if (info === undefined) continue;
      const list = await client.list(info);
      out.push(...list.items);
    }
    return out;
  });
}

function parsePort(text: string | undefined, required: boolean): number | undefined {
  if (text === undefined) {
    if (required) throw usage('--port is required');
    return undefined;
  }
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) {
    throw new TricolorError('ERR_USAGE', `--port: ${quote(text)} is not a port number (1-65535)`, { field: '--port', value: text });
  }
  return n;
}

type Calc = typeof import('../../calc/index.ts');

function peerOf(calc: Calc, model: InstanceType<Calc['PolicyModel']>, text: string, flag: string): { endpoint: string } | { ip: string } {
  if (/^[0-9.]+$/.test(text) || text.includes(':')) return { ip: text };
  const slash = text.indexOf('/');
  if (slash <= 0 || slash === text.length - 1) {
    throw new TricolorError('ERR_USAGE', `${flag}: ${quote(text)} is neither NS/POD nor an IP address`, { field: flag, value: text });
  }
  const e = model.findWorkload(text.slice(0, slash), text.slice(slash + 1));
  if (e === undefined) {
    throw new TricolorError('ERR_NOT_FOUND', `${flag}: no WorkloadEndpoint for pod ${quote(text)}`, { field: flag, value: text });
  }
  return { endpoint: e.key };
}

function renderTrace(dir: string, t: import('../../calc/index.ts').DirectionTrace): string {
  const lines = [`${dir} at ${t.endpoint ?? '(not an endpoint)'}: ${t.verdict} — ${t.reason}`];
  for (const s of t.steps) {
    const where = s.profile !== undefined ? `profile ${s.profile}` : [s.tier !== undefined ? `tier ${s.tier}` : '', s.policy !== undefined ? `policy ${s.policy}` : ''].filter((x) => x !== '').join(', ');
    lines.push(`    ${where}${s.ruleIndex !== undefined ? `, rule ${s.ruleIndex}` : ''}: ${s.result}`);
  }
  return lines.join('\n');
}

/** `--protocol TCP,UDP`: each once, upper-cased, in the order given (default TCP). */
export function parseProtocolList(items: readonly string[]): string[] {
  const out: string[] = [];
  for (const item of items.flatMap((x) => x.split(','))) {
    const v = item.trim().toUpperCase();
    if (v === '') throw new TricolorError('ERR_USAGE', `--protocol: ${quote(items.join(','))} has an empty item`, { field: '--protocol', value: items.join(',') });
    if (!out.includes(v)) out.push(v);
  }
  return out.length === 0 ? ['TCP'] : out;
}

/** `--port 80,81` (or repeated): each once, in the order given. */
export function parsePortList(items: readonly string[]): number[] {
  const out: number[] = [];
  for (const item of items.flatMap((x) => x.split(','))) {
    const n = parsePort(item.trim(), true) ?? 0;
    if (!out.includes(n)) out.push(n);
  }
  return out;
}

const isICMP = (protocol: string): boolean => protocol === 'ICMP' || protocol === 'ICMPV6';

async function runExplain(args: readonly string[], ctx: CliContext): Promise<number> {
  const p = parseArgs(args, [
    CONFIG_FLAG,
    { name: 'from', value: true },
    { name: 'to', value: true },
    { name: 'port', value: true, repeatable: true },
    { name: 'protocol', value: true, repeatable: true },
    { name: 'all' },
    { name: 'output', short: 'o', value: true },
  ]);
  if (p.positionals.length > 0) throw usage(`unexpected argument ${quote(p.positionals[0])}`);
  const json = (flagString(p, 'output') ?? 'text') === 'json';
  const protocols = parseProtocolList(flagStrings(p, 'protocol'));
  const ports = parsePortList(flagStrings(p, 'port'));
  if (ports.length === 0 && !protocols.every(isICMP)) throw usage('--port is required');
  const all = flagBool(p, 'all');
  if (!all && ports.length > 1) throw new TricolorError('ERR_USAGE', `--port: ${quote(flagStrings(p, 'port').join(','))}: explaining one pair takes one port (lists only with --all)`, { field: '--port', value: flagStrings(p, 'port').join(',') });
  if (!all && protocols.length > 1) throw new TricolorError('ERR_USAGE', `--protocol: ${quote(flagStrings(p, 'protocol').join(','))}: explaining one pair takes one protocol (lists only with --all)`, { field: '--protocol', value: flagStrings(p, 'protocol').join(',') });
  const calc = await import('../../calc/index.ts');
  const resources = await loadResources(flagString(p, 'config'), ctx);
  const model = calc.PolicyModel.fromUpdates(resources.map(calc.updateOf));
  const protoOf = (protocol: string): string | number => (/^\d+$/.test(protocol) ? Number(protocol) : protocol);
  if (all) {
    if (ports.length <= 1 && protocols.length === 1) {
      // the single-value form keeps its shape: {port, protocol, results: [{from, to, verdict}]}
      const protocol = protocols[0] ?? 'TCP';
      const port = ports[0];
      const results = calc.explainAll(model, protoOf(protocol), port);
      if (json) {
        ctx.stdout.write(JSON.stringify({ port, protocol, results }) + '\n');
      } else {
        for (const r of results) ctx.stdout.write(`${r.from} -> ${r.to}: ${r.verdict}\n`);
      }
      return 0;
    }
    // every protocol × port given (an ICMP protocol once, without a port): each result names both
    const results = protocols.flatMap((protocol) =>
      (isICMP(protocol) || ports.length === 0 ? [undefined] : ports).flatMap((port) =>
        calc.explainAll(model, protoOf(protocol), port).map((r) => ({ from: r.from, to: r.to, protocol, ...(port === undefined ? {} : { port }), verdict: r.verdict })),
      ),
    );
    if (json) {
      ctx.stdout.write(JSON.stringify({ ports, protocols, results }) + '\n');
    } else {
      for (const r of results) ctx.stdout.write(`${r.from} -> ${r.to} ${r.protocol}${r.port === undefined ? '' : `/${r.port}`}: ${r.verdict}\n`);
    }
    return 0;
  }
  const protocol = protocols[0] ?? 'TCP';
  const port = ports[0];
  const proto = protoOf(protocol);
  const from = flagString(p, 'from');
  const to = flagString(p, 'to');
  if (from === undefined || to === undefined) throw usage('explain needs --from and --to (or --all)');
  let result;
  try {
    result = calc.explain(model, {
      from: peerOf(calc, model, from, '--from'),
      to: peerOf(calc, model, to, '--to'),
      protocol: proto,
      ...(port === undefined ? {} : { port }),
    });
  } catch (e) {
    if (e instanceof TricolorError) throw e;
    throw new TricolorError('ERR_USAGE', (e as Error).message);
  }
  if (json) {
    ctx.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } else {
    ctx.stdout.write(
      `${result.verdict}: ${result.from} -> ${result.to} ${result.protocol}${port === undefined ? '' : `/${port}`}\n` +
        `${renderTrace('egress', result.egress)}\n${renderTrace('ingress', result.ingress)}\n`,
    );
  }
  return 0;
}

async function runShow(args: readonly string[], ctx: CliContext): Promise<number> {
  const p = parseArgs(args, [CONFIG_FLAG, { name: 'node', value: true }, { name: 'output', short: 'o', value: true }]);
  const json = (flagString(p, 'output') ?? 'text') === 'json';
  const calc = await import('../../calc/index.ts');
  const resources = await loadResources(flagString(p, 'config'), ctx);
  const model = calc.PolicyModel.fromUpdates(resources.map(calc.updateOf));
  let node = flagString(p, 'node');
  let only: string | undefined;
  if (node === undefined) {
    const target = p.positionals[0];
    if (target === undefined) throw usage('show needs NS/POD or --node NODE');
    const peer = peerOf(calc, model, target, 'NS/POD');
    if (!('endpoint' in peer)) throw usage('show needs NS/POD, not an IP');
    const e = model.entity(peer.endpoint);
    node = e?.node;
    only = peer.endpoint;
    if (node === undefined) throw new TricolorError('ERR_VALIDATION', `WorkloadEndpoint for ${quote(target)} has no spec.node`);
  }
  const graph = new calc.CalcGraph({ hostname: node });
  graph.onUpdates(resources.map(calc.updateOf));
  graph.flush();
  const endpoints = [];
  for (const key of graph.localEndpointKeys()) {
    if (only !== undefined && key !== only) continue;
    const msg = graph.endpointMessage(key);
    if (msg === undefined || (msg.type !== 'WorkloadEndpointUpdate' && msg.type !== 'HostEndpointUpdate')) continue;
    const policies = msg.tiers.flatMap((t) => [...t.ingressPolicies, ...t.egressPolicies]);
    const ipsetIds = new Set<string>();
    for (const k of policies) for (const id of graph.activePolicyIPSets(k)) ipsetIds.add(id);
    for (const prof of msg.profileIds) for (const id of graph.activeProfileIPSets(prof)) ipsetIds.add(id);
    const ipsets = [...ipsetIds].sort().map((id) => ({ id, members: graph.ipsetMembers(id)?.length ?? 0 }));
    const e = model.entity(key);
    endpoints.push({
      endpoint: e === undefined ? key : calc.endpointDisplayName(e),
      key,
      tiers: msg.tiers,
      profiles: msg.profileIds,
      ipsets,
    });
  }
  if (json) {
    ctx.stdout.write(JSON.stringify({ node, endpoints }, null, 2) + '\n');
    return 0;
  }
  for (const ep of endpoints) {
    ctx.stdout.write(`${ep.endpoint} (${ep.key}) on ${node}\n`);
    for (const dir of ['ingress', 'egress'] as const) {
      ctx.stdout.write(`  ${dir}:\n`);
      for (const t of ep.tiers) {
        const list = dir === 'ingress' ? t.ingressPolicies : t.egressPolicies;
        if (list.length === 0) continue;
        ctx.stdout.write(`    tier ${t.name} (default action ${t.defaultAction}): ${list.join(', ')}\n`);
      }
      ctx.stdout.write(`    profiles: ${ep.profiles.join(', ') || '(none)'}\n`);
    }
    ctx.stdout.write(`  ip sets:${ep.ipsets.length === 0 ? ' (none)' : ''}\n`);
    for (const s of ep.ipsets) ctx.stdout.write(`    ${s.id}: ${s.members} members\n`);
  }
  return 0;
}

export const command: Command = {
  name: 'policy',
  summary: 'Explain policy verdicts and show what applies to an endpoint',
  async run(args, ctx) {
    const [sub, ...rest] = args;
    if (sub === undefined || sub === '--help' || sub === '-h' || rest.includes('--help') || rest.includes('-h')) {
      ctx.stdout.write(HELP);
      return sub === undefined ? EXIT_USAGE : EXIT_OK;
    }
    if (sub === 'explain') return runExplain(rest, ctx);
    if (sub === 'show') return runShow(rest, ctx);
    throw usage(`unknown policy command ${quote(sub)}`);
  },
};
