// `tricolor delete (KIND NAME... | -f FILE)` (calicoctl delete). The work is in
// ../resource-commands.ts, loaded only when the command runs.

import type { Command } from '../command.ts';

const HELP = `Usage: tricolor delete KIND NAME... [options]
       tricolor delete -f FILE [options]

Delete resources by type and name, or those named in a file (a resourceVersion in the file
makes the delete conditional on it).

Options:
  -f, --filename FILE|DIR|-  resources to delete
  -R, --recursive            read sub-directories too
      --skip-empty           do not fail when the input holds no resources
  -s, --skip-not-exists      treat \`does not exist\` as success
  -n, --namespace NS         namespace (default: default) for namespaced kinds
  -c, --config FILE          CalicoAPIConfig file
  -h, --help                 this help
`;

export const command: Command = {
  name: 'delete',
  summary: 'Delete resources by type and name or from a file',
  async run(args, ctx) {
    if (args.includes('--help') || args.includes('-h')) {
      ctx.stdout.write(HELP);
      return 0;
    }
    const { runDelete } = await import('../resource-commands.ts');
    return runDelete(args, ctx);
  },
};
