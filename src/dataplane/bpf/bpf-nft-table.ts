// What stays in nftables when the eBPF dataplane is on (docs/design/bpf.md): one small table,
// `inet tricolor-bpf`, replaced whole in one transaction:
//
// - the attach gap: a workload interface (`cali*`) that is not READY (programs attached AND its
//   endpoint programmed in the maps) gets no forwarded traffic either way, and cannot reach the
//   host (fail closed, as Calico's attach-gap rules);
// - workload → host traffic after the workload's egress policy (which the BPF program ran):
//   FelixConfiguration defaultEndpointToHostAction;
// - natOutgoing masquerade: BPF does not allocate ports, so SNAT stays in netfilter (as Calico).
//
// The text is pure; the driver applies it with `nft -f`.

import type { DataplaneConfig } from '../dataplane-state.ts';

export const BPF_NFT_TABLE = 'tricolor-bpf';

const q = (s: string): string => JSON.stringify(s);

/** The table as an nft script that replaces any previous version atomically. */
export function renderBpfNftTable(config: DataplaneConfig, ready: readonly string[]): string {
  const wild = config.interfacePrefixes.map((p) => q(`${p}*`));
  const readySet = ready.length === 0 ? '' : `    elements = { ${[...ready].sort().map(q).join(', ')} }\n`;
  const v4Pools = config.ipPools.filter((p) => !p.cidr.includes(':'));
  const masq = v4Pools.filter((p) => p.natOutgoing).map((p) => p.cidr);
  const all = v4Pools.map((p) => p.cidr);
  const toHost = config.defaultEndpointToHostAction === 'Accept' ? 'accept' : config.defaultEndpointToHostAction === 'Return' ? 'return' : 'drop';
  const lines = [
    `table inet ${BPF_NFT_TABLE}`,
    `delete table inet ${BPF_NFT_TABLE}`,
    `table inet ${BPF_NFT_TABLE} {`,
    '  set ready {',
    '    type ifname',
    readySet.trimEnd(),
    '  }',
    '  chain tri-forward {',
    '    type filter hook forward priority filter - 10; policy accept;',
    ...wild.flatMap((w) => [`    iifname ${w} iifname != @ready drop`, `    oifname ${w} oifname != @ready drop`]),
    '  }',
    '  chain tri-input {',
    '    type filter hook input priority filter - 10; policy accept;',
    ...wild.flatMap((w) => [`    iifname ${w} iifname != @ready drop`, `    iifname ${w} ct state established,related accept`, `    iifname ${w} ${toHost}`]),
    '  }',
    '  chain tri-output {',
    '    type filter hook output priority filter - 10; policy accept;',
    ...wild.map((w) => `    oifname ${w} oifname != @ready drop`),
    '  }',
  ];
  if (masq.length > 0) {
    lines.push(
      '  set masq4 { type ipv4_addr; flags interval; elements = { ' + masq.join(', ') + ' } }',
      '  set pools4 { type ipv4_addr; flags interval; elements = { ' + all.join(', ') + ' } }',
      '  chain tri-nat-postrouting {',
      '    type nat hook postrouting priority srcnat + 10; policy accept;',
      '    ip saddr @masq4 ip daddr != @pools4 masquerade',
      '  }',
    );
  }
  lines.push('}');
  return lines.filter((l) => l !== '').join('\n') + '\n';
}
