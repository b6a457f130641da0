// `tricolor label KIND NAME key=value | key --remove` (calicoctl label). The work is in
// ../resource-commands.ts, loaded only when the command runs.

import type { Command } from '../command.ts';

const HELP = `Usage: tricolor label KIND NAME key=value [--overwrite] [options]
       tricolor label KIND NAME key --remove [options]

Set, change or remove one label on a resource.

Options:
      --overwrite            replace an existing label with a different value
      --remove               remove the label
  -n, --namespace NS         namespace (default: default) for namespaced kinds
  -c, --config FILE          CalicoAPIConfig file
  -h, --help                 this help
`;

export const command: Command = {
  name: 'label',
  summary: 'Set or remove a label on a resource',
  async run(args, ctx) {
    if (args.includes('--help') || args.includes('-h')) {
      ctx.stdout.write(HELP);
      return 0;
    }
    const { runLabel } = await import('../resource-commands.ts');
    return runLabel(args, ctx);
  },
};
