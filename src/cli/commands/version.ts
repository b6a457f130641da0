// `tricolor version [--client]` (calicoctl version): the client's version and, unless
// --client, the cluster's from ClusterInformation `default`. Kept light: it loads the
// datastore layer only to read that one object.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pkg from '../../../package.json' with { type: 'json' };
import type { Command } from '../command.ts';

const HELP = `Usage: tricolor version [--client] [options]

Print the client version and the cluster version (ClusterInformation "default").

Options:
      --client               print only the client version
  -c, --config FILE          CalicoAPIConfig file
  -h, --help                 this help
`;

export const CLIENT_VERSION = `v${pkg.version}`;

function row(label: string, value: string): string {
  return `${`${label}:`.padEnd(19)}${value}\n`;
}

/** Best effort: the commit of the checkout this runs from. */
function gitCommit(): string {
  try {
    const root = join(import.meta.dirname, '..', '..', '..');
    const gitDir = join(root, '.git');
    if (!existsSync(gitDir)) return 'unknown';
    const head = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
    if (!head.startsWith('ref: ')) return head.slice(0, 8);
    const ref = head.slice(5);
    const refFile = join(gitDir, ref);
    if (existsSync(refFile)) return readFileSync(refFile, 'utf8').trim().slice(0, 8);
    const packed = join(gitDir, 'packed-refs');
    if (existsSync(packed)) {
      const line = readFileSync(packed, 'utf8').split('\n').find((l) => l.endsWith(` ${ref}`));
      if (line !== undefined) return line.slice(0, 8);
    }
  } catch {
    /* not a git checkout */
  }
  return 'unknown';
}

export const command: Command = {
  name: 'version',
  summary: 'Print the client and cluster versions',
  async run(args, ctx) {
    const { parseArgs, flagBool, flagString, CONFIG_FLAG } = await import('../args.ts');
    const p = parseArgs(args, [CONFIG_FLAG, { name: 'client' }, { name: 'poll', value: true }]);
    if (flagBool(p, 'help')) {
      ctx.stdout.write(HELP);
      return 0;
    }
    ctx.stdout.write(row('Client Version', CLIENT_VERSION) + row('Git commit', gitCommit()));
    if (flagBool(p, 'client')) return 0;
    const { BugError, TricolorError, isTricolorError } = await import('../../base/index.ts');
    const { connect } = await import('../connection.ts');
    let client;
    try {
      client = await connect(flagString(p, 'config'), ctx);
    } catch (e) {
      if (isTricolorError(e) && (e.code === 'ERR_DATASTORE_UNAVAILABLE' || e.code === 'ERR_IO')) {
        ctx.stdout.write('Unable to detect installed Calico version\n');
        return 0;
      }
      throw e;
    }
    try {
      const { kindInfoFor, CALICO_API_VERSION } = await import('../../api/index.ts');
      const info = kindInfoFor(CALICO_API_VERSION, 'ClusterInformation');
      if (info === undefined) throw new BugError('ClusterInformation kind missing');
      let version = 'unknown';
      let type = 'unknown';
      try {
        const ci = await client.get(info, 'default');
        const spec = (ci.spec ?? {}) as { calicoVersion?: string; clusterType?: string };
        version = spec.calicoVersion || 'unknown';
        type = spec.clusterType || 'unknown';
      } catch (e) {
        if (!isTricolorError(e, 'ERR_NOT_FOUND')) {
          if (isTricolorError(e)) throw new TricolorError(e.code, `unable to retrieve Cluster Version or Type: ${e.message}`, { cause: e });
          throw e;
        }
      }
      ctx.stdout.write(row('Cluster Version', version) + row('Cluster Type', type));
      return 0;
    } finally {
      await client.backend.close();
    }
  },
};
