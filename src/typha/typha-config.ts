// Typha settings, with Calico's names (node contract §6.2, §6.4): the server's
// (TYPHA_SERVERCERTFILE, TYPHA_SERVERKEYFILE, TYPHA_CAFILE, TYPHA_CLIENTCN, TYPHA_CLIENTURISAN,
// TYPHA_MAXCONNECTIONSUPPERLIMIT, …) and the agent's side (FELIX_TYPHAADDR, FELIX_TYPHACAFILE,
// FELIX_TYPHACERTFILE, FELIX_TYPHAKEYFILE, FELIX_TYPHACN, FELIX_TYPHAURISAN,
// FELIX_TYPHAREADTIMEOUT, FELIX_TYPHAWRITETIMEOUT). Defaults are Calico's and live here.

import { TricolorError, quote } from '../base/index.ts';

export const DEFAULT_TYPHA_PORT = 5473;

export const TYPHA_DEFAULTS = {
  port: DEFAULT_TYPHA_PORT,
  pingIntervalMs: 10_000,
  pongTimeoutMs: 60_000,
  handshakeTimeoutMs: 10_000,
  /** How long a snapshot waits for this cache to reach the revision the client already has. */
  catchUpTimeoutMs: 10_000,
  writeTimeoutMs: 120_000,
  /** A client this far behind (oldest unsent delta) is disconnected. */
  maxFallBehindMs: 300_000,
  /** …and so is one with this many bytes of deltas queued (memory stays bounded). */
  maxQueuedBytes: 64 * 1024 * 1024,
  maxConnections: 10_000,
  metricsPort: 9093,
  healthPort: 9098,
} as const;

export const FELIX_TYPHA_DEFAULTS = {
  readTimeoutMs: 30_000,
  writeTimeoutMs: 10_000,
} as const;

/** Server certificate/key and the CA client certificates must chain to; who may connect. */
export interface TyphaServerTLS {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
  readonly clientCN?: string;
  readonly clientURISAN?: string;
}

/** What an agent needs to reach Typha. */
export interface TyphaClientConfig {
  /** host:port of each replica, tried in turn. */
  readonly addresses: readonly string[];
  readonly tls?: { readonly caFile: string; readonly certFile: string; readonly keyFile: string; readonly cn?: string; readonly uriSAN?: string };
  readonly readTimeoutMs: number;
  readonly writeTimeoutMs: number;
}

/** `host:port`, `[v6]:port`, or a host alone (port 5473) → [host, port]. */
export function parseTyphaAddress(text: string, field: string): { host: string; port: number } {
  const t = text.trim();
  const m = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(t) ?? /^([^:[\]\s]+)(?::(\d+))?$/.exec(t);
  const port = m?.[2] === undefined ? DEFAULT_TYPHA_PORT : Number(m[2]);
  if (m === null || m[1] === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TricolorError('ERR_VALIDATION', `${field}: ${quote(text)} is not a Typha address (host:port, [v6]:port or host)`, { field, value: text });
  }
  return { host: m[1], port };
}

function seconds(env: Readonly<Record<string, string | undefined>>, name: string, dflt: number): number {
  const v = env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v.endsWith('s') ? v.slice(0, -1) : v);
  if (!Number.isFinite(n) || n <= 0) throw new TricolorError('ERR_VALIDATION', `${name}: ${quote(v)} is not a positive number of seconds`, { field: name, value: v });
  return Math.round(n * 1000);
}

