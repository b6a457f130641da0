// `tricolor apply -f FILE` (calicoctl apply): create or update resources from a file. The work
// is in ../resource-commands.ts, loaded only when the command runs.

import type { Command } from '../command.ts';

const HELP = `Usage: tricolor apply -f FILE [options]

Create or update resources from a file.
Every document is validated (also against the datastore and the other documents) before any
is written: one invalid document means nothing is written.

Options:
  -f, --filename FILE|DIR|-  resources to apply (YAML or JSON; a directory: its .yaml/.yml/.json files)
  -R, --recursive            read sub-directories too
      --skip-empty           do not fail when the input holds no resources
  -n, --namespace NS         namespace for namespaced resources without one
  -c, --config FILE          CalicoAPIConfig file (default /etc/calico/calicoctl.cfg, else environment)
  -h, --help                 this help
`;

export const command: Command = {
  name: 'apply',
  summary: 'Create or update resources from a file',
  async run(args, ctx) {
    if (args.includes('--help') || args.includes('-h')) {
      ctx.stdout.write(HELP);
      return 0;
    }
    const { runWrite } = await import('../resource-commands.ts');
    return runWrite('apply', args, ctx);
  },
};
