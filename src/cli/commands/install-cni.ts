// `tricolor install-cni --bin-dir DIR --conf-dir DIR [--nodename NAME] [--mtu N]
// [--agent-socket PATH]`: installs the CNI plugins (tricolor-cni, tricolor-ipam) and the
// conflist 10-tricolor.conflist. The current datastore settings (DATASTORE_TYPE,
// TRICOLOR_DATASTORE_PATH, ETCD_*) are baked into the plugin wrappers, since runtimes do not
// pass them; so is the node agent's CNI socket, which tricolor-cni hands its calls to.

import type { Command } from '../command.ts';

const HELP = `Usage: tricolor install-cni --bin-dir DIR --conf-dir DIR [options]

Install the CNI plugins and the network configuration list.

Options:
      --bin-dir DIR     CNI plugin directory (e.g. /opt/cni/bin)
      --conf-dir DIR    CNI configuration directory (e.g. /etc/cni/net.d)
      --nodename NAME   node name written into the configuration
      --nodename-file PATH
                        where the node agent writes its node name (default $CALICO_NODENAME_FILE,
                        else /var/lib/calico/nodename, as the agent's own default); written
                        into the configuration as nodename_file when not the default
      --mtu N           pod MTU (default 0: the node agent's MTU file, else 1500)
      --agent-socket PATH
                        the node agent's CNI socket (default $TRICOLOR_CNI_SOCKET, else
                        /var/run/tricolor/cni.sock, as the agent's own default; the variable
                        also overrides it at call time). With no agent answering there,
                        tricolor-cni runs the plugin itself.
      --env-file FILE   settings shared with the node agent's unit: the datastore,
                        CALICO_NODENAME_FILE, TRICOLOR_CNI_SOCKET (default
                        /etc/tricolor/tricolor.env when it exists; the environment wins)
  -h, --help            this help
`;

export const command: Command = {
  name: 'install-cni',
  summary: 'Install the CNI plugins and network configuration',
  async run(args, ctx) {
    const { parseArgs, flagBool, flagString } = await import('../args.ts');
    const p = parseArgs(args, [{ name: 'bin-dir', value: true }, { name: 'conf-dir', value: true }, { name: 'nodename', value: true }, { name: 'mtu', value: true }, { name: 'agent-socket', value: true }, { name: 'env-file', value: true }, { name: 'nodename-file', value: true }]);
    if (flagBool(p, 'help')) {
      ctx.stdout.write(HELP);
      return 0;
    }
    const { TricolorError, quote } = await import('../../base/index.ts');
    const path = await import('node:path');
    const binDir = flagString(p, 'bin-dir');
    const confDir = flagString(p, 'conf-dir');
    if (binDir === undefined || confDir === undefined) {
      throw new TricolorError('ERR_USAGE', `install-cni: --bin-dir and --conf-dir are required\n\n${HELP}`);
    }
    const mtuText = flagString(p, 'mtu');
    const mtu = mtuText === undefined ? undefined : Number(mtuText);
    if (mtu !== undefined && (!Number.isInteger(mtu) || mtu < 0 || mtu > 65535)) {
      throw new TricolorError('ERR_USAGE', `--mtu: ${quote(mtuText)} is not an MTU`);
    }
    const nodename = flagString(p, 'nodename');
    const { installCni, datastoreEnvOf, AGENT_SOCKET_ENV, NODENAME_FILE_ENV } = await import('../../cni/index.ts');
    // The same settings the agent's unit reads (install-units), so both use one datastore without flags.
    const { DEFAULT_ENV_FILE, parseEnvFile } = await import('../../agent/index.ts');
    const { readFileSync, existsSync } = await import('node:fs');
    const envFileFlag = flagString(p, 'env-file');
    const envFile = path.resolve(ctx.cwd, envFileFlag ?? DEFAULT_ENV_FILE);
    if (envFileFlag !== undefined && !existsSync(envFile)) throw new TricolorError('ERR_USAGE', `--env-file: ${quote(envFileFlag)} does not exist`, { field: '--env-file', value: envFileFlag });
    const fileEnv = existsSync(envFile) ? parseEnvFile(readFileSync(envFile, 'utf8')) : {};
    // Where the agent writes the node name and serves CNI calls, from the same settings it reads.
    const env: NodeJS.ProcessEnv = { ...fileEnv, ...ctx.env };
    const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);
    const agentSocket = flagString(p, 'agent-socket') ?? nonEmpty(env[AGENT_SOCKET_ENV]);
    const nodenameFile = flagString(p, 'nodename-file') ?? nonEmpty(env[NODENAME_FILE_ENV]);
    const written = await installCni({
      binDir: path.resolve(ctx.cwd, binDir),
      confDir: path.resolve(ctx.cwd, confDir),
      nodePath: process.execPath,
      repoRoot: path.join(import.meta.dirname, '..', '..', '..'),
      env: datastoreEnvOf(env),
      ...(nodename === undefined ? {} : { nodename }),
      ...(mtu === undefined ? {} : { mtuBytes: mtu }),
      ...(agentSocket === undefined ? {} : { agentSocket: path.resolve(ctx.cwd, agentSocket) }),
      ...(nodenameFile === undefined ? {} : { nodenameFile: path.resolve(ctx.cwd, nodenameFile) }),
    });
    for (const f of written) ctx.stdout.write(`installed ${f}\n`);
    return 0;
  },
};
