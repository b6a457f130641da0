// `tricolor typha run`: one datastore watch per syncer type, fanned out to many agents (node
// contract §6, docs/design/typha.md). Per syncer type a cache holds key → value and a sequence
// number bumped by every batch of updates; the snapshot frames are built once per sequence
// number and shared by every client that connects at it, and each batch of deltas is encoded
// once and the same buffers are written to every streaming client. A client waits until the
// cache is in sync, gets the snapshot, an InSync status carrying the snapshot's revision, then
// the deltas. Each client has a bounded queue: one that falls too far behind (time or bytes) or
// does not answer pings is disconnected, never allowed to grow Typha's memory.

import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { MetricsRegistry, Observer } from '../../base/index.ts';
import { Syncer, selectionPrefixes, type DatastoreBackend, type SyncStatus, type SyncUpdate, type UpdateSelection } from '../../datastore/index.ts';
import { FrameDecoder, MAX_KVS_PER_MSG, PROTOCOL_VERSION, encodeFrame, isSyncerType, kvsFrames, type ServerMessage, type SyncerType } from '../protocol.ts';
import { typhaHealthReport, type TyphaHealthReport, type TyphaHealthReporter } from '../health.ts';
import { TYPHA_DEFAULTS, peerIdentityProblem, type TyphaServerTLS } from '../typha-config.ts';

export interface TyphaServerOptions {
  readonly backend: DatastoreBackend;
  /** What each syncer type serves (TYPHA_SELECTIONS in production). */
  readonly selections: Readonly<Partial<Record<SyncerType, UpdateSelection>>>;
  readonly host?: string;
  /** 0 = any free port (see `address`). Default 5473. */
  readonly port?: number;
  readonly tls?: TyphaServerTLS;
  readonly maxConnections?: number;
  readonly pingIntervalMs?: number;
  readonly pongTimeoutMs?: number;
  readonly handshakeTimeoutMs?: number;
  /** How long a client's snapshot waits for the cache to reach the revision the client has (hello.revision). */
  readonly catchUpTimeoutMs?: number;
  readonly writeTimeoutMs?: number;
  readonly maxFallBehindMs?: number;
  readonly maxQueuedBytes?: number;
  readonly metrics?: MetricsRegistry;
  readonly log?: (line: string) => void;
}

interface Queued {
  readonly buf: Buffer;
  /** Deltas count against the client's bound; the snapshot does not. */
  readonly delta: boolean;
  readonly at: number;
}

/** One syncer type's view of the datastore. */
class SyncerCache {
  readonly type: SyncerType;
  readonly kvs = new Map<string, { value: string; revision: number }>();
  status: SyncStatus = 'WaitForDatastore';
  /** Set while the datastore cannot be reached (what failed, since when). */
  unreachable: { since: string; detail: string } | undefined;
  revision = 0;
  seq = 0;
  readonly #syncer: Syncer;
  #snapshot: { seq: number; frames: Buffer[]; bytes: number } | undefined;
  readonly #onInSync: () => void;

