// Typha against a real etcd, over real sockets: an agent's stream through Typha equals the
// direct syncer's (snapshot, deltas, in-sync); mutual TLS refuses a client certificate with the
// wrong CN / URI SAN or from another CA, and a client refuses a Typha with the wrong identity; a
// stalled client and one that does not answer pings are disconnected; the connection limit sheds
// the excess to another replica; a client whose Typha goes away moves to the other replica and
// receives only the difference, without its status leaving InSync.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { makePKI, type TestPKI } from '../../test/support/certs.ts';
import { checkNoLeaks } from '../../test/support/leak-check.ts';
import { startEtcd, type RunningEtcd } from '../../test/support/etcd.ts';
import { until } from '../../test/support/wait.ts';
import { MetricsRegistry, parseMetricsText } from '../base/index.ts';
import { EtcdBackend, localUpdateSource, type StoredUpdate, type UpdateSink, type UpdateSource } from '../datastore/index.ts';
import { AGENT_SELECTION } from '../agent/index.ts';
import { FrameDecoder, TYPHA_SELECTIONS, encodeFrame, type TyphaClientConfig } from './index.ts';
import { TyphaServer, typhaUpdateSource, type TyphaServerOptions } from './io/index.ts';

const V3 = '/calico/resources/v3/projectcalico.org/';
const policyKey = (n: string): string => `${V3}globalnetworkpolicies/${n}`;
const policy = (n: string, order: number): string =>
  JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: n }, spec: { order, selector: 'all()', ingress: [{ action: 'Allow' }] } });
const node = (n: string): string => JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: n }, spec: {} });
const wepKey = (pod: string): string => `${V3}workloadendpoints/ns/n1-k8s-${pod}-eth0`;
const wep = (pod: string, ip: string): string =>
  JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind: 'WorkloadEndpoint', metadata: { name: `n1-k8s-${pod}-eth0`, namespace: 'ns' }, spec: { node: 'n1', orchestrator: 'k8s', pod, containerID: pod, endpoint: 'eth0', ipNetworks: [`${ip}/32`], interfaceName: `cali${pod}` } });

/** What a consumer holds: key → value JSON, plus everything it was told. */
class Collector implements UpdateSink {
  readonly state = new Map<string, string>();
  readonly statuses: string[] = [];
  readonly connection: string[] = [];
  readonly batches: StoredUpdate[][] = [];
  onStatus(s: string): void {
    this.statuses.push(s);
  }
  onUpdates(us: readonly StoredUpdate[]): void {
    this.batches.push([...us]);
    for (const u of us) {
      if (u.value === undefined) this.state.delete(u.key);
      else this.state.set(u.key, JSON.stringify(u.value));
    }
  }
  onConnection(c: { connected: boolean; detail?: string }): void {
    this.connection.push(c.connected ? 'up' : `down: ${c.detail ?? ''}`);
  }
  get inSync(): boolean {
    return this.statuses.includes('InSync');
  }
}

const sameState = (a: Collector, b: Collector): boolean => a.state.size === b.state.size && [...a.state].every(([k, v]) => b.state.get(k) === v);

