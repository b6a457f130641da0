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
];
