// The lab's monitoring (`lab up --monitoring`): Debian's Prometheus in a lab namespace of its own
// on the underlay (so it reaches each node's agent on its node address, as a cluster's
// Prometheus reaches Felix), its config and TSDB under the lab's run dir. The host reaches it
// through two socat bridges that keep the host's network untouched: one in the monitoring
// namespace from a unix socket in the run dir to Prometheus, one on the host's 127.0.0.1 to that
// socket. A third bridge, inside the monitoring namespace, lets Prometheus scrape the flow
// aggregator (which listens on the host's loopback) through its unix socket. Everything is a
// recorded pid or lives in the lab's namespace, so `lab down` removes it all.

import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { TricolorError } from '../../base/index.ts';
import { labTyphaNodes, logsDir, type LabState } from '../lab-model.ts';
import { LAB_FLOWS_BRIDGE_PORT, LAB_PROMETHEUS_PORT, LAB_PROMETHEUS_RETENTION, prometheusSocketPath, renderPrometheusConfig, type LabMonitoring } from '../monitoring-model.ts';
import { flowsSocketPath } from './flows.ts';
import { startDetached, waitFor } from './processes.ts';
import { addUnderlayHost } from './topology.ts';

export const PROMETHEUS_BIN = 'prometheus';

/** Port `port` on the host's 127.0.0.1 if free, else one the kernel picks. */
async function freeLoopbackPort(port: number): Promise<number> {
  const tryListen = (p: number): Promise<number | undefined> =>
    new Promise((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(undefined));
      srv.listen(p, '127.0.0.1', () => {
        const a = srv.address();
        const got = typeof a === 'object' && a !== null ? a.port : undefined;
        srv.close(() => resolve(got));
      });
    });
  const p = (await tryListen(port)) ?? (await tryListen(0));
  if (p === undefined) throw new TricolorError('ERR_IO', 'no free port on 127.0.0.1 for the lab\'s Prometheus');
  return p;
}

/** Prometheus answers /-/ready through the host-side bridge. */
async function prometheusReady(url: string): Promise<boolean> {
  try {
    const r = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
    return r.status === 200;
  } catch {
    return false;
  }
}

/**
 * Start the lab's Prometheus (state.monitoring planned, nodes planned, flows started if on).
 * Pids go to state.pids; state.monitoring.url is set once Prometheus answers on it.
 */
export async function startLabMonitoring(s: LabState, o: { readonly controllersAddress: string | undefined; readonly flows: boolean }): Promise<string> {
  const m: LabMonitoring | undefined = s.monitoring;
  if (m === undefined) throw new TricolorError('ERR_INTERNAL', 'startLabMonitoring: the lab has no monitoring plan');
  const logs = logsDir(s);
  const dataDir = join(m.dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const config = join(m.dir, 'prometheus.yml');
  writeFileSync(config, renderPrometheusConfig({ nodes: s.nodes, typhaNodes: labTyphaNodes(s), controllersAddress: o.controllersAddress, flows: o.flows, monitoringAddress: m.address }));
  await addUnderlayHost(s, { netns: m.netns, uplink: m.uplink, address: m.address });
  const inNs = (argv: string[]): string[] => ['ip', 'netns', 'exec', m.netns, ...argv];
  const log = join(logs, 'prometheus.log');
  s.pids.push(
    await startDetached(
      inNs([
        PROMETHEUS_BIN,
        `--config.file=${config}`,
        `--storage.tsdb.path=${dataDir}`,
        `--storage.tsdb.retention.time=${LAB_PROMETHEUS_RETENTION}`,
        `--web.listen-address=${m.address}:${LAB_PROMETHEUS_PORT}`,
        '--log.level=warn',
      ]),
      log,
      process.env,
      m.dir,
    ),
  );
  const sock = prometheusSocketPath(m);
  s.pids.push(await startDetached(inNs(['socat', `UNIX-LISTEN:${sock},fork,mode=600,unlink-early`, `TCP4:${m.address}:${LAB_PROMETHEUS_PORT}`]), join(logs, 'monitoring-bridge.log')));
  if (o.flows) {
    s.pids.push(
      await startDetached(inNs(['socat', `TCP4-LISTEN:${LAB_FLOWS_BRIDGE_PORT},bind=127.0.0.1,reuseaddr,fork`, `UNIX-CONNECT:${flowsSocketPath(s)}`]), join(logs, 'monitoring-bridge.log')),
    );
  }
  const port = await freeLoopbackPort(LAB_PROMETHEUS_PORT);
  s.pids.push(await startDetached(['socat', `TCP4-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork`, `UNIX-CONNECT:${sock}`], join(logs, 'monitoring-bridge.log')));
  const url = `http://127.0.0.1:${port}`;
  const ok = await waitFor(async () => ((await prometheusReady(url)) ? true : undefined), 30_000, 200);
  if (ok !== true) throw new TricolorError('ERR_TIMEOUT', `the lab's Prometheus did not answer on ${url} in 30 s; see ${log}`);
  m.url = url;
  return url;
}