void describe('typha', { concurrency: false }, () => {
  let etcd: RunningEtcd;
  let be: EtcdBackend;
  let pki: TestPKI;
  const cleanups: (() => Promise<void>)[] = [];
  before(async () => {
    etcd = await startEtcd();
    be = new EtcdBackend({ endpoints: [etcd.endpoints] });
    pki = makePKI();
  });
  // Each test's servers and clients go when it ends: a refused client retrying in the background
  // would otherwise create sockets and timers inside a later test's leak-check scope.
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  after(async () => {
    await be.close();
    await etcd.stop();
    pki.remove();
  });

  const server = async (o: Partial<TyphaServerOptions> = {}): Promise<TyphaServer> => {
    const s = new TyphaServer({ backend: be, selections: { felix: TYPHA_SELECTIONS.felix, bgp: TYPHA_SELECTIONS.bgp }, port: 0, ...o });
    await s.start();
    cleanups.push(() => s.stop());
    return s;
  };
  const client = (addresses: string[], extra: Partial<TyphaClientConfig> = {}, inOrder = true): { source: UpdateSource; sink: Collector; current: () => string | undefined } => {
    const { source, client: c } = typhaUpdateSource({ addresses, readTimeoutMs: 30_000, writeTimeoutMs: 10_000, ...extra }, AGENT_SELECTION, { syncerType: 'felix', retryDelayMs: 100, inOrder });
    const sink = new Collector();
    source.start(sink);
    cleanups.push(() => source.dispose());
    return { source, sink, current: () => c.current };
  };
  const addr = (s: TyphaServer): string => `${s.address.host}:${s.address.port}`;

  void test('snapshot, deltas and in-sync through Typha equal the direct syncer', { timeout: 60_000 }, async () => {
    await be.put(`${V3}nodes/n1`, node('n1'));
    for (let i = 0; i < 250; i++) await be.put(policyKey(`p${i}`), policy(`p${i}`, i));
    for (let i = 0; i < 30; i++) await be.put(wepKey(`w${i}`), wep(`w${i}`, `10.65.0.${i + 1}`));
    await be.put(policyKey('broken'), '{"not": "a policy"'); // an invalid value is delivered as absent by both
    const metrics = new MetricsRegistry();
    const s = await server({ metrics });
    const direct = new Collector();
    const local = localUpdateSource(be, AGENT_SELECTION);
    local.start(direct);
    cleanups.push(() => local.dispose());
    const viaTypha = client([addr(s)]);
    await until('both in sync', () => Promise.resolve(direct.inSync && viaTypha.sink.inSync ? true : undefined), 30_000, 20);
    assert.deepEqual(viaTypha.sink.statuses, ['WaitForDatastore', 'ResyncInProgress', 'InSync']);
    await until('the same snapshot', () => Promise.resolve(sameState(direct, viaTypha.sink) ? true : undefined), 10_000, 20);
    assert.ok(viaTypha.sink.state.size >= 281, `${viaTypha.sink.state.size} objects: ${[...viaTypha.sink.state.keys()].slice(0, 5).join(' ')} / problems ${viaTypha.sink.batches.flat().filter((u) => u.type === 'resource' && u.problem !== undefined).slice(0, 2).map((u) => (u.type === 'resource' ? u.problem?.message : '')).join('; ')}`);
    // deltas: updates, deletions, a transaction of several kinds
    for (let i = 0; i < 50; i++) await be.put(policyKey(`p${i}`), policy(`p${i}`, 1000 + i));
    for (let i = 50; i < 100; i++) await be.delete(policyKey(`p${i}`));
    await be.txn([], [
      { op: 'put', key: policyKey('txn'), value: policy('txn', 7) },
      { op: 'delete', key: wepKey('w0') },
    ]);
    await until('the same state after deltas', () => Promise.resolve(sameState(direct, viaTypha.sink) && !viaTypha.sink.state.has(policyKey('p60')) && viaTypha.sink.state.has(policyKey('txn')) ? true : undefined), 10_000, 20);
    // every key was delivered once in the snapshot, then only what changed
    const p10 = viaTypha.sink.batches.flat().filter((u) => u.key === policyKey('p10'));
    assert.equal(p10.length, 2, 'p10: once in the snapshot, once updated');
    const m = parseMetricsText(metrics.render());
    assert.equal(m.get('typha_connections_active'), 1);
    assert.equal(m.get('typha_connections_streaming{syncer="felix"}'), 1);
    assert.ok((m.get('typha_snapshots_generated') ?? 0) >= 1);
    assert.ok((m.get('typha_updates_total') ?? 0) >= 101);
    for (const name of ['typha_connections_accepted', 'typha_connections_dropped', 'typha_cache_size{syncer="felix"}', 'typha_breadcrumb_seq_number{syncer="felix"}', 'typha_client_snapshot_send_secs_count']) {
      assert.ok(m.has(name), `metric ${name}`);
    }
    // a client asking for a syncer Typha does not serve is told so
    const refused = await rawClient(s, 'nonsense');
    assert.match(refused.error ?? '', /syncerType: "nonsense" is not served here/);
  });

  void test('mutual TLS: the server checks the client CN / URI SAN and the CA, the client checks the server', { timeout: 60_000 }, async () => {
    const srv = pki.issue('typha-server', { cn: 'typha-server', uriSAN: 'spiffe://cluster/typha' });
    const good = pki.issue('typha-client', { cn: 'typha-client' });
    const byURI = pki.issue('uri-client', { cn: 'whoever', uriSAN: 'spiffe://cluster/felix' });
    const wrongCN = pki.issue('intruder', { cn: 'intruder' });
    const foreign = pki.issue('foreign', { cn: 'typha-client', foreign: true });
    const s = await server({ tls: { certFile: srv.cert, keyFile: srv.key, caFile: pki.ca, clientCN: 'typha-client', clientURISAN: 'spiffe://cluster/felix' } });
    const tls = (c: { cert: string; key: string }, cn?: string, uriSAN?: string): Partial<TyphaClientConfig> => ({ tls: { caFile: pki.ca, certFile: c.cert, keyFile: c.key, ...(cn !== undefined ? { cn } : {}), ...(uriSAN !== undefined ? { uriSAN } : {}) } });
    const ok1 = client([addr(s)], tls(good, 'typha-server'));
    const ok2 = client([addr(s)], tls(byURI, undefined, 'spiffe://cluster/typha'));
    const bad = client([addr(s)], tls(wrongCN, 'typha-server'));
    const stranger = client([addr(s)], tls(foreign, 'typha-server'));
    const pinsWrongServer = client([addr(s)], tls(good, 'not-typha'));
    await until('the good clients in sync', () => Promise.resolve(ok1.sink.inSync && ok2.sink.inSync ? true : undefined), 20_000, 20);
    await until('the bad clients refused', () => Promise.resolve(bad.sink.connection.length > 0 && stranger.sink.connection.length > 0 && pinsWrongServer.sink.connection.length > 0 ? true : undefined), 20_000, 20);
    assert.match(bad.sink.connection[0] ?? '', /client certificate refused: certificate has CN "intruder".*want CN "typha-client" or URI SAN "spiffe:\/\/cluster\/felix"/);
    assert.match(pinsWrongServer.sink.connection[0] ?? '', /Typha's certificate refused: certificate has CN "typha-server"/);
    assert.match(stranger.sink.connection[0] ?? '', /^down: /);
    for (const c of [bad, stranger, pinsWrongServer]) {
      assert.ok(!c.sink.inSync, 'a refused client gets nothing');
      assert.equal(c.sink.batches.length, 0);
    }
    assert.ok((s.drops.get('certificate') ?? 0) >= 1);
    assert.ok((s.drops.get('tls handshake') ?? 0) >= 1);
  });

  void test('a stalled client and a client that does not answer pings are disconnected; the limit sheds the excess', { timeout: 60_000 }, async () => {
    const s = await server({ maxQueuedBytes: 256 * 1024, maxConnections: 3 });
    const pinging = await server({ pingIntervalMs: 200, pongTimeoutMs: 1000 });
    // a client that says hello and then never reads: its queue grows until Typha drops it
    const stalled = stalledClient(s, pki.dir);
    cleanups.push(() => stalled.stop());
    await until('the stalled client connected', () => Promise.resolve(s.streaming('felix') === 1 ? true : undefined), 20_000, 20);
    // a client that reads but never answers pings
    const mute = await rawClient(pinging, 'felix', { read: true });
    const healthy = client([addr(s)]);
    const healthyPinged = client([addr(pinging)]);
    await until('the healthy clients in sync', () => Promise.resolve(healthy.sink.inSync && healthyPinged.sink.inSync ? true : undefined), 20_000, 20);
    // the limit is 3: stalled, healthy and one more; a fourth connection is shed with a reason
    const third = await rawClient(s, 'felix', { read: true });
    const shed = await rawClient(s, 'felix');
    assert.match(shed.error ?? '', /at most 3 connections/);
    third.destroy();
    const big = 'x'.repeat(100_000);
    for (let i = 0; i < 100; i++) {
      await be.put(policyKey(`big${i}`), JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: `big${i}`, annotations: { pad: big } }, spec: { selector: 'all()' } }));
    }
    await until('the stalled client dropped', () => Promise.resolve((s.drops.get('too slow') ?? 0) >= 1 ? true : undefined), 30_000, 50);
    await until('the mute client dropped', () => Promise.resolve((pinging.drops.get('pong timeout') ?? 0) >= 1 ? true : undefined), 30_000, 50);
    assert.equal(s.drops.get('pong timeout'), undefined);
    // the healthy client answered its pings and has every update
    await until('the healthy clients have the updates', () => Promise.resolve(healthy.sink.state.has(policyKey('big99')) && healthyPinged.sink.state.has(policyKey('big99')) ? true : undefined), 20_000, 50);
    assert.equal(s.connections, 1);
    assert.equal(pinging.connections, 1);
    assert.deepEqual(healthy.sink.connection, [], 'the healthy client was never disconnected');
    assert.deepEqual(healthyPinged.sink.connection, [], 'a client that answers pings is never disconnected');
    mute.destroy();
  });

  void test('a server and a client (through a loss and a retry) leave nothing open once stopped', { timeout: 60_000 }, async () => {
    await checkNoLeaks('Typha server and client', async () => {
      const own = new EtcdBackend({ endpoints: [etcd.endpoints] });
      const s = new TyphaServer({ backend: own, selections: { felix: TYPHA_SELECTIONS.felix }, port: 0, pingIntervalMs: 100 });
      await s.start();
      const { source } = typhaUpdateSource({ addresses: [addr(s)], readTimeoutMs: 30_000, writeTimeoutMs: 10_000 }, AGENT_SELECTION, { syncerType: 'felix', retryDelayMs: 50 });
      const sink = new Collector();
      source.start(sink);
      await until('in sync', () => Promise.resolve(sink.inSync ? true : undefined), 20_000, 20);
      await new Promise((r) => setTimeout(r, 300)); // a few pings and pongs
      await s.stop();
      await until('the loss seen', () => Promise.resolve(sink.connection.length > 0 ? true : undefined), 20_000, 20);
      await new Promise((r) => setTimeout(r, 200)); // a retry or two against the closed port
      await source.dispose();
      await own.close();
    });
  });

  void test('a client that already has a newer revision gets its snapshot only once this replica has caught up (bounded), never an older one', { timeout: 60_000 }, async () => {
    const s = await server({ catchUpTimeoutMs: 60_000 });
    await be.put(policyKey('base'), policy('base', 1));
    const rev = (await be.get(policyKey('base')))?.modRevision ?? 0;
    const cacheAt = (t: TyphaServer, r: number): Promise<true | undefined> => Promise.resolve(t.cacheRevision('felix')?.inSync === true && t.cacheRevision('felix')!.revision >= r ? true : undefined);
    await until('the replica has the base policy', () => cacheAt(s, rev), 20_000, 20);
    // a client coming from a replica that is two writes ahead of this one
    const h = helloClient(s, rev + 2);
    cleanups.push(async () => h.destroy());
    await h.serverHello();
    await be.put(policyKey('one'), policy('one', 1));
    // one write short of the client's revision (the cache starts caught-up clients as it takes
    // each write, so once it has the write the decision is made): no snapshot may go out yet
    await until('the replica has the first write', () => cacheAt(s, rev + 1), 20_000, 20);
    assert.equal(s.streaming('felix'), 0, 'no snapshot before the replica reached the client\'s revision');
    await be.put(policyKey('two'), policy('two', 1));
    await until('the snapshot', () => Promise.resolve(h.status()), 20_000, 20);
    assert.ok((h.status()?.revision ?? 0) >= rev + 2, `snapshot at revision ${h.status()?.revision}, the client has ${rev + 2}`);
    for (const k of ['base', 'one', 'two']) assert.ok(h.keys.has(policyKey(k)), `${k} in the snapshot`);
    // bounded: a revision this replica never reaches still gets a snapshot once the wait is over
    const t = await server({ catchUpTimeoutMs: 300 });
    const far = helloClient(t, rev + 1_000_000);
    cleanups.push(async () => far.destroy());
    await until('the snapshot after the bounded wait', () => Promise.resolve(far.status()), 20_000, 20);
    // a revision that is not one is refused, naming the field and the value
    const bad = helloClient(t, -3);
    cleanups.push(async () => bad.destroy());
    await until('the refusal', () => Promise.resolve(bad.error()), 20_000, 20);
    assert.match(bad.error() ?? '', /revision: -3 is not a revision/);
  });

  void test('failover: the client moves to the other replica and gets only the difference, never leaving InSync', { timeout: 60_000 }, async () => {
    const a = await server();
    const b = await server();
    const c = client([addr(a), addr(b)]);
    await until('in sync via the first replica', () => Promise.resolve(c.sink.inSync && c.current() === addr(a) ? true : undefined), 20_000, 20);
    await be.put(policyKey('keep'), policy('keep', 1));
    await be.put(policyKey('change'), policy('change', 1));
    await be.put(policyKey('gone'), policy('gone', 1));
    await until('deltas via the first replica', () => Promise.resolve(c.sink.state.has(policyKey('gone')) ? true : undefined), 10_000, 20);
    const before = new Map(c.sink.state);
    const batches = c.sink.batches.length;
    await a.stop();
    // changes while the client is between replicas
    await be.put(policyKey('change'), policy('change', 2));
    await be.delete(policyKey('gone'));
    await be.put(policyKey('new'), policy('new', 3));
    await until('on the second replica', () => Promise.resolve(c.current() === addr(b) ? true : undefined), 20_000, 20);
    await until('the difference applied', () => Promise.resolve(c.sink.state.has(policyKey('new')) ? true : undefined), 10_000, 20);
    const after = c.sink.batches.slice(batches).flat();
    assert.deepEqual(after.map((u) => `${u.key}${u.value === undefined ? ' gone' : ''}`).sort(), [policyKey('change'), `${policyKey('gone')} gone`, policyKey('new')].sort(), 'only the difference is delivered');
    assert.deepEqual(c.sink.statuses, ['WaitForDatastore', 'ResyncInProgress', 'InSync'], 'status never leaves InSync');
    assert.ok(c.sink.connection.length >= 2 && c.sink.connection[0]?.startsWith('down:') === true && c.sink.connection.at(-1) === 'up');
    for (const [k, v] of before) if (k !== policyKey('change') && k !== policyKey('gone')) assert.equal(c.sink.state.get(k), v, `${k} untouched`);
  });
});

