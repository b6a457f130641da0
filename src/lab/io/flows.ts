// Flow logs in the lab (`lab up --flow-logs`): the flow aggregator + web UI runs in the host's
// network namespace on 127.0.0.1 (Whisker's port 8081 when free, else any free port), so a
// browser on the host opens it; the node agents, in their own namespaces, cannot reach the host's
// loopback and push through a unix socket in the lab's run directory instead. FelixConfiguration
// `default` turns flow logs on for every node (flowLogsGoldmaneServer, flowLogsFlushInterval 5 s
// so a demo shows flows quickly; the aggregator's buckets stay 15 s).

import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { TricolorError } from '../../base/index.ts';
import { logsDir, type LabState } from '../lab-model.ts';
import { datastoreEnv } from './datastore.ts';
import { TRICOLOR_BIN } from './paths.ts';
import { startDetached, waitFor } from './processes.ts';

export const LAB_FLOWS_FLUSH_INTERVAL = '5s';

export function flowsSocketPath(s: Pick<LabState, 'runDir'>): string {
  return join(s.runDir, 'flows.sock');
}

function flowsInfoPath(s: Pick<LabState, 'runDir'>): string {
  return join(s.runDir, 'flows.json');
}

/** The running aggregator's address, if this lab has one. */
export function labFlowsUrl(s: Pick<LabState, 'runDir'>): string | undefined {
  try {
    const j = JSON.parse(readFileSync(flowsInfoPath(s), 'utf8')) as { url?: unknown };
    return typeof j.url === 'string' ? j.url : undefined;
  } catch {
    return undefined;
  }
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** FelixConfiguration fields that turn flow logs on for the lab's nodes. */
export function labFlowLogFields(s: Pick<LabState, 'runDir'>): Record<string, string> {
  return { flowLogsGoldmaneServer: `unix://${flowsSocketPath(s)}`, flowLogsFlushInterval: LAB_FLOWS_FLUSH_INTERVAL };
}

/** Start `tricolor flows serve` for the lab; returns its pid (recorded for lab down) and URL. */
export async function startLabFlows(s: LabState): Promise<{ pid: number; url: string }> {
  const port = (await portFree(8081)) ? 8081 : 0;
  const pid = await startDetached(
    [
      process.execPath,
      TRICOLOR_BIN,
      'flows',
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--socket',
      flowsSocketPath(s),
      '--history',
      join(s.runDir, 'flows.db'),
      '--retention',
      '24h',
      '--url-file',
      flowsInfoPath(s),
    ],
    join(logsDir(s), 'flows.log'),
    datastoreEnv(s),
  );
  const url = await waitFor(() => (existsSync(flowsSocketPath(s)) ? labFlowsUrl(s) : undefined), 20_000, 100);
  if (url === undefined) throw new TricolorError('ERR_TIMEOUT', `the lab's flow aggregator did not start in 20 s; see ${join(logsDir(s), 'flows.log')}`);
  return { pid, url };
}
