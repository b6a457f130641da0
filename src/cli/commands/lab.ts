// `tricolor lab …`: a multi-node Tricolor cluster inside network namespaces on this host — up,
// down, status, namespaces, pods, services, probes, exec, and the quickstart demo. The command
// contract (words and flags) is fixed by the lab issue; other tooling drives these exact commands.

import { EXIT_OK, EXIT_USAGE, TricolorError, quote } from '../../base/index.ts';
import { flagBool, flagString, flagStrings, parseArgs, usage, type ParsedArgs } from '../args.ts';
import type { CliContext, Command } from '../command.ts';

const HELP = `Usage:
  tricolor lab up [--name NAME] [--nodes N] [--encap none|vxlan] [--pod-cidr CIDR] [--route-reflector NODE] [--datastore embedded|etcdv3] [--tor] [--no-controllers]
  tricolor lab up [--name NAME] [--nodes N] [--encap none|vxlan] [--pod-cidr CIDR] [--route-reflector NODE] [--datastore embedded|etcdv3] [--tor] [--flow-logs] [--monitoring] [--externals N] [--dataplane nft|bpf] [--wireguard] [--typha N] [--etcd-members N]
  tricolor lab down [--name NAME]
  tricolor lab status [-o json]
  tricolor lab ns add NAME [--labels k=v,...]
  tricolor lab ns label NAME k=v ... [k-]
  tricolor lab pod add NS/NAME [--node NODE] [--labels k=v,...] [--service-account SA] [--serve PROTO:PORT,...] [--named-port NAME=PROTO:PORT ...]
  tricolor lab pod label NS/NAME k=v ... [k-]
  tricolor lab pod del NS/NAME
  tricolor lab svc add NS/NAME --selector k=v[,k=v] --port PORT[:TARGETPORT][/PROTO] [--session-affinity None|ClientIP] [--affinity-timeout SECONDS]
  tricolor lab probe FROM TO --port PORT [--protocol tcp|udp] [--timeout-ms MS]
  tricolor lab probe --all --port PORT[,PORT...] [--protocol tcp|udp[,...]] [--timeout-ms MS] [-o json]
  tricolor lab exec NS/POD -- CMD [ARGS...]
  tricolor lab demo [quickstart] [--name NAME] [--same-node] [--dataplane nft|bpf] [--wireguard]

A lab is a cluster built from network namespaces on this host (never touching the host's own
network): an underlay bridge, N nodes each running the Tricolor agent and service proxy, pods
plugged in by the CNI plugin, and external hosts reachable only through the nodes (NAT).
Every command but "up" acts on the lab named by --name, else $TRICOLOR_LAB, else the lab
brought up last. While a lab is up, plain tricolor commands (apply, get, ipam, policy …) use its
datastore. FROM is NS/POD or an external host (external = external-1, external-2, …); TO is
NS/POD, NS/SERVICE, an external host or an IP.

lab svc add options:
  --session-affinity ClientIP  pin each client to one backend (the Service's spec.sessionAffinity)
  --affinity-timeout SECONDS   how long (sessionAffinityConfig.clientIP.timeoutSeconds, 1..86400,
                               default 10800); honoured by the eBPF dataplane's service NAT

lab pod add options:
  --serve PROTO:PORT,...       ports the pod serves (socat), declared as container ports serve-PORT-PROTO
  --named-port NAME=PROTO:PORT a container port the pod declares, served or not (repeatable), e.g.
                               --named-port web=tcp:81; two pods may give one name different numbers,
                               and named-port policy resolves per pod

lab probe options:
  --port PORT[,PORT...]  destination port; with --all a list (or the flag repeated): every pair is
                         probed on every port and protocol given, one prober per source pod doing
                         all of them at once, and each JSON result names its protocol and port
                         ({ports, protocols, results: [{from, to, protocol, port, connected}]});
                         one port and one protocol give {port, protocol, results: [{from, to, connected}]}
  --protocol P[,P...]    tcp (default) or udp; a list with --all
  --timeout-ms MS        how long a pair may take to connect (default 1000); a denied pair costs it

lab up options:
  --externals N          N external hosts (default 1): external-1 … external-N at 203.0.113.10, .11, …
                         (\`lab status -o json\` lists them as externals: [{name, ip}])
  --datastore embedded   (default) a SQLite file in the lab's run directory
  --datastore etcdv3     the lab starts its own etcd, serving only a unix socket in the run directory,
                         with mutual TLS: a lab CA and one client certificate per component (etcd/pki)
  --etcd-members N       with etcdv3: a cluster of N members (1, 3 or 5; default 1), each in its own
                         namespace with its own socket, mutual TLS between members; every component
                         gets all N endpoints and fails over when a member goes
  --no-controllers       do not run "tricolor controllers run" (IPAM GC, node cleanup) in the first
                         node's namespace, as the lab does by default
  --flow-logs            flow logs on every node; the flow aggregator and web UI on 127.0.0.1:8081
                         (or a free port; \`lab status\` shows it); plain \`tricolor flows\` uses it
  --monitoring           Debian's Prometheus in a lab namespace (tri-NAME-mon, 172.31.0.249), scraping
                         every agent's Felix metrics, the controllers and the flow aggregator every 2 s,
                         data under the run directory; reached from the host on 127.0.0.1:9090 (or a
                         free port; \`lab status\` shows it). dashboards/tricolor.json reads it
  --typha N              run N Typha replicas (one in each of the first N nodes, on the node's address
                         :5473, metrics :9093, health on the namespace's 127.0.0.1:9098); every agent
                         gets FELIX_TYPHAADDR naming all of them and reads through Typha instead of
                         watching the datastore (default 0)
  --tor                  add a "tor" router on the underlay (gobgpd, AS 64513), peered with every
                         node through a global BGPPeer; it learns every pod block (see lab status)
  --wireguard            encrypt node-to-node traffic (FelixConfiguration wireguardEnabled: true;
                         a wireguard-go per node); \`tricolor node status --name NODE\` shows the peers
`;