/** A bare client whose hello carries `revision`; collects the snapshot keys, the InSync status and an error. */
function helloClient(s: TyphaServer, revision: number): {
  keys: Set<string>;
  status(): { revision: number } | undefined;
  error(): string | undefined;
  serverHello(): Promise<void>;
  destroy(): void;
} {
  const sock = connect({ host: s.address.host, port: s.address.port });
  const decoder = new FrameDecoder();
  const keys = new Set<string>();
  let status: { revision: number } | undefined;
  let error: string | undefined;
  let hellos = 0;
  sock.on('error', () => undefined);
  sock.on('connect', () => sock.write(encodeFrame({ t: 'hello', syncerType: 'felix', hostname: 'hello', info: 'test', version: 1, revision })));
  sock.on('data', (d: Buffer) => {
    for (const m of decoder.push(d) as { t: string; kvs?: { k: string }[]; status?: string; revision?: number; message?: string }[]) {
      if (m.t === 'kvs') for (const kv of m.kvs ?? []) keys.add(kv.k);
      else if (m.t === 'status' && m.status === 'InSync') status = { revision: m.revision ?? 0 };
      else if (m.t === 'error') error = m.message;
      else if (m.t === 'serverHello') hellos++;
    }
  });
  return {
    keys,
    status: () => status,
    error: () => error,
    serverHello: async () => {
      await until('the server hello', () => Promise.resolve(hellos > 0 ? true : undefined), 20_000, 20);
    },
    destroy: () => sock.destroy(),
  };
}

