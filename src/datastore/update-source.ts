// The typed update stream a long-running reader consumes (the node agent, the service proxy):
// a snapshot, then deltas, an in-sync mark and the connection state, every value already decoded
// by the one codec. Today it is the local syncer over the datastore plus the codec
// (`localUpdateSource`); a Typha client is another implementation that feeds its raw wire updates
// through the same `DecodingUpdateSource`, so the agent cannot tell the two apart.
// docs/design/update-source.md states what every implementation promises.

import { kindInfo, type AnyResource, type KindInfo, type KindRef } from '../api/index.ts';
import type { IAsyncDisposable, TricolorError } from '../base/index.ts';
import type { DatastoreBackend } from './backend.ts';
import { HOST_PREFIX } from './ipam-keys.ts';
import type { SyncUpdate } from './kv-snapshot.ts';
import { decodeBlockAffinity, decodeResource, isBlockAffinityKey, storedResourceKey, type StoredBlockAffinity } from './resource-codec.ts';
import { Syncer, type SyncerCallbacks, type SyncerOptions, type SyncStatus } from './syncer.ts';

/** A stored resource changed. `value` undefined: gone, or present but invalid (`problem`). */
export interface ResourceUpdate {
  readonly type: 'resource';
  readonly key: string;
  readonly info: KindInfo;
  /**
   * The object's API name: the decoded value's (a legacy `default.<name>` policy is `<name>`).
   * For an absent value: the name this key was last delivered under, so that a deletion always
   * names the object the consumer holds.
   */
  readonly name: string;
  readonly namespace: string | undefined;
  /** Mod revision of the write, or the revision of the delete. */
  readonly revision: number;
  readonly value: AnyResource | undefined;
  /** Why a present value is treated as absent (field and value at fault, when known). */
  readonly problem?: TricolorError;
}

/** A block affinity changed (`value` undefined: gone). */
export interface BlockAffinityUpdate {
  readonly type: 'blockAffinity';
  readonly key: string;
  readonly revision: number;
  readonly value: StoredBlockAffinity | undefined;
}

export type StoredUpdate = ResourceUpdate | BlockAffinityUpdate;

export type UpdateSourceStatus = SyncStatus;

/** Reachability of the datastore (or of Typha) behind the source, reported on change. */
export type ConnectionState = { readonly connected: true } | { readonly connected: false; readonly detail: string };

export interface UpdateSink {
  /** WaitForDatastore → ResyncInProgress → InSync, each reported once, in that order. */
  onStatus(status: UpdateSourceStatus): void;
  /** A batch of changes; see docs/design/update-source.md for order and consistency. */
  onUpdates(updates: readonly StoredUpdate[]): void;
  onConnection?(state: ConnectionState): void;
}

export interface UpdateSource extends IAsyncDisposable {
  /** For logs and status: what the stream comes from. */
  readonly description: string;
  /** Begin delivering to `sink`. Called at most once. */
  start(sink: UpdateSink): void;
  /** Stop; no sink method is called once the returned promise settles. Idempotent. */
  dispose(): Promise<void>;
}

/** What a reader wants: resource kinds, and optionally every node's block affinities. */
export interface UpdateSelection {
  readonly kinds: readonly KindRef[];
  readonly blockAffinities?: boolean;
}

/** The datastore key prefixes a selection covers (what a syncer watches, or Typha serves). */
export function selectionPrefixes(sel: UpdateSelection): string[] {
  const out = sel.kinds.map((k) => kindInfo(k).keyPrefix);
  if (sel.blockAffinities === true) out.push(HOST_PREFIX);
  return out;
}

/** The raw stream an UpdateSource decodes: the local Syncer, or a Typha client's wire stream. */
export interface RawUpdateStream {
  start(callbacks: SyncerCallbacks): void;
  stop(): Promise<void>;
}

interface Delivered {
  readonly name: string;
  readonly namespace: string | undefined;
}

/**
 * Raw key/values → typed updates through the codec, for any raw stream. It remembers under
 * which name each key was delivered, so a deletion (or an invalid value) names the object the
 * consumer holds, and a key whose value now decodes to another name (a policy gaining its
 * metadata annotation) is delivered as the old name's deletion followed by the new object.
 */
