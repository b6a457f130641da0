// Typha's health server (Calico's TYPHA_HEALTHENABLED/HOST/PORT, `/liveness`, `/readiness`):
// the settings and their refusals, and a real `tricolor typha run` over a real etcd probed on its
// real socket: live but not ready while the datastore is down before its first sync, ready once
// in sync, still live and ready (serving its cache, the outage named in the body) when the
// datastore goes away after that, as Calico's Typha is, and gone after SIGTERM.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { startEtcd, type RunningEtcd } from '../../test/support/etcd.ts';
import { until } from '../../test/support/wait.ts';
import { TricolorError } from '../base/index.ts';
import { typhaHealthConfig, typhaHealthReport, typhaHealthResponse } from './index.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'tricolor.ts');

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const a = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  if (a === null || typeof a === 'string') throw new Error('no port');
  return a.port;
}

const refused = (fn: () => unknown, code: string, field: string, value: string): void =>
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TricolorError, String(e));
    assert.equal(e.code, code);
    assert.match(e.message, new RegExp(`^${field.replace(/-/g, '\\-')}: "${value}"`));
    return true;
  });

void describe('typha health', { concurrency: false }, () => {
  void test('settings: Calico names and defaults, flags win, bad values refused naming the setting and the value', () => {
    assert.equal(typhaHealthConfig({}), undefined, 'off by default, as in Calico');
    assert.deepEqual(typhaHealthConfig({ TYPHA_HEALTHENABLED: 'true' }), { host: '127.0.0.1', port: 9098 });
    assert.deepEqual(typhaHealthConfig({ TYPHA_HEALTHENABLED: 'true', TYPHA_HEALTHPORT: '19098', TYPHA_HEALTHHOST: '10.0.0.1' }), { host: '10.0.0.1', port: 19098 });
    assert.equal(typhaHealthConfig({ TYPHA_HEALTHENABLED: 'false', TYPHA_HEALTHPORT: '19098' }), undefined);
    assert.equal(typhaHealthConfig({ TYPHA_HEALTHENABLED: 'true', TYPHA_HEALTHPORT: '0' }), undefined, 'port 0 = off');
    assert.deepEqual(typhaHealthConfig({}, { port: '9100' }), { host: '127.0.0.1', port: 9100 }, 'a health port flag turns it on');
    assert.equal(typhaHealthConfig({ TYPHA_HEALTHENABLED: 'true' }, { port: '0' }), undefined, '--health-port 0 turns it off');
    assert.deepEqual(typhaHealthConfig({ TYPHA_HEALTHENABLED: 'true', TYPHA_HEALTHHOST: '10.0.0.1' }, { host: '[::1]' }), { host: '::1', port: 9098 });
    refused(() => typhaHealthConfig({ TYPHA_HEALTHENABLED: 'true', TYPHA_HEALTHPORT: '70000' }), 'ERR_VALIDATION', 'TYPHA_HEALTHPORT', '70000');
    refused(() => typhaHealthConfig({ TYPHA_HEALTHENABLED: 'true', TYPHA_HEALTHPORT: '-1' }), 'ERR_VALIDATION', 'TYPHA_HEALTHPORT', '-1');
    refused(() => typhaHealthConfig({}, { port: 'http' }), 'ERR_USAGE', '--health-port', 'http');
    refused(() => typhaHealthConfig({ TYPHA_HEALTHENABLED: 'maybe' }), 'ERR_VALIDATION', 'TYPHA_HEALTHENABLED', 'maybe');
    refused(() => typhaHealthConfig({ TYPHA_HEALTHENABLED: 'maybe' }, { port: '9100' }), 'ERR_VALIDATION', 'TYPHA_HEALTHENABLED', 'maybe');
    refused(() => typhaHealthConfig({ TYPHA_HEALTHENABLED: 'true', TYPHA_HEALTHHOST: 'a b' }), 'ERR_VALIDATION', 'TYPHA_HEALTHHOST', 'a b');
    refused(() => typhaHealthConfig({}, { port: '9100', host: 'http://x' }), 'ERR_USAGE', '--health-host', 'http://x');
  });

  void test('answers: 200 when every reporter is good, 503 naming the one that is not, 404 elsewhere', () => {
    const syncing = typhaHealthReport([
      { name: 'SyncServer', live: true, detail: 'listening' },
      { name: 'cache felix', live: true, ready: true, detail: 'InSync' },
      { name: 'cache bgp', live: true, ready: false, detail: 'ResyncInProgress' },
    ]);
    assert.equal(typhaHealthResponse('/liveness', syncing).status, 200);
    const r = typhaHealthResponse('/readiness', syncing);
    assert.equal(r.status, 503);
    assert.match(r.body, /^not ready\n/);
    assert.match(r.body, /cache bgp +NOT READY +ResyncInProgress/);
    assert.match(r.body, /cache felix +ready +InSync/);
    const stuck = typhaHealthReport([
      { name: 'SyncServer', live: false, detail: 'housekeeping last ran 25 s ago' },
      { name: 'cache felix', live: true, ready: true, detail: 'InSync' },
    ]);
    assert.equal(typhaHealthResponse('/liveness', stuck).status, 503);
    assert.match(typhaHealthResponse('/liveness', stuck).body, /SyncServer +NOT LIVE +housekeeping/);
    assert.equal(typhaHealthResponse('/metrics', stuck).status, 404);
    // the SyncServer reports liveness only (Calico): alone it does not make Typha ready
    assert.equal(typhaHealthReport([{ name: 'SyncServer', live: true, detail: '' }]).ready, false);
  });

  void test('`typha run` refuses a bad health port before it starts anything, naming the setting and the value', () => {
    const env = { ...process.env, DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: 'http://127.0.0.1:1' };
    const viaEnv = spawnSync(process.execPath, [BIN, 'typha', 'run', '--port', '0', '--metrics-port', '0'], { env: { ...env, TYPHA_HEALTHENABLED: 'true', TYPHA_HEALTHPORT: '99999' }, encoding: 'utf8', timeout: 60_000 });
    assert.notEqual(viaEnv.status, 0);
    assert.match(viaEnv.stderr, /TYPHA_HEALTHPORT: "99999" is not a port number/);
    assert.doesNotMatch(viaEnv.stderr, /serving/);
    const viaFlag = spawnSync(process.execPath, [BIN, 'typha', 'run', '--port', '0', '--metrics-port', '0', '--health-port', '9o98'], { env, encoding: 'utf8', timeout: 60_000 });
    assert.notEqual(viaFlag.status, 0);
    assert.match(viaFlag.stderr, /--health-port: "9o98" is not a port number/);
  });

  void describe('a running Typha', () => {
    let etcd: RunningEtcd | undefined;
    let typha: ChildProcess | undefined;
    let log = '';
    after(async () => {
      if (typha !== undefined && typha.exitCode === null && typha.signalCode === null) {
        const t = typha;
        await new Promise<void>((resolve) => {
          t.once('exit', () => resolve());
          t.kill('SIGKILL');
        });
      }
      await etcd?.stop();
    });

    void test('not ready before its first sync, ready after, still live and ready through a later datastore outage, closed after SIGTERM', async () => {
      etcd = await startEtcd();
      const store = etcd;
      await store.kill(); // the datastore is down when Typha starts
      const healthPort = await freePort();
      const child = spawn(process.execPath, [BIN, 'typha', 'run', '--port', String(await freePort()), '--metrics-port', '0', '--health-port', String(healthPort)], {
        env: { ...process.env, DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: store.endpoints },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      typha = child;
      child.stderr?.on('data', (b: Buffer) => (log += b.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const get = async (path: string): Promise<{ status: number; body: string }> => {
        const res = await fetch(`http://127.0.0.1:${healthPort}${path}`, { signal: AbortSignal.timeout(5000) });
        return { status: res.status, body: await res.text() };
      };
      const why = (): string => `typha log:\n${log.slice(-3000)}`;

      const live = await until(() => `liveness 200 (${why()})`, async () => {
        const r = await get('/liveness');
        return r.status === 200 ? r : undefined;
      }, 60_000);
      assert.match(live.body, /SyncServer +live +listening on 127\.0\.0\.1:/);
      const notReady = await get('/readiness');
      assert.equal(notReady.status, 503, notReady.body);
      for (const t of ['felix', 'bgp', 'proxy']) assert.match(notReady.body, new RegExp(`cache ${t} +NOT READY +WaitForDatastore`), notReady.body);

      await store.restart();
      const ready = await until(() => `readiness 200 once etcd is back (${why()})`, async () => {
        const r = await get('/readiness');
        return r.status === 200 ? r : undefined;
      }, 60_000);
      for (const t of ['felix', 'bgp', 'proxy']) assert.match(ready.body, new RegExp(`cache ${t} +ready +InSync`), ready.body);

      // Calico's Typha keeps serving its snapshot while the datastore is away: still live, still
      // ready; the outage is in the body
      await store.kill();
      const outage = await until(() => `the outage in the readiness body (${why()})`, async () => {
        const r = await get('/readiness');
        return /datastore unreachable since/.test(r.body) ? r : undefined;
      }, 60_000);
      assert.equal(outage.status, 200, outage.body);
      assert.equal((await get('/liveness')).status, 200);

      child.kill('SIGTERM');
      assert.equal(await exited, 0, why());
      await assert.rejects(get('/liveness'), 'the health port closes with Typha');
    });
  });
});