const FLAGS = [
  { name: 'name', value: true },
  { name: 'nodes', value: true },
  { name: 'encap', value: true },
  { name: 'dataplane', value: true },
  { name: 'pod-cidr', value: true },
  { name: 'route-reflector', value: true },
  { name: 'datastore', value: true },
  { name: 'labels', value: true },
  { name: 'node', value: true },
  { name: 'service-account', value: true },
  { name: 'serve', value: true },
  { name: 'named-port', value: true, repeatable: true },
  { name: 'externals', value: true },
  { name: 'selector', value: true },
  { name: 'session-affinity', value: true },
  { name: 'affinity-timeout', value: true },
  { name: 'port', value: true, repeatable: true },
  { name: 'protocol', value: true, repeatable: true },
  { name: 'timeout-ms', value: true },
  { name: 'all' },
  { name: 'spread' },
  { name: 'same-node' },
  { name: 'tor' },
  { name: 'no-controllers' },
  { name: 'flow-logs' },
  { name: 'monitoring' },
  { name: 'wireguard' },
  { name: 'typha', value: true },
  { name: 'etcd-members', value: true },
  { name: 'output', short: 'o', value: true },
] as const;

type Lab = typeof import('../../lab/index.ts');

function labName(p: ParsedArgs, ctx: CliContext, lab: Lab): string {
  return lab.validateLabName(flagString(p, 'name') ?? ctx.env['TRICOLOR_LAB'] ?? lab.currentLabName() ?? lab.DEFAULT_LAB_NAME);
}

function intFlag(p: ParsedArgs, name: string, dflt: number, min: number, max: number): number {
  const v = flagString(p, name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max) throw new TricolorError('ERR_USAGE', `--${name}: ${quote(v)} is not a number from ${min} to ${max}`, { field: `--${name}`, value: v });
  return n;
}

function dataplaneFlag(p: ParsedArgs, lab: Lab): 'nft' | 'bpf' {
  const d = flagString(p, 'dataplane') ?? 'nft';
  if (!(lab.LAB_DATAPLANES as readonly string[]).includes(d)) {
    throw new TricolorError('ERR_USAGE', `--dataplane: ${quote(d)} is not nft or bpf`, { field: '--dataplane', value: d });
  }
  return d as 'nft' | 'bpf';
}

