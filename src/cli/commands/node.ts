// `tricolor node run|status`: run the node agent in the current network namespace until SIGTERM
// or SIGINT (watches closed, servers stopped, nftables left in force), and report a running
// agent's health and what it has programmed from its status file (and its health port when
// reachable from here).

import { hostname } from 'node:os';
import { EXIT_OK, EXIT_USAGE, TricolorError, quote } from '../../base/index.ts';
import { CONFIG_FLAG, flagBool, flagString, parseArgs, usage } from '../args.ts';
import type { ParsedArgs } from '../args.ts';
import type { CliContext, Command } from '../command.ts';

const HELP = `Usage: tricolor node run [--name NODE] [options]
       tricolor node status [--run-dir DIR | --name NODE] [-o json]

run     Run the node agent: sync policy from the datastore and program nftables, workload routes
        and interface sysctls in this network namespace. Stops on SIGTERM/SIGINT without
        flushing anything. SIGTERM (a restart) leaves BIRD running for the next agent to adopt;
        SIGINT stops BIRD too.
status  Agent health (liveness, readiness), programmed endpoint and policy counts, last apply
        time and errors; BGP sessions (like calicoctl node status) and VXLAN state.

Options (run):
      --name NODE            node name (default: $NODENAME, else the host name)
      --run-dir DIR          where the status file goes (default /var/run/tricolor)
      --health-port PORT     health server port (default FelixConfiguration healthPort, 9099; 0 = off)
      --health-host HOST     health server address (default healthHost, localhost)
      --metrics-port PORT    serve Prometheus metrics on PORT (default: prometheusMetricsPort when
                             prometheusMetricsEnabled)
      --metrics-host HOST    metrics server address (default prometheusMetricsHost, all addresses)
      --nft-refresh-ms MS    periodic nftables read-back and repair (default 90000)
      --route-refresh-ms MS  periodic route check (default 90000)
      --bgp MODE             run BIRD: auto (default: unless every IP pool is VXLAN), enabled,
                             disabled ($CALICO_NETWORKING_BACKEND bird/vxlan/none also sets it)
      --cni-socket PATH      serve CNI calls from the installed tricolor-cni on this unix socket
                             (default $TRICOLOR_CNI_SOCKET, else <run-dir>/cni.sock; "none" = off)
      --nodename-file PATH   where the node name is written for the CNI plugin, as calico-node
                             does (default $CALICO_NODENAME_FILE, else /var/lib/calico/nodename;
                             --run-dir does not move it: the installed CNI configuration's
                             nodename_file names it, and install-cni reads the same variable)
      --mtu-file PATH        where the pod MTU goes for the CNI plugin (default /var/lib/calico/mtu,
                             where the CNI plugin's default mtu_file looks; --run-dir does not
                             move it; "none" = not written)
      --wireguard-go PATH    the wireguard-go executable (default $TRICOLOR_WIREGUARD_GO, else
                             wireguard-go on PATH)
  -c, --config FILE          CalicoAPIConfig file (else the environment)
Typha (environment, Calico's names): FELIX_TYPHAADDR=host:port[,host:port…] makes the agent read
from Typha instead of watching the datastore (writes still go to the datastore); with TLS also
FELIX_TYPHACAFILE, FELIX_TYPHACERTFILE, FELIX_TYPHAKEYFILE and FELIX_TYPHACN and/or
FELIX_TYPHAURISAN; FELIX_TYPHAREADTIMEOUT (30 s), FELIX_TYPHAWRITETIMEOUT (10 s).
With FelixConfiguration bpfEnabled, $TRICOLOR_BPF_OBJECT names an eBPF object to load instead of
the built one; if the kernel refuses it, the last good programs stay in force and status says why.
Options (status):
      --run-dir DIR          the agent's run directory
      --name NODE            a node of the lab that is up ($TRICOLOR_LAB, else the last lab up)
  -o, --output FORMAT        text (default) or json
`;

function intFlag(p: ParsedArgs, name: string, min: number, max: number): number | undefined {
  const v = flagString(p, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max) {
    throw new TricolorError('ERR_USAGE', `--${name}: ${quote(v)} is not a number from ${min} to ${max}`, { field: `--${name}`, value: v });
  }
  return n;
}

/** `--bgp`, else Calico's CALICO_NETWORKING_BACKEND (bird → enabled, vxlan/none → disabled), else auto. */
function bgpModeOf(flag: string | undefined, backend: string | undefined): 'auto' | 'enabled' | 'disabled' {
  if (flag !== undefined) {
    if (flag === 'auto' || flag === 'enabled' || flag === 'disabled') return flag;
    throw usage(`--bgp: ${quote(flag)} is not auto, enabled or disabled`);
  }
  if (backend === undefined || backend === '') return 'auto';
  if (backend === 'bird') return 'enabled';
  if (backend === 'vxlan' || backend === 'none') return 'disabled';
  throw new TricolorError('ERR_USAGE', `CALICO_NETWORKING_BACKEND: ${quote(backend)} is not bird, vxlan or none`, { field: 'CALICO_NETWORKING_BACKEND', value: backend });
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}


