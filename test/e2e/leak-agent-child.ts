// Child of test/e2e/leak-check.test.ts, run inside a throwaway network namespace: under a leak
// tracker, open the datastore named by the environment, run a node agent (with BIRD and flow
// logs' ulogd) and its CNI socket server until the agent is ready, BIRD answers and ulogd runs
// (health, metrics and refresh timers exercised), stop both as `tricolor node run` does on
// SIGTERM, and print one JSON line: { ready, birdRan, ulogdRan, ulogdLeft, leftovers }.
// Usage: node leak-agent-child.ts RUN_DIR

import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { CniServer, NodeAgent } from '../../src/agent/index.ts';
import { datastoreConfigFromEnv, openBackend, ResourceClient } from '../../src/datastore/index.ts';
import { LeakTracker } from '../support/leak-check.ts';

const runDir = process.argv[2];
if (runDir === undefined) throw new Error('usage: leak-agent-child.ts RUN_DIR');

function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** ulogd processes running on this run dir's configuration. */
function ulogdPids(dir: string): number[] {
  const conf = join(dir, 'flowlogs', 'ulogd.conf');
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').includes(conf);
      } catch {
        return false;
      }
    })
    .map(Number);
}

const HEALTH_PORT = 9099;
const METRICS_PORT = 9091;

const tracker = LeakTracker.start();
let ready = false;
let birdRan: boolean;
let ulogdRan = false;
{
  const datastore = datastoreConfigFromEnv(process.env);
  const backend = await openBackend(datastore);
  const client = new ResourceClient(backend);
  await client.initialise();
  // a BGP address and a pool without VXLAN: the agent runs BIRD too (and must stop it)
  await client.apply({ apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: 'leak-node' }, spec: { bgp: { ipv4Address: '10.99.0.1/24' } } });
  // flow logs on: the agent supervises ulogd and polls conntrack (nothing answers the server: no flows are pushed)
  await client.apply({ apiVersion: 'projectcalico.org/v3', kind: 'FelixConfiguration', metadata: { name: 'default' }, spec: { flowLogsGoldmaneServer: `unix://${join(runDir, 'no-aggregator.sock')}`, flowLogsFlushInterval: '1s' } });
  await client.apply({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'leak-pool' }, spec: { cidr: '10.244.0.0/24', blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: true } });
  const agent = new NodeAgent({
    nodeName: 'leak-node',
    backend,
    runDir,
    healthPort: HEALTH_PORT,
    metricsPort: METRICS_PORT,
    // short refresh periods, so the periodic timers have run (and re-armed) before the stop
    nftRefreshMs: 100,
    routeRefreshMs: 100,
    bgpDebounceMs: 10,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const cni = new CniServer({ socketPath: join(runDir, 'cni.sock'), backend, datastore, log: (line) => process.stderr.write(`${line}\n`) });
  await agent.start();
  await cni.start();
  const deadline = performance.now() + 30_000;
  while (!ready && performance.now() < deadline) {
    ready = (await get(HEALTH_PORT, '/readiness').catch(() => 0)) === 200;
    if (!ready) await new Promise((r) => setTimeout(r, 50));
  }
  if ((await get(METRICS_PORT, '/metrics')) !== 200) throw new Error('metrics did not answer');
  for (let i = 0; i < 300 && agent.bgp.state.peers === undefined; i++) await new Promise((r) => setTimeout(r, 50));
  birdRan = agent.bgp.state.pid !== undefined && agent.bgp.state.peers !== undefined;
  for (let i = 0; i < 100 && !ulogdRan; i++) {
    ulogdRan = ulogdPids(runDir).length > 0;
    if (!ulogdRan) await new Promise((r) => setTimeout(r, 50));
  }
  // let the refresh timers fire and re-arm at least once
  await new Promise((r) => setTimeout(r, 300));
  await cni.stop();
  await agent.stop();
}
const leftovers = await tracker.leftovers();
tracker.dispose();
process.stdout.write(`${JSON.stringify({ ready, birdRan, ulogdRan, ulogdLeft: ulogdPids(runDir), leftovers })}\n`);