  constructor(type: SyncerType, backend: DatastoreBackend, selection: UpdateSelection, onDeltas: (frames: Buffer[], count: number) => void, onInSync: () => void) {
    this.type = type;
    this.#onInSync = onInSync;
    this.#syncer = new Syncer(backend, selectionPrefixes(selection), {
      onStatus: (s) => {
        this.status = s;
        if (s === 'InSync') this.#onInSync();
      },
      onConnection: (connected, detail) => {
        this.unreachable = connected ? undefined : { since: new Date().toISOString(), detail: detail ?? 'datastore unreachable' };
      },
      onUpdates: (us) => {
        for (const u of us) {
          if (u.value === undefined) this.kvs.delete(u.key);
          else this.kvs.set(u.key, { value: u.value, revision: u.revision });
          if (u.revision > this.revision) this.revision = u.revision;
        }
        this.seq++;
        // before InSync nobody streams: the snapshot will carry these
        if (this.status === 'InSync') onDeltas(kvsFrames(us), us.length);
      },
    });
  }

  start(): void {
    this.#syncer.start();
  }

  stop(): Promise<void> {
    return this.#syncer.stop();
  }

  /** The snapshot frames at the current sequence number, and whether they were reused. */
  snapshot(): { frames: Buffer[]; bytes: number; reused: boolean } {
    if (this.#snapshot?.seq === this.seq) return { ...this.#snapshot, reused: true };
    const updates: SyncUpdate[] = [];
    for (const [key, { value, revision }] of this.kvs) updates.push({ key, value, revision });
    const frames = kvsFrames(updates);
    this.#snapshot = { seq: this.seq, frames, bytes: frames.reduce((n, f) => n + f.length, 0) };
    return { ...this.#snapshot, reused: false };
  }
}

class Connection {
  readonly id = randomUUID();
  readonly socket: Socket;
  readonly remote: string;
  syncerType: SyncerType | undefined;
  state: 'handshake' | 'waiting' | 'streaming' | 'closed' = 'handshake';
  readonly queue: Queued[] = [];
  deltaBytes = 0;
  pingSentAt: number | undefined;
  lastPingAt = Date.now();
  stalledSince: number | undefined;
  /** Called once the snapshot's last frame (the InSync status) has been written out. */
  onSnapshotSent: (() => void) | undefined;
  /** The revision the client already has (hello.revision): its snapshot waits for the cache to reach it. */
  minRevision = 0;
  /** Bounds that wait: when it fires, the snapshot goes out at whatever revision the cache has. */
  catchUp: NodeJS.Timeout | undefined;

  constructor(socket: Socket) {
    this.socket = socket;
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
  }
}

export class TyphaServer {
  readonly #o: TyphaServerOptions;
  readonly #caches = new Map<SyncerType, SyncerCache>();
  readonly #conns = new Set<Connection>();
  /** Sockets told goodbye (refused or dropped), each cut after a grace second or at stop. */
  readonly #closing = new Map<Socket, NodeJS.Timeout>();
  #server: Server | undefined;
  #timer: NodeJS.Timeout | undefined;
  #address: { host: string; port: number } | undefined;
  /** performance.now() of the last housekeeping pass (the SyncServer reporter's heartbeat). */
  #lastHousekeeping = 0;
  #stopping = false;
  readonly #m: {
    accepted?: { inc(by?: number): void };
    dropped?: { inc(by?: number): void };
    updates?: { inc(by?: number): void };
    generated?: { inc(): void };
    reused?: { inc(): void };
    rawBytes?: Observer;
    snapshotSend?: Observer;
    ping?: Observer;
    kvsPerMsg?: Observer;
    clientLatency?: Observer;
    writeLatency?: Observer;
  } = {};
  /** Connections closed by Typha, by reason (tests and status). */
  readonly drops = new Map<string, number>();

  constructor(o: TyphaServerOptions) {
    this.#o = o;
    const m = o.metrics;
    if (m !== undefined) {
      this.#m.accepted = m.counter('typha_connections_accepted', 'Total number of connections accepted over time.');
      m.gauge('typha_connections_active', 'Number of open client connections.', () => this.#conns.size);
      this.#m.dropped = m.counter('typha_connections_dropped', 'Total number of connections dropped by Typha (limit, slow client, timeouts, refused certificate).');
      m.gauge('typha_connections_streaming', 'Number of client connections receiving the snapshot or deltas.', {
        labelNames: ['syncer'],
        collect: () => [...this.#caches.keys()].map((t) => [{ syncer: t }, [...this.#conns].filter((c) => c.syncerType === t && c.state === 'streaming').length] as const),
      });
      this.#m.updates = m.counter('typha_updates_total', 'Total number of updates received from the datastore.');
      m.gauge('typha_cache_size', 'Number of keys in the snapshot cache.', { labelNames: ['syncer'], collect: () => [...this.#caches.values()].map((c) => [{ syncer: c.type }, c.kvs.size] as const) });
      m.gauge('typha_breadcrumb_seq_number', 'Sequence number of the latest batch of updates.', { labelNames: ['syncer'], collect: () => [...this.#caches.values()].map((c) => [{ syncer: c.type }, c.seq] as const) });
      this.#m.generated = m.counter('typha_snapshots_generated', 'Number of snapshots encoded.');
      this.#m.reused = m.counter('typha_snapshots_reused', 'Number of times a client got an already encoded snapshot.');
      this.#m.rawBytes = m.summary('typha_snapshot_raw_bytes', 'Size of the encoded snapshot in bytes.');
      this.#m.snapshotSend = m.summary('typha_client_snapshot_send_secs', 'How long it took to send the snapshot to a client.');
      this.#m.ping = m.summary('typha_ping_latency', 'Round-trip ping/pong time to a client, in seconds.');
      this.#m.kvsPerMsg = m.summary('typha_kvs_per_msg', 'Number of updates per message sent.');
      this.#m.clientLatency = m.summary('typha_client_latency_secs', 'How far behind a client was when a delta was written to it.');
      this.#m.writeLatency = m.summary('typha_client_write_latency_secs', 'How long a client socket stayed blocked before it drained.');
    }
  }

  /** `host:port` Typha listens on once started. */
  get address(): { host: string; port: number } {
    if (this.#address === undefined) throw new Error('TyphaServer: not started'); // a bug
    return this.#address;
  }

  get connections(): number {
    return this.#conns.size;
  }

  /** Streaming connections per syncer type (tests, status). */
  streaming(type: SyncerType): number {
    return [...this.#conns].filter((c) => c.syncerType === type && c.state === 'streaming').length;
  }

  /** The highest revision a syncer's cache has seen, and whether it is in sync (tests, status). */
  cacheRevision(type: SyncerType): { revision: number; inSync: boolean } | undefined {
    const c = this.#caches.get(type);
    return c === undefined ? undefined : { revision: c.revision, inSync: c.status === 'InSync' };
  }

  async start(): Promise<void> {
    for (const [type, sel] of Object.entries(this.#o.selections) as [SyncerType, UpdateSelection][]) {
      const cache = new SyncerCache(
        type,
        this.#o.backend,
        sel,
        (frames, count) => this.#fanOut(cache, frames, count),
        () => this.#inSync(cache),
      );
      this.#caches.set(type, cache);
      cache.start();
    }
    const onSocket = (s: Socket): void => this.#accept(s);
    const tls = this.#o.tls;
    const server =
      tls === undefined
        ? createTcpServer(onSocket)
        : createTlsServer({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile), ca: readFileSync(tls.caFile), requestCert: true, rejectUnauthorized: true }, (s: TLSSocket) => {
            const problem = peerIdentityProblem(s.getPeerCertificate(), tls.clientCN, tls.clientURISAN);
            if (problem !== undefined) {
              this.#refuse(s, 'ERR_FORBIDDEN', `client certificate refused: ${problem}`, 'certificate');
              return;
            }
            onSocket(s);
          });
    server.on('tlsClientError', () => this.#dropped('tls handshake'));
    const host = this.#o.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#o.port ?? TYPHA_DEFAULTS.port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const a = server.address();
    this.#address = { host, port: typeof a === 'object' && a !== null ? a.port : 0 };
    this.#server = server;
    const ping = this.#o.pingIntervalMs ?? TYPHA_DEFAULTS.pingIntervalMs;
    this.#lastHousekeeping = performance.now();
    this.#timer = setInterval(() => this.#housekeeping(), Math.min(1000, ping));
  }

  /**
   * Calico's health reporters: `SyncServer` is live while it listens and its housekeeping loop
   * (pings, timeouts, fall-behind checks) keeps running; each syncer type's cache is live while it
   * runs and ready once in sync. A cache stays ready through a later datastore outage, as Calico's
   * does (it serves what it has); the outage is in its detail.
   */
  health(): TyphaHealthReport {
    const tick = Math.min(1000, this.#o.pingIntervalMs ?? TYPHA_DEFAULTS.pingIntervalMs);
    // Calico's reporters time out after twice their 10 s interval
    const sinceTick = performance.now() - this.#lastHousekeeping;
    const listening = this.#server?.listening === true && !this.#stopping;
    const beating = sinceTick < Math.max(20_000, 2 * tick);
    const reporters: TyphaHealthReporter[] = [
      {
        name: 'SyncServer',
        live: listening && beating,
        detail: !listening
          ? this.#stopping
            ? 'stopping'
            : 'not listening'
          : !beating
            ? `housekeeping last ran ${Math.round(sinceTick / 1000)} s ago`
            : `listening on ${this.#address?.host ?? '?'}:${this.#address?.port ?? '?'}, ${this.#conns.size} connection(s)`,
      },
    ];
    for (const c of this.#caches.values()) {
      const outage = c.unreachable === undefined ? '' : `; datastore unreachable since ${c.unreachable.since}: ${c.unreachable.detail}`;
      reporters.push({
        name: `cache ${c.type}`,
        live: !this.#stopping,
        ready: !this.#stopping && c.status === 'InSync',
        detail: `${c.status}, ${c.kvs.size} keys, ${this.streaming(c.type)} streaming${outage}`,
      });
    }
    return typhaHealthReport(reporters);
  }

  #dropped(reason: string): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
    this.#m.dropped?.inc();
  }

  #refuse(s: Socket, code: string, message: string, reason: string): void {
    this.#dropped(reason);
    this.#o.log?.(`typha: refusing ${s.remoteAddress ?? '?'}:${s.remotePort ?? '?'}: ${message}`);
    s.on('error', () => undefined);
    s.end(encodeFrame({ t: 'error', code, message }));
    this.#cutLater(s);
  }

  #accept(s: Socket): void {
    const max = this.#o.maxConnections ?? TYPHA_DEFAULTS.maxConnections;
    if (this.#conns.size >= max) {
      // shed the excess: the client moves on to another replica
      this.#refuse(s, 'ERR_TYPHA_CONNECTION_LIMIT', `this Typha serves at most ${max} connections; try another replica`, 'connection limit');
      return;
    }
    this.#m.accepted?.inc();
    s.setNoDelay(true);
    const c = new Connection(s);
    this.#conns.add(c);
    const decoder = new FrameDecoder();
    const handshake = setTimeout(() => this.#drop(c, 'handshake timeout', 'ERR_TIMEOUT', 'no ClientHello in time'), this.#o.handshakeTimeoutMs ?? TYPHA_DEFAULTS.handshakeTimeoutMs);
    s.on('data', (chunk: Buffer) => {
      let msgs: unknown[];
      try {
        msgs = decoder.push(chunk);
      } catch (e) {
        this.#drop(c, 'protocol error', 'ERR_PARSE', (e as Error).message);
        return;
      }
      for (const m of msgs) {
        const msg = m as { t?: unknown; syncerType?: unknown; ts?: unknown; revision?: unknown };
        if (msg.t === 'hello' && c.state === 'handshake') {
          clearTimeout(handshake);
          const type = msg.syncerType === undefined || msg.syncerType === '' ? 'felix' : msg.syncerType;
          const cache = isSyncerType(type) ? this.#caches.get(type) : undefined;
          if (cache === undefined) {
            this.#drop(c, 'unknown syncer', 'ERR_VALIDATION', `syncerType: ${JSON.stringify(type)} is not served here (served: ${[...this.#caches.keys()].join(', ')})`);
            return;
          }
          if (msg.revision !== undefined && !(typeof msg.revision === 'number' && Number.isSafeInteger(msg.revision) && msg.revision >= 0)) {
            this.#drop(c, 'protocol error', 'ERR_VALIDATION', `revision: ${JSON.stringify(msg.revision)} is not a revision (a non-negative integer)`);
            return;
          }
          c.syncerType = cache.type;
          c.state = 'waiting';
          c.minRevision = typeof msg.revision === 'number' ? msg.revision : 0;
          this.#write(c, [encodeFrame({ t: 'serverHello', syncerType: cache.type, version: PROTOCOL_VERSION, serverConnId: c.id })], false);
          if (c.minRevision > cache.revision) {
            // a client coming from a replica that is ahead of us: give our watch time to catch up
            c.catchUp = setTimeout(() => {
              c.catchUp = undefined;
              if (c.state === 'waiting' && cache.status === 'InSync') this.#startStreaming(c, cache);
            }, this.#o.catchUpTimeoutMs ?? TYPHA_DEFAULTS.catchUpTimeoutMs);
          }
          if (cache.status === 'InSync' && cache.revision >= c.minRevision) this.#startStreaming(c, cache);
        } else if (msg.t === 'pong' && typeof msg.ts === 'number') {
          if (c.pingSentAt !== undefined) this.#m.ping?.observe((Date.now() - c.pingSentAt) / 1000);
          c.pingSentAt = undefined;
        } else {
          this.#drop(c, 'protocol error', 'ERR_PARSE', `unexpected message ${JSON.stringify(msg.t)} in state ${c.state}`);
          return;
        }
      }
    });
    s.on('drain', () => {
      if (c.stalledSince !== undefined) this.#m.writeLatency?.observe((Date.now() - c.stalledSince) / 1000);
      c.stalledSince = undefined;
      this.#flush(c);
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(handshake);
      clearTimeout(c.catchUp);
      c.catchUp = undefined;
      c.state = 'closed';
      c.queue.length = 0;
      this.#conns.delete(c);
    });
  }

  #inSync(cache: SyncerCache): void {
    this.#startCaughtUp(cache);
  }

  /** Start the waiting connections of this cache whose revision the cache has reached. */
  #startCaughtUp(cache: SyncerCache): void {
    for (const c of this.#conns) if (c.state === 'waiting' && c.syncerType === cache.type && cache.revision >= c.minRevision) this.#startStreaming(c, cache);
  }

  #startStreaming(c: Connection, cache: SyncerCache): void {
    clearTimeout(c.catchUp);
    c.catchUp = undefined;
    const snap = cache.snapshot();
    if (snap.reused) this.#m.reused?.inc();
    else {
      this.#m.generated?.inc();
      this.#m.rawBytes?.observe(snap.bytes);
    }
    c.state = 'streaming';
    const startedAt = Date.now();
    c.onSnapshotSent = () => this.#m.snapshotSend?.observe((Date.now() - startedAt) / 1000);
    this.#write(c, [...snap.frames, encodeFrame({ t: 'status', status: 'InSync', revision: cache.revision })], false);
  }

  #fanOut(cache: SyncerCache, frames: Buffer[], count: number): void {
    this.#m.updates?.inc(count);
    for (let i = 0; i < frames.length; i++) this.#m.kvsPerMsg?.observe(Math.min(MAX_KVS_PER_MSG, count - i * MAX_KVS_PER_MSG));
    for (const c of this.#conns) if (c.state === 'streaming' && c.syncerType === cache.type) this.#write(c, frames, true);
    // after the deltas: a connection started now gets a snapshot that already holds them
    this.#startCaughtUp(cache);
  }

  #write(c: Connection, frames: readonly Buffer[], delta: boolean): void {
    if (c.state === 'closed') return;
    const at = Date.now();
    for (const buf of frames) {
      c.queue.push({ buf, delta, at });
      if (delta) c.deltaBytes += buf.length;
    }
    const max = this.#o.maxQueuedBytes ?? TYPHA_DEFAULTS.maxQueuedBytes;
    if (c.deltaBytes > max) {
      this.#drop(c, 'too slow', 'ERR_TIMEOUT', `client fell behind: ${c.deltaBytes} bytes of updates queued (limit ${max})`);
      return;
    }
    this.#flush(c);
  }

  #flush(c: Connection): void {
    const s = c.socket;
    while (c.queue.length > 0 && !s.writableNeedDrain && c.state !== 'closed') {
      const e = c.queue.shift() as Queued;
      if (e.delta) {
        c.deltaBytes -= e.buf.length;
        this.#m.clientLatency?.observe((Date.now() - e.at) / 1000);
      }
      // the snapshot is sent when its last frame (the status) leaves the queue
      const done = !e.delta && c.onSnapshotSent !== undefined && !c.queue.some((q) => !q.delta) ? c.onSnapshotSent : undefined;
      if (done !== undefined) c.onSnapshotSent = undefined;
      s.write(e.buf, done === undefined ? undefined : () => done());
    }
    if (s.writableNeedDrain && c.stalledSince === undefined) c.stalledSince = Date.now();
  }

  #housekeeping(): void {
    this.#lastHousekeeping = performance.now();
    const now = Date.now();
    const ping = this.#o.pingIntervalMs ?? TYPHA_DEFAULTS.pingIntervalMs;
    const pong = this.#o.pongTimeoutMs ?? TYPHA_DEFAULTS.pongTimeoutMs;
    const write = this.#o.writeTimeoutMs ?? TYPHA_DEFAULTS.writeTimeoutMs;
    const behind = this.#o.maxFallBehindMs ?? TYPHA_DEFAULTS.maxFallBehindMs;
    for (const c of [...this.#conns]) {
      if (c.state !== 'streaming') continue;
      if (c.pingSentAt !== undefined && now - c.pingSentAt > pong) {
        this.#drop(c, 'pong timeout', 'ERR_TIMEOUT', `no pong within ${pong} ms`);
        continue;
      }
      if (c.stalledSince !== undefined && now - c.stalledSince > write) {
        this.#drop(c, 'write timeout', 'ERR_TIMEOUT', `socket blocked for more than ${write} ms`);
        continue;
      }
      const oldest = c.queue.find((q) => q.delta);
      if (oldest !== undefined && now - oldest.at > behind) {
        this.#drop(c, 'too slow', 'ERR_TIMEOUT', `client fell more than ${behind} ms behind`);
        continue;
      }
      if (c.pingSentAt === undefined && now - c.lastPingAt >= ping) {
        c.pingSentAt = now;
        c.lastPingAt = now;
        c.queue.push({ buf: encodeFrame({ t: 'ping', ts: now }), delta: false, at: now });
        this.#flush(c);
      }
    }
  }

  #drop(c: Connection, reason: string, code: string, message: string): void {
    if (c.state === 'closed') return;
    this.#dropped(reason);
    this.#o.log?.(`typha: dropping ${c.remote} (${c.syncerType ?? 'no syncer yet'}): ${message}`);
    c.state = 'closed';
    c.queue.length = 0;
    this.#conns.delete(c);
    const msg: ServerMessage = { t: 'error', code, message };
    // a stalled socket cannot take the goodbye: just cut it
    if (c.socket.writableNeedDrain) c.socket.destroy();
    else {
      c.socket.end(encodeFrame(msg));
      this.#cutLater(c.socket);
    }
  }

  /** Destroy a socket that was sent its goodbye one second from now (or at stop). */
  #cutLater(s: Socket): void {
    const t = setTimeout(() => {
      this.#closing.delete(s);
      s.destroy();
    }, 1000);
    t.unref();
    this.#closing.set(s, t);
    s.once('close', () => {
      clearTimeout(t);
      this.#closing.delete(s);
    });
  }

  /** Stop listening, close every client and the datastore watches. */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    const server = this.#server;
    this.#server = undefined;
    for (const c of [...this.#conns]) {
      c.state = 'closed';
      clearTimeout(c.catchUp);
      c.catchUp = undefined;
      c.socket.destroy();
    }
    this.#conns.clear();
    for (const [s, t] of this.#closing) {
      clearTimeout(t);
      s.destroy();
    }
    this.#closing.clear();
    await Promise.all([...this.#caches.values()].map((c) => c.stop()));
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
