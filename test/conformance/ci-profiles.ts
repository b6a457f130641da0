// The conformance profiles the README's test command runs (`npm run conformance:ci`), in order.
// The full suite runs once per dataplane; variants (WireGuard, Typha, an etcd cluster) run a
// representative subset chosen with --only. Each entry is the argument list of one
// `node test/conformance/run.ts` run; add a profile here when a feature adds a lab variant.

export interface ConformanceProfile {
  /** Short name printed before the run's own output and in the summary. */
  readonly name: string;
  /** Arguments for test/conformance/run.ts. */
  readonly args: readonly string[];
}

export const CI_PROFILES: readonly ConformanceProfile[] = [
  { name: 'nft', args: [] },
  // the eBPF dataplane (FelixConfiguration bpfEnabled): the full suite, as for nft
  { name: 'bpf', args: ['--dataplane', 'bpf'] },
  // pods on two nodes talking through wireguard.cali: allow, deny, namespaces, CIDRs, the external host, tiers
  {
    name: 'wireguard',
    args: ['--wireguard', '--only', "^(k8s: (no policies: everything connects|default-deny-all policy|allow only from a different namespace by namespaceSelector|named UDP port|egress to a server in a CIDR block)|calico: (tier Pass hands the decision to the default tier|GlobalNetworkSet egress to the external host))$"],
  },
  // three agents (and proxies) behind one Typha: k8s and Calico policy, namespaces, pods, named
  // ports, tiers, sets and service accounts arrive through it, and updates after the snapshot
  {
    name: 'typha',
    args: [
      '--typha', '1',
      '--nodes', '3',
      '--only',
      'default-deny-ingress policy|podSelector AND namespaceSelector|ingress on one named port|updated policy is enforced|ingress access removed when a namespace loses its label|deny egress from a pod by podSelector|tier Pass hands|GlobalNetworkSet holding a pod address|service-account selectors',
    ],
  },
];
