// `tricolor proxy run --name NODE [--run-dir DIR]`: the ClusterIP service proxy (the lab's
// kube-proxy replacement) for the network namespace it runs in, until SIGTERM/SIGINT. The nft
// table it programs stays in force when it stops, as kube-proxy's rules do.

import { hostname } from 'node:os';
import { quote } from '../../base/index.ts';
import { CONFIG_FLAG, flagString, parseArgs, usage } from '../args.ts';
import type { Command } from '../command.ts';
import { onlyRunSubcommand } from '../daemon.ts';

const HELP = `Usage: tricolor proxy run [--name NODE] [--run-dir DIR] [--dataplane nft|bpf [--bpffs DIR]] [-c FILE]

Load-balance ClusterIP services (v1 Service objects in the datastore) over the workload
endpoints their selectors pick, with DNAT rules in nftables table "ip tricolor-proxy" of this
network namespace; updated as services and pods come and go.

Options:
      --name NODE       node name (default: $NODENAME, else the host name)
      --run-dir DIR     where proxy.json (what is programmed) goes (default /var/run/tricolor)
      --dataplane bpf   program the eBPF dataplane's NAT maps instead of nftables (the node's
                        agent runs with bpfEnabled; default nft)
      --bpffs DIR       the node's bpffs with the agent's pinned maps (default <run-dir>/bpf)
  -c, --config FILE     CalicoAPIConfig file (else the environment)
`;

export const command: Command = {
  name: 'proxy',
  summary: 'Run the ClusterIP service proxy in this network namespace',
  async run(args, ctx) {
    const p = parseArgs(args, [CONFIG_FLAG, { name: 'name', value: true }, { name: 'run-dir', value: true }, { name: 'dataplane', value: true }, { name: 'bpffs', value: true }]);
    const done = onlyRunSubcommand(p, ctx, 'proxy', HELP);
    if (done !== undefined) return done;
    const nodeName = flagString(p, 'name') ?? ctx.env['NODENAME'] ?? hostname();
    const dataplane = flagString(p, 'dataplane') ?? 'nft';
    if (dataplane !== 'nft' && dataplane !== 'bpf') throw usage(`--dataplane: ${quote(dataplane)} is not nft or bpf`);
    const runDir = flagString(p, 'run-dir') ?? '/var/run/tricolor';
    const { loadDatastoreConfig } = await import('../connection.ts');
    const { openBackend } = await import('../../datastore/index.ts');
    const { ServiceProxy } = await import('../../proxy/index.ts');
    const { typhaClientConfigFromEnv } = await import('../../typha/index.ts');
    const typha = typhaClientConfigFromEnv(ctx.env);
    const backend = await openBackend(await loadDatastoreConfig(flagString(p, 'config'), ctx));
    // with FELIX_TYPHAADDR the proxy reads Typha's `proxy` syncer, as the agent reads `felix`
    const { PROXY_SELECTION } = await import('../../proxy/index.ts');
    const typhaSource =
      typha === undefined
        ? undefined
        : (await import('../../typha/io/index.ts')).typhaUpdateSource(typha, PROXY_SELECTION, { syncerType: 'proxy', hostname: nodeName, log: (line) => ctx.stderr.write(`${new Date().toISOString()} [${nodeName}] ${line}\n`) }).source;
    const proxy = new ServiceProxy({
      nodeName,
      backend,
      ...(typhaSource !== undefined ? { updateSource: typhaSource } : {}),
      runDir,
      ...(dataplane === 'bpf' ? { natWriter: new (await import('../../dataplane/io/index.ts')).BpfNatDriver(flagString(p, 'bpffs') ?? `${runDir}/bpf`) } : {}),
      log: (line) => ctx.stderr.write(`${new Date().toISOString()} [${nodeName}] ${line}\n`),
    });
    const keepAlive = setInterval(() => undefined, 1 << 30);
    try {
      const signalled = new Promise<void>((resolve) => {
        process.once('SIGTERM', () => resolve());
        process.once('SIGINT', () => resolve());
      });
      proxy.start();
      await signalled;
      await proxy.stop();
      return 0;
    } finally {
      clearInterval(keepAlive);
      await backend.close();
    }
  },
};
