// The agent's side of Typha: a RawUpdateStream read from a Typha connection instead of the
// datastore, wrapped in the same DecodingUpdateSource as the local syncer (update-source.md), so
// the agent cannot tell the two apart. Every connection's snapshot is collected whole before
// anything is delivered, then turned into the difference against what was already delivered
// (KVSnapshot.diff): the first connection delivers everything, a reconnection — to the same
// replica or another — only what changed while we were away, and a deletion for every key that
// vanished. The dataplane is not touched while a connection is down or a snapshot incomplete.
//
// Timeouts are Felix's: a connection with nothing read for 30 s (Typha pings every 10 s) or a
// write blocked for 10 s is dropped, and the client moves on to the next address.

import { connect as tcpConnect, type Socket } from 'node:net';
import { hostname as osHostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { DecodingUpdateSource, KVSnapshot, type RawUpdateStream, type SyncStatus, type SyncerCallbacks, type UpdateSelection } from '../../datastore/index.ts';
import { FrameDecoder, PROTOCOL_VERSION, encodeFrame, toSyncUpdate, type ServerMessage, type SyncerType, type WireKV } from '../protocol.ts';
import { parseTyphaAddress, peerIdentityProblem, type TyphaClientConfig } from '../typha-config.ts';

export interface TyphaClientOptions {
  readonly syncerType: SyncerType;
  readonly hostname?: string;
  readonly info?: string;
  /** Wait before trying again after every address failed once (doubles up to 8×). Default 500 ms. */
  readonly retryDelayMs?: number;
  readonly log?: (line: string) => void;
  /** Try the addresses in the given order (default: start at a random one, as Calico shuffles). */
  readonly inOrder?: boolean;
}

export class TyphaClient implements RawUpdateStream {
  readonly #cfg: TyphaClientConfig;
  readonly #o: TyphaClientOptions;
  readonly #delivered = new KVSnapshot();
  /** The highest revision delivered (snapshot statuses and deltas), sent in the hello of every reconnection. */
  #revision = 0;
  #cb: SyncerCallbacks | undefined;
  #status: SyncStatus | undefined;
  #connected = true;
  #stopped = false;
  #socket: Socket | undefined;
  #retry: NodeJS.Timeout | undefined;
  /** Write timers not yet cleared by their write's completion (cleared on close and stop). */
  readonly #writeTimers = new Set<NodeJS.Timeout>();
  #next: number;
  #failuresInRow = 0;
  /** Snapshots completed (tests, status). */
  snapshots = 0;
  /** The address of the Typha currently streaming to us. */
  current: string | undefined;

  constructor(cfg: TyphaClientConfig, o: TyphaClientOptions) {
    this.#cfg = cfg;
    this.#o = o;
    this.#next = o.inOrder === true ? 0 : Math.floor(Math.random() * cfg.addresses.length);
  }

  start(cb: SyncerCallbacks): void {
    this.#cb = cb;
    this.#setStatus('WaitForDatastore');
    this.#connect();
  }

  #setStatus(s: SyncStatus): void {
    if (this.#stopped || this.#status === s) return;
    if (this.#status === 'InSync') return; // sticky
    this.#status = s;
    this.#cb?.onStatus(s);
  }

  #setConnected(connected: boolean, detail: string | undefined): void {
    if (this.#stopped || this.#connected === connected) return;
    this.#connected = connected;
    this.#cb?.onConnection?.(connected, detail);
  }

  #connect(): void {
    if (this.#stopped) return;
    const addr = this.#cfg.addresses[this.#next % this.#cfg.addresses.length] ?? '';
    this.#next++;
    const { host, port } = parseTyphaAddress(addr, 'FELIX_TYPHAADDR');
    const tls = this.#cfg.tls;
    let socket: Socket;
    if (tls === undefined) socket = tcpConnect({ host, port });
    else {
      socket = tlsConnect({
        host,
        port,
        ca: readFileSync(tls.caFile),
        cert: readFileSync(tls.certFile),
        key: readFileSync(tls.keyFile),
        // Calico skips host-name verification and pins the server by CN / URI SAN instead
        checkServerIdentity: (_host, cert) => {
          const problem = peerIdentityProblem(cert, tls.cn, tls.uriSAN);
          return problem === undefined ? undefined : new Error(`Typha's certificate refused: ${problem}`);
        },
      });
    }
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.setTimeout(this.#cfg.readTimeoutMs);
    const decoder = new FrameDecoder();
    let detail = `connection to Typha ${addr} closed`;
    let snapshot: Map<string, WireKV> | undefined = new Map();
    let streaming = false;
    const hello = (): void => {
      this.#write(
        socket,
        encodeFrame({ t: 'hello', syncerType: this.#o.syncerType, hostname: this.#o.hostname ?? osHostname(), info: this.#o.info ?? 'tricolor agent', version: PROTOCOL_VERSION, revision: this.#revision }),
      );
    };
    socket.once(tls === undefined ? 'connect' : 'secureConnect', hello);
    socket.on('timeout', () => {
      detail = `nothing from Typha ${addr} for ${this.#cfg.readTimeoutMs} ms`;
      socket.destroy();
    });
    socket.on('data', (chunk: Buffer) => {
      let msgs: unknown[];
      try {
        msgs = decoder.push(chunk);
      } catch (e) {
        detail = `Typha ${addr}: ${(e as Error).message}`;
        socket.destroy();
        return;
      }
      for (const raw of msgs) {
        const m = raw as ServerMessage;
        if (m.t === 'serverHello') {
          if (m.syncerType !== this.#o.syncerType) {
            detail = `Typha ${addr} answered for syncer ${JSON.stringify(m.syncerType)}, not ${this.#o.syncerType}`;
            socket.destroy();
            return;
          }
          this.#setStatus('ResyncInProgress');
        } else if (m.t === 'kvs') {
          if (snapshot !== undefined) {
            for (const kv of m.kvs) {
              if (kv.v === undefined) snapshot.delete(kv.k);
              else snapshot.set(kv.k, kv);
            }
          } else {
            for (const kv of m.kvs) if (kv.r > this.#revision) this.#revision = kv.r;
            const out = this.#delivered.apply(m.kvs.map(toSyncUpdate));
            if (out.length > 0 && !this.#stopped) this.#cb?.onUpdates(out);
          }
        } else if (m.t === 'status') {
          if (m.status !== 'InSync' || snapshot === undefined) continue;
          // the whole snapshot is here: deliver only the difference against what we delivered
          const items = [...snapshot.values()].map((kv) => ({ key: kv.k, value: kv.v ?? '', modRevision: kv.r }));
          snapshot = undefined;
          streaming = true;
          this.#failuresInRow = 0;
          this.current = addr;
          if (m.revision > this.#revision) this.#revision = m.revision;
          const out = this.#delivered.diff(items, m.revision);
          this.snapshots++;
          if (out.length > 0 && !this.#stopped) this.#cb?.onUpdates(out);
          this.#setStatus('InSync');
          this.#setConnected(true, undefined);
        } else if (m.t === 'ping') {
          this.#write(socket, encodeFrame({ t: 'pong', ts: m.ts }));
        } else if (m.t === 'error') {
          detail = `Typha ${addr} closed the connection: ${m.message} (${m.code})`;
        }
      }
    });
    socket.on('error', (e: Error) => {
      detail = `Typha ${addr}: ${e.message}`;
    });
    socket.on('close', () => {
      this.#clearWriteTimers(socket);
      if (this.#socket === socket) this.#socket = undefined;
      this.current = undefined;
      if (this.#stopped) return;
      this.#o.log?.(`typha client: ${detail}`);
      this.#setConnected(false, detail);
      // the next address at once; after a full round of failures, back off
      if (!streaming) this.#failuresInRow++;
      const round = this.#failuresInRow >= this.#cfg.addresses.length;
      const base = this.#o.retryDelayMs ?? 500;
      const delay = round ? Math.min(base * 2 ** Math.floor(this.#failuresInRow / this.#cfg.addresses.length - 1), base * 8) : 0;
      if (this.#retry !== undefined) clearTimeout(this.#retry);
      this.#retry = setTimeout(() => {
        this.#retry = undefined;
        this.#connect();
      }, delay);
    });
  }

  #write(socket: Socket, frame: Buffer): void {
    const timer = setTimeout(() => {
      this.#writeTimers.delete(timer);
      socket.destroy(new Error(`write to Typha blocked for ${this.#cfg.writeTimeoutMs} ms`));
    }, this.#cfg.writeTimeoutMs);
    this.#writeTimers.add(timer);
    socket.write(frame, () => {
      clearTimeout(timer);
      this.#writeTimers.delete(timer);
    });
  }

  /** One socket at a time is written to, so a closed socket's pending writes are all of them. */
  #clearWriteTimers(_closed: Socket): void {
    for (const t of this.#writeTimers) clearTimeout(t);
    this.#writeTimers.clear();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#retry = undefined;
    const s = this.#socket;
    this.#socket = undefined;
    if (s !== undefined && !s.destroyed) {
      await new Promise<void>((resolve) => {
        s.once('close', () => resolve());
        s.destroy();
      });
    }
  }
}

/** The agent's UpdateSource through Typha: the Typha client decoded by the datastore codec. */
export function typhaUpdateSource(cfg: TyphaClientConfig, selection: UpdateSelection, o: TyphaClientOptions): { source: DecodingUpdateSource; client: TyphaClient } {
  const client = new TyphaClient(cfg, o);
  return { source: new DecodingUpdateSource(client, selection, `Typha ${cfg.addresses.join(',')} (syncer ${o.syncerType})`), client };
}
