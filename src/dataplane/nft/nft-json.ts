// The slice of libnftables' JSON schema (libnftables-json(5)) that Tricolor writes and reads:
// commands, set/map/chain/rule objects and the expression builders the renderers share. Kept as
// plain data so a rendered batch can be asserted as JSON, written to a file and fed to `nft -j -f`.

/** Any JSON expression or statement; nft's schema is too wide to type exhaustively. */
export type NftExpr = Readonly<Record<string, unknown>> | string | number | readonly unknown[];

export const TABLE_FAMILY = 'inet';
export const TABLE_NAME = 'tricolor';

export interface NftTableRef {
  readonly family: string;
  readonly table: string;
}

export const OWN_TABLE: NftTableRef = { family: TABLE_FAMILY, table: TABLE_NAME };

/** One element of a batch: `{"add": {"rule": {...}}}` and friends. */
export type NftCommand = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

export interface NftBatch {
  readonly nftables: readonly NftCommand[];
}

// ---------------------------------------------------------------------------------------------
// Expression builders (nft JSON forms, as `nft -j list` prints them where possible)

export const meta = (key: string): NftExpr => ({ meta: { key } });
export const payload = (protocol: string, field: string): NftExpr => ({ payload: { protocol, field } });
export const ctState = (): NftExpr => ({ ct: { key: 'state' } });

export function match(op: '==' | '!=' | 'in', left: NftExpr, right: NftExpr): NftExpr {
  return { match: { op, left, right } };
}

export const setRef = (name: string): string => `@${name}`;
export const anonSet = (elems: readonly NftExpr[]): NftExpr => ({ set: elems });
export const concat = (parts: readonly NftExpr[]): NftExpr => ({ concat: parts });
export const range = (lo: number, hi: number): NftExpr => ({ range: [lo, hi] });
export const prefix = (addr: string, len: number): NftExpr => ({ prefix: { addr, len } });

export const accept = (): NftExpr => ({ accept: null });
export const drop = (): NftExpr => ({ drop: null });
export const ret = (): NftExpr => ({ return: null });
export const reject = (): NftExpr => ({ reject: null });
export const jump = (target: string): NftExpr => ({ jump: { target } });
export const goto = (target: string): NftExpr => ({ goto: { target } });
export const log = (pfx: string): NftExpr => ({ log: { prefix: pfx } });
export const masquerade = (): NftExpr => ({ masquerade: null });

const MARK = meta('mark');

/** `meta mark set meta mark | bits`. */
export const markSet = (bits: number): NftExpr => ({ mangle: { key: MARK, value: { '|': [MARK, bits] } } });
/** `meta mark set meta mark & ~bits`. */
export const markClear = (bits: number): NftExpr => ({
  mangle: { key: MARK, value: { '&': [MARK, (~bits >>> 0) & 0xffffffff] } },
});
/** `meta mark & bits == bits` (all set) or `== 0` (all clear). */
export const markIs = (bits: number, set: boolean): NftExpr => match('==', { '&': [MARK, bits] }, set ? bits : 0);

/** Addresses given as CIDR text → nft element form (hosts as bare addresses, as nft prints them). */
export function addrElem(cidr: string): NftExpr {
  const slash = cidr.indexOf('/');
  if (slash === -1) return cidr;
  const addr = cidr.slice(0, slash);
  const len = Number(cidr.slice(slash + 1));
  const full = addr.includes(':') ? 128 : 32;
  return len === full ? addr : prefix(addr, len);
}

/**
 * A canonical text key for a set / map element in either our rendered form or the form
 * `nft -j list` prints, so the two can be compared for drift.
 */
export function elemKey(e: unknown): string {
  if (typeof e === 'string') return e;
  if (typeof e === 'number') return String(e);
  if (Array.isArray(e)) return e.map(elemKey).join(' : ');
  if (e !== null && typeof e === 'object') {
    const o = e as Record<string, unknown>;
    if ('prefix' in o) {
      const p = o['prefix'] as { addr: string; len: number };
      return `${p.addr}/${p.len}`;
    }
    // nft prints inet_proto members by name; we write numbers.
    if ('concat' in o) return (o['concat'] as unknown[]).map((p) => (typeof p === 'string' ? (PROTO_NAME_TO_NUMBER[p] ?? p) : elemKey(p))).join(' . ');
    if ('range' in o) return (o['range'] as unknown[]).map(elemKey).join('-');
    if ('elem' in o) return elemKey((o['elem'] as { val: unknown }).val);
  }
  return JSON.stringify(e);
}

const PROTO_NAME_TO_NUMBER: Readonly<Record<string, string>> = { tcp: '6', udp: '17', sctp: '132', icmp: '1', 'ipv6-icmp': '58' };
