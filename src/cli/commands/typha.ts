// `tricolor typha run`: Calico's Typha on our datastore — one watch per syncer type, served as a
// snapshot plus deltas to many agents (docs/design/typha.md), until SIGTERM/SIGINT.

import { TricolorError, quote } from '../../base/index.ts';
import { CONFIG_FLAG, flagString, parseArgs } from '../args.ts';
import type { ParsedArgs } from '../args.ts';
import type { Command } from '../command.ts';
import { onlyRunSubcommand, runDaemon } from '../daemon.ts';

const HELP = `Usage: tricolor typha run [options]

Run Typha: watch the datastore once per syncer type (felix, bgp, proxy) and serve a snapshot and
then the deltas to every agent that connects (agents use it when FELIX_TYPHAADDR is set).

Options:
      --host HOST                 listen address (default $TYPHA_SERVERHOST, else 127.0.0.1;
                                  0.0.0.0 for all)
      --port PORT                 listen port (default $TYPHA_SERVERPORT, else 5473, Calico's)
      --max-connections N         shed connections beyond N (default 10000)
      --ping-interval DUR         default 10s
      --pong-timeout DUR          default 60s
      --server-cert-file FILE     TLS (or $TYPHA_SERVERCERTFILE); with TLS, client certificates
      --server-key-file FILE        must chain to --ca-file and carry --client-cn and/or
      --ca-file FILE                --client-uri-san ($TYPHA_SERVERKEYFILE, $TYPHA_CAFILE,
      --client-cn CN                $TYPHA_CLIENTCN, $TYPHA_CLIENTURISAN)
      --client-uri-san URI
      --metrics-port PORT         Prometheus metrics (default 9093, Calico's; 0 = off)
      --metrics-host HOST         metrics address (default 127.0.0.1)
      --health-port PORT          serve /liveness and /readiness (200 or 503) on PORT; 0 = off
                                  (default: on at $TYPHA_HEALTHPORT, else 9098, when
                                  $TYPHA_HEALTHENABLED is true; off otherwise, as in Calico)
      --health-host HOST          health address (default $TYPHA_HEALTHHOST, else 127.0.0.1)
  -c, --config FILE               CalicoAPIConfig file (else the environment)
`;

function intFlag(p: ParsedArgs, name: string, dflt: number, min: number, max: number): number {
  const v = flagString(p, name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max) throw new TricolorError('ERR_USAGE', `--${name}: ${quote(v)} must be an integer from ${min} to ${max}`, { field: `--${name}`, value: v });
  return n;
}

export const command: Command = {
  name: 'typha',
  summary: 'Run Typha: one datastore watch fanned out to many node agents',
  async run(args, ctx) {
    const p = parseArgs(args, [
      CONFIG_FLAG,
      { name: 'host', value: true },
      { name: 'port', value: true },
      { name: 'max-connections', value: true },
      { name: 'ping-interval', value: true },
      { name: 'pong-timeout', value: true },
      { name: 'server-cert-file', value: true },
      { name: 'server-key-file', value: true },
      { name: 'ca-file', value: true },
      { name: 'client-cn', value: true },
      { name: 'client-uri-san', value: true },
      { name: 'metrics-port', value: true },
      { name: 'metrics-host', value: true },
      { name: 'health-port', value: true },
      { name: 'health-host', value: true },
    ]);
    const done = onlyRunSubcommand(p, ctx, 'typha', HELP);
    if (done !== undefined) return done;
    const { parseDurationMs } = await import('../../controllers/index.ts');
    const { TYPHA_DEFAULTS, TYPHA_SELECTIONS, typhaHealthConfig, typhaHealthResponse, typhaServerTLSFromEnv } = await import('../../typha/index.ts');
    const { TyphaServer } = await import('../../typha/io/index.ts');
    const { HttpEndpoint } = await import('../../agent/index.ts');
    const envPort = ctx.env['TYPHA_SERVERPORT'];
    if (envPort !== undefined && envPort !== '' && (!/^\d+$/.test(envPort) || Number(envPort) > 65535)) {
      throw new TricolorError('ERR_VALIDATION', `TYPHA_SERVERPORT: ${quote(envPort)} is not a port number (0–65535)`, { field: 'TYPHA_SERVERPORT', value: envPort });
    }
    const port = intFlag(p, 'port', envPort !== undefined && envPort !== '' ? Number(envPort) : TYPHA_DEFAULTS.port, 0, 65535);
    const maxConnections = intFlag(p, 'max-connections', TYPHA_DEFAULTS.maxConnections, 1, 1_000_000);
    const metricsPort = intFlag(p, 'metrics-port', TYPHA_DEFAULTS.metricsPort, 0, 65535);
    const dur = (name: string, dflt: number): number => {
      const v = flagString(p, name);
      const ms = v === undefined ? dflt : parseDurationMs(v, `--${name}`);
      if (ms < 10) throw new TricolorError('ERR_USAGE', `--${name}: ${quote(v)} must be at least 10ms`, { field: `--${name}`, value: v });
      return ms;
    };
    const pingIntervalMs = dur('ping-interval', TYPHA_DEFAULTS.pingIntervalMs);
    const pongTimeoutMs = dur('pong-timeout', TYPHA_DEFAULTS.pongTimeoutMs);
    // flags win over Calico's TYPHA_* environment
    const tlsEnv: Record<string, string | undefined> = {
      TYPHA_SERVERCERTFILE: flagString(p, 'server-cert-file') ?? ctx.env['TYPHA_SERVERCERTFILE'],
      TYPHA_SERVERKEYFILE: flagString(p, 'server-key-file') ?? ctx.env['TYPHA_SERVERKEYFILE'],
      TYPHA_CAFILE: flagString(p, 'ca-file') ?? ctx.env['TYPHA_CAFILE'],
      TYPHA_CLIENTCN: flagString(p, 'client-cn') ?? ctx.env['TYPHA_CLIENTCN'],
      TYPHA_CLIENTURISAN: flagString(p, 'client-uri-san') ?? ctx.env['TYPHA_CLIENTURISAN'],
    };
    const tls = typhaServerTLSFromEnv(tlsEnv);
    const healthConfig = typhaHealthConfig(ctx.env, { port: flagString(p, 'health-port'), host: flagString(p, 'health-host') });

    return runDaemon(ctx, { tag: 'typha', configFile: flagString(p, 'config'), metricsHost: flagString(p, 'metrics-host') ?? '127.0.0.1', metricsPort }, ({ backend, metrics, log }) => {
      const server = new TyphaServer({
        backend,
        selections: TYPHA_SELECTIONS,
        host: flagString(p, 'host') ?? (ctx.env['TYPHA_SERVERHOST'] || '127.0.0.1'),
        port,
        maxConnections,
        pingIntervalMs,
        pongTimeoutMs,
        ...(tls !== undefined ? { tls } : {}),
        metrics,
        log,
      });
      const health = new HttpEndpoint((path) => typhaHealthResponse(path, server.health()));
      return {
        async start(metricsAddress) {
          await server.start();
          if (healthConfig !== undefined) await health.bind(healthConfig.host, healthConfig.port);
          log(
            `serving ${Object.keys(TYPHA_SELECTIONS).join(', ')} on ${server.address.host}:${server.address.port}${tls !== undefined ? ' (mutual TLS)' : ''}, at most ${maxConnections} connections${metricsAddress !== undefined ? `; metrics on ${metricsAddress}` : ''}${health.address !== undefined ? `; health on ${health.address}` : ''}`,
          );
        },
        async stop() {
          await server.stop();
          await health.close();
        },
      };
    });
  },
};
