// What a consumer of raw key/values has been told, as key → mod revision, and how a fresh
// complete snapshot turns into only the difference. The syncer keeps one per watched prefix (a
// re-list after compaction); a Typha client keeps one for its whole stream (a reconnect to another
// Typha): in both cases the consumer sees nothing until the new snapshot is complete, then puts
// for what is new or changed and a deletion for every key that vanished meanwhile.

import type { StoredKV } from './resource-codec.ts';

/** One raw change: `value` undefined means the key is gone. */
export interface SyncUpdate {
  readonly key: string;
  /** undefined = the key is gone. */
  readonly value: string | undefined;
  /** The mod revision of the write (or the delete's revision). */
  readonly revision: number;
}

export class KVSnapshot {
  /** key → mod revision of everything delivered downstream. */
  #delivered = new Map<string, number>();

  get size(): number {
    return this.#delivered.size;
  }

  has(key: string): boolean {
    return this.#delivered.has(key);
  }

  /**
   * A complete snapshot (every key the consumer covers, taken at `revision`) → the updates that
   * bring the consumer from what it was told to the snapshot. Unchanged keys produce nothing.
   */
  diff(items: Iterable<StoredKV>, revision: number): SyncUpdate[] {
    const out: SyncUpdate[] = [];
    const next = new Map<string, number>();
    for (const kv of items) {
      next.set(kv.key, kv.modRevision);
      if (this.#delivered.get(kv.key) !== kv.modRevision) out.push({ key: kv.key, value: kv.value, revision: kv.modRevision });
    }
    for (const key of this.#delivered.keys()) {
      if (!next.has(key)) out.push({ key, value: undefined, revision });
    }
    this.#delivered = next;
    return out;
  }

  /** Deltas in revision order → what to deliver (a deletion of a key never delivered is dropped). */
  apply(updates: Iterable<SyncUpdate>): SyncUpdate[] {
    const out: SyncUpdate[] = [];
    for (const u of updates) {
      if (u.value !== undefined) {
        this.#delivered.set(u.key, u.revision);
        out.push(u);
      } else if (this.#delivered.delete(u.key)) {
        out.push(u);
      }
    }
    return out;
  }
}
