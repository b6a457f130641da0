// Typha's wire protocol, our own (node contract §6.3 allows it when both ends are ours): frames
// of a 4-byte big-endian length and one JSON message. The conversation follows Calico's:
// ClientHello (which syncer) → ServerHello → the snapshot as KVs messages of at most 100
// updates → SyncStatus InSync (with the snapshot's revision) → deltas as KVs messages; Ping
// from the server, Pong from the client; an Error message before the server closes on purpose
// (unknown syncer, connection limit, too slow), so the client can say why.

import { TricolorError } from '../base/index.ts';
import type { SyncStatus, SyncUpdate } from '../datastore/index.ts';

export const PROTOCOL_VERSION = 1;
/** Calico's ServerMaxMessageSize: KVs per message. */
export const MAX_KVS_PER_MSG = 100;
/** A frame larger than this is a protocol error (a snapshot is split into many frames). */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;

/** The syncer types a Typha serves (Calico's names; `felix` is the default). */
export const SYNCER_TYPES = ['felix', 'bgp', 'proxy'] as const;
export type SyncerType = (typeof SYNCER_TYPES)[number];

export function isSyncerType(s: unknown): s is SyncerType {
  return typeof s === 'string' && (SYNCER_TYPES as readonly string[]).includes(s);
}

/** One update on the wire: key, value (absent = deleted), revision. */
export interface WireKV {
  readonly k: string;
  readonly v?: string;
  readonly r: number;
}

export type ClientMessage =
  | {
      readonly t: 'hello';
      readonly syncerType: SyncerType;
      readonly hostname: string;
      readonly info: string;
      readonly version: number;
      /**
       * The highest revision this client has already been given (0 or absent: none). A server whose
       * cache is behind it waits (bounded) until it caught up before sending its snapshot, so a
       * client moving to a replica that lags never sees the state go back in time.
       */
      readonly revision?: number;
    }
  | { readonly t: 'pong'; readonly ts: number };

export type ServerMessage =
  | { readonly t: 'serverHello'; readonly syncerType: SyncerType; readonly version: number; readonly serverConnId: string }
  | { readonly t: 'kvs'; readonly kvs: readonly WireKV[] }
  | { readonly t: 'status'; readonly status: SyncStatus; readonly revision: number }
  | { readonly t: 'ping'; readonly ts: number }
  | { readonly t: 'error'; readonly code: string; readonly message: string };

export function encodeFrame(msg: ClientMessage | ServerMessage): Buffer {
  const body = Buffer.from(JSON.stringify(msg), 'utf8');
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

/** Updates → KVs frames of at most MAX_KVS_PER_MSG each. */
export function kvsFrames(updates: readonly SyncUpdate[]): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < updates.length; i += MAX_KVS_PER_MSG) {
    const kvs = updates.slice(i, i + MAX_KVS_PER_MSG).map((u): WireKV => (u.value === undefined ? { k: u.key, r: u.revision } : { k: u.key, v: u.value, r: u.revision }));
    out.push(encodeFrame({ t: 'kvs', kvs }));
  }
  return out;
}

export function toSyncUpdate(kv: WireKV): SyncUpdate {
  return { key: kv.k, value: kv.v, revision: kv.r };
}

/** Reassembles frames from a byte stream; throws ERR_PARSE on a malformed one. */
export class FrameDecoder {
  #buf: Buffer = Buffer.alloc(0);

  /** Bytes in, whole messages out. */
  push(chunk: Buffer): unknown[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const out: unknown[] = [];
    while (this.#buf.length >= 4) {
      const n = this.#buf.readUInt32BE(0);
      if (n > MAX_FRAME_BYTES) throw new TricolorError('ERR_PARSE', `typha: a frame of ${n} bytes is larger than ${MAX_FRAME_BYTES}`, { field: 'frame length', value: n });
      if (this.#buf.length < 4 + n) break;
      const body = this.#buf.subarray(4, 4 + n).toString('utf8');
      this.#buf = this.#buf.subarray(4 + n);
      try {
        out.push(JSON.parse(body));
      } catch {
        throw new TricolorError('ERR_PARSE', `typha: a frame is not JSON: ${body.slice(0, 80)}`, { field: 'frame', value: body.slice(0, 80) });
      }
    }
    return out;
  }

  /** Bytes received but not yet a whole frame. */
  get pendingBytes(): number {
    return this.#buf.length;
  }
}
