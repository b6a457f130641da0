#!/usr/bin/env node
// The `tricolor` executable: runs the CLI with the real process streams and exits with its status.
import './compile-cache.ts';

const { runCli } = await import('../src/cli/index.ts');

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  cwd: process.cwd(),
});
process.exitCode = code;
// let pending writes to a pipe drain before exiting
process.stdout.write('', () => process.exit(code));
