// `tricolor patch KIND NAME -p PATCH` (calicoctl patch): a merge patch applied to the stored
// object, written with compare-and-swap. The work is in ../resource-commands.ts.

import type { Command } from '../command.ts';

const HELP = `Usage: tricolor patch KIND NAME -p PATCH [options]

Patch one resource with a JSON (or YAML) merge patch, e.g.
  tricolor patch ippool default-ipv4-ippool -p '{"spec":{"natOutgoing":false}}'
The result is validated like any write; a concurrent change is retried.

Options:
  -p, --patch PATCH          the merge patch (a JSON/YAML object; null deletes a field)
  -t, --type TYPE            strategic, merge or json: accepted for calicoctl compatibility; always a merge patch
  -n, --namespace NS         namespace (default: default) for namespaced kinds
  -c, --config FILE          CalicoAPIConfig file
  -h, --help                 this help
`;

export const command: Command = {
  name: 'patch',
  summary: 'Patch one resource with a merge patch',
  async run(args, ctx) {
    if (args.includes('--help') || args.includes('-h')) {
      ctx.stdout.write(HELP);
      return 0;
    }
    const { runPatch } = await import('../resource-commands.ts');
    return runPatch(args, ctx);
  },
};