async function runAgent(args: readonly string[], ctx: CliContext): Promise<number> {
  const p = parseArgs(args, [
    CONFIG_FLAG,
    { name: 'name', value: true },
    { name: 'run-dir', value: true },
    { name: 'health-port', value: true },
    { name: 'health-host', value: true },
    { name: 'metrics-port', value: true },
    { name: 'metrics-host', value: true },
    { name: 'nft-refresh-ms', value: true },
    { name: 'route-refresh-ms', value: true },
    { name: 'bgp', value: true },
    { name: 'cni-socket', value: true },
    { name: 'nodename-file', value: true },
    { name: 'mtu-file', value: true },
    { name: 'wireguard-go', value: true },
  ]);
  if (flagBool(p, 'help')) {
    ctx.stdout.write(HELP);
    return 0;
  }
  if (p.positionals.length > 0) throw usage(`unexpected argument ${quote(p.positionals[0])}`);
  const nodeName = flagString(p, 'name') ?? ctx.env['NODENAME'] ?? hostname();
  const bgpMode = bgpModeOf(flagString(p, 'bgp'), ctx.env['CALICO_NETWORKING_BACKEND']);
  const { loadDatastoreConfig } = await import('../connection.ts');
  const { openBackend } = await import('../../datastore/index.ts');
  const { NodeAgent, DEFAULT_RUN_DIR, CniServer, CNI_SOCKET_NAME, DEFAULT_NODENAME_FILE, NODENAME_FILE_ENV, writeNodenameFile, agentMtuFile } = await import('../../agent/index.ts');
  const { AGENT_SOCKET_ENV } = await import('../../cni/index.ts');
  const path = await import('node:path');
  const datastore = await loadDatastoreConfig(flagString(p, 'config'), ctx);
  const { typhaClientConfigFromEnv } = await import('../../typha/index.ts');
  const typha = typhaClientConfigFromEnv(ctx.env);
  const backend = await openBackend(datastore);
  const optional = <T>(k: string, v: T | undefined): Record<string, T> => (v === undefined ? {} : { [k]: v });
  let updateSource;
  if (typha !== undefined) {
    const { typhaUpdateSource } = await import('../../typha/io/index.ts');
    const { AGENT_SELECTION } = await import('../../agent/index.ts');
    updateSource = typhaUpdateSource(typha, AGENT_SELECTION, { syncerType: 'felix', hostname: nodeName, log: (line) => ctx.stderr.write(`${new Date().toISOString()} [${nodeName}] ${line}\n`) }).source;
  }
  const agent = new NodeAgent({
    nodeName,
    backend,
    ...optional('updateSource', updateSource),
    log: (line) => ctx.stderr.write(line + '\n'),
    ...optional('runDir', flagString(p, 'run-dir')),
    ...optional('healthPort', intFlag(p, 'health-port', 0, 65535)),
    ...optional('healthHost', flagString(p, 'health-host')),
    ...optional('metricsPort', intFlag(p, 'metrics-port', 1, 65535)),
    ...optional('metricsHost', flagString(p, 'metrics-host')),
    ...optional('nftRefreshMs', intFlag(p, 'nft-refresh-ms', 0, 86_400_000)),
    ...optional('routeRefreshMs', intFlag(p, 'route-refresh-ms', 0, 86_400_000)),
    // eBPF: an object to load instead of the built one (a refused one leaves the last good programs running)
    ...optional('bpfObject', nonEmpty(ctx.env['TRICOLOR_BPF_OBJECT'])),
    bgpMode,
    ...optional('wireguardGoPath', flagString(p, 'wireguard-go') ?? ctx.env['TRICOLOR_WIREGUARD_GO']),
    // Calico's path whatever --run-dir says: it is the contract with the CNI plugin's default mtu_file
    mtuFile: agentMtuFile(flagString(p, 'mtu-file'), (f) => path.resolve(ctx.cwd, f)),
  });
  // CNI calls are served next to the agent, on the same open backend (docs/design/cni.md).
  const cniSocketFlag = flagString(p, 'cni-socket') ?? nonEmpty(ctx.env[AGENT_SOCKET_ENV]) ?? path.join(flagString(p, 'run-dir') ?? DEFAULT_RUN_DIR, CNI_SOCKET_NAME);
  const cni =
    cniSocketFlag === 'none'
      ? undefined
      : new CniServer({ socketPath: path.resolve(ctx.cwd, cniSocketFlag), backend, datastore, log: (line) => ctx.stderr.write(`${line}\n`) });
  // the agent's own handles are unref'd: this keeps the process up until a signal
  const keepAlive = setInterval(() => undefined, 1 << 30);
  try {
    const signalled = new Promise<string>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
    await agent.start();
    try {
      await cni?.start();
    } catch (e) {
      // Policy enforcement must not depend on it: without the socket, tricolor-cni runs the plugin itself.
      ctx.stderr.write(`${new Date().toISOString()} [${nodeName}] not serving CNI calls: ${e instanceof Error ? e.message : String(e)}\n`);
    }
    // As calico-node: the CNI plugin reads the node name from this file (and refuses to run without it).
    const nodenameFile = path.resolve(ctx.cwd, flagString(p, 'nodename-file') ?? nonEmpty(ctx.env[NODENAME_FILE_ENV]) ?? DEFAULT_NODENAME_FILE);
    await writeNodenameFile(nodenameFile, nodeName);
    const sig = await signalled;
    ctx.stderr.write(`${new Date().toISOString()} [${nodeName}] ${sig}: shutting down\n`);
    // the socket goes first: calls in flight finish on the backend before the agent closes it
    await cni?.stop();
    // SIGTERM is a stop to restart (systemd, an upgrade, the lab): BIRD stays up so no BGP
    // session flaps and the next agent adopts it; SIGINT (Ctrl-C) stops BIRD too.
    await agent.stop({ leaveBird: sig === 'SIGTERM' });
    return 0;
  } catch (e) {
    await cni?.stop().catch(() => undefined);
    await agent.stop().catch(() => undefined);
    throw e;
  } finally {
    clearInterval(keepAlive);
  }
}

