#!/usr/bin/env node
// `tricolor-cni`: a CNI plugin executable (env + stdin in, result or error JSON out). Lean on
// purpose: the skeleton decides the verb before the plugin (datastore, IPAM, drivers) loads.
import './compile-cache.ts';

const { loadCniPlugin, readStdin, runCni } = await import('../src/cni/index.ts');

const stdin = process.env.CNI_COMMAND === 'VERSION' && process.stdin.isTTY ? '' : await readStdin(process.stdin);
const status = await runCni(loadCniPlugin, {
  env: process.env,
  stdin,
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
});
process.exitCode = status;
