// Figures the agent reads from its own network namespace for /metrics: conntrack fill (per
// namespace: /proc/sys/net reflects the reader's) and the VXLAN device's packet counters
// (`ip netns exec` remounts /sys for the namespace). Missing files read as undefined: no VXLAN
// device means no VXLAN series, not a zero.

import { readFileSync, readdirSync } from 'node:fs';

function readNumber(path: string): number | undefined {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

export function conntrackFill(): { entries: number; limit: number } | undefined {
  const entries = readNumber('/proc/sys/net/netfilter/nf_conntrack_count');
  const limit = readNumber('/proc/sys/net/netfilter/nf_conntrack_max');
  return entries === undefined || limit === undefined ? undefined : { entries, limit };
}

export function linkStat(device: string, stat: 'rx_packets' | 'tx_packets' | 'rx_bytes' | 'tx_bytes'): number | undefined {
  return readNumber(`/sys/class/net/${device}/statistics/${stat}`);
}

export function openFds(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}
