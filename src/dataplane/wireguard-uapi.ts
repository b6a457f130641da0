// WireGuard's cross-platform userspace API (wireguard.com/xplatform): the text protocol spoken on
// `<dir>/<ifname>.sock` by wireguard-go, rendered and parsed here without touching a socket.
// Keys travel in hex on the wire and in base64 everywhere users see them (wg(8), Node
// `status.wireguardPublicKey`); X25519 key pairs are made with node:crypto.

import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { TricolorError, quote } from '../base/index.ts';

/** 32 bytes, base64 with one `=` of padding: how WireGuard prints keys. */
export const WIREGUARD_KEY_PATTERN = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

export function isWireGuardKey(s: unknown): s is string {
  return typeof s === 'string' && WIREGUARD_KEY_PATTERN.test(s);
}

/** base64 key → 64 hex digits; throws ERR_VALIDATION naming the key. */
export function keyToHex(key: string, what = 'key'): string {
  if (!isWireGuardKey(key)) throw new TricolorError('ERR_VALIDATION', `${what}: ${quote(key)} is not a WireGuard key (32 bytes, base64)`, { value: key });
  return Buffer.from(key, 'base64').toString('hex');
}

export function hexToKey(hex: string): string {
  if (!/^[0-9a-f]{64}$/i.test(hex)) throw new TricolorError('ERR_VALIDATION', `${quote(hex)} is not a 32-byte hex key`, { value: hex });
  return Buffer.from(hex, 'hex').toString('base64');
}

// DER prefixes of X25519 keys (RFC 8410): PKCS#8 private, SPKI public; the raw 32 bytes follow.
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_X25519_LENGTH = 44;

/** A new private key (base64), as `wg genkey` prints it. */
export function generatePrivateKey(): string {
  const { privateKey } = generateKeyPairSync('x25519');
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  return der.subarray(der.length - 32).toString('base64');
}

/** The public key of a private key (both base64), as `wg pubkey` computes it. */
export function publicKeyOf(privateKey: string): string {
  const raw = Buffer.from(keyToHex(privateKey, 'private key'), 'hex');
  const pub = createPublicKey(createPrivateKey({ key: Buffer.concat([PKCS8_X25519, raw]), format: 'der', type: 'pkcs8' }));
  const der = pub.export({ format: 'der', type: 'spki' });
  if (der.length !== SPKI_X25519_LENGTH) throw new TricolorError('ERR_INTERNAL', `unexpected X25519 SPKI length ${der.length}`);
  return der.subarray(der.length - 32).toString('base64');
}

export interface UAPIPeerSet {
  readonly publicKey: string;
  /** Remove this peer (the other fields are ignored). */
  readonly remove?: boolean;
  readonly endpoint?: string;
  /** Seconds; 0 turns it off. Setting it (from off) makes wireguard-go send a keepalive at once. */
  readonly keepaliveSeconds?: number;
  /** Given: the peer's allowed IPs are replaced by exactly these. */
  readonly allowedIPs?: readonly string[];
}

export interface UAPISet {
  readonly privateKey?: string;
  readonly listenPort?: number;
  readonly fwmark?: number;
  /** Drop every peer not listed here. */
  readonly replacePeers?: boolean;
  readonly peers?: readonly UAPIPeerSet[];
}

/** A `set=1` request (ends with the blank line that closes it). */
export function renderUAPISet(s: UAPISet): string {
  const lines = ['set=1'];
  if (s.privateKey !== undefined) lines.push(`private_key=${keyToHex(s.privateKey, 'private key')}`);
  if (s.listenPort !== undefined) lines.push(`listen_port=${s.listenPort}`);
  if (s.fwmark !== undefined) lines.push(`fwmark=${s.fwmark}`);
  if (s.replacePeers === true) lines.push('replace_peers=true');
  for (const p of s.peers ?? []) {
    lines.push(`public_key=${keyToHex(p.publicKey, 'peer public key')}`);
    if (p.remove === true) {
      lines.push('remove=true');
      continue;
    }
    if (p.endpoint !== undefined) lines.push(`endpoint=${p.endpoint}`);
    if (p.keepaliveSeconds !== undefined) lines.push(`persistent_keepalive_interval=${p.keepaliveSeconds}`);
    if (p.allowedIPs !== undefined) {
      lines.push('replace_allowed_ips=true');
      for (const ip of p.allowedIPs) lines.push(`allowed_ip=${ip}`);
    }
  }
  return lines.join('\n') + '\n\n';
}

export const UAPI_GET = 'get=1\n\n';

export interface UAPIPeerState {
  readonly publicKey: string;
  readonly endpoint: string | undefined;
  /** Unix seconds of the last handshake; 0 = never. */
  readonly lastHandshakeSec: number;
  readonly rxBytes: number;
  readonly txBytes: number;
  readonly keepaliveSeconds: number;
  readonly allowedIPs: readonly string[];
}

export interface UAPIDeviceState {
  readonly privateKey: string | undefined;
  readonly listenPort: number;
  readonly fwmark: number;
  readonly peers: readonly UAPIPeerState[];
}

/** The `errno=N` that ends every reply; undefined when the reply is cut short. */
export function uapiErrno(reply: string): number | undefined {
  const m = /(?:^|\n)errno=(-?\d+)\n/.exec(reply);
  return m === null ? undefined : Number(m[1]);
}

/** Parse a `get=1` reply (throws ERR_IO when it is not a complete, successful one). */
export function parseUAPIGet(reply: string): UAPIDeviceState {
  const errno = uapiErrno(reply);
  if (errno !== 0) throw new TricolorError('ERR_IO', `WireGuard UAPI get failed: ${errno === undefined ? 'incomplete reply' : `errno=${errno}`}`);
  let privateKey: string | undefined;
  let listenPort = 0;
  let fwmark = 0;
  const peers: UAPIPeerState[] = [];
  let cur: { -readonly [K in keyof UAPIPeerState]: UAPIPeerState[K] } | undefined;
  for (const line of reply.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const k = line.slice(0, eq);
    const v = line.slice(eq + 1);
    switch (k) {
      case 'private_key':
        privateKey = /^0+$/.test(v) ? undefined : hexToKey(v);
        break;
      case 'listen_port':
        listenPort = Number(v);
        break;
      case 'fwmark':
        fwmark = Number(v);
        break;
      case 'public_key':
        cur = { publicKey: hexToKey(v), endpoint: undefined, lastHandshakeSec: 0, rxBytes: 0, txBytes: 0, keepaliveSeconds: 0, allowedIPs: [] };
        peers.push(cur);
        break;
      case 'endpoint':
        if (cur !== undefined) cur.endpoint = v;
        break;
      case 'last_handshake_time_sec':
        if (cur !== undefined) cur.lastHandshakeSec = Number(v);
        break;
      case 'rx_bytes':
        if (cur !== undefined) cur.rxBytes = Number(v);
        break;
      case 'tx_bytes':
        if (cur !== undefined) cur.txBytes = Number(v);
        break;
      case 'persistent_keepalive_interval':
        if (cur !== undefined) cur.keepaliveSeconds = Number(v);
        break;
      case 'allowed_ip':
        if (cur !== undefined) cur.allowedIPs = [...cur.allowedIPs, v];
        break;
      default:
        break;
    }
  }
  return { privateKey, listenPort, fwmark, peers };
}
