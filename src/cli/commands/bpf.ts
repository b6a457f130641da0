// `tricolor bpf conntrack|nat|routes|ipsets|policy|counters|ifstate dump [--node NODE]`: what the
// eBPF dataplane holds in its pinned maps (Calico's `calico-node -bpf … dump`). --node names a
// node of the lab that is up (as `node status --name`); --bpffs DIR a node's bpffs directly.

import { join } from 'node:path';
import { quote } from '../../base/index.ts';
import { flagBool, flagString, parseArgs, usage } from '../args.ts';
import type { Command } from '../command.ts';

const HELP = `Usage: tricolor bpf conntrack|nat|routes|ipsets|policy|counters|ifstate dump [--node NODE | --bpffs DIR] [-o json]

Show what the eBPF dataplane (FelixConfiguration bpfEnabled: true) has programmed on a node:
  conntrack  flows in the BPF conntrack map (both legs' approval, NAT, packets, age)
  nat        service frontends (cluster IP:port/proto) and their backends
  routes     forwarding: the programs use the kernel's routing table (no BPF routes map); the
             interfaces they are attached to are listed
  ipsets     IP set members (CIDRs; ip,proto:port members of named-port sets)
  policy     each interface's ingress/egress program and the policy blocks, as interpreter ops
  counters   packet counters by reason (allowed, denied, malformed, conntrack full, ...)
  ifstate    interfaces with programs and where their policy programs start

Options:
      --node NODE   a node of the lab that is up ($TRICOLOR_LAB, else the last lab up)
      --bpffs DIR   the node's bpffs (default /var/run/tricolor/bpf)
  -o, --output F    text (default) or json
`;

const json = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x), 2) + '\n';

export const command: Command = {
  name: 'bpf',
  summary: "Show the eBPF dataplane's maps: conntrack, nat, routes, ipsets, policy, counters",
  async run(args, ctx) {
    const p = parseArgs(args, [{ name: 'node', value: true }, { name: 'bpffs', value: true }, { name: 'output', short: 'o', value: true }]);
    const [what, verb, ...rest] = p.positionals;
    if (flagBool(p, 'help') || what === undefined) {
      ctx.stdout.write(HELP);
      return what === undefined && !flagBool(p, 'help') ? 2 : 0;
    }
    const { BpfInspector, DUMP_KINDS } = await import('../../dataplane/io/index.ts');
    if (!(DUMP_KINDS as readonly string[]).includes(what)) throw usage(`unknown command ${quote(what)} for "tricolor bpf" (${DUMP_KINDS.join(', ')})`);
    if (verb !== 'dump') throw usage(`tricolor bpf ${what}: the only verb is "dump"`);
    if (rest.length > 0) throw usage(`unexpected argument ${quote(rest[0])}`);
    const output = flagString(p, 'output') ?? 'text';
    if (output !== 'text' && output !== 'json') throw usage(`--output: ${quote(output)} is not text or json`);
    const node = flagString(p, 'node');
    let dir = flagString(p, 'bpffs');
    if (dir === undefined && node !== undefined) {
      const runDir = (await import('../../lab/index.ts')).labNodeRunDir(node);
      if (runDir === undefined) throw usage(`--node: no lab that is up has a node ${quote(node)} (give --bpffs DIR instead)`);
      dir = join(runDir, 'bpf');
    }
    const insp = new BpfInspector(dir ?? '/var/run/tricolor/bpf');
    const w = (s: string): void => void ctx.stdout.write(s);
    switch (what) {
      case 'conntrack': {
        const rows = await insp.conntrack();
        if (output === 'json') return w(json(rows)), 0;
        const now = process.hrtime.bigint();
        for (const c of rows) {
          const proto = ({ 1: 'icmp', 6: 'tcp', 17: 'udp' } as Record<number, string>)[c.proto] ?? String(c.proto);
          const nat = c.type === 'nat-fwd' ? ` → backend ${c.natIP}:${c.natPort}` : c.flags & 0x80 ? ` (service ${c.natIP}:${c.natPort})` : '';
          w(`${proto.padEnd(4)} ${c.a}:${c.pa} ⇄ ${c.b}:${c.pb}  ${c.type}${nat}  [${c.flagNames.join(' ')}]  pkts ${c.packets} bytes ${c.bytes}  idle ${Number((now - c.lastSeenNs) / 1_000_000n) / 1000}s\n`);
        }
        w(`${rows.length} entries\n`);
        return 0;
      }
      case 'nat': {
        const rows = await insp.nat();
        if (output === 'json') return w(json(rows)), 0;
        for (const r of rows) w(`${r.frontend}  svc ${r.svc}${r.affinitySecs > 0 ? ` affinity ${r.affinitySecs}s` : ''}\n${r.backends.map((b) => `  → ${b}\n`).join('') || '  (no backends: new connections are dropped)\n'}`);
        return 0;
      }
      case 'ipsets': {
        const rows = await insp.ipsets();
        if (output === 'json') return w(json(rows)), 0;
        for (const r of rows) w(`set ${r.set} (${r.members.length}): ${r.members.join(' ')}\n`);
        return 0;
      }
      case 'counters': {
        const rows = Object.fromEntries(await insp.counters());
        if (output === 'json') return w(json(rows)), 0;
        for (const [k, v] of Object.entries(rows)) w(`${k.padEnd(20)} ${String(v)}\n`);
        return 0;
      }
      case 'policy': {
        const lines = await insp.policy();
        if (output === 'json') return w(json(lines)), 0;
        w(lines.join('\n') + '\n');
        return 0;
      }
      default: {
        const rows = await insp.ifstate();
        if (output === 'json') return w(json(rows)), 0;
        if (what === 'routes') w('forwarding uses the kernel routing table (no BPF routes map); interfaces with programs:\n');
        for (const r of rows) w(`ifindex ${r.ifindex}  endpoint ${r.id}  ingress ${r.ingress}  egress ${r.egress}\n`);
        return 0;
      }
    }
  },
};
