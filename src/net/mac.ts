// MAC (hardware) addresses: the forms Go's net.ParseMAC accepts (which is what Calico validates
// WorkloadEndpoint.spec.mac and HostEndpoint fields with), printed lower-case colon-separated.

import { TricolorError, quote } from '../base/index.ts';

export interface MACAddr {
  /** 6 (EUI-48), 8 (EUI-64) or 20 (IP over InfiniBand) bytes. */
  readonly bytes: readonly number[];
}

const MAC_LENGTHS = new Set([6, 8, 20]);

function hexByte(s: string): number | undefined {
  return /^[0-9a-fA-F]{2}$/.test(s) ? parseInt(s, 16) : undefined;
}

/** `00:00:5e:00:53:01`, `00-00-5e-00-53-01` or `0000.5e00.5301` (and the 8- and 20-byte forms). */
export function tryParseMAC(text: string): MACAddr | undefined {
  if (typeof text !== 'string') return undefined;
  let bytes: number[] = [];
  if (text.length >= 14 && (text[2] === ':' || text[2] === '-')) {
    const parts = text.split(text[2]);
    for (const p of parts) {
      const b = hexByte(p);
      if (b === undefined) return undefined;
      bytes.push(b);
    }
  } else if (text.length >= 14 && text[4] === '.') {
    for (const p of text.split('.')) {
      if (p.length !== 4) return undefined;
      const hi = hexByte(p.slice(0, 2));
      const lo = hexByte(p.slice(2));
      if (hi === undefined || lo === undefined) return undefined;
      bytes.push(hi, lo);
    }
  } else {
    return undefined;
  }
  if (!MAC_LENGTHS.has(bytes.length)) return undefined;
  bytes = Object.freeze(bytes) as number[];
  return Object.freeze({ bytes });
}

export function parseMAC(text: string): MACAddr {
  const m = tryParseMAC(text);
  if (m === undefined) {
    throw new TricolorError('ERR_VALIDATION', `${quote(text)} is not a valid MAC address`, { value: text });
  }
  return m;
}

export function formatMAC(mac: MACAddr): string {
  return mac.bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}
