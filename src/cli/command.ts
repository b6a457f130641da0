// The shape every `tricolor` sub-command implements. Commands live in src/cli/commands/<name>.ts
// and are listed once in src/cli/commands/index.ts. A command returns its exit status; it
// throws TricolorError for expected failures (converted to one stderr line + the code's exit
// status by the top level) and never calls process.exit.

import type { Readable, Writable } from 'node:stream';

export interface CliContext {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly stdin: Readable;
  readonly env: NodeJS.ProcessEnv;
  /** Working directory for relative paths given on the command line. */
  readonly cwd: string;
}

export interface Command {
  /** First word(s) on the command line, e.g. `get` or `ipam`. */
  readonly name: string;
  readonly summary: string;
  /** `args` are the words after the command name. */
  run(args: readonly string[], ctx: CliContext): Promise<number>;
}
