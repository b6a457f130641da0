// Public surface of src/controllers: calico-kube-controllers' role (IPAM GC, node cleanup,
// ipam_* metrics) behind a datastore lease.
export { Controllers, DEFAULT_LEAK_GRACE_PERIOD_MS, leakGracePeriodFromConfig, parseDurationMs, type ControllersOptions, type ControllersPassResult } from './controllers.ts';
export { LeaderElector, CONTROLLERS_LEASE_KEY, type LeaderElectorOptions, type LeaseRecord } from './leader-election.ts';
export { NodeCleanup, type NodeCleanupResult } from './node-cleanup.ts';