/** The TLS file trio is all or nothing, and a TLS peer must be pinned by CN or URI SAN. */
function tlsTrio(
  env: Readonly<Record<string, string | undefined>>,
  names: { ca: string; cert: string; key: string; cn: string; uri: string },
): { caFile: string; certFile: string; keyFile: string; cn?: string; uriSAN?: string } | undefined {
  const get = (n: string): string | undefined => (env[n] === undefined || env[n] === '' ? undefined : env[n]);
  const ca = get(names.ca);
  const cert = get(names.cert);
  const key = get(names.key);
  const cn = get(names.cn);
  const uri = get(names.uri);
  if (ca === undefined && cert === undefined && key === undefined) {
    if (cn !== undefined || uri !== undefined) throw new TricolorError('ERR_VALIDATION', `${cn !== undefined ? names.cn : names.uri}: set, but TLS is off (${names.ca}, ${names.cert} and ${names.key} are not set)`, { field: cn !== undefined ? names.cn : names.uri, value: cn ?? uri });
    return undefined;
  }
  for (const [n, v] of [[names.ca, ca], [names.cert, cert], [names.key, key]] as const) {
    if (v === undefined) throw new TricolorError('ERR_VALIDATION', `${n}: must be set when any of ${names.ca}, ${names.cert}, ${names.key} is (TLS is all or nothing)`, { field: n, value: '' });
  }
  if (cn === undefined && uri === undefined) throw new TricolorError('ERR_VALIDATION', `${names.cn}: with TLS, ${names.cn} or ${names.uri} must name the peer to accept`, { field: names.cn, value: '' });
  return { caFile: ca ?? '', certFile: cert ?? '', keyFile: key ?? '', ...(cn !== undefined ? { cn } : {}), ...(uri !== undefined ? { uriSAN: uri } : {}) };
}

/** The agent's Typha settings from Felix's environment; undefined when FELIX_TYPHAADDR is unset. */
export function typhaClientConfigFromEnv(env: Readonly<Record<string, string | undefined>>): TyphaClientConfig | undefined {
  const addr = env['FELIX_TYPHAADDR'];
  if (addr === undefined || addr.trim() === '') return undefined;
  const addresses = addr.split(',').map((a) => a.trim()).filter((a) => a !== '');
  for (const a of addresses) parseTyphaAddress(a, 'FELIX_TYPHAADDR');
  const tls = tlsTrio(env, { ca: 'FELIX_TYPHACAFILE', cert: 'FELIX_TYPHACERTFILE', key: 'FELIX_TYPHAKEYFILE', cn: 'FELIX_TYPHACN', uri: 'FELIX_TYPHAURISAN' });
  return {
    addresses,
    ...(tls !== undefined ? { tls } : {}),
    readTimeoutMs: seconds(env, 'FELIX_TYPHAREADTIMEOUT', FELIX_TYPHA_DEFAULTS.readTimeoutMs),
    writeTimeoutMs: seconds(env, 'FELIX_TYPHAWRITETIMEOUT', FELIX_TYPHA_DEFAULTS.writeTimeoutMs),
  };
}

/** Typha's TLS settings from its environment (TYPHA_*), or undefined for plain TCP. */
export function typhaServerTLSFromEnv(env: Readonly<Record<string, string | undefined>>): TyphaServerTLS | undefined {
  const t = tlsTrio(env, { ca: 'TYPHA_CAFILE', cert: 'TYPHA_SERVERCERTFILE', key: 'TYPHA_SERVERKEYFILE', cn: 'TYPHA_CLIENTCN', uri: 'TYPHA_CLIENTURISAN' });
  if (t === undefined) return undefined;
  return { certFile: t.certFile, keyFile: t.keyFile, caFile: t.caFile, ...(t.cn !== undefined ? { clientCN: t.cn } : {}), ...(t.uriSAN !== undefined ? { clientURISAN: t.uriSAN } : {}) };
}

/** The parts of a peer certificate the identity check reads (node:tls PeerCertificate). */
export interface PeerIdentity {
  readonly subject?: { readonly CN?: string | readonly string[] } | undefined;
  readonly subjectaltname?: string | undefined;
}

/**
 * Calico's peer check: with a CN and a URI SAN configured either may match; with one, it must.
 * Returns why the peer is refused, or undefined when it is accepted.
 */
