// `tricolor get KIND [NAME...] | -f FILE` (calicoctl get) with -o ps|wide|yaml|json|name|
// custom-columns=. The work is in ../resource-commands.ts, loaded only when the command runs.

import type { Command } from '../command.ts';

const HELP = `Usage: tricolor get KIND [NAME...] [options]
       tricolor get -f FILE [options]

Show resources. KIND is a resource type or alias (ippool, pools, gnp, networkpolicy, tier,
hostendpoint, ...); the Kubernetes NetworkPolicy is k8snetworkpolicy / networkpolicies.networking.k8s.io.
Without NAME every resource of the kind is listed (a <Kind>List in yaml/json).

Options:
  -o, --output FORMAT        ps (default table), wide, yaml, json, name, custom-columns=COL1,COL2
  -n, --namespace NS         namespace (default: default) for namespaced kinds
  -A, --all-namespaces       list across all namespaces
      --export               drop cluster-specific metadata (namespace, uid, resourceVersion, creationTimestamp)
  -f, --filename FILE|DIR|-  get the resources named in a file
  -R, --recursive            read sub-directories too
      --skip-empty           do not fail when the input holds no resources
  -c, --config FILE          CalicoAPIConfig file
  -h, --help                 this help
`;

export const command: Command = {
  name: 'get',
  summary: 'Show resources as a table, yaml or json',
  async run(args, ctx) {
    if (args.includes('--help') || args.includes('-h')) {
      ctx.stdout.write(HELP);
      return 0;
    }
    const { runGet } = await import('../resource-commands.ts');
    return runGet(args, ctx);
  },
};