function outputFlag(p: ParsedArgs): 'text' | 'json' {
  const v = flagString(p, 'output') ?? 'text';
  if (v !== 'text' && v !== 'json') throw new TricolorError('ERR_USAGE', `--output: ${quote(v)} is not text or json`, { field: '--output', value: v });
  return v;
}

function requireRoot(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new TricolorError('ERR_FORBIDDEN', 'tricolor lab needs root (it creates network namespaces); run it with sudo');
  }
}

async function execInPod(argv: readonly string[], ctx: CliContext): Promise<number> {
  const { execStreaming } = await import('../../base/io/index.ts');
  return execStreaming(argv, { stdout: (b) => ctx.stdout.write(b), stderr: (b) => ctx.stderr.write(b), inheritStdin: ctx.stdin === process.stdin });
}

async function run(args: readonly string[], ctx: CliContext): Promise<number> {
  // `lab exec NS/POD -- CMD ...`: everything after `--` is the command, never our flags.
  const dd = args.indexOf('--');
  const own = dd === -1 ? args : args.slice(0, dd);
  const tail = dd === -1 ? [] : args.slice(dd + 1);
  const p = parseArgs(own, FLAGS);
  const [sub, ...pos] = p.positionals;
  if (flagBool(p, 'help') || sub === undefined) {
    ctx.stdout.write(HELP);
    return sub === undefined && !flagBool(p, 'help') ? EXIT_USAGE : EXIT_OK;
  }
  const lab = await import('../../lab/index.ts');
  const progress = (line: string): void => void ctx.stderr.write(`${line}\n`);
  switch (sub) {
    case 'up': {
      requireRoot();
      if (pos.length > 0) throw usage(`unexpected argument ${quote(pos[0])}`);
      const datastore = flagString(p, 'datastore') ?? 'embedded';
      if (!(lab.LAB_DATASTORES as readonly string[]).includes(datastore)) {
        throw new TricolorError('ERR_USAGE', `--datastore: ${quote(datastore)} is not embedded or etcdv3`, { field: '--datastore', value: datastore });
      }
      const encap = flagString(p, 'encap') ?? 'none';
      if (!(lab.ENCAPS as readonly string[]).includes(encap)) throw usage(`--encap: ${quote(encap)} is not none or vxlan`);
      const name = lab.validateLabName(flagString(p, 'name') ?? ctx.env['TRICOLOR_LAB'] ?? lab.DEFAULT_LAB_NAME);
      const state = await lab.labUp({
        name,
        nodes: intFlag(p, 'nodes', 3, 1, lab.MAX_NODES),
        encap: encap as 'none' | 'vxlan',
        podCidr: flagString(p, 'pod-cidr') ?? lab.DEFAULT_POD_CIDR,
        routeReflector: flagString(p, 'route-reflector'),
        datastore: datastore as 'embedded' | 'etcdv3',
        tor: flagBool(p, 'tor'),
        externals: intFlag(p, 'externals', 1, 1, lab.MAX_EXTERNALS),
        controllers: !flagBool(p, 'no-controllers'),
        flowLogs: flagBool(p, 'flow-logs'),
        monitoring: flagBool(p, 'monitoring'),
        typha: intFlag(p, 'typha', 0, 0, lab.MAX_NODES),
        etcdMembers: intFlag(p, 'etcd-members', 1, 1, 5),
        dataplane: dataplaneFlag(p, lab),
        wireguard: flagBool(p, 'wireguard'),
        progress,
      });
      const ext = lab.labExternals(state);
      const externalsText = ext.length === 1 ? `external host ${state.externalIP}` : `external hosts ${ext.map((e) => `${e.name} ${e.ip}`).join(', ')}`;
      const tor = state.tor === undefined ? '' : `, tor ${state.tor.address} (AS ${state.tor.asNumber})`;
      ctx.stdout.write(`lab ${quote(state.name)} is up: ${state.nodes.length} nodes (${state.nodes.map((n) => `${n.name} ${n.address}`).join(', ')}), ${externalsText}${tor}, datastore ${lab.describeLabDatastore(state)}\n`);
      return 0;
    }
    case 'down': {
      requireRoot();
      const name = labName(p, ctx, lab);
      const r = await lab.labDown(name);
      ctx.stdout.write(`lab ${quote(name)} is down (${r.namespaces} namespaces removed)\n`);
      return 0;
    }
    case 'status': {
      const s = lab.requireLab(labName(p, ctx, lab));
      const v = await lab.labStatus(s);
      ctx.stdout.write(outputFlag(p) === 'json' ? JSON.stringify(v, null, 2) + '\n' : lab.renderLabStatus(v));
      return 0;
    }
    case 'ns': {
      const [verb, name, ...edits] = pos;
      const s = lab.requireLab(labName(p, ctx, lab));
      if (name === undefined) throw usage('lab ns: give a namespace name');
      lab.validateNamespaceName(name);
      if (verb === 'add') {
        if (edits.length > 0) throw usage(`unexpected argument ${quote(edits[0])}`);
        await lab.nsAdd(s, name, lab.parseLabelList(flagString(p, 'labels') ?? ''));
        ctx.stdout.write(`namespace/${name} created\n`);
        return 0;
      }
      if (verb === 'label') {
        await lab.nsLabel(s, name, (l) => lab.applyLabelEdits(l, edits));
        ctx.stdout.write(`namespace/${name} labeled\n`);
        return 0;
      }
      throw usage(`lab ns: unknown verb ${quote(verb ?? '')} (add, label)`);
    }
    case 'pod': {
      requireRoot();
      const [verb, ref, ...edits] = pos;
      if (ref === undefined) throw usage('lab pod: give NS/NAME');
      const { namespace, name } = lab.parseNamespacedName(ref);
      const s = lab.requireLab(labName(p, ctx, lab));
      if (verb === 'add') {
        if (edits.length > 0) throw usage(`unexpected argument ${quote(edits[0])}`);
        const serve = lab.parseServe(flagString(p, 'serve') ?? '');
        const pod = await lab.podAdd(s, {
          namespace,
          name,
          node: flagString(p, 'node'),
          labels: lab.parseLabelList(flagString(p, 'labels') ?? ''),
          serviceAccount: flagString(p, 'service-account'),
          serve,
          namedPorts: lab.parseNamedPorts(flagStrings(p, 'named-port'), serve),
        });
        ctx.stdout.write(`${pod.ip}\n`);
        return 0;
      }
      if (verb === 'label') {
        await lab.podLabel(s, namespace, name, (l) => lab.applyLabelEdits(l, edits));
        ctx.stdout.write(`pod/${namespace}/${name} labeled\n`);
        return 0;
      }
      if (verb === 'del' || verb === 'delete') {
        await lab.podDel(s, namespace, name);
        ctx.stdout.write(`pod/${namespace}/${name} deleted\n`);
        return 0;
      }
      throw usage(`lab pod: unknown verb ${quote(verb ?? '')} (add, label, del)`);
    }
    case 'svc': {
      const [verb, ref] = pos;
      if (verb !== 'add') throw usage(`lab svc: unknown verb ${quote(verb ?? '')} (add)`);
      if (ref === undefined) throw usage('lab svc add: give NS/NAME');
      const { namespace, name } = lab.parseNamespacedName(ref, 'service');
      const selector = lab.parseLabelList(flagString(p, 'selector') ?? '', '--selector');
      if (Object.keys(selector).length === 0) throw usage('lab svc add: --selector k=v is required');
      const ports = flagStrings(p, 'port').flatMap((x) => x.split(',')).map(lab.parseServicePort);
      if (ports.length === 0) throw usage('lab svc add: --port PORT[:TARGETPORT][/PROTO] is required');
      const s = lab.requireLab(labName(p, ctx, lab));
      // the values go into the Service as given: its validation names a bad one (field and value)
      const affinity = flagString(p, 'session-affinity');
      const timeout = flagString(p, 'affinity-timeout');
      if (timeout !== undefined && !/^\d+$/.test(timeout)) throw new TricolorError('ERR_USAGE', `--affinity-timeout: ${quote(timeout)} is not a number of seconds`, { field: '--affinity-timeout', value: timeout });
      const ip = await lab.svcAdd(s, namespace, name, selector, ports, {
        ...(affinity === undefined ? {} : { sessionAffinity: affinity }),
        ...(timeout === undefined ? {} : { affinityTimeoutSeconds: Number(timeout) }),
      });
      ctx.stdout.write(`${ip}\n`);
      return 0;
    }
    case 'probe': {
      requireRoot();
      const s = lab.requireLab(labName(p, ctx, lab));
      const portTexts = flagStrings(p, 'port');
      if (portTexts.length === 0) throw usage('lab probe: --port is required');
      const ports = lab.parseProbePorts(portTexts);
      const protocols = lab.parseProbeProtocols(flagStrings(p, 'protocol'));
      const timeoutMs = intFlag(p, 'timeout-ms', 1000, 1, 600_000);
      if (flagBool(p, 'all')) {
        if (pos.length > 0) throw usage('lab probe --all takes no FROM/TO');
        const [port] = ports;
        const [protocol] = protocols;
        if (ports.length === 1 && protocols.length === 1 && port !== undefined && protocol !== undefined) {
          // the single-value form keeps its contract shape: {port, protocol, results: [{from, to, connected}]}
          const r = await lab.probeAll(s, port, protocol, timeoutMs);
          if (outputFlag(p) === 'json') ctx.stdout.write(JSON.stringify(r) + '\n');
          else for (const x of r.results) ctx.stdout.write(`${x.connected ? '✔' : '✘'} ${x.from} → ${x.to}\n`);
          return 0;
        }
        const r = await lab.probeMatrix(s, ports, protocols, timeoutMs);
        if (outputFlag(p) === 'json') ctx.stdout.write(JSON.stringify(r) + '\n');
        else for (const x of r.results) ctx.stdout.write(`${x.connected ? '✔' : '✘'} ${x.from} → ${x.to} ${x.protocol}/${x.port}\n`);
        return 0;
      }
      const [from, to, ...more] = pos;
      if (from === undefined || to === undefined || more.length > 0) throw usage('lab probe: give FROM and TO (or --all)');
      const [port] = ports;
      const [protocol] = protocols;
      if (ports.length !== 1 || port === undefined) throw new TricolorError('ERR_USAGE', `--port: ${quote(portTexts.join(','))}: a probe from FROM to TO takes one port (lists only with --all)`, { field: '--port', value: portTexts.join(',') });
      if (protocols.length !== 1 || protocol === undefined) throw new TricolorError('ERR_USAGE', `--protocol: ${quote(flagStrings(p, 'protocol').join(','))}: a probe from FROM to TO takes one protocol (lists only with --all)`, { field: '--protocol', value: flagStrings(p, 'protocol').join(',') });
      const netns = lab.resolveSource(s, from);
      const ip = await lab.resolveTarget(s, to);
      const [ok] = await lab.probeFrom(netns, [ip], port, protocol, timeoutMs);
      ctx.stdout.write(`${from} → ${to} (${ip}:${port}/${protocol}): ${ok === true ? 'connected' : 'not connected'}\n`);
      return ok === true ? 0 : 1;
    }
    case 'exec': {
      requireRoot();
      const [ref, ...rest] = pos;
      if (ref === undefined) throw usage('lab exec: give NS/POD (or external) and -- CMD');
      const argv = [...rest, ...tail];
      if (argv.length === 0) throw usage('lab exec: give the command after --');
      const s = lab.requireLab(labName(p, ctx, lab));
      return execInPod(lab.podExecArgv(s, ref, argv), ctx);
    }
    case 'demo': {
      requireRoot();
      const [which = 'quickstart', ...more] = pos;
      if (which !== 'quickstart') throw lab.demoUnknown(which);
      if (more.length > 0) throw usage(`unexpected argument ${quote(more[0])}`);
      const name = lab.validateLabName(flagString(p, 'name') ?? 'demo');
      // nginx and access on different nodes unless --same-node (--spread, the old opt-in, is the default now)
      const r = await lab.runQuickstartDemo({ name, out: (t) => void ctx.stdout.write(t), spread: !flagBool(p, 'same-node'), dataplane: dataplaneFlag(p, lab), wireguard: flagBool(p, 'wireguard') });
      return r.mismatches === 0 ? 0 : 1;
    }
    default:
      throw usage(`unknown command ${quote(sub)} for "tricolor lab"`);
  }
}

export const command: Command = {
  name: 'lab',
  summary: 'A multi-node cluster in network namespaces: up, down, pods, services, probes, demo',
  run,
};
