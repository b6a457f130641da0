// The `tricolor` command line: picks the sub-command, runs it, and turns an expected failure
// (TricolorError) into one stderr line and the exit status of its code (src/base/errors.ts).
// Anything else is a bug: printed with its stack, with the table's ERR_INTERNAL exit status.
// Only bin/tricolor.ts exits.

import { EXIT_OK, EXIT_USAGE, exitStatusOf, isBug, isTricolorError } from '../base/index.ts';
import type { CliContext, Command } from './command.ts';
import { COMMANDS } from './commands/index.ts';

function usageText(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`);
  return `tricolor: Calico-compatible networking and network policy.

Usage: tricolor <command> [options]

Commands:
${lines.join('\n')}

Run \`tricolor <command> --help\` for a command's options. The datastore comes from --config FILE
(CalicoAPIConfig), /etc/calico/calicoctl.cfg, or DATASTORE_TYPE / TRICOLOR_DATASTORE_PATH / ETCD_*.
`;
}

export async function runCli(argv: readonly string[], ctx: CliContext, commands: readonly Command[] = COMMANDS): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    ctx.stderr.write(usageText(commands));
    return EXIT_USAGE;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const target = name === 'help' ? rest[0] : undefined;
    const cmd = target === undefined ? undefined : commands.find((c) => c.name === target);
    if (cmd !== undefined) return runCli([cmd.name, '--help'], ctx, commands);
    ctx.stdout.write(usageText(commands));
    return EXIT_OK;
  }
  const cmd = commands.find((c) => c.name === name);
  if (cmd === undefined) {
    ctx.stderr.write(`error: unknown command ${JSON.stringify(name)} for "tricolor"; run \`tricolor --help\` for the list\n`);
    return EXIT_USAGE;
  }
  try {
    return await cmd.run(rest, ctx);
  } catch (e) {
    if (isTricolorError(e) && !isBug(e)) {
      const msg = e.message.startsWith('error: ') ? e.message : `error: ${e.message}`;
      ctx.stderr.write(`${msg}\n`);
      return e.exitCode;
    }
    const stack = e instanceof Error ? (e.stack ?? e.message) : String(e);
    ctx.stderr.write(`internal error (a bug in tricolor, please report it): ${stack}\n`);
    return exitStatusOf(e);
  }
}
