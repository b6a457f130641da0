// Nothing is left behind after dispose (issue 11, item 4): each long-running component is made,
// exercised and stopped under a leak tracker (test/support/leak-check.ts), which fails naming every
// timer, child process, socket or server still open with the stack that created it. The servers
// run in this process; the node agent runs in a child process inside its own network namespace
// (it programs nftables where it runs), on a real etcd reached through a unix socket, and reports
// its own tracker's findings.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HttpEndpoint, CniServer } from '../../src/agent/index.ts';
import { Controllers } from '../../src/controllers/index.ts';
import { EtcdBackend, ResourceClient, SQLiteBackend } from '../../src/datastore/index.ts';
import { FlowAggregator } from '../../src/flows/io/index.ts';
import { startEtcd, type RunningEtcd } from '../support/etcd.ts';
import { checkNoLeaks, formatLeaks, type Leftover } from '../support/leak-check.ts';
import { createNetns, netnsSkipReason, run } from '../support/netns.ts';
import { until } from '../support/wait.ts';

const REPO = join(import.meta.dirname, '..', '..');

/** A GET (or POST) without a keep-alive pool, so the client side holds nothing once answered. */
function httpCall(o: { port?: number; socketPath?: string; path: string; method?: string; body?: string; keepOpen?: boolean }): Promise<{ status: number; body: string; res: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', ...(o.port === undefined ? {} : { port: o.port }), ...(o.socketPath === undefined ? {} : { socketPath: o.socketPath }), path: o.path, method: o.method ?? 'GET', agent: false, headers: { 'content-type': 'application/json' } },
      (res) => {
        if (o.keepOpen === true) {
          // a live stream: answer as soon as the head arrived, leave the body flowing
          res.resume();
          resolve({ status: res.statusCode ?? 0, body: '', res });
          return;
        }
        let body = '';
        res.on('data', (b: Buffer) => (body += b.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, res }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const a = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  if (a === null || typeof a === 'string') throw new Error('no free port');
  return a.port;
}

void describe('no timer, child or socket left behind after dispose', () => {
  let etcd: RunningEtcd;
  let dir: string;
  before(async () => {
    etcd = await startEtcd({ unixSocket: true });
    dir = mkdtempSync(join(tmpdir(), 'tri-leak-'));
  });
  after(async () => {
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  void it('the health/metrics HTTP endpoint (bound, answering, rebound, closed)', async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    await checkNoLeaks('HttpEndpoint', async () => {
      const ep = new HttpEndpoint((path) => (path === '/liveness' ? { status: 200, body: 'live\n' } : { status: 404, body: 'not found\n' }));
      await ep.bind('127.0.0.1', p1);
      assert.equal((await httpCall({ port: p1, path: '/liveness' })).status, 200);
      await ep.bind('127.0.0.1', p2); // FelixConfiguration moved it
      assert.equal((await httpCall({ port: p2, path: '/nope' })).status, 404);
      await ep.close();
    });
  });

  void it('the flows aggregator (TCP and unix listeners, a batch, an open live stream)', async () => {
    await checkNoLeaks('FlowAggregator', async () => {
      const socketPath = join(dir, 'flows.sock');
      const agg = new FlowAggregator({ host: '127.0.0.1', port: 0, socketPath, historyPath: ':memory:', retentionS: 3600, maxStoredFlows: 1000 });
      await agg.start();
      const port = Number(new URL(agg.url).port);
      const posted = await httpCall({ socketPath, path: '/api/v1/flows', method: 'POST', body: JSON.stringify({ node: 'n1', flows: [] }) });
      assert.equal(posted.status, 200, posted.body);
      const stream = await httpCall({ port, path: '/api/v1/flows?watch=1', keepOpen: true });
      assert.equal(stream.status, 200);
      const ended = new Promise<void>((r) => stream.res.once('close', () => r()));
      await agg.stop(); // ends the stream from the server side
      await ended;
    });
  });

  void it('the CNI socket server (a request answered, an idle connection open at stop)', { skip: spawnSync('socat', ['-V']).status === 0 ? undefined : 'needs socat' }, async () => {
    const dbPath = join(dir, 'cni.db');
    await checkNoLeaks('CniServer', async () => {
      const backend = new SQLiteBackend({ path: dbPath });
      await new ResourceClient(backend).initialise();
      const server = new CniServer({ socketPath: join(dir, 'run', 'cni.sock'), backend, datastore: { type: 'embedded', path: dbPath } });
      await server.start();
      const reply = await new Promise<string>((resolve, reject) => {
        const s = createConnection({ path: server.socketPath, allowHalfOpen: true });
        let out = '';
        s.on('data', (b: Buffer) => (out += b.toString()));
        s.on('error', reject);
        s.on('close', () => resolve(out));
        s.end('not a request');
      });
      assert.match(reply, /TRICOLOR-CNI\/1/);
      const idle = createConnection({ path: server.socketPath });
      await new Promise<void>((r) => idle.once('data', () => r())); // greeted, then says nothing
      const closed = new Promise<void>((r) => idle.once('close', () => r()));
      await server.stop();
      await closed;
      await backend.close();
    });
  });

  void it('the controllers on a real etcd (leading, passes run, stopped)', async () => {
    await checkNoLeaks('Controllers', async () => {
      const backend = new EtcdBackend({ endpoints: [etcd.endpoints] });
      await new ResourceClient(backend).initialise();
      const c = new Controllers({ backend, identity: 'leak-test', leakGracePeriodMs: 1000, intervalMs: 50, leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 100 });
      c.start();
      await until('two controller passes', async () => (c.passes >= 2 ? true : undefined), 30_000, 20);
      await c.stop();
      await backend.close();
    });
  });

  void it('the node agent with BIRD, flow logs (ulogd) and its CNI socket, in a network namespace, on a real etcd', { skip: netnsSkipReason() }, async (t) => {
    const ns = await createNetns(t, 'tri-lk-');
    const runDir = join(dir, 'agent');
    const r = await run(['ip', 'netns', 'exec', ns.name, process.execPath, join(REPO, 'test', 'e2e', 'leak-agent-child.ts'), runDir], {
      env: { PATH: process.env.PATH, DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: etcd.endpoints },
    });
    assert.equal(r.status, 0, `agent child failed:\n${r.stderr}`);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { ready: boolean; birdRan: boolean; ulogdRan: boolean; ulogdLeft: number[]; leftovers: Leftover[] };
    assert.equal(out.ready, true, `the agent never became ready:\n${r.stderr}`);
    assert.equal(out.birdRan, true, `BIRD never answered:\n${r.stderr}`);
    assert.equal(out.ulogdRan, true, `flow logs' ulogd never ran:\n${r.stderr}`);
    assert.deepEqual(out.ulogdLeft, [], 'ulogd outlived the agent');
    assert.deepEqual(out.leftovers, [], formatLeaks('NodeAgent + CniServer', out.leftovers));
  });
});
