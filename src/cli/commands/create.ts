// `tricolor create -f FILE` (calicoctl create): create resources from a file. The work is in
// ../resource-commands.ts, loaded only when the command runs.

import type { Command } from '../command.ts';

const HELP = `Usage: tricolor create -f FILE [options]

Create resources from a file; fails if any already exists.
Every document is validated (also against the datastore and the other documents) before any
is written: one invalid document means nothing is written.

Options:
  -f, --filename FILE|DIR|-  resources to create (YAML or JSON; a directory: its .yaml/.yml/.json files)
  -R, --recursive            read sub-directories too
      --skip-empty           do not fail when the input holds no resources
  -n, --namespace NS         namespace for namespaced resources without one
  -c, --config FILE          CalicoAPIConfig file (default /etc/calico/calicoctl.cfg, else environment)
      --skip-exists          treat \`already exists\` as success
  -h, --help                 this help
`;

export const command: Command = {
  name: 'create',
  summary: 'Create resources from a file; fails if any already exists',
  async run(args, ctx) {
    if (args.includes('--help') || args.includes('-h')) {
      ctx.stdout.write(HELP);
      return 0;
    }
    const { runWrite } = await import('../resource-commands.ts');
    return runWrite('create', args, ctx);
  },
};