export function peerIdentityProblem(cert: PeerIdentity, cn: string | undefined, uriSAN: string | undefined): string | undefined {
  if (cn === undefined && uriSAN === undefined) return undefined;
  const cns = cert.subject?.CN === undefined ? [] : typeof cert.subject.CN === 'string' ? [cert.subject.CN] : [...cert.subject.CN];
  const uris = (cert.subjectaltname ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
  if (cn !== undefined && cns.includes(cn)) return undefined;
  if (uriSAN !== undefined && uris.includes(uriSAN)) return undefined;
  const want = [cn !== undefined ? `CN ${quote(cn)}` : undefined, uriSAN !== undefined ? `URI SAN ${quote(uriSAN)}` : undefined].filter((x) => x !== undefined).join(' or ');
  return `certificate has CN ${quote(cns.join(',') || null)} and URI SANs ${quote(uris.join(',') || null)}; want ${want}`;
}

/** Where Typha serves `/liveness` and `/readiness` (Calico's HealthHost/HealthPort). */
export interface TyphaHealthConfig {
  readonly host: string;
  readonly port: number;
}

/** Calico's bool spelling for TYPHA_HEALTHENABLED; anything else is refused (not silently false). */
function parseBool(name: string, v: string): boolean {
  const l = v.trim().toLowerCase();
  if (['true', '1', 'yes', 'y', 't'].includes(l)) return true;
  if (['false', '0', 'no', 'n', 'f'].includes(l)) return false;
  throw new TricolorError('ERR_VALIDATION', `${name}: ${quote(v)} is not a boolean (true or false)`, { field: name, value: v });
}

/**
 * Typha's health server from Calico's TYPHA_HEALTHENABLED (default false), TYPHA_HEALTHHOST and
 * TYPHA_HEALTHPORT (default 9098), or the `--health-host`/`--health-port` flags, which win: a
 * `--health-port` other than 0 turns health on by itself, 0 turns it off. Undefined = off. The
 * host defaults to 127.0.0.1 (Calico's `localhost`, pinned to IPv4 so probes need no resolver).
 */
export function typhaHealthConfig(
  env: Readonly<Record<string, string | undefined>>,
  flags: { readonly port?: string | undefined; readonly host?: string | undefined } = {},
): TyphaHealthConfig | undefined {
  const set = (v: string | undefined): string | undefined => (v === undefined || v.trim() === '' ? undefined : v);
  const portField = flags.port !== undefined ? '--health-port' : 'TYPHA_HEALTHPORT';
  const portText = flags.port ?? set(env['TYPHA_HEALTHPORT']);
  let port: number = TYPHA_DEFAULTS.healthPort;
  if (portText !== undefined) {
    port = Number(portText.trim());
    if (!/^\d+$/.test(portText.trim()) || port > 65535) {
      throw new TricolorError(portField === '--health-port' ? 'ERR_USAGE' : 'ERR_VALIDATION', `${portField}: ${quote(portText)} is not a port number (0–65535; 0 = health off)`, { field: portField, value: portText });
    }
  }
  const hostField = flags.host !== undefined ? '--health-host' : 'TYPHA_HEALTHHOST';
  const host = flags.host ?? set(env['TYPHA_HEALTHHOST']) ?? '127.0.0.1';
  if (!/^(\[[0-9a-fA-F:.]+\]|[0-9a-fA-F:.]+|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)$/.test(host)) {
    throw new TricolorError(hostField === '--health-host' ? 'ERR_USAGE' : 'ERR_VALIDATION', `${hostField}: ${quote(host)} is not a host address`, { field: hostField, value: host });
  }
  const enabledText = set(env['TYPHA_HEALTHENABLED']);
  const enabled = flags.port !== undefined ? port !== 0 : enabledText !== undefined && parseBool('TYPHA_HEALTHENABLED', enabledText) && port !== 0;
  if (enabledText !== undefined) parseBool('TYPHA_HEALTHENABLED', enabledText); // refused even when a flag decides
  return enabled ? { host: host.replace(/^\[(.*)\]$/, '$1'), port } : undefined;
}
