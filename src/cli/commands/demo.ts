// `tricolor demo tour`: a short guided run of the resource CLI on a throw-away embedded
// datastore in a temp dir — apply an IPPool, a tier and policies shaped like the examples in
// Calico's docs, read them back as tables and YAML, and watch an invalid document be refused
// with nothing written. The README's main command runs it until the lab exists.

import type { Command } from '../command.ts';

const HELP = `Usage: tricolor demo tour

Run a short tour of the tricolor CLI on a temporary embedded datastore (removed afterwards),
printing each command and its output.
`;

const POOL = `apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: my.ippool-1
spec:
  cidr: 10.1.0.0/16
  ipipMode: CrossSubnet
  natOutgoing: true
  disabled: false
  nodeSelector: all()
`;

const POLICIES = `apiVersion: projectcalico.org/v3
kind: Tier
metadata:
  name: internal-access
spec:
  order: 100
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: allow-tcp-6379
spec:
  tier: internal-access
  selector: role == 'database'
  types:
    - Ingress
    - Egress
  ingress:
    - action: Allow
      protocol: TCP
      source:
        selector: role == 'frontend'
      destination:
        ports:
          - 6379
  egress:
    - action: Allow
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: allow-tcp-6379
  namespace: production
spec:
  selector: role == 'database'
  ingress:
    - action: Allow
      protocol: TCP
      source:
        selector: role == 'frontend'
      destination:
        ports:
          - 6379
`;

const BAD = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: allow-ping
spec:
  selector: all()
  ingress:
    - action: Allow
      protocol: ICMP
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: deny-all
spec:
  selector: all()
  ingress:
    - action: Allw
`;

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

export const command: Command = {
  name: 'demo',
  summary: 'A guided tour of the CLI on a throw-away datastore (`demo tour`)',
  async run(args, ctx) {
    if (args[0] !== 'tour' || args.length !== 1) {
      ctx.stdout.write(HELP);
      return args.includes('--help') || args.includes('-h') ? 0 : 2;
    }
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const join = (...parts: string[]): string => path.join(...parts);
    const { Writable } = await import('node:stream');
    const { runCli } = await import('../main.ts');
    const dir = mkdtempSync(join(tmpdir(), 'tricolor-tour-'));
    try {
      writeFileSync(join(dir, 'pool.yaml'), POOL);
      writeFileSync(join(dir, 'policies.yaml'), POLICIES);
      writeFileSync(join(dir, 'bad.yaml'), BAD);
      const env = { ...ctx.env, DATASTORE_TYPE: 'embedded', TRICOLOR_DATASTORE_PATH: join(dir, 'datastore.db') };
      // the tour shows stderr inline with stdout, in order
      const both = new Writable({
        write(chunk: Buffer | string, _enc, cb) {
          ctx.stdout.write(chunk);
          cb();
        },
      });
      const say = (s: string): void => {
        ctx.stdout.write(`\n# ${s}\n`);
      };
      const show = async (file: string, text: string): Promise<void> => {
        ctx.stdout.write(`$ cat ${file}\n${text}`);
      };
      const step = async (...argv: string[]): Promise<number> => {
        ctx.stdout.write(`$ tricolor ${argv.map(shellQuote).join(' ')}\n`);
        const code = await runCli(argv, { stdout: ctx.stdout, stderr: both, stdin: ctx.stdin, env, cwd: dir });
        if (code !== 0) ctx.stdout.write(`(exit status ${code})\n`);
        return code;
      };
      ctx.stdout.write(`Tricolor CLI tour on a throw-away embedded datastore in ${dir}\n`);
      say('An IP pool, as in Calico\'s IPPool docs');
      await show('pool.yaml', POOL);
      let failed = 0;
      if ((await step('apply', '-f', 'pool.yaml')) !== 0) failed++;
      say('Read it back: the default table, the wide table, and YAML with Calico\'s defaults filled in');
      await step('get', 'ippools');
      await step('get', 'ippools', '-o', 'wide');
      await step('get', 'ippool', 'my.ippool-1', '-o', 'yaml');
      say('A tier, a GlobalNetworkPolicy in it and a namespaced NetworkPolicy, in one multi-document file');
      await show('policies.yaml', POLICIES);
      if ((await step('apply', '-f', 'policies.yaml')) !== 0) failed++;
      await step('get', 'tiers');
      await step('get', 'gnp', '-o', 'wide');
      await step('get', 'networkpolicy', '-n', 'production', '-o', 'yaml');
      say('A file with one invalid document: every document is checked first, so nothing is written');
      await show('bad.yaml', BAD);
      if ((await step('apply', '-f', 'bad.yaml')) === 0) failed++;
      await step('get', 'globalnetworkpolicies');
      say('Labels and patches');
      await step('label', 'ippool', 'my.ippool-1', 'zone=west');
      await step('patch', 'ippool', 'my.ippool-1', '-p', '{"spec":{"natOutgoing":false}}');
      await step('get', 'ippools', '-o', 'custom-columns=NAME,CIDR,NAT');
      await step('version');
      ctx.stdout.write(failed === 0 ? '\nTour complete.\n' : `\nTour finished with ${failed} unexpected result(s).\n`);
      return failed === 0 ? 0 : 1;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