interface Raw {
  error: string | undefined;
  closed(): boolean;
  destroy(): void;
}

/**
 * A client that says hello and then stops reading, with a small receive buffer (so the kernel
 * does not absorb megabytes first): socat hands the socket's data to a shell that never reads.
 */
function stalledClient(s: TyphaServer, dir: string): { stop(): Promise<void> } {
  const hello = join(dir, `hello-${process.pid}.bin`);
  writeFileSync(hello, encodeFrame({ t: 'hello', syncerType: 'felix', hostname: 'stalled', info: 'test', version: 1 }));
  const p = spawn('socat', ['-b', '4096', `TCP:${s.address.host}:${s.address.port},rcvbuf=8192`, `SYSTEM:cat ${hello}; exec sleep 600`], { stdio: 'ignore', detached: true });
  return {
    stop: async () => {
      if (p.exitCode !== null || p.signalCode !== null) return;
      const exited = new Promise((r) => p.once('exit', r));
      if (p.pid !== undefined) process.kill(-p.pid, 'SIGKILL');
      await exited;
    },
  };
}

/** A bare protocol client: hello, then read (or not), never answering pings. */
function rawClient(s: TyphaServer, syncerType: string, o: { read?: boolean } = {}): Promise<Raw> {
  return new Promise((resolve) => {
    const sock = connect({ host: s.address.host, port: s.address.port });
    let closed = false;
    const decoder = new FrameDecoder();
    const raw: Raw = {
      error: undefined,
      closed: () => closed,
      destroy: () => sock.destroy(),
    };
    sock.on('error', () => undefined);
    sock.on('close', () => {
      closed = true;
      resolve(raw);
    });
    sock.on('connect', () => {
      sock.write(encodeFrame({ t: 'hello', syncerType: syncerType as 'felix', hostname: 'raw', info: 'test', version: 1 }));
      if (o.read === false) {
        // stop reading: the kernel buffers fill and Typha's queue for us grows
        setTimeout(() => {
          sock.pause();
          resolve(raw);
        }, 100);
      } else if (o.read === true) setTimeout(() => resolve(raw), 300);
    });
    sock.on('data', (d: Buffer) => {
      for (const m of decoder.push(d) as { t: string; message?: string }[]) if (m.t === 'error') raw.error = m.message;
    });
  });
}
