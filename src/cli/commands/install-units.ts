// `tricolor install-units [--unit-dir DIR] [--env-file FILE]`: installs the systemd units that
// run Tricolor on a host (agent, Typha, controllers, flow aggregator) and the environment file
// they read, which is left alone when it exists.

import type { Command } from '../command.ts';

const HELP = `Usage: tricolor install-units [options]

Install systemd units for the node agent (tricolor-node.service), Typha, the controllers and
the flow aggregator, and the environment file they all read. An existing environment file is
kept. Then: systemctl daemon-reload && systemctl enable --now tricolor-node.

Options:
      --unit-dir DIR    where the units go (default /etc/systemd/system)
      --env-file FILE   the environment file (default /etc/tricolor/tricolor.env)
  -h, --help            this help
`;

export const command: Command = {
  name: 'install-units',
  summary: 'Install the systemd units and environment file that run Tricolor on a host',
  async run(args, ctx) {
    const { parseArgs, flagBool, flagString } = await import('../args.ts');
    const p = parseArgs(args, [{ name: 'unit-dir', value: true }, { name: 'env-file', value: true }]);
    if (flagBool(p, 'help')) {
      ctx.stdout.write(HELP);
      return 0;
    }
    const { TricolorError, quote } = await import('../../base/index.ts');
    if (p.positionals.length > 0) throw new TricolorError('ERR_USAGE', `install-units: unexpected argument ${quote(p.positionals[0])}\n\n${HELP}`);
    const path = await import('node:path');
    const { installUnits, DEFAULT_UNIT_DIR, DEFAULT_ENV_FILE } = await import('../../agent/index.ts');
    const r = await installUnits({
      unitDir: path.resolve(ctx.cwd, flagString(p, 'unit-dir') ?? DEFAULT_UNIT_DIR),
      envFile: path.resolve(ctx.cwd, flagString(p, 'env-file') ?? DEFAULT_ENV_FILE),
      nodePath: process.execPath,
      cliEntry: path.join(import.meta.dirname, '..', '..', '..', 'bin', 'tricolor.ts'),
    });
    for (const f of r.written) ctx.stdout.write(`installed ${f}\n`);
    for (const f of r.kept) ctx.stdout.write(`kept ${f} (exists)\n`);
    return 0;
  },
};
