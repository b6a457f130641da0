// The etcd v3 backend against a real etcd started by the test (never skipped): the shared
// conformance suite, plus TLS with client certificates, a watch that survives an etcd restart
// without missing or duplicating events, failover across endpoints, and a prompt
// ERR_DATASTORE_UNAVAILABLE when nothing is listening.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect, createServer, type Socket } from 'node:net';
import { startEtcd, type RunningEtcd } from '../../test/support/etcd.ts';
import { eventRevision, record, rejectsWith, runBackendConformance } from './backend-conformance.ts';
import { EtcdBackend } from './etcd-backend.ts';
import { datastoreConfigFromEnv, openBackend } from './open.ts';
import { sleep } from '../base/index.ts';

/** A port with nothing listening on it. */
async function deadPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

runBackendConformance('etcdv3', async () => {
  const etcd = await startEtcd();
  const backend = new EtcdBackend({ endpoints: [etcd.endpoints] });
  return {
    backend,
    config: { type: 'etcdv3', endpoints: [etcd.endpoints] },
    compact: (rev) => backend.compact(rev),
    async cleanup() {
      await backend.close();
      await etcd.stop();
    },
  };
});

void describe('etcdv3: TLS with client certificates', { timeout: 60_000 }, () => {
  let etcd: RunningEtcd;
  before(async () => {
    etcd = await startEtcd({ tls: true });
  });
  after(async () => {
    await etcd.stop();
  });

  void test('with CA + client cert: reads, writes and watches work', async () => {
    assert.match(etcd.endpoints, /^https:/);
    const b = await openBackend(
      datastoreConfigFromEnv({
        DATASTORE_TYPE: 'etcdv3',
        ETCD_ENDPOINTS: etcd.endpoints,
        ETCD_CA_CERT_FILE: etcd.caCertFile,
        ETCD_CERT_FILE: etcd.certFile,
        ETCD_KEY_FILE: etcd.keyFile,
      }),
    );
    try {
      const rec = record(b, '/tls/', (await b.revision()) + 1);
      const kv = await b.create('/tls/k', 'v');
      assert.deepEqual(await b.get('/tls/k'), kv);
      await rec.waitFor(() => rec.events().length === 1, 'the TLS watch event');
      await rec.close();
    } finally {
      await b.close();
    }
  });

  const refused: [string, { caCertFile?: string; certFile?: string; keyFile?: string } | (() => object)][] = [
    ['CA only (no client certificate)', () => ({ caCertFile: etcd.caCertFile })],
    ['no TLS settings at all (server cert unverifiable)', {}],
  ];
  for (const [name, opts] of refused) {
    void test(`refused: ${name}`, async () => {
      const o = typeof opts === 'function' ? opts() : opts;
      const b = new EtcdBackend({ endpoints: [etcd.endpoints], ...o });
      try {
        await rejectsWith(b.get('/tls/k'), 'ERR_DATASTORE_UNAVAILABLE');
      } finally {
        await b.close();
      }
    });
  }
});

