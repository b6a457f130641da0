// `tricolor controllers run`: calico-kube-controllers' role (IPAM garbage collection, node
// cleanup, ipam_* metrics) on our datastore, until SIGTERM/SIGINT. Several may run: one holds
// the datastore lease and works, the others wait to take over.

import { hostname } from 'node:os';
import { TricolorError, quote } from '../../base/index.ts';
import { CONFIG_FLAG, flagString, parseArgs } from '../args.ts';
import type { Command } from '../command.ts';
import { onlyRunSubcommand, runDaemon } from '../daemon.ts';

const HELP = `Usage: tricolor controllers run [options]

Run the controllers (calico-kube-controllers' role) against the datastore:
  IPAM GC       an address whose workload endpoint (or node) is gone is released once it was
                seen leaked in two passes a leak grace period apart and is still leaked when
                re-checked; never an address of a live workload
  node cleanup  a deleted Node's workload endpoints, affinities, tunnel addresses and blocks
  metrics       ipam_* (Calico's names) on /metrics
With several running, one holds the lease in the datastore and works; the others stand by.

Options:
      --identity ID             lease holder name (default <host name>-<pid>)
      --leak-grace-period DUR   default: KubeControllersConfiguration default
                                spec.controllers.node.leakGracePeriod, else 15m; 0 disables GC
      --interval DUR            time between passes (default leak grace period / 2)
      --metrics-port PORT       Prometheus metrics (default 9094, Calico's; 0 = off)
      --metrics-host HOST       metrics address (default 127.0.0.1)
  -c, --config FILE             CalicoAPIConfig file (else the environment)
`;

export const command: Command = {
  name: 'controllers',
  summary: 'Run the controllers: IPAM garbage collection, node cleanup, ipam_* metrics',
  async run(args, ctx) {
    const p = parseArgs(args, [
      CONFIG_FLAG,
      { name: 'identity', value: true },
      { name: 'leak-grace-period', value: true },
      { name: 'interval', value: true },
      { name: 'metrics-port', value: true },
      { name: 'metrics-host', value: true },
    ]);
    const done = onlyRunSubcommand(p, ctx, 'controllers', HELP);
    if (done !== undefined) return done;
    const { Controllers, DEFAULT_LEAK_GRACE_PERIOD_MS, leakGracePeriodFromConfig, parseDurationMs } = await import('../../controllers/index.ts');
    const graceText = flagString(p, 'leak-grace-period');
    const intervalText = flagString(p, 'interval');
    const flagGrace = graceText === undefined ? undefined : parseDurationMs(graceText, '--leak-grace-period');
    const intervalMs = intervalText === undefined ? undefined : parseDurationMs(intervalText, '--interval');
    if (intervalMs !== undefined && intervalMs < 100) throw new TricolorError('ERR_USAGE', `--interval: ${quote(intervalText)} must be at least 100ms`, { field: '--interval', value: intervalText });
    const portText = flagString(p, 'metrics-port') ?? '9094';
    const port = Number(portText);
    if (!/^\d+$/.test(portText) || port > 65535) throw new TricolorError('ERR_USAGE', `--metrics-port: ${quote(portText)} is not a port number (0–65535)`, { field: '--metrics-port', value: portText });
    const identity = flagString(p, 'identity') ?? `${hostname()}-${process.pid}`;

    return runDaemon(ctx, { tag: `controllers ${identity}`, configFile: flagString(p, 'config'), metricsHost: flagString(p, 'metrics-host') ?? '127.0.0.1', metricsPort: port }, async ({ backend, metrics, log }) => {
      const leakGracePeriodMs = flagGrace ?? (await leakGracePeriodFromConfig(backend)) ?? DEFAULT_LEAK_GRACE_PERIOD_MS;
      const controllers = new Controllers({ backend, identity, leakGracePeriodMs, ...(intervalMs !== undefined ? { intervalMs } : {}), metrics, log });
      return {
        start(metricsAddress) {
          log(`started: leak grace period ${leakGracePeriodMs} ms, a pass every ${controllers.intervalMs} ms${metricsAddress !== undefined ? `, metrics on ${metricsAddress}` : ''}`);
          controllers.start();
          return Promise.resolve();
        },
        stop: () => controllers.stop(),
      };
    });
  },
};
