// Public surface of the CLI: the entry point and the command contract.
export { runCli } from './main.ts';
export type { CliContext, Command } from './command.ts';