export class DecodingUpdateSource implements UpdateSource {
  readonly description: string;
  readonly #raw: RawUpdateStream;
  readonly #prefixes: readonly string[];
  readonly #delivered = new Map<string, Delivered>();
  #sink: UpdateSink | undefined;
  #disposed: Promise<void> | undefined;

  constructor(raw: RawUpdateStream, selection: UpdateSelection, description: string) {
    this.#raw = raw;
    this.#prefixes = selectionPrefixes(selection);
    this.description = description;
  }

  start(sink: UpdateSink): void {
    if (this.#sink !== undefined) throw new Error('UpdateSource: start() called twice'); // a bug
    this.#sink = sink;
    this.#raw.start({
      onStatus: (s) => {
        if (this.#disposed === undefined) sink.onStatus(s);
      },
      onUpdates: (us) => {
        if (this.#disposed !== undefined) return;
        const out = this.decode(us);
        if (out.length > 0) sink.onUpdates(out);
      },
      onConnection: (connected, detail) => {
        if (this.#disposed === undefined) sink.onConnection?.(connected ? { connected: true } : { connected: false, detail: detail ?? 'unreachable' });
      },
    });
  }

  /** Decode one raw batch (exposed for implementations that buffer, and for tests). */
  decode(updates: readonly SyncUpdate[]): StoredUpdate[] {
    const out: StoredUpdate[] = [];
    for (const u of updates) {
      if (!this.#prefixes.some((p) => u.key.startsWith(p))) continue;
      if (isBlockAffinityKey(u.key)) {
        const value = u.value === undefined ? undefined : decodeBlockAffinity(u.key, u.value);
        out.push({ type: 'blockAffinity', key: u.key, revision: u.revision, value });
        continue;
      }
      const prev = this.#delivered.get(u.key);
      if (u.value === undefined) {
        if (prev === undefined) continue; // never delivered: nothing to take back
        const gone = storedResourceKey(u.key);
        if (gone === undefined) continue;
        this.#delivered.delete(u.key);
        out.push({ type: 'resource', key: u.key, info: gone.info, name: prev.name, namespace: prev.namespace, revision: u.revision, value: undefined });
        continue;
      }
      const d = decodeResource({ key: u.key, value: u.value, modRevision: u.revision });
      if (d === undefined) continue; // not a key of a known kind
      if (d.ok) {
        const name = d.resource.metadata.name;
        const namespace = d.info.namespaced ? d.resource.metadata.namespace : undefined;
        if (prev !== undefined && (prev.name !== name || prev.namespace !== namespace)) {
          out.push({ type: 'resource', key: u.key, info: d.info, name: prev.name, namespace: prev.namespace, revision: u.revision, value: undefined });
        }
        this.#delivered.set(u.key, { name, namespace });
        out.push({ type: 'resource', key: u.key, info: d.info, name, namespace, revision: u.revision, value: d.resource });
      } else {
        const id = prev ?? { name: d.keyName, namespace: d.namespace };
        this.#delivered.set(u.key, id);
        out.push({ type: 'resource', key: u.key, info: d.info, name: id.name, namespace: id.namespace, revision: u.revision, value: undefined, problem: d.problem });
      }
    }
    return out;
  }

  dispose(): Promise<void> {
    this.#disposed ??= this.#raw.stop();
    return this.#disposed;
  }
}

export interface LocalUpdateSourceOptions extends SyncerOptions {
  /** For the description: which datastore. */
  readonly label?: string;
}

/** The local implementation: a syncer over the datastore, decoded by the codec. */
export function localUpdateSource(backend: DatastoreBackend, selection: UpdateSelection, opts: LocalUpdateSourceOptions = {}): DecodingUpdateSource {
  const prefixes = selectionPrefixes(selection);
  let syncer: Syncer | undefined;
  const raw: RawUpdateStream = {
    start: (cb) => {
      syncer = new Syncer(backend, prefixes, cb, opts);
      syncer.start();
    },
    stop: async () => {
      await syncer?.stop();
    },
  };
  return new DecodingUpdateSource(raw, selection, `${opts.label ?? `${backend.type} datastore`} (${prefixes.length} prefixes)`);
}
