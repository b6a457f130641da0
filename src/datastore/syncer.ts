// The "watcher cache" of node contract §1.4 over a set of key prefixes: list each prefix, emit
// what it holds, then watch from the list revision + 1. A cache of key → mod revision makes a
// re-list (after compaction) emit only what changed, plus a deletion for every key that
// vanished meanwhile. Status goes WaitForDatastore → ResyncInProgress → InSync (once every
// prefix has completed its first list). Consumers decide existence from `value` being
// undefined or not, as Calico's do.

import { MutableDisposable, timeout, type IDisposable } from '../base/index.ts';
import type { DatastoreBackend, Watch, WatchEvent } from './backend.ts';
import { KVSnapshot, type SyncUpdate } from './kv-snapshot.ts';

export type { SyncUpdate } from './kv-snapshot.ts';

export const SYNC_STATUSES = ['WaitForDatastore', 'ResyncInProgress', 'InSync'] as const;
export type SyncStatus = (typeof SYNC_STATUSES)[number];


export interface SyncerCallbacks {
  onStatus(status: SyncStatus): void;
  onUpdates(updates: readonly SyncUpdate[]): void;
  /**
   * Optional: the datastore became unreachable (`connected` false, with what failed) or
   * reachable again. Reported on change only, for status: the syncer keeps retrying by itself,
   * and the status stays InSync across an outage (what was delivered is still the last word).
   */
  onConnection?(connected: boolean, detail: string | undefined): void;
}

export interface SyncerOptions {
  /** Wait after a failed list before retrying (Calico: 1 s). */
  readonly listRetryMs?: number;
  /** Minimum gap between two resyncs of one prefix (Calico: 500 ms). */
  readonly minResyncGapMs?: number;
}

interface PrefixState {
  readonly prefix: string;
  /** What was sent downstream for this prefix. */
  readonly cache: KVSnapshot;
  watch: Watch | undefined;
  listed: boolean;
  lastResyncAt: number;
  /** A resync put off (spacing, or a retry after a failure). */
  readonly timer: MutableDisposable<IDisposable>;
  /** Bumped on every resync; events from an older watch are ignored. */
  generation: number;
  /** False while this prefix's list or watch cannot reach the datastore. */
  reachable: boolean;
}

export class Syncer {
  private readonly backend: DatastoreBackend;
  private readonly cb: SyncerCallbacks;
  private readonly listRetryMs: number;
  private readonly minGapMs: number;
  private readonly states: PrefixState[];
  private status: SyncStatus | undefined;
  private stopped = false;
  private connected = true;

  constructor(backend: DatastoreBackend, prefixes: readonly string[], callbacks: SyncerCallbacks, opts: SyncerOptions = {}) {
    this.backend = backend;
    this.cb = callbacks;
    this.listRetryMs = opts.listRetryMs ?? 1000;
    this.minGapMs = opts.minResyncGapMs ?? 500;
    this.states = prefixes.map((prefix) => ({
      prefix,
      cache: new KVSnapshot(),
      watch: undefined,
      listed: false,
      lastResyncAt: -Infinity,
      timer: new MutableDisposable(),
      generation: 0,
      reachable: true,
    }));
  }

  start(): void {
    this.setStatus('WaitForDatastore');
    for (const s of this.states) void this.resync(s);
    if (this.states.length === 0) this.setStatus('InSync');
  }

  private setStatus(st: SyncStatus): void {
    if (this.stopped || this.status === st) return;
    this.status = st;
    this.cb.onStatus(st);
  }

  private later(s: PrefixState, ms: number): void {
    if (this.stopped) return;
    s.timer.value = timeout(() => {
      s.timer.clear();
      void this.resync(s);
    }, ms);
  }

  private async resync(s: PrefixState): Promise<void> {
    if (this.stopped) return;
    const gap = s.lastResyncAt + this.minGapMs - Date.now();
    if (gap > 0) {
      this.later(s, gap);
      return;
    }
    s.lastResyncAt = Date.now();
    const gen = ++s.generation;
    const old = s.watch;
    s.watch = undefined;
    await old?.close();
    let listed;
    try {
      listed = await this.backend.list(s.prefix);
    } catch (e) {
      // datastore down: stay in (or go back to) waiting, and retry
      if (!this.stopped && gen === s.generation) {
        this.setReachable(s, false, `listing ${s.prefix}: ${(e as Error).message}`);
        if (!this.states.every((x) => x.listed)) this.setStatus('WaitForDatastore');
        this.later(s, this.listRetryMs);
      }
      return;
    }
    if (this.stopped || gen !== s.generation) return;
    this.setReachable(s, true, undefined);
    this.setStatus(this.states.every((x) => x.listed) ? 'InSync' : 'ResyncInProgress');
    // only what changed, and a deletion for each key that vanished while we were not watching
    const updates = s.cache.diff(listed.items, listed.revision);
    if (updates.length > 0) this.cb.onUpdates(updates);
    s.listed = true;
    if (this.states.every((x) => x.listed)) this.setStatus('InSync');
    s.watch = this.backend.watch(s.prefix, listed.revision + 1, {
      onEvents: (events) => {
        if (!this.stopped && gen === s.generation) this.apply(s, events);
      },
      onCompacted: () => {
        if (!this.stopped && gen === s.generation) {
          s.watch = undefined;
          void this.resync(s);
        }
      },
      onConnectionState: (state) => {
        if (!this.stopped && gen === s.generation) this.setReachable(s, state === 'connected', state === 'connected' ? undefined : `watch on ${s.prefix} lost its connection (reconnecting)`);
      },
    });
  }

  private setReachable(s: PrefixState, reachable: boolean, detail: string | undefined): void {
    s.reachable = reachable;
    const all = this.states.every((x) => x.reachable);
    if (all === this.connected || this.stopped) return;
    this.connected = all;
    this.cb.onConnection?.(all, detail);
  }

  private apply(s: PrefixState, events: readonly WatchEvent[]): void {
    const updates = s.cache.apply(
      events.map((e): SyncUpdate => (e.type === 'put' ? { key: e.kv.key, value: e.kv.value, revision: e.kv.modRevision } : { key: e.key, value: undefined, revision: e.revision })),
    );
    if (updates.length > 0) this.cb.onUpdates(updates);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(
      this.states.map(async (s) => {
        s.timer.dispose();
        s.generation++;
        const w = s.watch;
        s.watch = undefined;
        await w?.close();
      }),
    );
  }
}
