// Buffers calc-graph outputs between flushes, coalesces repeated changes to one object (one
// pending entry per key; the message is built at flush time from current state) and emits them in
// the order the dataplane relies on (node contract §4.2; docs/design/seams.md): IP sets →
// policies → profiles → endpoints → encapsulation → hosts → VXLAN tunnels → routes for
// adds/updates, then removals in reverse (routes → tunnels → hosts → endpoints → profiles →
// policies → IP sets), then InSync.

import type { CalcMessage } from './messages.ts';

export const SEQUENCER_CATEGORIES = ['ipset', 'policy', 'profile', 'wep', 'hep', 'encap', 'host', 'vtep', 'route'] as const;
export type SequencerCategory = (typeof SEQUENCER_CATEGORIES)[number];

const REMOVE_ORDER: readonly SequencerCategory[] = ['route', 'vtep', 'host', 'encap', 'wep', 'hep', 'profile', 'policy', 'ipset'];

type Pending = { readonly op: 'update'; readonly build: () => CalcMessage } | { readonly op: 'remove'; readonly build: () => CalcMessage };

export class EventSequencer {
  private readonly pending = new Map<SequencerCategory, Map<string, Pending>>();
  /** Keys the dataplane currently has, per category. */
  private readonly sent = new Map<SequencerCategory, Set<string>>();
  private inSyncPending = false;

  constructor() {
    for (const c of SEQUENCER_CATEGORIES) {
      this.pending.set(c, new Map());
      this.sent.set(c, new Set());
    }
  }

  update(cat: SequencerCategory, key: string, build: () => CalcMessage): void {
    this.pending.get(cat)?.set(key, { op: 'update', build });
  }

  remove(cat: SequencerCategory, key: string, build: () => CalcMessage): void {
    const p = this.pending.get(cat);
    if (p === undefined) return;
    // Never sent: the add and the remove cancel out.
    if (!(this.sent.get(cat)?.has(key) ?? false)) p.delete(key);
    else p.set(key, { op: 'remove', build });
  }

  markInSync(): void {
    this.inSyncPending = true;
  }

  isSent(cat: SequencerCategory, key: string): boolean {
    return this.sent.get(cat)?.has(key) ?? false;
  }

  hasPending(): boolean {
    for (const p of this.pending.values()) if (p.size > 0) return true;
    return this.inSyncPending;
  }

  flush(): CalcMessage[] {
    const out: CalcMessage[] = [];
    const sortedKeys = (m: Map<string, Pending>, op: Pending['op']): string[] =>
      [...m.entries()].filter(([, v]) => v.op === op).map(([k]) => k).sort();
    for (const cat of SEQUENCER_CATEGORIES) {
      const m = this.pending.get(cat) as Map<string, Pending>;
      const sent = this.sent.get(cat) as Set<string>;
      for (const k of sortedKeys(m, 'update')) {
        out.push((m.get(k) as Pending).build());
        sent.add(k);
      }
    }
    for (const cat of REMOVE_ORDER) {
      const m = this.pending.get(cat) as Map<string, Pending>;
      const sent = this.sent.get(cat) as Set<string>;
      for (const k of sortedKeys(m, 'remove')) {
        out.push((m.get(k) as Pending).build());
        sent.delete(k);
      }
    }
    for (const m of this.pending.values()) m.clear();
    if (this.inSyncPending) {
      out.push({ type: 'InSync' });
      this.inSyncPending = false;
    }
    return out;
  }
}
