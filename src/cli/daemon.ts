// What the long-running `tricolor <name> run` commands share: the one sub-command, and (Typha,
// the controllers) a process that opens the datastore, serves Prometheus metrics, runs until
// SIGTERM/SIGINT and then stops its work and closes everything, failure or not.

import { EXIT_OK, EXIT_USAGE, quote } from '../base/index.ts';
import type { MetricsRegistry } from '../base/index.ts';
import type { DatastoreBackend } from '../datastore/index.ts';
import { flagBool, usage } from './args.ts';
import type { ParsedArgs } from './args.ts';
import type { CliContext } from './command.ts';

/**
 * `tricolor <name> run` and nothing else: `--help` prints the help (exit 0), no sub-command
 * prints it too (usage exit status), another sub-command or an extra argument is a usage error.
 * Returns the exit status when there is nothing to run, undefined to go on and run.
 */
export function onlyRunSubcommand(p: ParsedArgs, ctx: CliContext, name: string, help: string): number | undefined {
  const [sub, ...rest] = p.positionals;
  if (flagBool(p, 'help') || sub === undefined) {
    ctx.stdout.write(help);
    return sub === undefined && !flagBool(p, 'help') ? EXIT_USAGE : EXIT_OK;
  }
  if (sub !== 'run') throw usage(`unknown command ${quote(sub)} for "tricolor ${name}"`);
  if (rest.length > 0) throw usage(`unexpected argument ${quote(rest[0])}`);
  return undefined;
}

/** What a daemon's work is built from. */
export interface DaemonParts {
  readonly backend: DatastoreBackend;
  readonly metrics: MetricsRegistry;
  /** One stderr line, time-stamped and tagged `[<tag>]`. */
  readonly log: (line: string) => void;
}

/** A daemon's work, as `runDaemon` drives it. */
export interface DaemonWork {
  /** Start serving; `metricsAddress` is where /metrics listens (undefined: off). */
  start(metricsAddress: string | undefined): Promise<void>;
  /** Stop; called once, after a signal or a failure (also when start never ran or failed). */
  stop(): Promise<void>;
}

export interface DaemonOptions {
  /** The log lines' tag, e.g. `typha`. */
  readonly tag: string;
  /** The datastore to open (a CalicoAPIConfig file, or the environment when undefined). */
  readonly configFile: string | undefined;
  readonly metricsHost: string;
  /** 0 = no metrics endpoint. */
  readonly metricsPort: number;
}

/**
 * Open the datastore, build the work (`make`), serve /metrics (process metrics plus whatever the
 * work registers), start the work and keep the process up until SIGTERM or SIGINT; then stop
 * the work, close the endpoint and the datastore — also when any step failed. Returns 0.
 */
export async function runDaemon(ctx: CliContext, o: DaemonOptions, make: (parts: DaemonParts) => Promise<DaemonWork> | DaemonWork): Promise<number> {
  const { loadDatastoreConfig } = await import('./connection.ts');
  const { openBackend } = await import('../datastore/index.ts');
  const { MetricsRegistry, registerProcessMetrics } = await import('../base/index.ts');
  const { HttpEndpoint } = await import('../agent/index.ts');
  const backend = await openBackend(await loadDatastoreConfig(o.configFile, ctx));
  const log = (line: string): void => void ctx.stderr.write(`${new Date().toISOString()} [${o.tag}] ${line}\n`);
  const metrics = new MetricsRegistry();
  registerProcessMetrics(metrics, new Date());
  const http = new HttpEndpoint((path) => (path === '/metrics' ? { status: 200, body: metrics.render(), contentType: 'text/plain; version=0.0.4; charset=utf-8' } : { status: 404, body: 'not found\n' }));
  // the work's own handles may be unref'd: this keeps the process up until a signal
  const keepAlive = setInterval(() => undefined, 1 << 30);
  let onSignal = (): void => undefined;
  const signalled = new Promise<void>((resolve) => (onSignal = resolve));
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  let work: DaemonWork | undefined;
  try {
    work = await make({ backend, metrics, log });
    await http.bind(o.metricsHost, o.metricsPort);
    await work.start(http.address);
    await signalled;
    return EXIT_OK;
  } finally {
    clearInterval(keepAlive);
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await work?.stop();
    await http.close();
    await backend.close();
  }
}
