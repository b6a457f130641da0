// BGP session status from BIRD: parses `show protocols` (the birdc text or the raw control
// socket reply with its 4-digit codes) and renders the `calicoctl node status` report (node
// contract §5.8, API contract §6.7). Pure.

import { TricolorError } from '../base/index.ts';
import { type IPFamily, formatIP, tryParseIP } from '../net/index.ts';

/** One row of `show protocols`. */
export interface BirdProtocol {
  readonly name: string;
  readonly proto: string;
  readonly table: string;
  readonly state: string;
  readonly since: string;
  readonly info: string;
}

export const PEER_TYPES = ['node-to-node mesh', 'global', 'node specific'] as const;
export type PeerType = (typeof PEER_TYPES)[number];

export interface BGPPeerStatus {
  readonly peerAddress: string;
  readonly family: IPFamily;
  readonly peerType: PeerType;
  /** BIRD protocol state: `up`, `start`, `down`, … */
  readonly state: string;
  readonly since: string;
  /** `Established`, `Active`, `Connect`, … plus any detail BIRD appends. */
  readonly info: string;
}

const HEADER = 'name proto table state since info';

/**
 * Rows of a `show protocols` reply. Accepts birdc's output (`BIRD … ready.`, a header line,
 * rows) or the raw socket reply (`0001 …`, `2002-Name …`, `1002-row`, ` row`, `0000`).
 */
export function parseBirdProtocols(text: string): BirdProtocol[] {
  const rows: BirdProtocol[] = [];
  let sawHeader = false;
  for (const raw of text.split('\n')) {
    let line = raw.replace(/\r$/, '');
    const coded = /^(\d{4})([ -])(.*)$/.exec(line);
    if (coded !== null) {
      const code = coded[1] ?? '';
      if (code === '2002') {
        checkHeader(coded[3] ?? '');
        sawHeader = true;
        continue;
      }
      if (code !== '1002') {
        if (code.startsWith('8') || code.startsWith('9')) {
          throw new TricolorError('ERR_IO', `BIRD replied with error ${code}: ${coded[3] ?? ''}`, { value: line });
        }
        continue; // 0001 greeting, 0000 end, other informational replies
      }
      line = coded[3] ?? '';
    } else if (/^BIRD .* ready\.$/.test(line.trim()) || line.trim() === '') {
      continue;
    } else if (!sawHeader && /^\s*Name\s+Proto\s+Table\s+State\s+Since\s+Info\s*$/i.test(line)) {
      checkHeader(line);
      sawHeader = true;
      continue;
    }
    const fields = line.trim().split(/\s+/);
    if (fields.length < 5) continue;
    const [name = '', proto = '', table = '', state = '', since = '', ...info] = fields;
    rows.push({ name, proto, table, state, since, info: info.join(' ') });
  }
  return rows;
}

function checkHeader(text: string): void {
  if (text.trim().toLowerCase().split(/\s+/).join(' ') !== HEADER) {
    throw new TricolorError('ERR_IO', `unexpected "show protocols" header from BIRD: ${JSON.stringify(text)}`, { value: text });
  }
}

/** Recover the peer address from `Mesh_10_0_0_2`, `Global_fd00__9_port_1790`, …. */
function addressOf(id: string): { ip: string; family: IPFamily } | undefined {
  const withoutPort = id.replace(/_port_\d+$/, '');
  const v4 = tryParseIP(withoutPort.replace(/_/g, '.'));
  if (v4?.family === 4) return { ip: formatIP(v4), family: 4 };
  const v6 = tryParseIP(withoutPort.replace(/_/g, ':'));
  if (v6?.family === 6) return { ip: formatIP(v6), family: 6 };
  return undefined;
}

/** The Calico peerings among BIRD's protocols (only `Mesh_*`, `Global_*`, `Node_*`), in BIRD's order. */
export function bgpPeersFromProtocols(protocols: readonly BirdProtocol[]): BGPPeerStatus[] {
  const out: BGPPeerStatus[] = [];
  for (const p of protocols) {
    const m = /^(Mesh|Global|Node)_(.+)$/.exec(p.name);
    if (m === null) continue;
    const addr = addressOf(m[2] ?? '');
    if (addr === undefined) continue;
    out.push({
      peerAddress: addr.ip,
      family: addr.family,
      peerType: m[1] === 'Mesh' ? 'node-to-node mesh' : m[1] === 'Global' ? 'global' : 'node specific',
      state: p.state,
      since: p.since,
      info: p.info,
    });
  }
  return out;
}

/** A boxed table like calicoctl's: centred upper-case headers, left-aligned cells. */
export function renderPeerTable(peers: readonly BGPPeerStatus[]): string {
  const headers = ['PEER ADDRESS', 'PEER TYPE', 'STATE', 'SINCE', 'INFO'];
  const rows = peers.map((p) => [p.peerAddress, p.peerType, p.state, p.since, p.info]);
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const sep = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const centre = (s: string, w: number) => {
    const left = Math.floor((w - s.length) / 2);
    return `${' '.repeat(left)}${s}${' '.repeat(w - s.length - left)}`;
  };
  const line = (cells: string[], fmt: (s: string, w: number) => string) =>
    `|${cells.map((c, i) => ` ${fmt(c, widths[i] ?? 0)} `).join('|')}|`;
  return [sep, line(headers, centre), sep, ...rows.map((r) => line(r, (s, w) => s.padEnd(w))), sep].join('\n');
}

export interface NodeStatusInput {
  /** Whether the node agent (our Felix) is running. */
  readonly agentRunning: boolean;
  /** Peers from BIRD, or undefined when no BIRD is running. */
  readonly peers: readonly BGPPeerStatus[] | undefined;
}

/**
 * The `calicoctl node status` text. BIRD 2 serves both families from one daemon, so "BIRD not
 * running" is reported for both families at once.
 */
export function renderNodeStatus(input: NodeStatusInput): string {
  if (!input.agentRunning) return 'Calico process is not running.\n';
  const out = ['Calico process is running.'];
  if (input.peers === undefined) {
    out.push('', 'The BGP backend process (BIRD) is not running.');
    return `${out.join('\n')}\n`;
  }
  for (const family of [4, 6] as const) {
    const peers = input.peers.filter((p) => p.family === family);
    out.push('', `IPv${family} BGP status`);
    out.push(peers.length === 0 ? `No IPv${family} peers found.` : renderPeerTable(peers));
  }
  return `${out.join('\n')}\n`;
}