void describe('etcdv3: restarts, failover, unreachable', { timeout: 120_000 }, () => {
  let etcd: RunningEtcd;
  before(async () => {
    etcd = await startEtcd();
  });
  after(async () => {
    await etcd.stop();
  });

  void test('a watch survives an etcd restart with no missed or duplicated events', async () => {
    const b = new EtcdBackend({ endpoints: [etcd.endpoints] });
    const states: string[] = [];
    try {
      const from = (await b.revision()) + 1;
      const rec = record(b, '/rs/', from);
      const w2 = b.watch('/rs/', from, { onEvents: () => undefined, onCompacted: () => undefined, onConnectionState: (s) => states.push(s) });
      for (let i = 0; i < 20; i++) await b.put(`/rs/${i % 3}`, String(i));
      await rec.waitFor(() => rec.events().length === 20, 'events before the restart');
      await etcd.restart();
      for (let i = 20; i < 40; i++) await b.put(`/rs/${i % 3}`, String(i));
      await rec.waitFor(() => rec.events().length >= 40, 'events after the restart');
      const revs = rec.events().map(eventRevision);
      assert.equal(revs.length, 40);
      assert.deepEqual(revs, Array.from({ length: 40 }, (_, i) => from + i));
      assert.deepEqual(
        rec.events().map((e) => (e.type === 'put' ? e.kv.value : '')),
        Array.from({ length: 40 }, (_, i) => String(i)),
      );
      assert.ok(states.includes('disconnected'), `connection states ${JSON.stringify(states)}`);
      assert.equal(states.at(-1), 'connected');
      await rec.close();
      await w2.close();
    } finally {
      await b.close();
    }
  });

  void test('a watch whose first attempt finds etcd down reports disconnected, then connected, and misses nothing', async () => {
    // the window the syncer's outage test hit under load: etcd died after the list, before etcd
    // confirmed the watch; that outage used to go unreported (only an established watch did)
    const b = new EtcdBackend({ endpoints: [etcd.endpoints] });
    const states: string[] = [];
    const seen: string[] = [];
    try {
      const from = (await b.put('/first/0', 'before')).modRevision + 1;
      await etcd.kill();
      const w = b.watch('/first/', from, {
        onEvents: (es) => seen.push(...es.map((e) => (e.type === 'put' ? `${e.kv.key}=${e.kv.value}@${e.kv.modRevision - from}` : `-${e.key}`))),
        onCompacted: () => undefined,
        onConnectionState: (s) => states.push(s),
      });
      const until = async (pred: () => boolean, what: string): Promise<void> => {
        const deadline = Date.now() + 20_000;
        while (!pred()) {
          if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}: ${JSON.stringify(states)}`);
          await sleep(20);
        }
      };
      await until(() => states.length > 0, 'the failed first attempt to be reported');
      assert.deepEqual(states, ['disconnected']);
      await etcd.restart();
      await b.put('/first/1', 'after');
      await until(() => seen.length > 0, 'the event after the restart');
      assert.deepEqual(seen, ['/first/1=after@0'], 'from the revision asked for, nothing before it');
      assert.deepEqual(states, ['disconnected', 'connected'], 'reported on change only, however many retries');
      await w.close();
    } finally {
      await b.close();
    }
  });

  void test('fails over from a dead endpoint to a live one', async () => {
    const dead = `http://127.0.0.1:${await deadPort()}`;
    const b = new EtcdBackend({ endpoints: [dead, etcd.endpoints] });
    try {
      const kv = await b.put('/fo/k', 'v');
      assert.deepEqual(await b.get('/fo/k'), kv);
      const rec = record(b, '/fo/', kv.modRevision);
      await rec.waitFor(() => rec.events().length === 1, 'watch event via the live endpoint');
      await rec.close();
    } finally {
      await b.close();
    }
  });

  void test('unreachable etcd: ERR_DATASTORE_UNAVAILABLE naming the endpoint', async () => {
    const dead = `http://127.0.0.1:${await deadPort()}`;
    const b = new EtcdBackend({ endpoints: [dead] });
    try {
      for (const op of [() => b.get('/k'), () => b.put('/k', 'v'), () => b.txn([], []), () => b.list('/')]) {
        const err = await rejectsWith(op(), 'ERR_DATASTORE_UNAVAILABLE');
        assert.ok(err.message.includes(dead), err.message);
      }
    } finally {
      await b.close();
    }
  });

  void test('unreachable etcd (connect never completes): bounded by the dial timeout', async () => {
    // A listener on loopback whose process never accepts (its event loop is blocked) and whose
    // accept queue is already full: the kernel drops further SYNs, so a connect hangs — without
    // sending anything beyond loopback.
    const child = spawn(
      process.execPath,
      ['-e', "const s=require('net').createServer().listen({port:0,host:'127.0.0.1',backlog:1},()=>{process.stdout.write(String(s.address().port)+'\\n');setTimeout(()=>Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0),50)})"],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const fillers: Socket[] = [];
    const b = await (async () => {
      const port = await new Promise<number>((resolve, reject) => {
        child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
        child.once('exit', () => reject(new Error('listener exited')));
      });
      await sleep(200); // let its event loop block
      for (let i = 0; i < 4; i++) {
        const s = connect({ host: '127.0.0.1', port });
        s.on('error', () => undefined);
        fillers.push(s);
      }
      await sleep(200);
      return { backend: new EtcdBackend({ endpoints: [`http://127.0.0.1:${port}`], dialTimeoutMs: 300 }), port };
    })();
    try {
      const err = await rejectsWith(b.backend.get('/k'), 'ERR_DATASTORE_UNAVAILABLE');
      assert.ok(err.message.includes(`127.0.0.1:${b.port}`), err.message);
      assert.match(err.message, /no connection within 300 ms/, err.message);
    } finally {
      await b.backend.close();
      for (const s of fillers) s.destroy();
      child.kill('SIGKILL');
    }
  });
});

// The lab's etcd serves clients on a unix socket only (reachable from every network namespace
// through the file system): the whole conformance suite runs over one, too.
runBackendConformance('etcdv3 over a unix socket', async () => {
  const etcd = await startEtcd({ unixSocket: true });
  assert.match(etcd.endpoints, /^unix:\/\/\/.+\/etcd:2379$/);
  const config = datastoreConfigFromEnv({ DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: etcd.endpoints });
  const backend = (await openBackend(config)) as EtcdBackend;
  return {
    backend,
    config,
    compact: (rev) => backend.compact(rev),
    async cleanup() {
      await backend.close();
      await etcd.stop();
    },
  };
});

void describe('etcdv3: unix socket endpoints', () => {
  void test('a socket path that does not exist: ERR_DATASTORE_UNAVAILABLE naming it', async () => {
    const b = new EtcdBackend({ endpoints: ['unix:///nonexistent/tricolor/etcd:2379'] });
    try {
      const err = await rejectsWith(b.get('/k'), 'ERR_DATASTORE_UNAVAILABLE');
      assert.ok(err.message.includes('unix:///nonexistent/tricolor/etcd:2379'), err.message);
    } finally {
      await b.close();
    }
  });

  for (const [bad, why] of [
    ['unix://relative/etcd.sock', /absolute socket path/],
    ['unix:///', /absolute socket path/],
    ['ftp://127.0.0.1:2379', /must use http, https, unix or unixs/],
  ] as const) {
    void test(`refused endpoint ${bad}`, () => {
      assert.throws(() => new EtcdBackend({ endpoints: [bad] }), (e: Error) => why.test(e.message) && e.message.includes('endpoints[0]'));
    });
  }

  void test('ETCD_ENDPOINTS accepts unix:///path and names a bad entry', () => {
    assert.deepEqual(datastoreConfigFromEnv({ DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: 'unix:///run/x/etcd:2379' }), { type: 'etcdv3', endpoints: ['unix:///run/x/etcd:2379'] });
    assert.throws(() => datastoreConfigFromEnv({ DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: 'unix:relative' }), /ETCD_ENDPOINTS: "unix:relative"/);
  });
});

// Past what one etcd transaction can hold even nested (4096 ops at --max-txn-ops 128), or past
// etcd's --max-request-bytes: refused whole with a coded error that says so, nothing written.
void describe('etcdv3: transactions too large for one etcd transaction', { timeout: 120_000 }, () => {
  let etcd: RunningEtcd;
  let b: EtcdBackend;
  before(async () => {
    etcd = await startEtcd();
    b = new EtcdBackend({ endpoints: [etcd.endpoints] });
  });
  after(async () => {
    await b.close();
    await etcd.stop();
  });
  const puts = (p: string, n: number, value: string) => Array.from({ length: n }, (_, i) => ({ op: 'put' as const, key: `${p}${i}`, value }));

  void test('more ops than nesting can hold: ERR_VALIDATION naming the count, nothing written', async () => {
    const e = await rejectsWith(b.txn([], puts('/big/a/', 5000, 'x')), 'ERR_VALIDATION');
    assert.match(e.message, /5000 operations .*at most 4096 .*nothing was written/);
    assert.equal((await b.list('/big/a/')).items.length, 0);
  });

  void test('a request over --max-request-bytes: ERR_VALIDATION, nothing written', async () => {
    const e = await rejectsWith(b.txn([], puts('/big/b/', 2000, 'x'.repeat(1024))), 'ERR_VALIDATION');
    assert.match(e.message, /request is too large: nothing was written/);
    assert.equal((await b.list('/big/b/')).items.length, 0);
  });
});