async function probe(url: string): Promise<boolean | undefined> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await r.body?.cancel();
    return r.status === 200;
  } catch {
    return undefined;
  }
}

async function showStatus(args: readonly string[], ctx: CliContext): Promise<number> {
  const p = parseArgs(args, [{ name: 'run-dir', value: true }, { name: 'name', value: true }, { name: 'output', short: 'o', value: true }]);
  if (flagBool(p, 'help')) {
    ctx.stdout.write(HELP);
    return 0;
  }
  if (p.positionals.length > 0) throw usage(`unexpected argument ${quote(p.positionals[0])}`);
  const output = flagString(p, 'output') ?? 'text';
  if (output !== 'text' && output !== 'json') throw usage(`--output: ${quote(output)} is not text or json`);
  const { DEFAULT_RUN_DIR, readStatusFile, processRunning, renderStatusText, renderBGPStatusText } = await import('../../agent/index.ts');
  const { showBGPPeers } = await import('../../bgp/index.ts');
  // --name NODE while a lab is up: that lab node's run dir (src/lab keeps it under <labdir>/nodes/)
  const labNode = flagString(p, 'name');
  const labDir = labNode === undefined || flagString(p, 'run-dir') !== undefined ? undefined : (await import('../../lab/index.ts')).labNodeRunDir(labNode);
  if (labNode !== undefined && flagString(p, 'run-dir') === undefined && labDir === undefined) throw usage(`--name: no lab that is up has a node ${quote(labNode)} (give --run-dir DIR instead)`);
  const runDir = flagString(p, 'run-dir') ?? labDir ?? DEFAULT_RUN_DIR;
  const status = readStatusFile(runDir);
  const running = status !== undefined && processRunning(status.pid);
  let probed: { live: boolean; ready: boolean } | undefined;
  if (running && status.healthEndpoint !== undefined) {
    const live = await probe(`${status.healthEndpoint}/liveness`);
    const ready = await probe(`${status.healthEndpoint}/readiness`);
    if (live !== undefined && ready !== undefined) probed = { live, ready };
  }
  // BIRD's socket is a file in the run dir, so it answers from any network namespace (calicoctl asks it too)
  let peers: Awaited<ReturnType<typeof showBGPPeers>> | undefined;
  if (running && status.bird?.running === true && status.bird.socket !== undefined) {
    peers = await showBGPPeers(status.bird.socket, 2000).catch(() => undefined);
  }
  const view = { status, running, ...(probed === undefined ? {} : { probed }) };
  if (output === 'json') {
    const live = probed?.live ?? (running && status.live);
    const ready = probed?.ready ?? (running && status.ready);
    const st = status === undefined ? null : peers === undefined ? status : { ...status, bgp: peers };
    ctx.stdout.write(JSON.stringify({ running, live, ready, status: st }, null, 2) + '\n');
  } else {
    ctx.stdout.write(renderStatusText(view, runDir));
    if (status !== undefined) ctx.stdout.write(renderBGPStatusText(status, running, peers));
  }
  return running ? 0 : 1;
}

export const command: Command = {
  name: 'node',
  summary: 'Run the node agent, or show its status',
  async run(args, ctx) {
    const [sub, ...rest] = args;
    if (sub === undefined || sub === '-h' || sub === '--help' || sub === 'help') {
      ctx.stdout.write(HELP);
      return sub === undefined ? EXIT_USAGE : EXIT_OK;
    }
    if (sub === 'run') return runAgent(rest, ctx);
    if (sub === 'status') return showStatus(rest, ctx);
    throw usage(`unknown node subcommand ${quote(sub)} (expected run or status)`);
  },
};
